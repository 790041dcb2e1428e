// The training step as one jitted function: loss, gradients and optimizer update together
// (DESIGN.md: about 2x faster than an optimizer outside jit). And its evaluation twin.
import { np, jit, refTree, disposeTree, keyFromSeed, type Array } from "../engine/index.js";
import { toImageArray, type HostBatch } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import { mapParams, countParams } from "../nn/tree.js";
import { countFlops } from "../engine/flops.js";
import type { Batch, Model, Params } from "../models/types.js";
import { scalarsAt, type Scalars } from "../models/scheduled.js";
import { modelOptionsSchema } from "../models/registry.js";
import { adam, adamw, sgd, applyUpdate, gradientStep, lossAndGradient, type Objective, type Optimizer } from "../optim/index.js";
import type { RunConfig } from "./config.js";

/** The reserved top-level key of non-trained state in a parameter tree (see Model.afterStep). */
export const BUFFERS = "buffers";

/** The scheduled scalars as a step takes them. */
export type StepScalars = Scalars<Array>;

export type StepOutput = {
  params: Params;
  optState: unknown;
  loss: Array;
  gradNorm: Array;
  metrics: Record<string, Array>;
};

/** What a model's loss gives back besides its value: the metrics and afterStep's batch statistics. */
type LossAux = { metrics: Record<string, Array>; aux: Params };

/**
 * A model's training objective (optim/step.ts) of its trainable parameters: the buffers enter as
 * constants, the scheduled scalars are borrowed by the model and dropped here.
 */
function trainingObjective(model: Model): Objective<Params, [Params, Batch, Array, StepScalars], LossAux> {
  return (trainable, buffers, batch, key, scalars) => {
    const { loss, metrics, aux } = model.loss(withBuffers(trainable, buffers), batch, key, { ...scalars, training: true });
    disposeTree(scalars);
    return { loss, aux: { metrics, aux: aux ?? {} } };
  };
}

/** The model's afterStep on the updated parameters with the batch's statistics (both consumed). */
function afterStep(model: Model, params: Params, aux: Params): Params {
  if (model.afterStep) return model.afterStep(params, aux);
  disposeTree(aux);
  return params;
}

/**
 * step(params, optState, batch, key, lr, scalars) -> new params and state, the loss, the global
 * gradient norm (before clipping) and the model's metrics: optim/step.ts's gradient step on the
 * trainable parameters, then the model's afterStep. Consumes every argument.
 */
export function makeTrainStep(model: Model, optimizer: Optimizer<any>, clipNorm: number | null) {
  const update = gradientStep(trainingObjective(model), optimizer, { clipNorm });
  const step = (params: Params, optState: unknown, batch: Batch, key: Array, lr: Array, scalars: StepScalars): StepOutput => {
    const { trainable, buffers } = splitBuffers(params);
    const out = update(trainable, optState, lr, refTree(buffers ?? {}), batch, key, scalars);
    const next = afterStep(model, withBuffers(out.params, buffers), out.aux.aux);
    return { params: next, optState: out.state, loss: out.loss, gradNorm: out.gradNorm, metrics: out.aux.metrics };
  };
  return jit(step as any) as unknown as typeof step;
}

/** What one shard of a data-parallel step computes: its loss and metrics (shard means), afterStep's statistics, the gradient. */
export type ShardGradients = { loss: Array; metrics: Record<string, Array>; aux: Params; grads: Params };

/**
 * The first half of a data-parallel step (data-parallel.ts), jitted: gradShard(params, batch, key,
 * scalars) on one shard of the batch. Consumes every argument.
 */
export function makeShardGradStep(model: Model) {
  const shard = (params: Params, batch: Batch, key: Array, scalars: StepScalars): ShardGradients => {
    const { trainable, buffers } = splitBuffers(params);
    const { loss, aux, grads } = lossAndGradient(trainingObjective(model), trainable, buffers ?? {}, batch, key, scalars);
    return { loss, metrics: aux.metrics, aux: aux.aux, grads };
  };
  return jit(shard as any) as unknown as typeof shard;
}

/**
 * The second half, jitted: the shards' gradients averaged with `weights` (each shard's share of the
 * batch: the batch loss is the mean over examples, so its gradient is the weighted mean of the shards'),
 * their afterStep statistics combined by the model's combineAux, and one update.
 * apply(params, optState, grads[], aux[], lr) consumes every argument.
 */
export function makeApplyStep(model: Model, optimizer: Optimizer<any>, clipNorm: number | null, weights: number[]) {
  const apply = (params: Params, optState: unknown, grads: Params[], aux: Params[], lr: Array) => {
    const { trainable, buffers } = splitBuffers(params);
    // Equal shards (the usual case): one scaling of the sum.
    const equal = weights.every((w) => w === weights[0]);
    const mean = mapParams((...g: Array[]) => (equal
      ? g.reduce((a, b) => a.add(b)).mul(weights[0])
      : g.map((gi, i) => gi.mul(weights[i])).reduce((a, b) => a.add(b))), grads[0], ...grads.slice(1)) as Params;
    const combined = model.afterStep ? model.combineAux!(aux) : (disposeTree(aux), {});
    const updated = applyUpdate(optimizer, clipNorm, mean, optState, trainable, lr);
    return { params: afterStep(model, withBuffers(updated.params, buffers), combined), optState: updated.state, gradNorm: updated.gradNorm };
  };
  return jit(apply as any) as unknown as typeof apply;
}

