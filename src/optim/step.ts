// One gradient step, the piece every training loop of the library is built from (the trainer and
// its data-parallel halves, stacked pretraining, the VQ-VAE's code prior, the evaluation's
// classifiers, the importance sampler's proposal refinement):
//
//   (loss, aux), g = value_and_grad(objective)(θ, inputs)     g ← g · min(1, c / ‖g‖)     θ, s ← update(g, s, θ, lr)
//
// jitted whole: an update outside jit costs about twice the time (DESIGN.md).
// Ownership: every argument is consumed; every result is the caller's.
import { jit, valueAndGrad, refTree, type Array } from "../engine/index.js";
import type { ParamTree } from "../nn/tree.js";
import { clipByGlobalNorm, globalNorm } from "./clip.js";
import type { Optimizer } from "./optimizer.js";

/**
 * What is minimised: a scalar loss of the parameters (the first argument, differentiated) and of
 * inputs (constants: a batch, a key, scheduled scalars), and `aux`: arrays of the same pass that
 * the caller wants (metrics, batch statistics; no gradient flows through them).
 */
export type Objective<P extends ParamTree, I extends unknown[], A> = (params: P, ...inputs: I) => { loss: Array; aux: A };

/** The loss, aux and gradient of `objective` at `params` and `inputs` (both consumed). */
export function lossAndGradient<P extends ParamTree, I extends unknown[], A>(
  objective: Objective<P, I, A>, params: P, ...inputs: I
): { loss: Array; aux: A; grads: P } {
  const asPair = (p: P, ...rest: I) => {
    const { loss, aux } = objective(p, ...rest);
    return [loss, aux] as [Array, A];
  };
  const withGrad = valueAndGrad(asPair as (...args: any[]) => any, { hasAux: true }) as unknown as (...args: unknown[]) => [[Array, A], P];
  const [[loss, aux], grads] = withGrad(params, ...inputs);
  return { loss, aux, grads };
}

/**
 * The update from gradients: clipped by the global norm when `clipNorm` is a number, then the
 * optimizer. Returns the new parameters and state and the gradient norm before clipping.
 */
export function applyUpdate<P extends ParamTree, S>(
  optimizer: Optimizer<any>, clipNorm: number | null, grads: P, state: S, params: P, lr: Array | number,
): { params: P; state: S; gradNorm: Array } {
  const { grads: clipped, norm: gradNorm } = clipNorm === null
    ? { grads, norm: globalNorm(grads) }
    : clipByGlobalNorm(grads, clipNorm);
  const updated = optimizer.update(clipped, state as any, params, lr);
  return { params: updated.params, state: updated.state as S, gradNorm };
}

export type GradientStepResult<P, S, A> = { params: P; state: S; loss: Array; aux: A; gradNorm: Array };

/** The traced step of `objective` (unjitted, for a caller that fuses more into its own jit). */
export function gradientStep<P extends ParamTree, I extends unknown[], A, S = unknown>(
  objective: Objective<P, I, A>, optimizer: Optimizer<any>, opts: { clipNorm?: number | null } = {},
): (params: P, state: S, lr: Array | number, ...inputs: I) => GradientStepResult<P, S, A> {
  const clipNorm = opts.clipNorm ?? null;
  return (params, state, lr, ...inputs) => {
    const { loss, aux, grads } = lossAndGradient(objective, refTree(params), ...inputs);
    const updated = applyUpdate(optimizer, clipNorm, grads, state, params, lr);
    return { params: updated.params, state: updated.state, loss, aux, gradNorm: updated.gradNorm };
  };
}

/**
 * step(params, state, lr, ...inputs) → { params, state, loss, aux, gradNorm }: one jitted step of
 * `objective` (lr an array, so a schedule never retraces). `dispose()` frees the compiled program.
 */
export function makeGradientStep<P extends ParamTree, I extends unknown[], A, S = unknown>(
  objective: Objective<P, I, A>, optimizer: Optimizer<any>, opts: { clipNorm?: number | null } = {},
): ((params: P, state: S, lr: Array, ...inputs: I) => GradientStepResult<P, S, A>) & { dispose(): void } {
  const jitted = jit(gradientStep(objective, optimizer, opts) as any) as unknown as
    ((params: P, state: S, lr: Array, ...inputs: I) => GradientStepResult<P, S, A>) & { dispose?: () => void };
  return Object.assign((params: P, state: S, lr: Array, ...inputs: I) => jitted(params, state, lr, ...inputs), {
    dispose: () => jitted.dispose?.(),
  });
}
