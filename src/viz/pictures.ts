// The pictures of the seeds, from any model that speaks models/types.ts: prior samples, inputs over
// their reconstructions, the 2-D latent manifold, latent traversals and interpolations. Plain values
// in and out: codes and images are Float32Arrays; `params` is borrowed.
import { np, fromData, keyFromSeed, splitKey, type Array as Tensor } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import type { Model, Params } from "../models/types.js";
import { makeGrid, type Grid } from "./grid.js";

/** Examples per engine call: bounds memory for large requests. */
const CHUNK = 512;

const int32 = (labels: ArrayLike<number>) => np.array(Int32Array.from(labels), { dtype: np.int32 });

/** Runs `fn` on rows [start, end) of an n-row request, CHUNK at a time, and concatenates the outputs. */
function chunked(n: number, rowSize: number, fn: (start: number, end: number) => Tensor): Float32Array {
  const out = new Float32Array(n * rowSize);
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    out.set(fn(start, end).dataSync() as Float32Array, start * rowSize);
  }
  return out;
}

function imageSize(model: Model): number {
  const [c, h, w] = model.info.imageShape;
  return c * h * w;
}

/** Labels for a conditional model (checked against its classes), nothing for the others. */
function labelsFor(model: Model, labels: ArrayLike<number> | undefined, start: number, end: number): Tensor | undefined {
  if (!model.conditional) return undefined;
  if (!labels) throw new LatentkitError(`model ${model.family} is conditional: its pictures need labels`);
  return int32(Array.from(labels).slice(start, end));
}

/** Mean images of p(x|z) for codes z ([n, codeDim] row-major): [n, C, H, W] in [0, 1]. */
export function decodeCodes(model: Model, params: Params, z: Float32Array, labels?: ArrayLike<number>): Float32Array {
  const d = model.codeDim;
  const n = z.length / d;
  return chunked(n, imageSize(model), (s, e) =>
    model.decode(params, fromData(z.subarray(s * d, e * d), [e - s, d]), labelsFor(model, labels, s, e)));
}

/** The code of each image (the posterior mean for a VAE): x [n, C*H*W] in [0, 1] -> [n, codeDim]. */
export function encodeImages(model: Model, params: Params, x: Float32Array, labels?: ArrayLike<number>): Float32Array {
  const D = imageSize(model);
  const n = x.length / D;
  return chunked(n, model.codeDim, (s, e) =>
    model.encode(params, { x: fromData(x.subarray(s * D, e * D), [e - s, ...model.info.imageShape]), labels: labelsFor(model, labels, s, e) }));
}

/** The reconstruction of each image: [n, C, H, W] in [0, 1]. */
export function reconstructImages(model: Model, params: Params, x: Float32Array, labels?: ArrayLike<number>): Float32Array {
  const D = imageSize(model);
  const n = x.length / D;
  return chunked(n, D, (s, e) =>
    model.reconstruct(params, { x: fromData(x.subarray(s * D, e * D), [e - s, ...model.info.imageShape]), labels: labelsFor(model, labels, s, e) }));
}

const shapeOf = (model: Model, n: number): Grid["shape"] => [n, ...model.info.imageShape];

/**
 * Mean images of draws z ~ p(z) (x ~ p(x|z) would add pixel noise). Conditional models: one row per
 * label, `n` per row, in the order given; others: n images in a near-square grid.
 */
export function sampleGrid(model: Model, params: Params, opts: { n: number; seed: number; labels?: number[] }): Grid {
  if (!model.sample) {
    throw new LatentkitError(`model ${model.family} is a deterministic autoencoder: it has no prior to sample from (try reconstruct, manifold or interpolate)`);
  }
  if (opts.labels && !model.conditional) {
    throw new LatentkitError(`--label: model ${model.family} is not conditional (labels apply to conditional models such as cvae)`);
  }
  const K = model.info.numClasses ?? 0;
  const rowLabels = model.conditional ? opts.labels ?? Array.from({ length: K }, (_, k) => k) : undefined;
  for (const l of rowLabels ?? []) {
    if (!(Number.isInteger(l) && l >= 0 && l < K)) throw new LatentkitError(`--label ${l}: model ${model.family} has labels 0..${K - 1}`);
  }
  const total = rowLabels ? rowLabels.length * opts.n : opts.n;
  const perRow = rowLabels?.flatMap((l) => Array.from({ length: opts.n }, () => l));
  let key = keyFromSeed(opts.seed);
  const images = chunked(total, imageSize(model), (s, e) => {
    const [next, k] = splitKey(key);
    key = next;
    return model.sample!(params, k, e - s, perRow ? int32(perRow.slice(s, e)) : undefined);
  });
  key.dispose();
  if (rowLabels) return makeGrid(images, shapeOf(model, total), opts.n, rowLabels.length);
  return makeGrid(images, shapeOf(model, total), Math.ceil(Math.sqrt(total)));
}

/**
 * Two image sets interleaved by rows of `cols`: a row of `top`, the matching row of `bottom`, and so
 * on (inputs above, reconstructions below).
 */
export function pairedRows(top: Float32Array, bottom: Float32Array, shape: Grid["shape"], cols: number): Grid {
  const [n, c, h, w] = shape;
  const D = c * h * w;
  const blocks = Math.ceil(n / cols);
  const out = new Float32Array(2 * blocks * cols * D);
  for (let b = 0; b < blocks; b++) {
    const s = b * cols, e = Math.min(n, s + cols);
    out.set(top.subarray(s * D, e * D), 2 * b * cols * D);
    out.set(bottom.subarray(s * D, e * D), (2 * b + 1) * cols * D);
  }
  return makeGrid(out, [2 * blocks * cols, c, h, w], cols, 2 * blocks);
}

