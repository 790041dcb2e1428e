// The pictures of a saved run: which examples, which latent dimensions and which latent values each
// picture uses. Shared by the picture commands and the report, so both draw the same thing.
//
// Latent values come from the model's prior where it has one (Φ⁻¹ for N(0, I)); a deterministic
// autoencoder's codes have no prior, so its grids span the empirical quantiles of the test codes.
import { EVAL_FILE } from "../train/run-files.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError } from "../io/errors.js";
import type { Split } from "../data/dataset.js";
import { binarizeBatch } from "../data/binarize.js";
import { permutation } from "../data/prng.js";
import type { OpenRun } from "../train/run.js";
import { readJsonFile } from "../train/checkpoint.js";
import { evaluate } from "../eval/evaluate.js";
import type { Grid } from "./grid.js";
import { inverseNormalCdf } from "./invnorm.js";
import {
  encodeImages, reconstructImages, sampleGrid, pairedRows, manifoldGrid, traversalGrid, interpolationGrid,
  type Quantile,
} from "./pictures.js";

export type RunPictures = Pick<OpenRun, "dir" | "config" | "model" | "params">;

/** Examples of a split as the model sees them (binarized like evaluation does). */
export type Examples = { x: Float32Array; labels?: Int32Array; indices: number[]; n: number };

/** k indices spread evenly over 0..n−1 (floor(i n / k)): varied examples, no randomness. */
export function spreadIndices(n: number, k: number): number[] {
  const m = Math.min(n, k);
  return Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}

export function examplesOf(run: RunPictures, split: Split, indices: number[]): Examples {
  const mode = run.config.binarize === "dynamic" ? "static" : run.config.binarize;
  const x = binarizeBatch(split.batch(indices), indices, mode);
  const labels = split.labels ? Int32Array.from(indices, (i) => split.labels![i]) : undefined;
  return { x, labels, indices, n: indices.length };
}

function checkShape(run: RunPictures, split: Split, what: string): void {
  const want = run.model.info.imageShape.join("x"), got = split.imageShape.join("x");
  if (want !== got) throw new LatentkitError(`${what}: images are ${got} (CxHxW) but the run's model takes ${want}`);
  if (run.model.conditional && !split.labels) throw new LatentkitError(`${what}: model ${run.model.family} is conditional and needs labelled examples`);
}

/** Codes (posterior means) of examples: [n, codeDim]. */
export function codesOf(run: RunPictures, ex: Examples): Float32Array {
  return encodeImages(run.model, run.params, ex.x, ex.labels);
}

/**
 * Whether a model's code is a continuous vector that can be swept, gridded and interpolated: not
 * for codebook indices (vq-vae) or one-hot categoricals (dvae). The model interface has no field
 * for this yet, so the two discrete families are named here.
 */
export function hasContinuousCode(model: RunPictures["model"]): boolean {
  return !DISCRETE_CODE_FAMILIES.includes(model.family);
}
const DISCRETE_CODE_FAMILIES = ["vq-vae", "dvae"];

function requireContinuous(run: RunPictures, what: string): void {
  if (!hasContinuousCode(run.model)) {
    throw new LatentkitError(`${what}: model ${run.model.family} has discrete codes; ${what} needs a continuous latent (try sample or reconstruct)`);
  }
}

function checkLabel(run: RunPictures, label: number | undefined): void {
  if (label === undefined) return;
  const K = run.model.info.numClasses ?? 0;
  if (!run.model.conditional) throw new LatentkitError(`--label: model ${run.model.family} is not conditional (labels apply to conditional models such as cvae)`);
  if (!(label >= 0 && label < K)) throw new LatentkitError(`--label ${label}: model ${run.model.family} has labels 0..${K - 1}`);
}

// ---- samples and reconstructions ----------------------------------------------------------------

export function samplesPicture(run: RunPictures, opts: { n?: number; labels?: number[]; seed?: number } = {}): Grid {
  const perRow = run.model.conditional;
  return sampleGrid(run.model, run.params, { n: opts.n ?? (perRow ? 10 : 64), seed: opts.seed ?? 0, labels: opts.labels });
}

