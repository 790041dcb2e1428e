// Categorical over K classes on logits (unnormalised log-probabilities along the last axis).
import { np, jnn, random, type Array } from "../engine/index.js";
import { Distribution } from "./distribution.js";

/**
 * Categorical(softmax(logits)) for logits `[...batchShape, K]`; each event is one class index, so
 * the event shape is `[]`. Owns `logits`.
 */
export class Categorical extends Distribution {
  /** Unnormalised log p, `[...batchShape, K]` (borrowed). */
  readonly logits: Array;
  /** K. */
  readonly numClasses: number;

  /** Takes ownership of `logits` (`[...batchShape, K]`, K ≥ 1). */
  constructor(logits: Array) {
    if (logits.ndim < 1 || logits.shape[logits.ndim - 1] < 1) {
      throw new Error(`Categorical: logits must be [...batch, K] with K >= 1, got [${logits.shape}]`);
    }
    super(logits.shape.slice(0, -1), 0);
    this.logits = logits;
    this.numClasses = logits.shape[logits.ndim - 1];
  }

  // log p_k = l_k − logsumexp(l)
  /** log p, `[...batchShape, K]`, normalised stably (a new array). */
  get logProbs(): Array {
    return jnn.logSoftmax(this.logits.ref, -1);
  }

  /** p = softmax(l), `[...batchShape, K]` (a new array). */
  get probs(): Array {
    return jnn.softmax(this.logits.ref, -1);
  }

  // log p(k) = l_k − logsumexp(l)
  /** log p of class indices (an int32 array `[...sampleShape, ...batchShape]`, consumed). */
  override logProb(index: Array): Array {
    if (index.dtype !== np.int32 && index.dtype !== np.uint32) {
      throw new Error(`Categorical.logProb: expects integer class indices, got ${index.dtype} (use logProbOneHot for one-hot vectors)`);
    }
    const shape = [...index.shape, this.numClasses];
    const logp = np.broadcastTo(this.logProbs, shape);
    return np.squeeze(np.takeAlongAxis(logp, np.expandDims(index, -1), -1), -1);
  }

  // log p(x) = Σ_k x_k log p_k  for one-hot (or soft) x
  /** log p of one-hot vectors `x` (`[...sampleShape, ...batchShape, K]`, consumed). */
  logProbOneHot(x: Array): Array {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.numClasses) {
      throw new Error(`Categorical.logProbOneHot: x of shape [${x.shape}] does not end in K = ${this.numClasses}`);
    }
    return x.mul(this.logProbs).sum(-1);
  }

  // H = −Σ_k p_k log p_k
  override entropy(): Array {
    const logp = this.logProbs;
    return np.exp(logp.ref).mul(logp).sum(-1).neg();
  }

  /** Class indices (int32) of shape `[...sampleShape, ...batchShape]` (Gumbel-max). */
  override sample(key: Array, sampleShape: number[] = []): Array {
    return random.categorical(key, this.logits.ref, { axis: -1, shape: [...sampleShape, ...this.batchShape] });
  }

  override dispose(): void {
    this.logits.dispose();
  }
}
