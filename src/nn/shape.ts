// Shape layers without parameters (torch.nn.Flatten / torch.nn.Unflatten). Each consumes x.
import type { Array } from "../engine/index.js";

function axis(d: number, ndim: number, what: string): number {
  const a = d < 0 ? d + ndim : d;
  if (!Number.isInteger(a) || a < 0 || a >= ndim) throw new Error(`${what} ${d} is out of range for ${ndim} dims`);
  return a;
}

/** Flatten(startDim = 1, endDim = -1): [N, C, H, W] -> [N, C·H·W]. */
export function flatten(x: Array, startDim = 1, endDim = -1): Array {
  const s = x.shape;
  const a = axis(startDim, s.length, "flatten: startDim");
  const b = axis(endDim, s.length, "flatten: endDim");
  if (a > b) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const merged = s.slice(a, b + 1).reduce((p, q) => p * q, 1);
  return x.reshape([...s.slice(0, a), merged, ...s.slice(b + 1)]);
}

/** Unflatten(dim, sizes): dim of size prod(sizes) becomes `sizes`, e.g. [N, 1568] -> [N, 32, 7, 7]. */
export function unflatten(x: Array, dim: number, sizes: number[]): Array {
  const s = x.shape;
  const d = axis(dim, s.length, "unflatten: dim");
  const n = sizes.reduce((p, q) => p * q, 1);
  if (n !== s[d]) throw new Error(`unflatten: sizes [${sizes}] do not multiply to dim ${dim}'s ${s[d]}`);
  return x.reshape([...s.slice(0, d), ...sizes, ...s.slice(d + 1)]);
}
