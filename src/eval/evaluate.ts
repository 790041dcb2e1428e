// Evaluation of a trained model on a split, in nats per example:
//
//   ELBO(x)  = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))                      (one sample of z per x)
//   log p(x) ≈ log (1/K) Σ_k w_k,   w_k = p(x, z_k) / q(z_k|x),  z_k ~ q(z|x)   (importance sampling)
//   active units: dimensions j with Cov_x( E_q[z_j|x] ) > 0.01        (Burda et al. 2015)
//
// The K weights are drawn in chunks and folded into a running log-sum-exp per example (max and
// scaled sum, in float64 on the host), so K = 5000 needs the memory of one chunk.
import { jit, np, keyStream, refTree, disposeTree, type Array } from "../engine/index.js";
import { proposalRefiner, type RefineOptions } from "./refine.js";
import { batches } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import type { BinarizeMode } from "../data/binarize.js";
import type { GaussianProposal, Model, Params } from "../models/types.js";

export type EvalOptions = {
  isSamples: number; // K; 0 skips the IS estimate
  limit?: number; // the first N examples of the split
  batchSize?: number;
  seed?: number;
  binarize?: BinarizeMode;
  /** Rows (K-chunk × batch) the decoder sees at once: bounds the memory of the IS estimate. */
  maxRows?: number;
  /** Refine the IS proposal per example before sampling (refine.ts); absent or 0 steps: q(z|x). */
  refine?: RefineOptions;
  /** Called after every batch with the examples done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Also return the sums of the posterior means and their squares (to combine shards' active units). */
  withMoments?: boolean;
};

export type EvalResult = {
  n: number;
  recon: number; // −E_q[log p(x|z)] (latent models) or Σ (x − x̂)² (deterministic ones)
  mse?: number; // mean squared error per pixel of the reconstructions
  elbo?: number;
  kl?: number;
  nll?: number; // −log p(x), importance sampled
  is_samples?: number;
  refine_steps?: number; // the IS proposal was refined per example by this many steps (refine.ts)
  active_units?: number;
  kl_per_dim?: number[];
  /** Σ_x E_q[z|x] and Σ_x E_q[z|x]² per dimension (withMoments). */
  moments?: { sum: number[]; sumSq: number[] };
};

/** Active units: dimensions whose posterior mean varies over the data, Cov_x(E_q[z_j|x]) > 0.01. */
export function activeUnits(sum: ArrayLike<number>, sumSq: ArrayLike<number>, n: number): number {
  let active = 0;
  for (let j = 0; j < sum.length; j++) if (sumSq[j] / n - (sum[j] / n) ** 2 > 0.01) active++;
  return active;
}

/**
 * Shards' results as one: every number a mean over examples, so weighted by each shard's n; active
 * units from the shards' moments (each shard evaluated withMoments).
 */
export function combineEvalResults(parts: EvalResult[]): EvalResult {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const out: EvalResult = { ...parts[0], n };
  const weighted = (key: "recon" | "mse" | "elbo" | "kl" | "nll") => {
    if (parts.every((p) => p[key] !== undefined)) out[key] = parts.reduce((a, p) => a + (p[key] as number) * p.n, 0) / n;
  };
  for (const key of ["recon", "mse", "elbo", "kl", "nll"] as const) weighted(key);
  if (parts.every((p) => p.kl_per_dim)) {
    out.kl_per_dim = parts[0].kl_per_dim!.map((_, j) => parts.reduce((a, p) => a + p.kl_per_dim![j] * p.n, 0) / n);
  }
  if (parts.every((p) => p.moments)) {
    const sum = parts[0].moments!.sum.map((_, j) => parts.reduce((a, p) => a + p.moments!.sum[j], 0));
    const sumSq = parts[0].moments!.sumSq.map((_, j) => parts.reduce((a, p) => a + p.moments!.sumSq[j], 0));
    out.active_units = activeUnits(sum, sumSq, n);
    delete out.moments;
  }
  return out;
}

