// The one data shape every command uses: a Dataset of up to three Splits, each a compact typed-array store
// (uint8 0..255 for MNIST-like sets, so 60k images stay ~47 MB) that hands out float batches in [0, 1].
import { LatentkitError } from "../io/errors.js";

export type SplitName = "train" | "valid" | "test";
export const SPLIT_NAMES: readonly SplitName[] = ["train", "valid", "test"];

/** [C, H, W] of one example. */
export type ImageShape = [c: number, h: number, w: number];

export interface Split {
  readonly n: number;
  readonly imageShape: ImageShape;
  /** [n, C*H*W] row-major; the value of element k is `pixels[k] * scale`. */
  readonly pixels: Uint8Array | Float32Array;
  readonly scale: number;
  /** [n] class indices 0..numClasses-1. */
  readonly labels?: Int32Array;
  /** [n, K] factor indices into the dataset's `factors.values` (generated sets only). */
  readonly factors?: Int32Array;
  /** The examples at `indices` as float32 [b, C*H*W] in [0, 1] (written into `out` when given). */
  batch(indices: ArrayLike<number>, out?: Float32Array): Float32Array;
}

/** Known generative factors of a generated data set (sprites): names, grid sizes, and the values. */
export interface FactorInfo {
  names: string[];
  sizes: number[];
  /** values[k][i]: the value of factor k at grid index i (e.g. the scale, or x in pixels). */
  values: number[][];
}

export interface Dataset {
  name: string;
  /** Where it was read from: a folder, a file, or "(built-in)". */
  source: string;
  imageShape: ImageShape;
  numClasses?: number;
  labelNames?: string[];
  factors?: FactorInfo;
  /** Every pixel is 0 or 1 already (binarized-mnist, sprites): binarization is a no-op. */
  binary: boolean;
  splits: Record<SplitName, Split | undefined>;
  /** Files (or splits) that were looked for and not found, as `path` strings; absent when none. */
  missing?: string[];
  /** Set when the valid split was carved from the end of train (see `withValidSplit`). */
  validCarved?: { fraction: number; from: number };
}