/** `n` examples spread over the split: inputs above, reconstructions below, 10 to a row. */
export function reconstructionsPicture(run: RunPictures, split: Split, opts: { n?: number; what?: string } = {}): {
  grid: Grid; reconstructions: Grid;
} {
  checkShape(run, split, opts.what ?? "reconstruct");
  const ex = examplesOf(run, split, spreadIndices(split.n, opts.n ?? 10));
  const recon = reconstructImages(run.model, run.params, ex.x, ex.labels);
  const shape: Grid["shape"] = [ex.n, ...run.model.info.imageShape];
  const cols = Math.min(ex.n, 10);
  return {
    grid: pairedRows(ex.x, recon, shape, cols),
    reconstructions: { images: recon, shape, rows: Math.ceil(ex.n / cols), cols },
  };
}

// ---- the latent: its quantiles and the order of its dimensions ---------------------------------

/** Φ⁻¹ for models with a N(0, I) prior; empirical quantiles of the codes for the others. */
export function latentQuantile(run: RunPictures, codes?: Float32Array): Quantile {
  if (run.model.probabilistic) return (_dim, u) => inverseNormalCdf(u);
  if (!codes) {
    throw new LatentkitError(`model ${run.model.family} is deterministic: its latent grid spans the codes of the test examples, and the run's test data is not available`);
  }
  const d = run.model.codeDim;
  const n = codes.length / d;
  const sorted = Array.from({ length: d }, (_, j) => Float64Array.from({ length: n }, (_, i) => codes[i * d + j]).sort());
  // The type-7 sample quantile (numpy's default): linear between order statistics.
  return (dim, u) => {
    const s = sorted[dim], h = (s.length - 1) * u, lo = Math.floor(h);
    return lo + 1 < s.length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
  };
}

/** KL per latent dimension from RUN/eval.json, else estimated on up to 500 examples of `split`. */
export function klPerDim(run: RunPictures, split?: Split): number[] | undefined {
  if (!run.model.probabilistic) return undefined;
  const file = join(run.dir, EVAL_FILE);
  if (existsSync(file)) {
    const saved = readJsonFile<{ kl_per_dim?: number[] }>(file).kl_per_dim;
    if (Array.isArray(saved) && saved.length === run.model.codeDim) return saved;
  }
  if (!split || !run.model.elbo) return undefined;
  const r = evaluate(run.model, run.params, split, { isSamples: 0, limit: 500, seed: run.config.seed, binarize: run.config.binarize });
  return r.kl_per_dim?.length === run.model.codeDim ? r.kl_per_dim : undefined;
}

/**
 * Latent dimensions from most to least informative: by KL(q(z_j|x) ‖ p(z_j)) for latent-variable
 * models, by the variance of the codes for the others, else in index order.
 */
export function dimensionOrder(run: RunPictures, opts: { split?: Split; codes?: Float32Array } = {}): number[] {
  const d = run.model.codeDim;
  let score = klPerDim(run, opts.split);
  if (!score && opts.codes) {
    const n = opts.codes.length / d;
    score = Array.from({ length: d }, (_, j) => {
      let s = 0, s2 = 0;
      for (let i = 0; i < n; i++) {
        const v = opts.codes![i * d + j];
        s += v;
        s2 += v * v;
      }
      return s2 / n - (s / n) ** 2;
    });
  }
  const order = Array.from({ length: d }, (_, j) => j);
  return score ? order.sort((a, b) => score![b] - score![a] || a - b) : order;
}

// ---- manifold, traversal, interpolation ----------------------------------------------------------

export function parseDims(spec: string, d: number): [number, number] {
  const parts = spec.split(",").map((s) => s.trim());
  const dims = parts.map(Number);
  if (parts.length !== 2 || !dims.every((v) => Number.isInteger(v) && v >= 0 && v < d) || dims[0] === dims[1]) {
    throw new LatentkitError(`--dims ${spec}: expected two different latent dimensions i,j in 0..${d - 1}`);
  }
  return dims as [number, number];
}

/** A test sample big enough for quantiles and orderings, small enough to encode in a moment. */
function sampleCodes(run: RunPictures, split?: Split): Float32Array | undefined {
  return split ? codesOf(run, examplesOf(run, split, spreadIndices(split.n, 1000))) : undefined;
}

/**
 * The manifold over two latent dimensions (default: the two with the most KL; for a 2-D latent,
 * 0 and 1), others at 0.
 */
