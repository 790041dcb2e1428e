// The training step as one jitted function: loss, gradients and optimizer update together
// (DESIGN.md: about 2x faster than an optimizer outside jit). And its evaluation twin.
import { np, jit, valueAndGrad, refTree, disposeTree, keyFromSeed, type Array } from "../engine/index.js";
import { toImageArray, type HostBatch } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import { mapParams, countParams } from "../nn/tree.js";
import { countFlops } from "../engine/flops.js";
import type { Batch, Model, Params, StepContext } from "../models/types.js";
import { clipByGlobalNorm, globalNorm, adam, adamw, sgd, type Optimizer } from "../optim/index.js";
import type { RunConfig } from "./config.js";

/** The reserved top-level key of non-trained state in a parameter tree (see Model.afterStep). */
export const BUFFERS = "buffers";

export type StepOutput = {
  params: Params;
  optState: unknown;
  loss: Array;
  gradNorm: Array;
  metrics: Record<string, Array>;
};

/** The loss of a batch, its metrics, afterStep's statistics and the gradient of the trainable part. */
type LossAndGrads = { loss: Array; metrics: Record<string, Array>; aux: Params; grads: Params; buffers?: Params; trainable: Params };

/** The gradient of model.loss for the trainable parameters (buffers enter as constants). Consumes params' leaves. */
function lossAndGrads(model: Model, params: Params, x: Array, labels: Array, key: Array, klWeight: Array, temperature: Array): LossAndGrads {
  type Aux = { metrics: Record<string, Array>; aux: Params };
  const lossOf = (trainable: Params, buffers: Params, batch: Batch, k: Array, ctx: StepContext) => {
    const { loss, metrics, aux } = model.loss(withBuffers(trainable, buffers), batch, k, { ...ctx, training: true });
    return [loss, { metrics, aux: aux ?? {} }] as [Array, Aux];
  };
  const { trainable, buffers } = splitBuffers(params);
  const [[loss, { metrics, aux }], grads] = valueAndGrad(lossOf, { hasAux: true })(
    trainable, refTree(buffers ?? {}), { x, labels }, key, { klWeight, temperature },
  ) as unknown as [[Array, Aux], Params];
  return { loss, metrics, aux, grads, buffers, trainable };
}

/**
 * One optimizer update from gradients: clipping by the global norm (config.clipNorm), the optimizer,
 * then the model's afterStep with the batch statistics. Consumes everything; returns the new
 * parameters and state and the gradient norm before clipping.
 */
function applyGradients(
  model: Model, optimizer: Optimizer<any>, clipNorm: number | null,
  grads: Params, optState: unknown, trainable: Params, buffers: Params | undefined, aux: Params, lr: Array,
): { params: Params; optState: unknown; gradNorm: Array } {
  const { grads: clipped, norm: gradNorm } = clipNorm === null
    ? { grads, norm: globalNorm(grads) }
    : clipByGlobalNorm(grads, clipNorm);
  const updated = optimizer.update(clipped, optState as any, trainable, lr);
  let params = withBuffers(updated.params as Params, buffers);
  if (model.afterStep) params = model.afterStep(params, aux);
  else disposeTree(aux);
  return { params, optState: updated.state, gradNorm };
}

/**
 * step(params, optState, x, labels, key, lr, klWeight, temperature) -> new params and state, the
 * loss, the global gradient norm (before clipping) and the model's metrics. Consumes every argument.
 */
export function makeTrainStep(model: Model, optimizer: Optimizer<any>, clipNorm: number | null) {
  const step = (
    params: Params, optState: unknown, x: Array, labels: Array, key: Array,
    lr: Array, klWeight: Array, temperature: Array,
  ) => {
    const { loss, metrics, aux, grads, buffers, trainable } = lossAndGrads(model, params, x, labels, key, klWeight, temperature);
    const updated = applyGradients(model, optimizer, clipNorm, grads, optState, trainable, buffers, aux, lr);
    return { params: updated.params, optState: updated.optState, loss, gradNorm: updated.gradNorm, metrics };
  };
  return jit(step as any) as unknown as (
    params: Params, optState: unknown, x: Array, labels: Array, key: Array,
    lr: Array, klWeight: Array, temperature: Array,
  ) => StepOutput;
}

/** What one shard of a data-parallel step computes: its loss and metrics (shard means), afterStep's statistics, the gradient. */
export type ShardGradients = { loss: Array; metrics: Record<string, Array>; aux: Params; grads: Params };

/**
 * The first half of a data-parallel step (data-parallel.ts), jitted: gradShard(params, x, labels, key,
 * klWeight, temperature) on one shard of the batch. Consumes every argument.
 */
export function makeShardGradStep(model: Model) {
  const shard = (params: Params, x: Array, labels: Array, key: Array, klWeight: Array, temperature: Array): ShardGradients => {
    const { loss, metrics, aux, grads, buffers, trainable } = lossAndGrads(model, params, x, labels, key, klWeight, temperature);
    disposeTree(buffers);
    disposeTree(trainable);
    return { loss, metrics, aux, grads };
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
    return applyGradients(model, optimizer, clipNorm, mean, optState, trainable, buffers, combined, lr);
  };
  return jit(apply as any) as unknown as typeof apply;
}

/**
 * A training step as the trainer calls it: on a batch of host data, scalars as numbers; consumes
 * params, optState and key. The fused jitted step (one thread) or data-parallel.ts (worker threads).
 */
export type StepRunner = {
  workers: number;
  run(params: Params, optState: unknown, batch: HostBatch, key: Array, lr: number, klWeight: number, temperature: number): StepOutput | Promise<StepOutput>;
  close(): void | Promise<void>;
};

/** The one-thread runner: makeTrainStep on the whole batch. */
export function singleThreadRunner(model: Model, optimizer: Optimizer<any>, clipNorm: number | null, split: Split): StepRunner {
  const step = makeTrainStep(model, optimizer, clipNorm);
  const scalar = (v: number) => np.array(v, { dtype: np.float32 });
  return {
    workers: 1,
    run(params, optState, batch, key, lr, klWeight, temperature) {
      const x = toImageArray(batch.x, split);
      const labels = batch.labels
        ? np.array(batch.labels as Int32Array<ArrayBuffer>, { dtype: np.int32 })
        : np.zeros([batch.indices.length], { dtype: np.int32 });
      return step(params, optState, x, labels, key, scalar(lr), scalar(klWeight), scalar(temperature));
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
  const [c, h, w] = model.info.imageShape;
  const flops = countFlops(makeTrainStep(model, optimizer, null), refTree(params), optimizer.init(splitBuffers(params).trainable),
    np.zeros([batchSize, c, h, w]), np.zeros([batchSize], { dtype: np.int32 }), keyFromSeed(1), np.array(1e-3), np.array(1), np.array(1));
  disposeTree(params);
  return flops / Math.max(1, parameters);
}

/** evalStep(params, x, labels, key, klWeight, temperature) -> { loss, metrics }; params borrowed. */
export function makeEvalStep(model: Model) {
  const evalStep = (params: Params, x: Array, labels: Array, key: Array, klWeight: Array, temperature: Array) => {
    const out = model.loss(params, { x, labels }, key, { klWeight, temperature });
    disposeTree(out.aux);
    return { loss: out.loss, metrics: out.metrics };
  };
  const jitted = jit(evalStep as any) as unknown as typeof evalStep;
  return (params: Params, x: Array, labels: Array, key: Array, klWeight: Array, temperature: Array) =>
    jitted(refTree(params), x, labels, key, klWeight, temperature);
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
