// Vector quantisation (van den Oord et al. 2017, "Neural Discrete Representation Learning"):
//
//   k(z) = argmin_j ‖z − e_j‖²,   z_q = z_e + sg(e_k − z_e)       (straight-through: ∂z_q/∂z_e = I)
//   L_vq = ‖sg[z_e] − e_k‖² + β ‖z_e − sg[e_k]‖²                   (codebook + commitment)
//
// EMA codebook (their appendix A.1) instead of the codebook term, decay γ; per batch
// n_i = #{j : k_j = i} and s_i = Σ_{j : k_j = i} z_e,j:
//   N_i ← γ N_i + (1 − γ) n_i,   m_i ← γ m_i + (1 − γ) s_i,   e_i = m_i / Ñ_i,
//   Ñ_i = (N_i + ε) / (Σ_j N_j + K ε) · Σ_j N_j                      (Laplace smoothing)
// Dead codes (Dhariwal et al. 2020, Jukebox): a code whose usage U_i (the EMA of n_i; N_i itself
// with EMA) falls below a threshold moves onto a random encoder output of the batch, with U_i reset
// to the threshold, so it must win that many vectors per batch to stay.
//
// Where things live: a gradient-trained codebook is `params.codebook`; every array that is changed
// only by `afterStep` (the EMA codebook, N, m, the usage counts) is under `params.buffers`, which
// the training step keeps out of the gradient and the optimizer.
import { np, jnn, lax, random, randomIndices, type Array } from "../engine/index.js";
import type { Params } from "./types.js";

export type VqConfig = {
  K: number; // codes
  D: number; // code dimension
  commitment: number; // β
  ema: boolean;
  decay: number; // γ
  restart: boolean;
  threshold: number; // dead when the EMA usage is below this many vectors per batch
};

/** What one forward pass of the quantiser gives. All arrays owned by the caller. */
export type Quantized = {
  zq: Array; // [M, D] straight-through quantised vectors
  codes: Array; // [M] int32 nearest-code indices
  vqLoss: Array; // [M] ‖sg[z_e] − e‖² (without EMA) + β ‖z_e − sg[e]‖² per vector
  counts: Array; // [K] n_i, vectors assigned to each code
  aux: Params; // batch statistics for afterStep (empty when there is nothing to update)
};

const EPS = 1e-5; // Laplace smoothing ε

/** The codebook (borrowed): trained by gradients, or an EMA buffer. */
export function codebookOf(params: Params, config: VqConfig): Array {
  return (config.ema ? (params.buffers as Params).codebook : params.codebook) as Array;
}

/** The quantiser's entries of a model's parameter tree: codebook U(−1/K, 1/K) and its buffers. */
export function initQuantizer(key: Array, config: VqConfig): { codebook?: Array; buffers?: Params } {
  const { K, D } = config;
  const e = random.uniform(key, [K, D], { minval: -1 / K, maxval: 1 / K });
  if (config.ema) {
    // N = 1 and m = e: e = m / Ñ holds at the start and unused codes keep their place.
    return { buffers: { codebook: e.ref, clusterSize: np.ones([K]), embedSum: e } };
  }
  return config.restart ? { codebook: e, buffers: { usage: np.ones([K]).mul(config.threshold) } } : { codebook: e };
}

// ‖z − e_j‖² = ‖z‖² − 2 z·e_j + ‖e_j‖²; the ‖z‖² term does not change the argmin.
/** Nearest-code indices of z [M, D] (consumed) in the codebook e [K, D] (borrowed): [M] int32. */
export function nearestCodes(z: Array, e: Array): Array {
  const cross = np.matmul(z, np.transpose(e.ref)); // [M, K]
  const eNorm = np.square(e.ref).sum(-1); // [K]
  return np.argmin(eNorm.sub(cross.mul(2)), -1).astype(np.int32);
}

/** The code vectors of indices (consumed) [...] -> [..., D], e borrowed. */
export function lookupCodes(codes: Array, e: Array): Array {
  const flat = codes.reshape([-1]);
  const out = np.take(e.ref, flat, 0);
  return out.reshape([...codes.shape, e.shape[1]]);
}

/**
 * Quantises encoder outputs z_e [M, D] (consumed). `key` (consumed) draws the restart candidates:
 * K random rows of sg(z_e).
 */
