// The training step as one jitted function: loss, gradients and optimizer update together
// (DESIGN.md: about 2x faster than an optimizer outside jit). And its evaluation twin.
import { jit, valueAndGrad, refTree, disposeTree, type Array } from "../engine/index.js";
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

/**
 * step(params, optState, x, labels, key, lr, klWeight, temperature) -> new params and state, the
 * loss, the global gradient norm (before clipping) and the model's metrics. Consumes every argument.
 */
export function makeTrainStep(model: Model, optimizer: Optimizer<any>, clipNorm: number | null) {
  // Gradients flow to the trainable part only; buffers enter the loss as constants.
  type Aux = { metrics: Record<string, Array>; aux: Params };
  const lossOf = (trainable: Params, buffers: Params, batch: Batch, key: Array, ctx: StepContext) => {
    const { loss, metrics, aux } = model.loss(withBuffers(trainable, buffers), batch, key, { ...ctx, training: true });
    return [loss, { metrics, aux: aux ?? {} }] as [Array, Aux];
  };
  const step = (
    params: Params, optState: unknown, x: Array, labels: Array, key: Array,
    lr: Array, klWeight: Array, temperature: Array,
  ) => {
    const { trainable, buffers } = splitBuffers(params);
    const [[loss, { metrics, aux }], grads] = valueAndGrad(lossOf, { hasAux: true })(
      trainable, refTree(buffers ?? {}), { x, labels }, key, { klWeight, temperature },
    ) as unknown as [[Array, Aux], Params];
    const { grads: clipped, norm: gradNorm } = clipNorm === null
      ? { grads, norm: globalNorm(grads) }
      : clipByGlobalNorm(grads, clipNorm);
    const updated = optimizer.update(clipped, optState as any, trainable, lr);
    let newParams = withBuffers(updated.params as Params, buffers);
    if (model.afterStep) newParams = model.afterStep(newParams, aux);
    else disposeTree(aux);
    return { params: newParams, optState: updated.state, loss, gradNorm, metrics };
  };
  return jit(step as any) as unknown as (
    params: Params, optState: unknown, x: Array, labels: Array, key: Array,
    lr: Array, klWeight: Array, temperature: Array,
  ) => StepOutput;
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
