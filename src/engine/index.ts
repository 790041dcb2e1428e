// The engine: the one module that knows @jax-js/jax. Everything above imports arrays, transforms and
// randomness from here, never from the package itself.
//
// Ownership (jax-js's rule, kept throughout latentkit):
// - An array passed to a function is *consumed*; write `x.ref` to keep using it afterwards.
// - Parameter trees (`params`) and distribution objects are *borrowed*: a function that reads a
//   parameter takes `.ref` of it itself, so the caller still owns the tree.
// - Plain values cross the public boundary: typed arrays in, typed arrays out.
import "./shims.js";
import * as jax from "@jax-js/jax";
import { numpy as np, random, tree } from "@jax-js/jax";

export {
  numpy as np, lax, random, tree, nn as jnn, jit, grad, valueAndGrad, vjp, jvp, vmap, jacrev, jacfwd,
} from "@jax-js/jax";
export type { Array, DType, JsTree } from "@jax-js/jax";
type Array = jax.Array;

let initialised: Promise<void> | undefined;

/** Starts the wasm backend (CPU; Node and browsers). Idempotent: later calls share the first. */
export function init(): Promise<void> {
  initialised ??= jax.init("wasm").then((devices) => {
    if (!devices.includes("wasm")) throw new Error("the jax-js wasm backend failed to start");
    jax.defaultDevice("wasm");
  });
  return initialised;
}

export type Device = "webgpu" | "wasm";

/**
 * Starts the first of `order` that this host supports and makes it the default device (browsers:
 * WebGPU where available, else wasm). Node has wasm only; use `init()` there.
 */
export async function initDevice(order: Device[] = ["webgpu", "wasm"]): Promise<Device> {
  for (const device of order) {
    try {
      if ((await jax.init(device)).includes(device)) {
        jax.defaultDevice(device);
        return device;
      }
    } catch {
      // not available on this host: try the next one
    }
  }
  throw new Error(`none of ${order.join(", ")} is available here`);
}

/** Makes an already started device the default again (after a failed attempt on another). */
export function useDevice(device: Device): void {
  jax.defaultDevice(device);
}

/** A random key from an integer seed (JAX-style; keys are split, never global). */
export function keyFromSeed(seed: number): Array {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  return random.key(seed >>> 0);
}

/** Splits `key` (consumed) into `n` new keys. */
export function splitKey(key: Array, n = 2): Array[] {
  const keys = random.split(key, n);
  return np.unstack(keys) as Array[];
}

/**
 * Uniform integers in [0, n) of `shape` (int32), as floor(n·u), u ~ U[0, 1) (clipped to n − 1). The
 * key is consumed. In place of random.randint, which jax-js 0.1.25 computes wrongly when traced
 * under valueAndGrad (eager [48, 42, 44, 47, 30] became [0, 40, 0, 0, 0]: VQ-VAE restarts all drew
 * row 0); uniform, normal, bits, bernoulli and categorical are unaffected (test/engine.test.ts).
 */
export function randomIndices(key: Array, n: number, shape: number[]): Array {
  return np.minimum(np.floor(random.uniform(key, shape).mul(n)), n - 1).astype(np.int32);
}

/**
 * Keys drawn one after another from a seed: each `next()` splits the current key (consumed) into the
 * one it returns and the one it keeps. `dispose()` drops the kept key.
 */
export function keyStream(seed: number): { next: () => Array; dispose: () => void } {
  let key = keyFromSeed(seed);
  return {
    next() {
      const [kept, drawn] = splitKey(key);
      key = kept;
      return drawn;
    },
    dispose: () => key.dispose(),
  };
}

/** A float32 (or float64) array from JS data, with a shape. */
export function fromData(data: ArrayLike<number>, shape: number[], dtype: "float32" | "float64" = "float32"): Array {
  const buf = dtype === "float64" ? Float64Array.from(data) : Float32Array.from(data);
  return np.array(buf, { dtype: dtype === "float64" ? np.float64 : np.float32 }).reshape(shape);
}

/** The values of `x` (consumed) as a flat typed array. */
export function toData(x: Array): Float32Array | Float64Array | Int32Array | Uint32Array {
  return x.dataSync() as Float32Array | Float64Array | Int32Array | Uint32Array;
}

/** The single number held by a scalar array (consumed). */
export function toNumber(x: Array): number {
  return Number(x.dataSync()[0]);
}

/** Disposes every array in a tree (a no-op for non-array leaves). */
export function disposeTree(t: unknown): void {
  tree.dispose(t as any);
}

/** A new reference to every array in a tree (so the tree can be passed to a consuming function). */
export function refTree<T>(t: T): T {
  return tree.ref(t as any) as T;
}

export * from "./matmul.js";
export * from "./conv.js";
