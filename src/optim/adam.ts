// Adam and AdamW, as torch.optim.Adam / torch.optim.AdamW (amsgrad = false), per parameter θ with
// gradient g at step t = 1, 2, ...:
//   AdamW only:  θ ← θ (1 − lr λ)                          (decoupled weight decay)
//   Adam only:   g ← g + λ θ                               (L2 added to the gradient; λ = 0 default)
//   m ← m + (1 − β₁)(g − m)          v ← β₂ v + (1 − β₂) g²
//   θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
import { np, fromData, type Array } from "../engine/index.js";
import { mapParams, type ParamTree } from "../nn/tree.js";
import { checkRange, initStep, sharedScalar, zerosLikeTree, type Optimizer } from "./optimizer.js";

export type AdamOpts = { beta1?: number; beta2?: number; eps?: number; weightDecay?: number };
/** torch's per-parameter state: step, exp_avg (m), exp_avg_sq (v). */
export type AdamState = { step: Array; expAvg: ParamTree; expAvgSq: ParamTree };

/**
 * 1 − βᵗ for an integer-valued step array t (consumed), to the dtype's precision. Neither
 * np.power (≈1e-5 relative error in jax-js 0.1.25) nor 1 − exp(t ln β) (cancellation: 1 − 0.999 in
 * float32 is off by 1e-5 relative) is good enough. A concrete t is read and the value computed in
 * JS doubles, as torch does; a traced t (inside jit) goes through biasCorrectionTraced.
 */
export function biasCorrection(beta: number, t: Array): Array {
  checkRange("beta", beta, 0, 1, true);
  if (typeof (t as { dataSync?: unknown }).dataSync !== "function") return biasCorrectionTraced(beta, t);
  const shape = t.shape;
  const dtype = String(t.dtype) === "float64" ? "float64" : "float32";
  return fromData(Float64Array.from(t.dataSync() as ArrayLike<number>, (k) => 1 - Math.pow(beta, k)), shape, dtype);
}

/**
 * 1 − βᵗ from array ops alone: with S(t) = 1 + β + … + βᵗ⁻¹,
 *   1 − βᵗ = (1 − β) S(t),   S(a + c) = S(a) + βᵃ S(c),   βᵃ⁺ᶜ = βᵃ βᶜ,
 * summed over the binary digits c = 2ⁱ of t with βᶜ and S(c) exact JS constants. Every term is
 * positive, so nothing cancels. Once β^(2ⁱ) < 1e-30, 1 − βᵗ = 1 for all t ≥ 2ⁱ.
 */
export function biasCorrectionTraced(beta: number, t: Array): Array {
  checkRange("beta", beta, 0, 1, true);
  let pow = np.onesLike(t.ref); // βᵃ for the digits seen so far
  let sum = np.zerosLike(t.ref); // S(a)
  let c = 1;
  for (;;) {
    const powC = Math.pow(beta, c);
    const sumC = beta === 0 ? 1 : -Math.expm1(c * Math.log(beta)) / (1 - beta);
    // digit i of t: floor(t / c) − 2 floor(t / 2c), exact for integers below 2^24 in float32.
    // The constants go in as arrays of t's dtype: inside jit a JS number is rounded to float32
    // even next to a float64 array, and np.where of two JS numbers makes a float32 array.
    const digit = np.floor(t.ref.div(c)).sub(np.floor(t.ref.div(2 * c)).mul(2)).equal(1);
    sum = sum.add(np.where(digit.ref, pow.ref.mul(np.fullLike(t.ref, sumC)), np.zerosLike(pow.ref)));
    pow = np.where(digit, pow.ref.mul(np.fullLike(t.ref, powC)), pow);
    c *= 2;
    if (powC < 1e-30) break;
  }
  pow.dispose();
  const oneMinusBeta = np.fullLike(t.ref, 1 - beta);
  return np.where(t.greaterEqual(c), np.onesLike(sum.ref), sum.mul(oneMinusBeta));
}

function makeAdam(name: string, decoupled: boolean, { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay }: AdamOpts & { weightDecay: number }): Optimizer<AdamState> {
  checkRange(`${name} beta1`, beta1, 0, 1, true);
  checkRange(`${name} beta2`, beta2, 0, 1, true);
  checkRange(`${name} eps`, eps, 0, Infinity);
  checkRange(`${name} weightDecay`, weightDecay, 0, Infinity);
  return {
    init(params) {
      return { step: initStep(params), expAvg: zerosLikeTree(params), expAvgSq: zerosLikeTree(params) };
    },
    update(grads, state, params, lr) {
      const rate = sharedScalar(lr);
      const step = state.step.add(1);
      let theta: ParamTree = params;
      let g: ParamTree = grads;
      if (decoupled && weightDecay !== 0) {
        const decay = np.subtract(1, np.multiply(rate.use(), weightDecay)); // 1 − lr λ
        theta = mapParams((p) => p.mul(decay.ref), params) as ParamTree;
        decay.dispose();
      } else if (!decoupled && weightDecay !== 0) {
        g = mapParams((gi, p) => gi.add(p.ref.mul(weightDecay)), grads, params) as ParamTree;
      }
      const expAvg = mapParams((m, gi) => m.ref.add(gi.ref.sub(m).mul(1 - beta1)), state.expAvg, g) as ParamTree;
      const expAvgSq = mapParams((v, gi) => v.mul(beta2).add(gi.ref.mul(gi).mul(1 - beta2)), state.expAvgSq, g) as ParamTree;
      const stepSize = np.divide(rate.use(), biasCorrection(beta1, step.ref)); // lr / (1 − β₁ᵗ)
      const bc2Sqrt = np.sqrt(biasCorrection(beta2, step.ref)); // √(1 − β₂ᵗ)
      const newParams = mapParams(
        (p, m, v) => p.sub(m.ref.mul(stepSize.ref).div(np.sqrt(v.ref).div(bc2Sqrt.ref).add(eps))),
        theta, expAvg, expAvgSq,
      );
      stepSize.dispose();
      bc2Sqrt.dispose();
      rate.done();
      return { params: newParams as typeof params, state: { step, expAvg, expAvgSq } };
    },
  };
}

/** torch.optim.Adam (defaults β₁ 0.9, β₂ 0.999, ε 1e-8, weightDecay 0 as L2 on the gradient). */
export function adam(opts: AdamOpts = {}): Optimizer<AdamState> {
  return makeAdam("adam", false, { ...opts, weightDecay: opts.weightDecay ?? 0 });
}

/** torch.optim.AdamW (weightDecay 0.01 by default, decoupled: θ ← θ(1 − lr λ) before the Adam step). */
export function adamw(opts: AdamOpts = {}): Optimizer<AdamState> {
  return makeAdam("adamw", true, { ...opts, weightDecay: opts.weightDecay ?? 0.01 });
}
