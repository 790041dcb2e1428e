// Small counter-based randomness for data order, splits and dynamic binarization. Plain JS (no engine),
// so a data order is a pure function of integers: (seed, epoch) -> permutation, and resuming a run needs
// only those integers and a position.

/** The murmur3 finaliser: a bijective 32-bit mix. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One 32-bit seed from a tuple of integers (order matters: (1, 2) and (2, 1) differ). */
export function hashSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) h = mix32((h ^ mix32((x >>> 0) + 0x7f4a7c15)) + 0x632be5ab);
  return h;
}

/** mulberry32: a tiny 32-bit generator, good enough for shuffling and coin flips. */
export class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  /** A uniform uint32. */
  nextUint32(): number {
    this.a = (this.a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A uniform float in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

/** A Fisher–Yates permutation of 0..n-1 drawn from the seed tuple `key` (e.g. [seed, epoch]). */
export function permutation(n: number, ...key: number[]): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Rng(hashSeed(...key));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
