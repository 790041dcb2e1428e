// batchedMatmul: NumPy matmul semantics for batched operands of any rank >= 2, checked against a plain
// float64 JS reference, and a watch on the upstream np.matmul bug it works around.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, grad, toData } from "../src/engine/index.js";
import { batchedMatmul } from "../src/engine/matmul.js";
import { assertClose, checkGrad, f64, randn } from "./helpers/numeric.js";

await init();

/** Reference: broadcast batch axes, float64 loops. Returns data and shape. */
function refMatmul(a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[]) {
  const rank = Math.max(as.length, bs.length);
  const ba = [...Array(rank - as.length).fill(1), ...as.slice(0, -2)];
  const bb = [...Array(rank - bs.length).fill(1), ...bs.slice(0, -2)];
  const batch = ba.map((d, i) => Math.max(d, bb[i]));
  const [m, k] = as.slice(-2), n = bs[bs.length - 1];
  const nb = batch.reduce((p, d) => p * d, 1);
  const out = new Float64Array(nb * m * n);
  for (let t = 0; t < nb; t++) {
    // unravel t over batch, then index each operand (size-1 axes broadcast)
    let rem = t, oa = 0, ob = 0, sa = 1, sb = 1;
    for (let i = batch.length - 1; i >= 0; i--) {
      const idx = rem % batch[i];
      rem = Math.floor(rem / batch[i]);
      oa += (ba[i] === 1 ? 0 : idx) * sa;
      ob += (bb[i] === 1 ? 0 : idx) * sb;
      sa *= ba[i];
      sb *= bb[i];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += a[(oa * m + i) * k + l] * b[(ob * k + l) * n + j];
        out[(t * m + i) * n + j] = s;
      }
    }
  }
  return { data: out, shape: [...batch, m, n] };
}

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

for (const [as, bs] of [
  [[2, 2], [3, 2, 2]], // the case np.matmul gets wrong
  [[4, 3], [5, 3, 2]],
  [[5, 4, 3], [3, 2]],
  [[5, 4, 3], [5, 3, 2]],
  [[1, 4, 3], [5, 3, 2]], // size-1 batch broadcasts
  [[2, 1, 4, 3], [3, 3, 6]], // 4-D with 3-D
  [[3, 7], [7, 2]], // plain 2-D
] as [number[], number[]][]) {
  test(`batchedMatmul [${as}] @ [${bs}] matches a float64 reference`, () => {
    const a = randn(size(as), 1), b = randn(size(bs), 2);
    const ref = refMatmul(a, as, b, bs);
    const y = batchedMatmul(f64(a, as), f64(b, bs));
    assert.deepEqual(y.shape, ref.shape);
    assertClose(toData(y), ref.data, { rtol: 1e-12, atol: 1e-12 });
    // float32 too
    const y32 = batchedMatmul(np.array(Float32Array.from(a)).reshape(as), np.array(Float32Array.from(b)).reshape(bs));
    assert.equal(y32.dtype, "float32");
    assertClose(toData(y32), ref.data, { rtol: 1e-5, atol: 1e-5 });
  });
}

test("batchedMatmul is differentiable (2-D @ 3-D, float64 central differences)", () => {
  const a0 = randn(6, 3), b0 = randn(3 * 3 * 2, 4), r = randn(3 * 2 * 2, 5);
  const loss = (a: ReturnType<typeof f64>, b: ReturnType<typeof f64>) =>
    np.sum(batchedMatmul(a, b).mul(f64(r, [3, 2, 2])));
  checkGrad((a) => loss(a, f64(b0, [3, 3, 2])), a0, [2, 3], { what: "d/da" });
  checkGrad((b) => loss(f64(a0, [2, 3]), b), b0, [3, 3, 2], { what: "d/db" });
  // and grad agrees with the reference transpose: d/da = sum_t r_t @ b_t^T
  const g = toData(grad((a: ReturnType<typeof f64>) => loss(a, f64(b0, [3, 3, 2])))(f64(a0, [2, 3])));
  const expect = new Float64Array(6);
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < 2; i++) {
      for (let l = 0; l < 3; l++) {
        for (let j = 0; j < 2; j++) expect[i * 3 + l] += r[(t * 2 + i) * 2 + j] * b0[(t * 3 + l) * 2 + j];
      }
    }
  }
  assertClose(g, expect, { rtol: 1e-12, atol: 1e-12 });
});

test("batchedMatmul rejects mismatched shapes with a clear message", () => {
  assert.throws(() => batchedMatmul(f64(randn(6, 1), [2, 3]), f64(randn(8, 2), [2, 4])), /inner dimensions differ/);
  assert.throws(() => batchedMatmul(f64(randn(3, 1), [3]), f64(randn(6, 2), [3, 2])), /at least 2 dimensions/);
  assert.throws(
    () => batchedMatmul(f64(randn(24, 1), [2, 4, 3]), f64(randn(18, 2), [3, 3, 2])),
    /batch dimensions do not broadcast/,
  );
});

// The upstream bug batchedMatmul exists for. When this test fails, jax-js has fixed 2-D @ 3-D
// np.matmul: delete this test and let batchedMatmul call np.matmul directly.
test("upstream: jax-js np.matmul of a 2-D by a 3-D array is still wrong", () => {
  const a = randn(4, 11), b = randn(12, 12);
  const ref = refMatmul(a, [2, 2], b, [3, 2, 2]);
  const y = np.matmul(f64(a, [2, 2]), f64(b, [3, 2, 2]));
  const shapeRight = JSON.stringify(y.shape) === JSON.stringify(ref.shape);
  const data = toData(y);
  const valuesRight = shapeRight && data.every((v, i) => Math.abs(v - ref.data[i]) < 1e-9);
  assert.ok(
    !(shapeRight && valuesRight),
    "jax-js fixed 2-D@3-D matmul: batchedMatmul's workaround can go (see src/engine/matmul.ts)",
  );
});
