// The library's data vocabulary: images as typed arrays, and the checks that turn what a caller
// passes into exactly that (one clear LatentkitError when it does not fit).
import { LatentkitError } from "../io/errors.js";

/** Images: `data` holds N·C·H·W float32 values in [0, 1], row-major, with `shape` [N, C, H, W]. */
export type Images = { data: Float32Array; shape: [number, number, number, number] };

/** Codes: `data` holds N·D values, row-major, with `shape` [N, D]. */
export type Codes = { data: Float32Array; shape: [number, number] };

/** What a method that takes images accepts: Images, or a bare Float32Array of N·C·H·W values. */
export type ImagesInput = Images | Float32Array;

/**
 * `input` as Images of the given image shape [C, H, W]: the count N is inferred from a bare array.
 * Non-finite values are refused (naming the first index).
 */
export function asImages(input: ImagesInput, imageShape: readonly [number, number, number], what = "images"): Images {
  const [C, H, W] = imageShape;
  const size = C * H * W;
  const data = input instanceof Float32Array ? input : input?.data;
  if (!(data instanceof Float32Array)) throw new LatentkitError(`${what}: expected { data: Float32Array, shape: [N, C, H, W] } or a Float32Array`);
  if (!(input instanceof Float32Array)) {
    const s = input.shape;
    if (!Array.isArray(s) || s.length !== 4 || s[1] !== C || s[2] !== H || s[3] !== W) {
      throw new LatentkitError(`${what}: shape [${s}] does not match the model's images [N, ${C}, ${H}, ${W}]`);
    }
    if (s[0] * size !== data.length) throw new LatentkitError(`${what}: shape [${s}] needs ${s[0] * size} values, got ${data.length}`);
  }
  if (data.length % size !== 0) {
    throw new LatentkitError(`${what}: ${data.length} values are not a whole number of ${C}x${H}x${W} images (${size} values each)`);
  }
  assertFinite(data, what);
  return { data, shape: [data.length / size, C, H, W] };
}

/** Throws naming the first non-finite value of `data`. */
export function assertFinite(data: ArrayLike<number>, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new LatentkitError(`${what}: value ${data[i]} at index ${i} is not a finite number`);
  }
}

/** Labels for n examples: an Int32Array (or number array) of n class indices in [0, numClasses). */
export function asLabels(labels: ArrayLike<number> | undefined, n: number, numClasses: number, what = "labels"): Int32Array {
  if (labels === undefined) throw new LatentkitError(`${what}: the model is conditional and needs one label per example (${n})`);
  if (labels.length !== n) throw new LatentkitError(`${what}: ${labels.length} labels for ${n} examples`);
  const out = Int32Array.from(labels);
  out.forEach((l, i) => {
    if (!(l >= 0 && l < numClasses) || l !== labels[i]) throw new LatentkitError(`${what}: label ${labels[i]} at index ${i} is not a class in 0..${numClasses - 1}`);
  });
  return out;
}
