// Standard Gumbel noise that is always finite.
import { np, random, type Array } from "../engine/index.js";

// g = −log(−log u), u ~ U(0, 1). jax-js 0.1.25's random.gumbel draws u = 0 once in 2²³ draws
// (about every 400 steps of a 20 × 10 dVAE at batch 100), which makes g = +∞ and a softmax NaN:
// u is floored at 1e-20 (g ≤ 46; the probability cut off is 1e-20).
/** Standard Gumbel noise of `shape`, always finite (the key is consumed). */
export function gumbelNoise(key: Array, shape: number[]): Array {
  const u = np.maximum(random.uniform(key, shape), 1e-20);
  return np.log(np.log1p(u.neg()).neg()).neg();
}