/** The scheduled scalars (models/scheduled.ts) as the arrays a step takes. */
export function scalarArrays(values: Scalars<number>): StepScalars {
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [name, np.array(v, { dtype: np.float32 })])) as StepScalars;
}

/**
 * A training step as the trainer calls it: on a batch of host data, scalars as numbers; consumes
 * params, optState and key. The fused jitted step (one thread) or data-parallel.ts (worker threads).
 */
export type StepRunner = {
  workers: number;
  run(params: Params, optState: unknown, batch: HostBatch, key: Array, lr: number, scalars: Scalars<number>): StepOutput | Promise<StepOutput>;
  close(): void | Promise<void>;
};

/** A host batch as the arrays a step takes (labels zero-filled where the data set has none). */
export function deviceBatch(batch: HostBatch, split: Split): { x: Array; labels: Array } {
  const x = toImageArray(batch.x, split);
  const labels = batch.labels
    ? np.array(batch.labels as Int32Array<ArrayBuffer>, { dtype: np.int32 })
    : np.zeros([batch.indices.length], { dtype: np.int32 });
  return { x, labels };
}

/** The one-thread runner: makeTrainStep on the whole batch. */
export function singleThreadRunner(model: Model, optimizer: Optimizer<any>, clipNorm: number | null, split: Split): StepRunner {
  const step = makeTrainStep(model, optimizer, clipNorm);
  const scalar = (v: number) => np.array(v, { dtype: np.float32 });
  return {
    workers: 1,
    run(params, optState, batch, key, lr, scalars) {
      return step(params, optState, deviceBatch(batch, split), key, scalar(lr), scalarArrays(scalars));
    },
    close() {},
  };
}

/**
 * The arithmetic intensity of a training step: its FLOPs (matrix products and convolutions) per
 * parameter. Data-parallel training moves every parameter and gradient once a step, so it pays
 * only when this is high (a conv net's, not an MLP's: docs/speed.md).
 */
export function stepFlopsPerParameter(model: Model, optimizer: Optimizer<any>, batchSize: number): number {
  const params = model.init(keyFromSeed(0));
  const parameters = countParams(params as any);
  disposeTree(params);
  return stepFlops(model, optimizer, batchSize) / Math.max(1, parameters);
}

/** The FLOPs of one training step on a batch of `batchSize` (matrix products and convolutions; engine/flops.ts). */
export function stepFlops(model: Model, optimizer: Optimizer<any>, batchSize: number): number {
  const params = model.init(keyFromSeed(0));
  const [c, h, w] = model.info.imageShape;
  const batch = { x: np.zeros([batchSize, c, h, w]), labels: np.zeros([batchSize], { dtype: np.int32 }) };
  return countFlops(makeTrainStep(model, optimizer, null), params, optimizer.init(splitBuffers(params).trainable),
    batch, keyFromSeed(1), np.array(1e-3), scalarArrays(scalarsAt(modelOptionsSchema.parse({}), 0, 1))); // values do not change the FLOPs
}

/** evalStep(params, batch, key, scalars) -> { loss, metrics }; params borrowed, the rest consumed. */
export function makeEvalStep(model: Model) {
  const evalStep = (params: Params, batch: Batch, key: Array, scalars: StepScalars) => {
    const out = model.loss(params, batch, key, scalars);
    disposeTree(scalars);
    disposeTree(out.aux);
    return { loss: out.loss, metrics: out.metrics };
  };
  const jitted = jit(evalStep as any) as unknown as typeof evalStep;
  return (params: Params, batch: Batch, key: Array, scalars: StepScalars) => jitted(refTree(params), batch, key, scalars);
}

/**
 * A model's parameters split into what the optimizer trains and `params.buffers` (state changed
 * only by the model's afterStep: no gradient, no update, no weight decay). The leaves are shared.
 */
export function splitBuffers(params: Params): { trainable: Params; buffers?: Params } {
  if (!Object.hasOwn(params, BUFFERS)) return { trainable: params };
  const { [BUFFERS]: buffers, ...trainable } = params;
  return { trainable, buffers: buffers as Params };
}

/** The inverse of splitBuffers (no `buffers` entry for none or an empty tree). */
export function withBuffers(trainable: Params, buffers: Params | undefined): Params {
  return buffers && Object.keys(buffers).length > 0 ? { ...trainable, [BUFFERS]: buffers } : trainable;
}

/** The optimizer a configuration names. */
export function makeOptimizer(config: RunConfig): Optimizer<any> {
  switch (config.optimizer) {
    case "adam": return adam({ weightDecay: config.weightDecay });
    case "adamw": return adamw({ weightDecay: config.weightDecay });
    case "sgd": return sgd({ momentum: config.momentum, weightDecay: config.weightDecay });
  }
}
