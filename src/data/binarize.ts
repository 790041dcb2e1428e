// Binarization of grey-level images for Bernoulli decoders:
//   none    - values as they are, in [0, 1]
//   static  - x > 0.5 ? 1 : 0, the same every epoch (threshold; use `binarized-mnist` for the standard set)
//   dynamic - x ~ Bernoulli(p = grey level), redrawn each epoch (Salakhutdinov & Murray 2008). The draw for
//             example i in epoch e depends only on (seed, e, i), so a resumed run, or the same example
//             in a different batch, gets the same pixels.
import { LatentkitError } from "../io/errors.js";
import { Rng, hashSeed } from "./prng.js";

export type BinarizeMode = "none" | "static" | "dynamic";
export const BINARIZE_MODES: readonly BinarizeMode[] = ["none", "static", "dynamic"];

export function parseBinarizeMode(s: string): BinarizeMode {
  if ((BINARIZE_MODES as readonly string[]).includes(s)) return s as BinarizeMode;
  throw new LatentkitError(`binarize: expected one of ${BINARIZE_MODES.join(", ")}, got '${s}'`);
}

const DYNAMIC_SALT = 0xb1a7;

/**
 * Binarizes a batch in place: `x` is [b, d] in [0, 1], `indices[r]` the example index of row r in its split.
 * `seed` and `epoch` matter for "dynamic" only (evaluation conventionally uses epoch 0).
 */
export function binarizeBatch(
  x: Float32Array, indices: ArrayLike<number>, mode: BinarizeMode, opts: { seed?: number; epoch?: number } = {},
): Float32Array {
  if (mode === "none") return x;
  const b = indices.length, d = x.length / Math.max(b, 1);
  if (!Number.isInteger(d)) throw new RangeError(`a batch of ${x.length} values is not ${b} whole rows`);
  if (mode === "static") {
    for (let k = 0; k < x.length; k++) x[k] = x[k] > 0.5 ? 1 : 0;
    return x;
  }
  const seed = opts.seed ?? 0, epoch = opts.epoch ?? 0;
  for (let r = 0; r < b; r++) {
    const rng = new Rng(hashSeed(seed, epoch, indices[r], DYNAMIC_SALT));
    for (let j = r * d, end = j + d; j < end; j++) x[j] = rng.uniform() < x[j] ? 1 : 0;
  }
  return x;
}
