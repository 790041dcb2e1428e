// Per-example anomaly scores of a trained model, in input order (higher = more anomalous):
//
//   recon_error(x) = Σ_pixels (x − x̂)²,  x̂ = g(f(x)) (the decoded code; a VAE's decoded posterior mean)
//   neg_elbo(x)    = −ELBO(x) = −E_q[log p(x|z)] + KL(q(z|x) ‖ p(z))     (E_q over S draws of z)
//   nll(x)         = −log p(x) ≈ −log (1/K) Σ_k p(x, z_k) / q(z_k|x)    (importance sampling, K samples)
//
// The last two only for latent-variable models; nll only when K > 0.
import { jit, np, keyStream, refTree, type Array } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { batches } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import type { BinarizeMode } from "../data/binarize.js";
import type { Model, Params } from "../models/types.js";
import { importanceSampler } from "./evaluate.js";

export type ScoreOptions = {
  isSamples: number; // K of the IS estimate; 0 skips nll
  elboSamples?: number; // S draws of z averaged in neg_elbo (default 1)
  batchSize?: number;
  seed?: number;
  binarize?: BinarizeMode;
  maxRows?: number;
  /** Called after every batch with the examples done and the total. */
  onProgress?: (done: number, total: number) => void;
};

export type ExampleScores = {
  n: number;
  labels?: Int32Array;
  recon_error: Float64Array;
  neg_elbo?: Float64Array;
  nll?: Float64Array;
  is_samples?: number;
};

type Jitted = ((...args: Array[]) => unknown) & { dispose?: () => void };

/** The scores of every example of `split` (params borrowed). */
export function scoreExamples(model: Model, params: Params, split: Split, opts: ScoreOptions): ExampleScores {
  if (model.conditional && !split.labels) {
    throw new LatentkitError(`model ${model.family} is conditional: the input needs labels`);
  }
  const n = split.n;
  const latent = model.probabilistic && !!model.elbo;
  const K = model.logImportanceWeights ? opts.isSamples : 0;
  const out: ExampleScores = { n, recon_error: new Float64Array(n) };
  if (split.labels) out.labels = Int32Array.from(split.labels);
  if (latent) out.neg_elbo = new Float64Array(n);
  if (K > 0) {
    out.nll = new Float64Array(n);
    out.is_samples = K;
  }

  const reconErr = jit((p: Params, x: Array, y: Array) => model.reconstructionError(p, { x, labels: y })) as unknown as Jitted;
  const negElbo = latent
    ? jit((p: Params, x: Array, y: Array, k: Array) => {
        const t = model.elbo!(p, { x, labels: y }, k);
        t.klPerDim?.dispose();
        return t.recon.add(t.kl);
      }) as unknown as Jitted
    : undefined;
  const sampler = K > 0 ? importanceSampler(model, opts.maxRows) : undefined;
  const keys = keyStream(opts.seed ?? 0);
  const labelsOf = (y: Array | undefined, b: number) => y ?? np.zeros([b], { dtype: np.int32 });
  const binarize = opts.binarize === "dynamic" ? "static" : opts.binarize;
  let at = 0;
  for (const b of batches(split, { batchSize: opts.batchSize ?? 100, shuffle: false, binarize })) {
    const B = b.x.shape[0];
    const put = (dst: Float64Array, v: ArrayLike<number>) => {
      for (let i = 0; i < B; i++) dst[at + i] = v[i];
    };
    put(out.recon_error, (reconErr(refTree(params) as any, b.x.ref, labelsOf(b.y?.ref, B)) as Array).dataSync() as Float32Array);
    if (negElbo) {
      const S = opts.elboSamples ?? 1;
      const sum = new Float64Array(B);
      for (let s = 0; s < S; s++) {
        const v = (negElbo(refTree(params) as any, b.x.ref, labelsOf(b.y?.ref, B), keys.next()) as Array).dataSync() as Float32Array;
        for (let i = 0; i < B; i++) sum[i] += v[i] / S;
      }
      put(out.neg_elbo!, sum);
    }
    if (sampler) put(out.nll!, sampler.logMarginal(params, b.x.ref, labelsOf(b.y?.ref, B), K, keys.next).map((v) => -v));
    b.x.dispose();
    b.y?.dispose();
    at += B;
    opts.onProgress?.(at, n);
  }
  keys.dispose();
  reconErr.dispose?.();
  negElbo?.dispose?.();
  sampler?.dispose();
  return out;
}