/** The number of values in one example. */
export function exampleSize(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** A Split over a typed-array store. `pixels` holds n * C*H*W values. */
export function makeSplit(
  pixels: Uint8Array | Float32Array,
  imageShape: ImageShape,
  opts: { scale?: number; labels?: Int32Array; factors?: Int32Array } = {},
): Split {
  const d = exampleSize(imageShape);
  if (d <= 0 || pixels.length % d !== 0) {
    throw new LatentkitError(`${pixels.length} values do not make whole images of shape [${imageShape.join(", ")}]`);
  }
  const n = pixels.length / d;
  const scale = opts.scale ?? 1;
  if (opts.labels && opts.labels.length !== n) {
    throw new LatentkitError(`${opts.labels.length} labels for ${n} images`);
  }
  if (opts.factors && opts.factors.length % Math.max(n, 1) !== 0) {
    throw new LatentkitError(`${opts.factors.length} factor values for ${n} images`);
  }
  // uint8 stores read through a 256-entry table: one load per pixel, no division.
  const lut = pixels instanceof Uint8Array ? Float32Array.from({ length: 256 }, (_, v) => v * scale) : undefined;
  return {
    n, imageShape, pixels, scale, labels: opts.labels, factors: opts.factors,
    batch(indices, out) {
      const b = indices.length;
      const x = out ?? new Float32Array(b * d);
      if (x.length < b * d) throw new RangeError(`batch buffer holds ${x.length} values, needs ${b * d}`);
      for (let r = 0; r < b; r++) {
        const i = indices[r];
        if (!(i >= 0 && i < n) || !Number.isInteger(i)) throw new RangeError(`example index ${i} outside 0..${n - 1}`);
        const src = i * d, dst = r * d;
        if (lut) {
          const p = pixels as Uint8Array;
          for (let j = 0; j < d; j++) x[dst + j] = lut[p[src + j]];
        } else if (scale === 1) {
          x.set(pixels.subarray(src, src + d), dst);
        } else {
          for (let j = 0; j < d; j++) x[dst + j] = pixels[src + j] * scale;
        }
      }
      return x;
    },
  };
}

/** Examples start..end-1 of a split, sharing its storage (no copy). */
export function sliceSplit(split: Split, start: number, end: number): Split {
  const d = exampleSize(split.imageShape);
  const k = split.factors ? split.factors.length / Math.max(split.n, 1) : 0;
  return makeSplit(split.pixels.subarray(start * d, end * d), split.imageShape, {
    scale: split.scale,
    labels: split.labels?.subarray(start, end),
    factors: split.factors?.subarray(start * k, end * k),
  });
}

/** Examples at `indices` of a split, copied into a new compact store (used for generated splits). */
export function gatherSplit(split: Split, indices: ArrayLike<number>): Split {
  const d = exampleSize(split.imageShape);
  const k = split.factors ? split.factors.length / Math.max(split.n, 1) : 0;
  const m = indices.length;
  const pixels = new (split.pixels.constructor as Uint8ArrayConstructor | Float32ArrayConstructor)(m * d);
  const labels = split.labels ? new Int32Array(m) : undefined;
  const factors = split.factors ? new Int32Array(m * k) : undefined;
  for (let r = 0; r < m; r++) {
    const i = indices[r];
    pixels.set(split.pixels.subarray(i * d, (i + 1) * d), r * d);
    if (labels) labels[r] = split.labels![i];
    if (factors) factors.set(split.factors!.subarray(i * k, (i + 1) * k), r * k);
  }
  return makeSplit(pixels, split.imageShape, { scale: split.scale, labels, factors });
}

/** The examples of `a` followed by those of `b`, copied into one store (same image shape and scale). */
export function concatSplits(a: Split, b: Split): Split {
  if (a.imageShape.join() !== b.imageShape.join() || a.scale !== b.scale) {
    throw new LatentkitError(`cannot join splits of shape [${a.imageShape}] (scale ${a.scale}) and [${b.imageShape}] (scale ${b.scale})`);
  }
  const pixels = new (a.pixels.constructor as Uint8ArrayConstructor | Float32ArrayConstructor)(a.pixels.length + b.pixels.length);
  pixels.set(a.pixels, 0);
  pixels.set(b.pixels, a.pixels.length);
  const joined = (x?: Int32Array, y?: Int32Array) => {
    if (!x || !y) return undefined;
    const out = new Int32Array(x.length + y.length);
    out.set(x, 0);
    out.set(y, x.length);
    return out;
  };
  return makeSplit(pixels, a.imageShape, { scale: a.scale, labels: joined(a.labels, b.labels), factors: joined(a.factors, b.factors) });
}

/** The default share of train that becomes the valid split when a data set has none. */
export const VALID_FRACTION = 0.1;

/**
 * A data set with a valid split. If it has one already (binarized-mnist, sprites) or has no train split,
 * it is returned unchanged. Otherwise the LAST floor(n * fraction) examples of train (at least 1) become
 * valid and train keeps the first ones: a fixed rule with no randomness, so every run and every resume
 * sees the same two sets (MNIST / Fashion-MNIST: train 54,000, valid 6,000).
 */
export function withValidSplit(ds: Dataset, fraction = VALID_FRACTION): Dataset {
  const train = ds.splits.train;
  if (ds.splits.valid || !train) return ds;
  if (!(fraction > 0 && fraction < 1)) throw new LatentkitError(`validation fraction must lie in (0, 1), got ${fraction}`);
  if (train.n < 2) throw new LatentkitError(`${ds.name}: ${train.n} training example(s) are too few to carve a validation split`);
  const k = Math.max(1, Math.floor(train.n * fraction));
  const from = train.n - k;
  return {
    ...ds,
    splits: { ...ds.splits, train: sliceSplit(train, 0, from), valid: sliceSplit(train, from, train.n) },
    validCarved: { fraction, from },
  };
}

/** The split, or a one-line error that says which files are missing. */
export function requireSplit(ds: Dataset, name: SplitName): Split {
  const s = ds.splits[name];
  if (s) return s;
  const why = ds.missing?.length ? `: missing ${ds.missing.join(", ")}` : "";
  throw new LatentkitError(`data set '${ds.name}' has no ${name} split${why}`);
}
