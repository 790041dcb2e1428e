// Training-time augmentation: random translation. Each training image is moved by (dx, dy) whole
// pixels, each uniform in {−s, ..., s}, and the pixels moved in from outside the frame are 0 (the
// background):
//   x'[c, i, j] = x[c, i − dy, j − dx]   (0 where i − dy or j − dx falls outside the image)
// A model then sees every shape a few pixels away from where the training set put it, which teaches a
// fully connected net that a shape is the same shape one pixel over. The offsets of example i in epoch e
// depend only on (seed, e, i), like dynamic binarization: a resumed run, a run on more workers, or the
// same example in another batch gets the same images.
import { Rng, hashSeed } from "./prng.js";
import type { ImageShape } from "./dataset.js";

const SHIFT_SALT = 0x5417f7;

/** The (dx, dy) of example `index` in `epoch`: each uniform in {−maxShift, ..., maxShift}. */
export function shiftOf(maxShift: number, index: number, opts: { seed?: number; epoch?: number } = {}): [number, number] {
  const rng = new Rng(hashSeed(opts.seed ?? 0, opts.epoch ?? 0, index, SHIFT_SALT));
  return [rng.int(2 * maxShift + 1) - maxShift, rng.int(2 * maxShift + 1) - maxShift];
}

/**
 * Translates each row of a batch in place: `x` is [b, C*H*W], `indices[r]` the example index of row r
 * in its split. maxShift 0 leaves the batch as it is.
 */
export function shiftBatch(
  x: Float32Array, indices: ArrayLike<number>, imageShape: ImageShape, maxShift: number, opts: { seed?: number; epoch?: number } = {},
): Float32Array {
  if (maxShift === 0) return x;
  const [channels, height, width] = imageShape;
  if (!(Number.isInteger(maxShift) && maxShift > 0 && maxShift < Math.min(height, width))) {
    throw new RangeError(`a shift of ${maxShift} pixels does not fit ${height}x${width} images`);
  }
  const plane = height * width, size = channels * plane;
  const moved = new Float32Array(size);
  for (let r = 0; r < indices.length; r++) {
    const [dx, dy] = shiftOf(maxShift, indices[r], opts);
    const image = x.subarray(r * size, (r + 1) * size);
    moved.fill(0);
    const i0 = Math.max(0, dy), i1 = Math.min(height, height + dy);
    const j0 = Math.max(0, dx), j1 = Math.min(width, width + dx);
    for (let c = 0; c < channels; c++) {
      for (let i = i0; i < i1; i++) {
        const to = c * plane + i * width, from = c * plane + (i - dy) * width;
        moved.set(image.subarray(from + j0 - dx, from + j1 - dx), to + j0);
      }
    }
    image.set(moved);
  }
  return x;
}
