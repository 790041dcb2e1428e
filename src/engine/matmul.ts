// Batched matrix products that avoid a jax-js 0.1.25 bug.
//
// `np.matmul(a, b)` with a 2-D `a` and a 3-D (or higher) `b` does not broadcast `a` over the batch:
// jax-js counts the batch dimensions as min(max(a.ndim, 2), b.ndim) - 2 = 0 and contracts `a`'s last
// axis with `b`'s second-to-last, giving the wrong values and even the wrong shape ([2,2]@[3,2,2]
// comes back as [2,3,2]). 3-D@3-D and 3-D@2-D are right. `batchedMatmul` gives both operands the
// same rank (leading axes of size 1) and broadcasts their batch axes explicitly, so the engine only
// ever sees the equal-rank, equal-batch case. test/matmul.test.ts keeps a test that fails once the
// upstream bug is fixed, so the workaround can be dropped then.
import "./shims.js";
import { numpy as np } from "@jax-js/jax";
import type { Array } from "@jax-js/jax";

/**
 * Matrix product over the last two axes, NumPy semantics for the batch axes (broadcast):
 * `a` is `[...batchA, M, K]`, `b` is `[...batchB, K, N]`, the result `[...broadcast(batchA, batchB), M, N]`.
 * Both operands must have at least 2 dimensions. Both are consumed.
 */
export function batchedMatmul(a: Array, b: Array): Array {
  const as = a.shape, bs = b.shape;
  const fail = (msg: string): never => {
    a.dispose();
    b.dispose();
    throw new Error(`batchedMatmul: ${msg}`);
  };
  if (as.length < 2 || bs.length < 2) {
    fail(`both operands need at least 2 dimensions, got shapes [${as}] and [${bs}]`);
  }
  const [m, k] = as.slice(-2), [k2, n] = bs.slice(-2);
  if (k !== k2) fail(`inner dimensions differ: [${as}] @ [${bs}] (${k} != ${k2})`);
  const rank = Math.max(as.length, bs.length);
  const ba = [...new globalThis.Array<number>(rank - as.length).fill(1), ...as.slice(0, -2)];
  const bb = [...new globalThis.Array<number>(rank - bs.length).fill(1), ...bs.slice(0, -2)];
  const batch: number[] = [];
  for (let i = 0; i < ba.length; i++) {
    if (ba[i] !== bb[i] && ba[i] !== 1 && bb[i] !== 1) {
      fail(`batch dimensions do not broadcast: [${as}] @ [${bs}]`);
    }
    batch.push(Math.max(ba[i], bb[i]));
  }
  if (rank === 2) return np.matmul(a, b);
  const a2 = sameShape(as, [...batch, m, k]) ? a : np.broadcastTo(a.reshape([...ba, m, k]), [...batch, m, k]);
  const b2 = sameShape(bs, [...batch, k, n]) ? b : np.broadcastTo(b.reshape([...bb, k, n]), [...batch, k, n]);
  return np.matmul(a2, b2);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
