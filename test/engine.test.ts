// The engine layer: initialisation, the Node 20 shims, keys, and float64 autodiff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, lax, valueAndGrad, keyFromSeed, splitKey, toData, random, randomIndices, type Array } from "../src/engine/index.js";
import { countFlops } from "../src/engine/flops.js";
import { wasmBoundGflops } from "../src/engine/wasm-bound.js";
import { checkGrad, f64, assertClose } from "./helpers/numeric.js";

await init();

test("init is idempotent", async () => {
  await init();
  await init();
  assert.deepEqual(toData(np.array([1, 2, 3]).sum()), new Float32Array([6]));
});

test("float64 arrays from JS data (needs the Float16Array shim on Node < 24)", () => {
  const x = f64([0.1, 0.2], [2]);
  assert.equal(x.dtype, "float64");
  assertClose(toData(x), [0.1, 0.2], { rtol: 0, atol: 0 });
});

test("einsum works on Node 20 (needs the iterator-helpers shim)", () => {
  const a = np.array([[1, 2], [3, 4]]);
  const b = np.array([[5, 6], [7, 8]]);
  assertClose(toData(np.einsum("ij,jk->ik", a, b)), [19, 22, 43, 50]);
});

test("a key gives the same draws every time; split keys differ", () => {
  const a = toData(random.normal(keyFromSeed(7), [4]));
  const b = toData(random.normal(keyFromSeed(7), [4]));
  assert.deepEqual(a, b);
  const [k1, k2] = splitKey(keyFromSeed(7));
  assert.notDeepEqual(toData(random.normal(k1, [4])), toData(random.normal(k2, [4])));
});

test("float64 gradient check of a smooth function", () => {
  checkGrad((x) => np.sum(np.tanh(x.ref).mul(np.exp(x))), [0.3, -0.7, 1.1], [3]);
});

// A finding worth a test: float64 transcendentals in jax-js 0.1.25 are accurate to ~1e-8..1e-6 relative,
// not to double precision. If an upgrade makes them exact, tighten checkGrad's step (helpers/numeric.ts).
test("float64 exp/log/tanh agree with Math to 1e-6 relative (engine precision)", () => {
  const xs = [0.3, 0.7, 1.1, 5.5, 20];
  for (const [name, op, ref] of [
    ["exp", np.exp, Math.exp], ["log", np.log, Math.log], ["tanh", np.tanh, Math.tanh],
  ] as const) {
    assertClose(toData(op(f64(xs, [5]))), xs.map(ref), { rtol: 1e-6, atol: 1e-12 }, name);
  }
});

test("countFlops: 2·m·n·k for a matrix product, 2·|out|·C_in·|window| for a convolution, elementwise work not counted", async () => {
  await init();
  const matmul = (a: any, b: any) => np.matmul(a, b).add(1).mul(2);
  assert.equal(countFlops(matmul, np.zeros([8, 5]), np.zeros([5, 3])), 2 * 8 * 3 * 5);
  const conv = (x: any, w: any) => lax.convGeneralDilated(x, w, [2, 2], "VALID");
  // [2, 3, 9, 9] * [4, 3, 3, 3] stride 2 VALID -> [2, 4, 4, 4]
  assert.equal(countFlops(conv, np.zeros([2, 3, 9, 9]), np.zeros([4, 3, 3, 3])), 2 * (2 * 4 * 4 * 4) * (3 * 3 * 3));
  // Through a value and gradient: the product forward, and two products backward (dA and dB).
  const g = (a: any, b: any) => valueAndGrad((p: any, q: any) => np.matmul(p, q).sum(), { argnums: [0, 1] } as any)(a, b);
  assert.equal(countFlops(g, np.ones([8, 5]), np.ones([5, 3])), 3 * 2 * 8 * 3 * 5);
});

test("the WebAssembly bound: the f32x4 multiply-add module validates and runs at a finite, positive rate", () => {
  const gflops = wasmBoundGflops(1);
  assert.ok(Number.isFinite(gflops) && gflops > 0, `${gflops}`);
});

test("randomIndices: the same draws eagerly and inside valueAndGrad (jax-js's random.randint is not), uniform over [0, n)", async () => {
  await init();
  const draw = (k: Array) => randomIndices(k, 64, [4000]);
  const eager = Array.from(toData(draw(keyFromSeed(11))) as Int32Array);
  const f = (w: Array, k: Array) => [w.sum(), draw(k)];
  const [[, traced]] = valueAndGrad(f as never, { hasAux: true })(np.ones([1]), keyFromSeed(11)) as unknown as [[Array, Array]];
  assert.deepEqual(Array.from(toData(traced) as Int32Array), eager);
  assert.ok(eager.every((v) => Number.isInteger(v) && v >= 0 && v < 64));
  const counts = new Array(64).fill(0);
  for (const v of eager) counts[v]++;
  const chi2 = counts.reduce((s, c) => s + (c - 4000 / 64) ** 2 / (4000 / 64), 0);
  assert.ok(chi2 < 120, `χ² with 63 degrees of freedom: ${chi2.toFixed(1)}`); // p ≈ 3e-5 for a fair draw
});