export function manifoldPicture(run: RunPictures, opts: { grid?: number; dims?: [number, number]; label?: number; split?: Split } = {}): {
  grid: Grid; dims: [number, number];
} {
  const d = run.model.codeDim;
  requireContinuous(run, "manifold");
  checkLabel(run, opts.label);
  if (d < 2) throw new LatentkitError(`manifold: model ${run.model.family} has a ${d}-dimensional latent; the manifold needs two dimensions`);
  const codes = run.model.probabilistic ? undefined : sampleCodes(run, opts.split);
  const dims = opts.dims ?? (d === 2 ? [0, 1] : (dimensionOrder(run, { split: opts.split, codes }).slice(0, 2) as [number, number]));
  const g = opts.grid ?? 20;
  const grid = manifoldGrid(run.model, run.params, { grid: g, dims, quantile: latentQuantile(run, codes), label: opts.label });
  return { grid, dims };
}

/**
 * Each latent dimension (the `maxDims` with the most KL, in that order) swept over `steps` values
 * (±range for a N(0, I) prior; the 1st..99th percentile of the codes otherwise), others at the
 * posterior mean of test example `example`, or at 0 with `zero`.
 */
export function traversalPicture(run: RunPictures, opts: {
  split?: Split; steps?: number; maxDims?: number; example?: number; zero?: boolean; range?: number;
} = {}): { grid: Grid; dims: number[] } {
  const d = run.model.codeDim;
  requireContinuous(run, "traverse");
  const steps = opts.steps ?? 10;
  const range = opts.range ?? 3;
  const codes = run.model.probabilistic ? undefined : sampleCodes(run, opts.split);
  const dims = dimensionOrder(run, { split: opts.split, codes }).slice(0, opts.maxDims ?? 10);
  let base: Float32Array = new Float32Array(d);
  let label = 0;
  if (!opts.zero) {
    if (!opts.split) throw new LatentkitError(`traverse: the run's test data is not available to encode an example (use --zero to fix the other dimensions at 0)`);
    const i = opts.example ?? 0;
    if (!(i >= 0 && i < opts.split.n)) throw new LatentkitError(`--example ${i}: the test split has examples 0..${opts.split.n - 1}`);
    checkShape(run, opts.split, "traverse");
    const ex = examplesOf(run, opts.split, [i]);
    base = codesOf(run, ex);
    label = ex.labels?.[0] ?? 0;
  }
  const q = latentQuantile(run, codes);
  const values = (dim: number) => Array.from({ length: steps }, (_, k) => {
    const t = steps === 1 ? 0.5 : k / (steps - 1);
    return run.model.probabilistic ? -range + 2 * range * t : q(dim, 0.01 + 0.98 * t);
  });
  return { grid: traversalGrid(run.model, run.params, { base, dims, values, label }), dims };
}

/**
 * Interpolations between `pairs` pairs of test examples drawn (for `seed`) from the split: each row
 * shows the first input, `steps` decoded codes from one posterior mean to the other, and the second.
 */
export function interpolationPicture(run: RunPictures, split: Split, opts: {
  pairs?: number; steps?: number; spherical?: boolean; seed?: number;
} = {}): Grid {
  requireContinuous(run, "interpolate");
  checkShape(run, split, "interpolate");
  const pairs = opts.pairs ?? 6;
  if (split.n < 2) throw new LatentkitError(`interpolate: the split has ${split.n} example(s); two are needed`);
  const order = permutation(split.n, opts.seed ?? 0, 0x1e7e);
  const pick = Array.from({ length: 2 * pairs }, (_, k) => order[k % split.n]);
  const a = examplesOf(run, split, pick.filter((_, k) => k % 2 === 0));
  const b = examplesOf(run, split, pick.filter((_, k) => k % 2 === 1));
  const d = run.model.codeDim;
  const za = codesOf(run, a), zb = codesOf(run, b);
  const rows = (z: Float32Array) => Array.from({ length: pairs }, (_, r) => z.slice(r * d, (r + 1) * d));
  return interpolationGrid(run.model, run.params, {
    starts: rows(za), ends: rows(zb), steps: opts.steps ?? 10, spherical: opts.spherical,
    labels: a.labels ? Array.from(a.labels) : undefined, inputs: { starts: a.x, ends: b.x },
  });
}