/** A running log-sum-exp per example: log Σ_k exp(a_k) = m + log Σ_k exp(a_k − m). */
export class LogSumExp {
  private readonly max: Float64Array;
  private readonly sum: Float64Array;
  constructor(n: number) {
    this.max = new Float64Array(n).fill(-Infinity);
    this.sum = new Float64Array(n);
  }
  /** Adds a chunk of values laid out [k, n] (row-major). */
  add(values: ArrayLike<number>, k: number): void {
    const n = this.max.length;
    for (let i = 0; i < n; i++) {
      let m = this.max[i];
      for (let r = 0; r < k; r++) m = Math.max(m, values[r * n + i]);
      if (m === -Infinity) continue;
      let s = this.max[i] === -Infinity ? 0 : this.sum[i] * Math.exp(this.max[i] - m);
      for (let r = 0; r < k; r++) s += Math.exp(values[r * n + i] - m);
      this.max[i] = m;
      this.sum[i] = s;
    }
  }
  /** log Σ exp per example. */
  value(): Float64Array {
    return this.max.map((m, i) => m + Math.log(this.sum[i]));
  }
}

/** Floats one intermediate of the decoder may take in an IS chunk (256 MB; the wasm heap is 4 GiB). */
export const DECODER_FLOAT_BUDGET = 64e6;

/**
 * Samples per chunk of the IS estimate for a batch of B: at most maxRows rows (K-chunk × B) and at
 * most DECODER_FLOAT_BUDGET floats in the decoder's largest intermediate, at least 1.
 */
export function importanceChunk(model: Model, B: number, K: number, maxRows = 20000): number {
  const rows = model.decodeRowFloats ? Math.min(maxRows, Math.floor(DECODER_FLOAT_BUDGET / model.decodeRowFloats)) : maxRows;
  return Math.max(1, Math.min(K, Math.floor(rows / B)));
}

/**
 * log p(x) ≈ log (1/K) Σ_k w_k per example of a batch (the model's logImportanceWeights), the K
 * weights drawn in chunks of importanceChunk samples and folded into a LogSumExp.
 */
export function importanceSampler(model: Model, maxRows = 20000) {
  type Weights = (p: Params, x: Array, y: Array, k: Array, r?: GaussianProposal) => Array;
  const jitted = new Map<string, Weights>();
  const forChunk = (kc: number, proposed: boolean): Weights => {
    const name = `${kc}${proposed ? "r" : "q"}`;
    if (!jitted.has(name)) {
      jitted.set(name, proposed
        ? jit((p: Params, x: Array, y: Array, k: Array, r?: GaussianProposal) => model.logImportanceWeights!(p, { x, labels: y }, k, kc, r))
        : jit((p: Params, x: Array, y: Array, k: Array) => model.logImportanceWeights!(p, { x, labels: y }, k, kc)));
    }
    return jitted.get(name)!;
  };
  return {
    /**
     * params borrowed; x [B, ...] and y [B] consumed; one key per chunk from nextKey (consumed); the
     * proposal is the encoder's q(z|x), or `proposal` (consumed) where given.
     */
    logMarginal(params: Params, x: Array, y: Array, K: number, nextKey: () => Array, proposal?: GaussianProposal): Float64Array {
      const B = x.shape[0];
      const lse = new LogSumExp(B);
      const chunk = importanceChunk(model, B, K, maxRows);
      for (let done = 0; done < K; done += chunk) {
        const kc = Math.min(chunk, K - done);
        const logW = proposal
          ? forChunk(kc, true)(refTree(params), x.ref, y.ref, nextKey(), refTree(proposal))
          : forChunk(kc, false)(refTree(params), x.ref, y.ref, nextKey());
        lse.add(logW.dataSync() as Float32Array, kc);
      }
      x.dispose();
      y.dispose();
      if (proposal) disposeTree(proposal);
      return lse.value().map((v) => v - Math.log(K));
    },
    dispose() {
      for (const f of jitted.values()) (f as { dispose?: () => void }).dispose?.();
    },
  };
}

const sumOf = (x: Array) => (x.dataSync() as Float32Array).reduce((a, b) => a + b, 0);

