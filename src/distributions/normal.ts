// Diagonal Gaussians: `Normal(loc, scale)` (also from log σ², as VAE encoders output it), the
// parameter-free prior `StandardNormal`, and `gaussianLikelihood` for decoders with a fixed or
// learned variance.
import { np, random, type Array, type DType } from "../engine/index.js";
import { Distribution, sumEvent } from "./distribution.js";

const LOG_2PI = Math.log(2 * Math.PI);

export interface NormalOptions {
  /** How many trailing dims form one event (summed by logProb, entropy, KL). Default 1: a diagonal
   * Gaussian over the last dim, as for a `[B, D]` latent; use 3 for `[B, C, H, W]` images. */
  eventDims?: number;
}

/** A scalar array of `dtype` holding `v`, or `v` itself when it is already an array. */
function asArray(v: Array | number, dtype: DType): Array {
  return typeof v === "number" ? np.full([], v, { dtype }) : v;
}

/**
 * N(loc, diag(scale²)), elementwise independent; `loc` and `scale` broadcast together to the
 * distribution's shape. Owns `loc`, `scale` and `logScale` (log σ, kept so log-densities and KLs
 * never take log(exp(·))).
 */
export class Normal extends Distribution {
  override readonly hasRsample = true;
  /** μ (borrowed: pass `d.loc.ref` to keep using it elsewhere). */
  readonly loc: Array;
  /** σ > 0. */
  readonly scale: Array;
  /** log σ. */
  readonly logScale: Array;

  /**
   * Takes ownership of `loc` and `scale` (a number is a constant scale). `logScale` is for
   * `fromLogVar`, which already has log σ.
   */
  constructor(loc: Array, scale: Array | number, { eventDims = 1 }: NormalOptions = {}, logScale?: Array) {
    if (typeof scale === "number" && !(scale > 0)) throw new Error(`Normal: scale must be > 0, got ${scale}`);
    const scaleShape = typeof scale === "number" ? [] : scale.shape;
    let shape: number[];
    try {
      shape = np.broadcastShapes(loc.shape, scaleShape);
    } catch {
      throw new Error(`Normal: loc [${loc.shape}] and scale [${scaleShape}] do not broadcast together`);
    }
    super(shape, eventDims);
    this.loc = loc;
    this.scale = asArray(scale, loc.dtype);
    this.logScale = logScale ?? np.log(this.scale.ref);
  }

  // σ = exp(½ log σ²)
  /** N(loc, exp(logVar)); takes ownership of `loc` and `logVar` (a number is a fixed log σ²). */
  static fromLogVar(loc: Array, logVar: Array | number, options: NormalOptions = {}): Normal {
    const logScale = asArray(logVar, loc.dtype).mul(0.5);
    return new Normal(loc, np.exp(logScale.ref), options, logScale);
  }

  // z = μ + σ ε,  ε ~ N(0, I)
  override rsample(key: Array, sampleShape: number[] = []): Array {
    const eps = random.normal(key, [...sampleShape, ...this.shape]).astype(this.loc.dtype);
    return this.loc.ref.add(this.scale.ref.mul(eps));
  }

  // log p(x) = Σ_event −½ [((x − μ)/σ)² + log σ² + log 2π]
  override logProb(x: Array): Array {
    this.checkEvent(x);
    const z = x.sub(this.loc.ref).div(this.scale.ref);
    const lp = np.square(z).add(this.logScale.ref.mul(2)).add(LOG_2PI).mul(-0.5);
    return sumEvent(lp, this.eventDims);
  }

  // H = Σ_event ½ log(2πe σ²) = Σ_event (log σ + ½(1 + log 2π))
  override entropy(): Array {
    const h = np.broadcastTo(this.logScale.ref.add(0.5 * (1 + LOG_2PI)), this.shape);
    return sumEvent(h, this.eventDims);
  }

  override get mean(): Array {
    return np.broadcastTo(this.loc.ref, this.shape);
  }

  // σ² = exp(2 log σ)
  override get variance(): Array {
    return np.broadcastTo(np.exp(this.logScale.ref.mul(2)), this.shape);
  }

  /** σ, broadcast to the full shape (a new reference). */
  get stddev(): Array {
    return np.broadcastTo(this.scale.ref, this.shape);
  }

  override dispose(): void {
    this.loc.dispose();
    this.scale.dispose();
    this.logScale.dispose();
  }
}

export interface StandardNormalOptions extends NormalOptions {
  /** dtype of samples and results (default float32; float64 for gradient checks). */
  dtype?: DType;
}

/**
 * N(0, I) of a given shape, the VAE prior. Holds no arrays (nothing to dispose), and its formulas
 * skip the zero mean and unit scale; `kl(q, prior)` uses the closed form ½ Σ(μ² + σ² − log σ² − 1).
 */
export class StandardNormal extends Distribution {
  override readonly hasRsample = true;
  readonly dtype: DType;

  constructor(shape: number[], { eventDims = 1, dtype = np.float32 }: StandardNormalOptions = {}) {
    super(shape, eventDims);
    this.dtype = dtype;
  }

  /** The prior matching a posterior `q`: same shape, event dims and dtype. */
  static like(q: Distribution & { loc?: Array; dtype?: DType }): StandardNormal {
    const dtype = q.loc?.dtype ?? q.dtype ?? np.float32;
    return new StandardNormal(q.shape, { eventDims: q.eventDims, dtype });
  }

  // z = ε ~ N(0, I)
  override rsample(key: Array, sampleShape: number[] = []): Array {
    return random.normal(key, [...sampleShape, ...this.shape]).astype(this.dtype);
  }

  // log p(x) = Σ_event −½ (x² + log 2π)
  override logProb(x: Array): Array {
    this.checkEvent(x);
    return sumEvent(np.square(x).add(LOG_2PI).mul(-0.5), this.eventDims);
  }

  // H = ½ (1 + log 2π) per dimension
  override entropy(): Array {
    const n = this.eventShape.reduce((a, b) => a * b, 1);
    return np.full(this.batchShape, 0.5 * (1 + LOG_2PI) * n, { dtype: this.dtype });
  }

  override get mean(): Array {
    return np.zeros(this.shape, { dtype: this.dtype });
  }

  override get variance(): Array {
    return np.ones(this.shape, { dtype: this.dtype });
  }

  override dispose(): void {}
}

/** The decoder's noise: a fixed variance σ² (a number), or a learned log σ² (an array broadcasting
 * against the mean: per pixel `[C, H, W]`, or a scalar `[]`; or a fixed number). */
export type GaussianNoise = { variance: number } | { logVar: Array | number };

// log p(x | μ) = −½ Σ_event [(x − μ)²/σ² + log σ² + log 2π]
/**
 * The Gaussian likelihood p(x | z) = N(x; mean, σ² I) of a decoder, as a `Normal`: `logProb(x)` is
 * the term of the ELBO. Takes ownership of `mean` and of an array `logVar`. With a fixed variance
 * of ½, −logProb is the squared error plus a constant.
 */
export function gaussianLikelihood(mean: Array, noise: GaussianNoise, options: NormalOptions = {}): Normal {
  if ("variance" in noise) {
    if (!(noise.variance > 0)) throw new Error(`gaussianLikelihood: variance must be > 0, got ${noise.variance}`);
    return Normal.fromLogVar(mean, Math.log(noise.variance), options);
  }
  return Normal.fromLogVar(mean, noise.logVar, options);
}
