// The training step as one jitted function: loss, gradients and optimizer update together
// (DESIGN.md: about 2x faster than an optimizer outside jit). And its evaluation twin.
import { jit, valueAndGrad, refTree, type Array } from "../engine/index.js";
import type { Batch, Model, Params, StepContext } from "../models/types.js";
import { clipByGlobalNorm, globalNorm, adam, adamw, sgd, type Optimizer } from "../optim/index.js";
import type { RunConfig } from "./config.js";

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
  const lossOf = (params: Params, batch: Batch, key: Array, ctx: StepContext) => {
    const { loss, metrics } = model.loss(params, batch, key, ctx);
    return [loss, metrics] as [Array, Record<string, Array>];
  };
  const step = (
    params: Params, optState: unknown, x: Array, labels: Array, key: Array,
    lr: Array, klWeight: Array, temperature: Array,
  ) => {
    const [[loss, metrics], grads] = valueAndGrad(lossOf, { hasAux: true })(
      params, { x, labels }, key, { klWeight, temperature },
    ) as unknown as [[Array, Record<string, Array>], Params];
    const { grads: clipped, norm: gradNorm } = clipNorm === null
      ? { grads, norm: globalNorm(grads) }
      : clipByGlobalNorm(grads, clipNorm);
    const updated = optimizer.update(clipped, optState as any, params, lr);
    return { params: updated.params as Params, optState: updated.state, loss, gradNorm, metrics };
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
    return { loss: out.loss, metrics: out.metrics };
  };
  const jitted = jit(evalStep as any) as unknown as typeof evalStep;
  return (params: Params, x: Array, labels: Array, key: Array, klWeight: Array, temperature: Array) =>
    jitted(refTree(params), x, labels, key, klWeight, temperature);
}

/** The optimizer a configuration names. */
export function makeOptimizer(config: RunConfig): Optimizer<any> {
  switch (config.optimizer) {
    case "adam": return adam({ weightDecay: config.weightDecay });
    case "adamw": return adamw({ weightDecay: config.weightDecay });
    case "sgd": return sgd({ momentum: config.momentum, weightDecay: config.weightDecay });
  }
}