export function evaluate(model: Model, params: Params, split: Split, opts: EvalOptions): EvalResult {
  const batchSize = opts.batchSize ?? 100;
  const maxRows = opts.maxRows ?? 20000;
  const keys = keyStream(opts.seed ?? 0);
  const n = Math.min(split.n, opts.limit ?? split.n);
  const pixels = split.imageShape[0] * split.imageShape[1] * split.imageShape[2];
  const labelsOf = (y: Array | undefined, b: number) => y ?? np.zeros([b], { dtype: np.int32 });

  const reconErr = jit((p: Params, x: Array, y: Array) => model.reconstructionError(p, { x, labels: y }));
  const elboTerms = model.elbo && jit((p: Params, x: Array, y: Array, k: Array) => {
    const t = model.elbo!(p, { x, labels: y }, k);
    return { recon: t.recon, kl: t.kl, klPerDim: t.klPerDim ?? np.zeros([x.shape[0], 1]) };
  });
  const encodeMean = model.probabilistic ? jit((p: Params, x: Array, y: Array) => model.encode(p, { x, labels: y })) : undefined;
  const sampler = model.logImportanceWeights && opts.isSamples > 0 ? importanceSampler(model, maxRows) : undefined;
  const refineSteps = sampler ? opts.refine?.steps ?? 0 : 0;
  const refiner = refineSteps > 0 ? proposalRefiner(model, opts.refine!) : undefined;

  let sqErr = 0, recon = 0, kl = 0, nll = 0;
  let klPerDim: Float64Array | undefined;
  let codeSum: Float64Array | undefined, codeSq: Float64Array | undefined;
  let done = 0;
  for (const b of batches(split, { batchSize, shuffle: false, limit: n, binarize: opts.binarize === "dynamic" ? "static" : opts.binarize })) {
    const B = b.x.shape[0];
    sqErr += sumOf(reconErr(refTree(params), b.x.ref, labelsOf(b.y?.ref, B)));
    if (elboTerms) {
      const t = elboTerms(refTree(params), b.x.ref, labelsOf(b.y?.ref, B), keys.next());
      recon += sumOf(t.recon);
      kl += sumOf(t.kl);
      const perDim = t.klPerDim.dataSync() as Float32Array;
      const d = perDim.length / B;
      klPerDim ??= new Float64Array(d);
      for (let i = 0; i < perDim.length; i++) klPerDim[i % d] += perDim[i];
      const mu = encodeMean!(refTree(params), b.x.ref, labelsOf(b.y?.ref, B)).dataSync() as Float32Array;
      codeSum ??= new Float64Array(d);
      codeSq ??= new Float64Array(d);
      for (let i = 0; i < mu.length; i++) {
        codeSum[i % d] += mu[i];
        codeSq[i % d] += mu[i] * mu[i];
      }
    }
    if (sampler) {
      const proposal = refiner?.refine(params, b.x.ref, labelsOf(b.y?.ref, B), keys.next);
      const logPx = sampler.logMarginal(params, b.x.ref, labelsOf(b.y?.ref, B), opts.isSamples, keys.next, proposal);
      for (let i = 0; i < B; i++) nll -= logPx[i];
    }
    b.x.dispose();
    b.y?.dispose();
    done += B;
    opts.onProgress?.(done, n);
  }
  keys.dispose();
  for (const f of [reconErr, elboTerms, encodeMean]) (f as { dispose?: () => void } | undefined)?.dispose?.();
  sampler?.dispose();
  refiner?.dispose();

  const result: EvalResult = { n, recon: 0, mse: sqErr / n / pixels };
  if (!model.probabilistic) {
    result.recon = sqErr / n;
    return result;
  }
  result.recon = recon / n;
  result.kl = kl / n;
  result.elbo = -(recon + kl) / n;
  if (klPerDim) result.kl_per_dim = [...klPerDim].map((v) => v / n);
  if (codeSum && codeSq) {
    // Cov_x(E_q[z_j|x]) = E[μ_j²] − E[μ_j]²
    result.active_units = activeUnits(codeSum, codeSq, n);
    if (opts.withMoments) result.moments = { sum: [...codeSum], sumSq: [...codeSq] };
  }
  if (model.logImportanceWeights && opts.isSamples > 0) {
    result.nll = nll / n;
    result.is_samples = opts.isSamples;
    if (refineSteps > 0) result.refine_steps = refineSteps;
  }
  return result;
}
