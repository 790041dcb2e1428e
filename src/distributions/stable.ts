// Numerically stable elementwise functions for log-probabilities. jax-js 0.1.25's `nn.softplus` is
// log(exp(x) + 1): +Inf at x = 100 in float32, and a NaN gradient (Inf/Inf) there; `nn.sigmoid` is
// 1/(exp(−x) + 1), whose gradient is NaN at x = −100. These versions are finite everywhere.
import { np, type Array } from "../engine/index.js";

// Both branches of each `where` are finite for every x, so the unused branch never feeds a NaN or
// Inf into the gradient (the usual `where` trap), and x = 0 takes the second branch, whose
// derivative is the true one there: σ(0) = ½.
//
// softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|)
// d softplus = σ(x) dx
/** log(1 + eˣ), stable for any x; consumes `x`. */
export function softplus(x: Array): Array {
  const pos = x.ref.greater(0);
  const relu = np.where(pos.ref, x.ref, 0);
  const negAbs = np.where(pos, x.ref.neg(), x);
  return relu.add(np.log1p(np.exp(negAbs)));
}

// log σ(x) = −softplus(−x)
/** log σ(x) = log(1 / (1 + e⁻ˣ)), stable for any x; consumes `x`. */
export function logSigmoid(x: Array): Array {
  return softplus(x.neg()).neg();
}

// σ(x) = exp(log σ(x)); d σ = σ(x) σ(−x) dx, finite for any x
/** σ(x) = 1 / (1 + e⁻ˣ), with a finite gradient for any x; consumes `x`. */
export function sigmoid(x: Array): Array {
  return np.exp(logSigmoid(x));
}
