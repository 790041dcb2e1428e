// The engine layer: initialisation, the Node 20 shims, keys, and float64 autodiff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, keyFromSeed, splitKey, toData, random } from "../src/engine/index.js";
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