export function quantize(params: Params, ze: Array, key: Array, config: VqConfig): Quantized {
  const { K, commitment } = config;
  const e = codebookOf(params, config);
  const zeStop = lax.stopGradient(ze.ref);
  const codes = nearestCodes(zeStop.ref, e);
  const onehot = jnn.oneHot(codes.ref, K).astype(ze.dtype); // [M, K]
  const ek = np.matmul(onehot.ref, e.ref); // [M, D], differentiable wrt e
  const commit = np.square(ze.ref.sub(lax.stopGradient(ek.ref))).sum(-1);
  const vqLoss = config.ema
    ? commit.mul(commitment)
    : np.square(zeStop.ref.sub(ek.ref)).sum(-1).add(commit.mul(commitment));
  const zq = ze.ref.add(lax.stopGradient(ek.sub(ze))); // z_e + sg(e_k − z_e)
  const counts = onehot.ref.sum(0); // [K]
  const aux: Params = {};
  if (config.ema || config.restart) aux.counts = lax.stopGradient(counts.ref);
  if (config.ema) aux.sums = np.matmul(np.transpose(onehot.ref), zeStop.ref); // [K, D]
  if (config.restart) {
    const M = zeStop.shape[0];
    const rows = randomIndices(key, M, [K]); // not random.randint: wrong under valueAndGrad (engine/index.ts)
    aux.candidates = np.take(zeStop.ref, rows, 0); // [K, D]
  } else {
    key.dispose();
  }
  onehot.dispose();
  zeStop.dispose();
  return { zq, codes, vqLoss, counts, aux };
}

// H = −Σ_k p_k log p_k with p_k = n_k / Σ n; perplexity e^H (K when every code is used equally).
/** Codebook perplexity and the number of codes in use, from the counts [K] (consumed). */
export function codebookUsage(counts: Array): { perplexity: Array; codesUsed: Array } {
  const p = counts.ref.div(counts.ref.sum());
  const entropy = p.ref.mul(np.log(p.add(1e-10))).sum().neg();
  return { perplexity: np.exp(entropy), codesUsed: counts.greater(0).astype(np.float32).sum() };
}

/**
 * The statistics of a whole batch from those of its shards (data-parallel training): the counts n_i
 * and the sums of assigned vectors Σ z_e are sums over examples, so they add; the restart candidates
 * are encoder outputs drawn from the batch, and the first shard's are as good a draw as any. Consumes `parts`.
 */
export function combineQuantizerStats(parts: Params[]): Params {
  const out: Params = {};
  const sum = (name: string) => parts.map((p) => p[name] as Array).reduce((a, b) => a.add(b));
  if (parts[0].counts) out.counts = sum("counts");
  if (parts[0].sums) out.sums = sum("sums");
  if (parts[0].candidates) {
    out.candidates = parts[0].candidates;
    for (const p of parts.slice(1)) (p.candidates as Array).dispose();
  }
  return out;
}

/**
 * The non-gradient update after an optimizer step: the EMA codebook and dead-code restarts.
 * Consumes the quantiser's entries in `params` and `aux`; returns the new entries
 * ({ codebook?, buffers }), to be merged over the rest of the parameters.
 */
export function updateQuantizer(params: Params, aux: Params, config: VqConfig): { codebook?: Array; buffers: Params } {
  const { K, decay: g, threshold } = config;
  const buffers = params.buffers as Params;
  const counts = aux.counts as Array;
  let codebook: Array;
  let usage: Array; // U_i: N_i with EMA, else its own EMA
  let embedSum: Array | undefined;
  if (config.ema) {
    usage = (buffers.clusterSize as Array).mul(g).add(counts.mul(1 - g));
    embedSum = (buffers.embedSum as Array).mul(g).add((aux.sums as Array).mul(1 - g));
    const n = usage.ref.sum();
    const smoothed = usage.ref.add(EPS).div(n.ref.add(K * EPS)).mul(n); // Ñ_i
    codebook = embedSum.ref.div(smoothed.reshape([K, 1]));
    (buffers.codebook as Array).dispose();
  } else {
    codebook = params.codebook as Array;
    if (!config.restart) {
      counts.dispose();
      return { codebook, buffers: {} };
    }
    usage = (buffers.usage as Array).mul(g).add(counts.mul(1 - g));
  }
  if (config.restart) {
    const dead = usage.ref.less(threshold); // [K]
    const deadRows = dead.ref.reshape([K, 1]);
    const candidates = aux.candidates as Array;
    codebook = np.where(deadRows.ref, candidates.ref, codebook);
    usage = np.where(dead, np.fullLike(usage.ref, threshold), usage);
    if (embedSum) embedSum = np.where(deadRows.ref, candidates.ref.mul(threshold), embedSum);
    deadRows.dispose();
    candidates.dispose();
  }
  if (config.ema) return { buffers: { codebook, clusterSize: usage, embedSum: embedSum! } };
  return { codebook, buffers: { usage } };
}
