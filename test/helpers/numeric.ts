// Shared numeric test helpers: closeness with separate tolerances, seeded JS randomness, and the
// float64 central-difference gradient check every differentiable piece of latentkit must pass.
import assert from "node:assert/strict";
import { np, grad, fromData, toData, type Array } from "../../src/engine/index.js";

/** |a - e| <= atol + rtol * |e|, elementwise; names the first index that fails. */
export function assertClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6 }: { rtol?: number; atol?: number } = {}, what = "value",
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** A small seeded PRNG (mulberry32) for test inputs, so tests do not depend on the engine's RNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal draws (Box-Muller) from a seeded PRNG. */
export function randn(n: number, seed: number): Float64Array {
  const u = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
  }
  return out;
}

/** A float64 engine array. */
export function f64(data: ArrayLike<number>, shape: number[]): Array {
  return fromData(data, shape, "float64");
}

/**
 * Central differences, df/dx_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h, against the engine's `grad`,
 * all in float64. `f` takes a float64 array (consumed) and returns a scalar array.
 * jax-js 0.1.25's wasm backend evaluates float64 exp/log in float32 (errors up to ~1e-5 relative for
 * log just below a power of two; see test/engine.test.ts), so the step is 3e-3 and the tolerances
 * are loose: round-off ~1e-7/h, truncation ~h^2. Keep test points away from powers of two.
 */
export function checkGrad(
  f: (x: Array) => Array, x0: ArrayLike<number>, shape: number[],
  { h = 3e-3, rtol = 1e-3, atol = 1e-4, what = "gradient" }: { h?: number; rtol?: number; atol?: number; what?: string } = {},
): void {
  const analytic = toData(grad(f)(f64(x0, shape)));
  const numeric = new Float64Array(x0.length);
  const x = Float64Array.from(x0);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    x[i] = xi + h;
    const fp = Number(toData(f(f64(x, shape)))[0]);
    x[i] = xi - h;
    const fm = Number(toData(f(f64(x, shape)))[0]);
    x[i] = xi;
    numeric[i] = (fp - fm) / (2 * h);
  }
  assertClose(analytic, numeric, { rtol, atol }, what);
}

export { np };
