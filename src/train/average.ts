// Polyak averaging of the parameters, in the exponential form used to evaluate deep generative
// models (Polyak & Juditsky 1992; Kingma et al. 2016, IAF, decay 0.9995):
//
//   θ̄_t = d_t θ̄_{t−1} + (1 − d_t) θ_t = θ̄_{t−1} + (1 − d_t)(θ_t − θ̄_{t−1}),
//   d_t = min(d, (1 + t) / (10 + t))
//
// where θ_t is the iterate after optimizer step t. The ramp (1 + t)/(10 + t) lets the average forget
// the initialisation quickly when averaging starts at step 0; a run that switches averaging on at
// a resume (large t) starts from the iterate, with the full decay at once.
import { jit, refTree, type Array } from "../engine/index.js";
import type { Params } from "../models/types.js";
import { mapParams } from "../nn/tree.js";

/** d_t of the equation above. */
export function averageDecayAt(decay: number, step: number): number {
  return Math.min(decay, (1 + step) / (10 + step));
}

/**
 * update(average, params, weight) -> average + weight·(params − average), leaf by leaf (matched by
 * name), with weight = 1 − d_t. Consumes `average` and `weight`, borrows `params`.
 */
export function makeAverageUpdate(): (average: Params, params: Params, weight: Array) => Params {
  const update = (average: Params, params: Params, weight: Array): Params => {
    const out = mapParams(
      (a: Array, p: Array) => a.ref.add(p.sub(a).mul(weight.ref)), average as any, params as any,
    ) as Params;
    weight.dispose();
    return out;
  };
  const jitted = jit(update as any) as unknown as typeof update;
  return (average, params, weight) => jitted(average, refTree(params), weight);
}
