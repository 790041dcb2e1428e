// Bernoulli on logits l = log(p / (1 − p)): the likelihood of binary(ised) images.
import { random, type Array } from "../engine/index.js";
import { Distribution, sumEvent } from "./distribution.js";
import { sigmoid, softplus } from "./stable.js";

export interface BernoulliOptions {
  /** How many trailing dims form one event (summed by logProb, entropy, KL). Default 1; 3 for
   * `[B, C, H, W]` images. */
  eventDims?: number;
}

/** Independent Bernoullis with p = σ(logits). Owns `logits`. */
export class Bernoulli extends Distribution {
  /** l = log p − log(1 − p) (borrowed: pass `d.logits.ref` to keep using it elsewhere). */
  readonly logits: Array;

  /** Takes ownership of `logits`. */
  constructor(logits: Array, { eventDims = 1 }: BernoulliOptions = {}) {
    super(logits.shape, eventDims);
    this.logits = logits;
  }

  // log p(x) = Σ_event [x log σ(l) + (1 − x) log σ(−l)] = Σ_event [x l − softplus(l)]
  /**
   * Also the negative binary cross-entropy for x in [0, 1] (greyscale targets), as in PyTorch's
   * `binary_cross_entropy_with_logits`; exact and finite for any logit.
   */
  override logProb(x: Array): Array {
    this.checkEvent(x);
    const lp = x.mul(this.logits.ref).sub(softplus(this.logits.ref));
    return sumEvent(lp, this.eventDims);
  }

  /** p = σ(l) (a new array). */
  get probs(): Array {
    return sigmoid(this.logits.ref);
  }

  // E[x] = p
  override get mean(): Array {
    return this.probs;
  }

  // Var[x] = p (1 − p) = σ(l) σ(−l)
  override get variance(): Array {
    return sigmoid(this.logits.ref).mul(sigmoid(this.logits.ref.neg()));
  }

  // H = Σ_event [softplus(l) − l σ(l)]
  override entropy(): Array {
    const h = softplus(this.logits.ref).sub(this.logits.ref.mul(sigmoid(this.logits.ref)));
    return sumEvent(h, this.eventDims);
  }

  // x = [u < p], u ~ U(0, 1); 0/1 in the logits' dtype
  override sample(key: Array, sampleShape: number[] = []): Array {
    return random.bernoulli(key, this.probs, [...sampleShape, ...this.shape]).astype(this.logits.dtype);
  }

  override dispose(): void {
    this.logits.dispose();
  }
}