/** z-values of the manifold's rows or columns: the quantile function of the latent at bin centres. */
export type Quantile = (dim: number, u: number) => number;

/**
 * The latent manifold (Kingma & Welling, figure 4): a g x g square of evenly spaced u in (0, 1)²
 * mapped through the quantile function, z_i = Q_i(u_col), z_j = Q_j(u_row), every other dimension
 * at `base` (default 0), then decoded. Rows run from high z_j (top) to low, like a plot's y axis.
 */
export function manifoldGrid(model: Model, params: Params, opts: {
  grid: number; dims: [number, number]; quantile: Quantile; base?: Float32Array; label?: number;
}): Grid {
  const { grid: g, dims: [i, j] } = opts;
  const d = model.codeDim;
  const u = Array.from({ length: g }, (_, k) => (k + 0.5) / g);
  const z = new Float32Array(g * g * d);
  for (let r = 0; r < g; r++)
    for (let c = 0; c < g; c++) {
      const row = (r * g + c) * d;
      if (opts.base) z.set(opts.base, row);
      z[row + i] = opts.quantile(i, u[c]);
      z[row + j] = opts.quantile(j, u[g - 1 - r]);
    }
  const labels = model.conditional ? new Int32Array(g * g).fill(opts.label ?? 0) : undefined;
  return makeGrid(decodeCodes(model, params, z, labels), shapeOf(model, g * g), g, g);
}

/**
 * Latent traversal: row r sweeps dimension dims[r] through `values(dim)` while every other dimension
 * stays at `base` (Higgins et al. 2017).
 */
export function traversalGrid(model: Model, params: Params, opts: {
  base: Float32Array; dims: number[]; values: (dim: number) => number[]; label?: number;
}): Grid {
  const d = model.codeDim;
  const rows = opts.dims.map((dim) => ({ dim, values: opts.values(dim) }));
  const cols = Math.max(...rows.map((r) => r.values.length));
  const z = new Float32Array(rows.length * cols * d);
  rows.forEach(({ dim, values }, r) => {
    for (let c = 0; c < cols; c++) {
      const at = (r * cols + c) * d;
      z.set(opts.base, at);
      z[at + dim] = values[Math.min(c, values.length - 1)];
    }
  });
  const labels = model.conditional ? new Int32Array(rows.length * cols).fill(opts.label ?? 0) : undefined;
  return makeGrid(decodeCodes(model, params, z, labels), shapeOf(model, rows.length * cols), cols, rows.length);
}

/**
 * Spherical interpolation (Shoemake 1985; White 2016 for latent spaces):
 *   slerp(a, b; t) = sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b,   cos Ω = a·b / (‖a‖‖b‖)
 * falling back to the straight line when a and b are (anti)parallel or zero.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  let dot = 0, na = 0, nb = 0;
  for (let k = 0; k < a.length; k++) {
    dot += a[k] * b[k];
    na += a[k] * a[k];
    nb += b[k] * b[k];
  }
  const cos = dot / Math.sqrt(na * nb);
  const omega = Math.acos(Math.min(1, Math.max(-1, cos)));
  const s = Math.sin(omega);
  if (!(s > 1e-6)) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / s, wb = Math.sin(t * omega) / s;
  return Float32Array.from({ length: a.length }, (_, k) => wa * a[k] + wb * b[k]);
}

/** lerp(a, b; t) = (1 − t) a + t b. */
export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  return Float32Array.from({ length: a.length }, (_, k) => (1 - t) * a[k] + t * b[k]);
}

/**
 * Interpolations between pairs of codes: row r decodes z(t) for `steps` evenly spaced t in [0, 1]
 * from starts[r] to ends[r] (linear, or spherical). With `inputs`, each row is framed by the two
 * real images it runs between.
 */
export function interpolationGrid(model: Model, params: Params, opts: {
  starts: Float32Array[]; ends: Float32Array[]; steps: number; spherical?: boolean;
  labels?: number[]; inputs?: { starts: Float32Array; ends: Float32Array };
}): Grid {
  const d = model.codeDim;
  const rows = opts.starts.length;
  const path = opts.spherical ? slerp : lerp;
  const z = new Float32Array(rows * opts.steps * d);
  for (let r = 0; r < rows; r++)
    for (let s = 0; s < opts.steps; s++) {
      const t = opts.steps === 1 ? 0 : s / (opts.steps - 1);
      z.set(path(opts.starts[r], opts.ends[r], t), (r * opts.steps + s) * d);
    }
  const labels = opts.labels?.flatMap((l) => Array.from({ length: opts.steps }, () => l));
  const decoded = decodeCodes(model, params, z, labels);
  if (!opts.inputs) return makeGrid(decoded, shapeOf(model, rows * opts.steps), opts.steps, rows);
  const D = imageSize(model);
  const cols = opts.steps + 2;
  const out = new Float32Array(rows * cols * D);
  for (let r = 0; r < rows; r++) {
    out.set(opts.inputs.starts.subarray(r * D, (r + 1) * D), r * cols * D);
    out.set(decoded.subarray(r * opts.steps * D, (r + 1) * opts.steps * D), (r * cols + 1) * D);
    out.set(opts.inputs.ends.subarray(r * D, (r + 1) * D), (r * cols + cols - 1) * D);
  }
  return makeGrid(out, shapeOf(model, rows * cols), cols, rows);
}
