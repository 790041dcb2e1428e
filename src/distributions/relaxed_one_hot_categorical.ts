// The Gumbel-softmax / Concrete distribution (Jang et al. 2017; Maddison et al. 2017): a continuous
// relaxation of a one-hot Categorical on the simplex, with a reparameterised sample.
import { np, jnn, lax, type Array } from "../engine/index.js";
import { Distribution } from "./distribution.js";
import { gumbelNoise } from "./gumbel.js";

/** log Γ(K) = log (K − 1)! for a whole number K ≥ 1. */
function logGammaInt(k: number): number {
  let s = 0;
  for (let i = 2; i < k; i++) s += Math.log(i);
  return s;
}

/**
 * Concrete(logits, τ) over the simplex in R^K; logits `[...batchShape, K]`, event shape `[K]`.
 * As τ → 0 its samples become one-hot draws of Categorical(softmax(logits)). Owns `logits`.
 */
export class RelaxedOneHotCategorical extends Distribution {
  override readonly hasRsample = true;
  /** Unnormalised log-probabilities (borrowed). */
  readonly logits: Array;
  /** τ > 0. */
  readonly temperature: number;
  /** K. */
  readonly numClasses: number;

  /** Takes ownership of `logits` (`[...batchShape, K]`). */
  constructor(logits: Array, temperature: number) {
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new Error(`RelaxedOneHotCategorical: temperature must be a finite number > 0, got ${temperature}`);
    }
    if (logits.ndim < 1 || logits.shape[logits.ndim - 1] < 1) {
      throw new Error(`RelaxedOneHotCategorical: logits must be [...batch, K] with K >= 1, got [${logits.shape}]`);
    }
    super(logits.shape, 1);
    this.logits = logits;
    this.temperature = temperature;
    this.numClasses = logits.shape[logits.ndim - 1];
  }

  /** The class probabilities softmax(l) that the samples approach as τ → 0 (a new array). */
  get probs(): Array {
    return jnn.softmax(this.logits.ref, -1);
  }

  // y = softmax((l + g) / τ),  g_k ~ Gumbel(0, 1) = −log(−log u)
  /** A point of the simplex `[...sampleShape, ...batchShape, K]`, differentiable wrt the logits. */
  override rsample(key: Array, sampleShape: number[] = []): Array {
    const g = gumbelNoise(key, [...sampleShape, ...this.shape]).astype(this.logits.dtype);
    return jnn.softmax(g.add(this.logits.ref).mul(1 / this.temperature), -1);
  }

  // forward: y_hard = onehot(argmax y); backward: ∂y_soft.  y = y_hard + (y_soft − sg(y_soft))
  /**
   * The straight-through Gumbel-softmax sample: exactly one-hot in the forward pass (the Gumbel-max
   * draw, so distributed as Categorical(softmax(l)) for every τ), with the gradient of the soft
   * sample. Written y_hard + (y_soft − sg(y_soft)) rather than y_hard − sg(y_soft) + y_soft so the
   * forward value is exactly 0/1 (the bracket is exactly 0 in floating point).
   */
  rsampleHard(key: Array, sampleShape: number[] = []): Array {
    const ySoft = this.rsample(key, sampleShape);
    const yHard = jnn.oneHot(np.argmax(ySoft.ref, -1), this.numClasses).astype(this.logits.dtype);
    return yHard.add(ySoft.ref.sub(lax.stopGradient(ySoft)));
  }

  // log p(y) = log Γ(K) + (K − 1) log τ + Σ_k (l_k − (τ + 1) log y_k) − K logsumexp_k(l_k − τ log y_k)
  /**
   * The Concrete density of `y` (`[...sampleShape, ...batchShape, K]` on the simplex, consumed),
   * wrt Lebesgue measure on its first K − 1 coordinates (Maddison et al. 2017, eq. 8). At small τ
   * the components of a float32 sample underflow to 0 and the log-density is not finite.
   */
  override logProb(y: Array): Array {
    this.checkEvent(y);
    const K = this.numClasses, tau = this.temperature;
    const logY = np.log(y);
    const score = this.logits.ref.sub(logY.ref.mul(tau)); // l_k − τ log y_k
    const lse = jnn.logsumexp(score, -1); // stable: jax-js shifts by the (stopped) max
    const sum = this.logits.ref.sub(logY.mul(tau + 1)).sum(-1);
    return sum.sub(lse.mul(K)).add(logGammaInt(K) + (K - 1) * Math.log(tau));
  }

  override dispose(): void {
    this.logits.dispose();
  }
}
