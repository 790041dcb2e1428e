// The optimizer contract: pure functions over parameter trees, so that loss, gradient and update
// fit in one jit-ed step. The learning rate is an argument (a scalar array inside jit, so a
// schedule changes its value without retracing).
//
// Ownership: init(params) borrows params and returns a new state (owned by the caller).
// update(grads, state, params, lr) CONSUMES grads, state, params and lr (when an array) and returns
// new { params, state }: the old trees must not be used afterwards (keep a copy with refTree).
import { np, type Array } from "../engine/index.js";
import { flattenParams, mapParams, type ParamTree } from "../nn/tree.js";

export type Optimizer<S extends ParamTree = ParamTree> = {
  init(params: ParamTree): S;
  update<P extends ParamTree>(grads: P, state: S, params: P, lr: Array | number): { params: P; state: S };
};

/** A learning rate as a scalar array, for passing into a jit-ed step. */
export function lrArray(lr: number, dtype: "float32" | "float64" = "float32"): Array {
  return np.array(lr, { dtype: dtype === "float64" ? np.float64 : np.float32 });
}

/** The step counter t (number of updates done so far), a scalar of the first parameter's dtype. */
export function initStep(params: ParamTree): Array {
  const first = Object.values(flattenParams(params))[0];
  if (!first) throw new Error("the optimizer was given an empty parameter tree");
  return np.zeros([], { dtype: first.dtype });
}

/** A tree of zeros shaped like `params` (borrowed). */
export function zerosLikeTree(params: ParamTree): ParamTree {
  return mapParams((x) => np.zeros(x.shape, { dtype: x.dtype }), params) as ParamTree;
}

/** `use()` hands out one reference to lr per call; `done()` drops the caller's own. */
export function sharedScalar(lr: Array | number): { use: () => Array | number; done: () => void } {
  return typeof lr === "number"
    ? { use: () => lr, done: () => {} }
    : { use: () => lr.ref, done: () => lr.dispose() };
}

export function checkRange(what: string, v: number, lo: number, hi: number, hiOpen = false): void {
  if (!(typeof v === "number" && v >= lo && (hiOpen ? v < hi : v <= hi))) {
    throw new Error(`${what} must be in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${v}`);
  }
}
