// Batches for training and evaluation. The order of an epoch is a permutation that depends only on
// (seed, epoch), drawn with a JS generator, so a run resumed at (epoch, position) sees exactly the batches
// it would have seen. A generator holds one batch at a time; engine arrays are made at the last moment
// (the only data file that imports the engine).
import { np } from "../engine/index.js";
import type { Array } from "../engine/index.js";
import { exampleSize, type Split } from "./dataset.js";
import { binarizeBatch, type BinarizeMode } from "./binarize.js";
import { shiftBatch } from "./augment.js";
import { permutation } from "./prng.js";

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle each epoch (default true); false gives 0..n-1 every epoch (evaluation). */
  shuffle?: boolean;
  /** Data-order seed (default 0); with the epoch it fixes the permutation and dynamic binarization. */
  seed?: number;
  /** Drop the last batch when it has fewer than batchSize examples (default false: keep it). */
  dropLast?: boolean;
  /** Binarization applied to each batch (default "none"); see binarize.ts. */
  binarize?: BinarizeMode;
  /** Stop after the first `limit` examples of the epoch order (eval --limit: with shuffle off, the first N). */
  limit?: number;
}

export interface EpochOptions extends LoaderOptions {
  epoch?: number;
  /** Examples of this epoch's order already consumed (resume): batches start here. Default 0. */
  startAt?: number;
  /** Training augmentation: move each image by up to this many pixels each way (augment.ts). Default 0. */
  shift?: number;
}

/** A batch as typed arrays (no engine). */
export interface HostBatch {
  /** [b, C*H*W] in [0, 1] (or {0, 1} when binarized). */
  x: Float32Array;
  /** [b] class indices, when the split has labels. */
  labels?: Int32Array;
  /** [b] example indices into the split. */
  indices: Uint32Array;
  epoch: number;
  /** Position in the epoch's order of this batch's first example; `end` = position after it (resume here). */
  start: number;
  end: number;
}

/** A batch as engine arrays. The caller owns `x`, `y` and `yOneHot`: consume or dispose them. */
export interface Batch extends Omit<HostBatch, "x" | "labels"> {
  /** float32 [b, C, H, W], or [b, C*H*W] with `flatten`. */
  x: Array;
  /** int32 [b]. */
  y?: Array;
  /** float32 [b, numClasses], with `oneHot`. */
  yOneHot?: Array;
  labels?: Int32Array;
}

/** The order of examples in an epoch: a permutation of 0..n-1 fixed by (seed, epoch), or 0..n-1. */
export function epochOrder(n: number, opts: { seed?: number; epoch?: number; shuffle?: boolean } = {}): Uint32Array {
  if (opts.shuffle === false) return Uint32Array.from({ length: n }, (_, i) => i);
  return permutation(n, opts.seed ?? 0, opts.epoch ?? 0);
}

/** The number of batches an epoch of n examples gives. */
export function batchesPerEpoch(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

function checkOptions(split: Split, o: EpochOptions): void {
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${o.batchSize}`);
  const start = o.startAt ?? 0;
  if (!(Number.isInteger(start) && start >= 0 && start <= split.n)) throw new RangeError(`startAt must be an integer in 0..${split.n}, got ${start}`);
}

/** The batches of one epoch as typed arrays, from position `startAt`. */
export function* hostBatches(split: Split, opts: EpochOptions): Generator<HostBatch> {
  checkOptions(split, opts);
  const epoch = opts.epoch ?? 0, bs = opts.batchSize;
  const order = epochOrder(split.n, { seed: opts.seed, epoch, shuffle: opts.shuffle });
  const n = Math.min(split.n, opts.limit ?? split.n);
  for (let start = opts.startAt ?? 0; start < n; start += bs) {
    const end = Math.min(start + bs, n);
    if (end - start < bs && opts.dropLast) return;
    const indices = order.slice(start, end);
    const x = shiftBatch(
      binarizeBatch(split.batch(indices), indices, opts.binarize ?? "none", { seed: opts.seed, epoch }),
      indices, split.imageShape, opts.shift ?? 0, { seed: opts.seed, epoch },
    );
    let labels: Int32Array | undefined;
    if (split.labels) {
      labels = new Int32Array(indices.length);
      for (let r = 0; r < indices.length; r++) labels[r] = split.labels[indices[r]];
    }
    yield { x, labels, indices, epoch, start, end };
  }
}

/** One-hot rows [b, k] of class indices. */
export function oneHotRows(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  for (let r = 0; r < labels.length; r++) {
    const c = labels[r];
    if (!(c >= 0 && c < numClasses)) throw new RangeError(`label ${c} outside 0..${numClasses - 1}`);
    out[r * numClasses + c] = 1;
  }
  return out;
}

/** A host batch's images as an engine float32 array [b, C, H, W] (or [b, C*H*W] with flatten). */
export function toImageArray(x: Float32Array, split: Split, flatten = false): Array {
  const b = x.length / exampleSize(split.imageShape);
  const shape = flatten ? [b, exampleSize(split.imageShape)] : [b, ...split.imageShape];
  return np.array(x as Float32Array<ArrayBuffer>, { shape, dtype: np.float32 });
}

/**
 * The batches of one epoch as engine arrays. Holds one batch at a time; each yielded batch's arrays belong
 * to the caller. Resume: pass the saved epoch and `startAt` = the `end` of the last finished batch.
 */
export function* batches(
  split: Split, opts: EpochOptions & { flatten?: boolean; oneHot?: boolean; numClasses?: number },
): Generator<Batch> {
  if (opts.oneHot && !(split.labels && opts.numClasses)) {
    throw new RangeError("oneHot needs a split with labels and numClasses");
  }
  for (const hb of hostBatches(split, opts)) {
    const { x, labels, ...rest } = hb;
    const b: Batch = { ...rest, labels, x: toImageArray(x, split, opts.flatten) };
    if (labels) {
      b.y = np.array(labels as Int32Array<ArrayBuffer>, { dtype: np.int32 });
      if (opts.oneHot) b.yOneHot = np.array(oneHotRows(labels, opts.numClasses!) as Float32Array<ArrayBuffer>, { shape: [labels.length, opts.numClasses!], dtype: np.float32 });
    }
    yield b;
  }
}
