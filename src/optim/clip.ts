// Gradient clipping by the global norm over a whole tree:
//   ‖g‖ = √(Σ_leaves Σ g²),   g ← g · min(1, maxNorm / ‖g‖)
import { np, type Array } from "../engine/index.js";
import { flattenParams, mapParams, type ParamTree } from "../nn/tree.js";

/** ‖g‖ over every leaf of the tree (borrowed), as a scalar array. */
export function globalNorm(tree: ParamTree): Array {
  const leaves = Object.values(flattenParams(tree));
  if (leaves.length === 0) throw new Error("globalNorm of an empty tree");
  const sq = leaves.map((x) => np.square(x.ref).sum());
  return np.sqrt(sq.reduce((a, b) => a.add(b)));
}

/** The clipped gradients and the norm before clipping. `grads` is consumed. */
export function clipByGlobalNorm<P extends ParamTree>(grads: P, maxNorm: number): { grads: P; norm: Array } {
  if (!(maxNorm > 0)) throw new Error(`maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const scale = np.minimum(1, np.divide(maxNorm, norm.ref)); // ‖g‖ = 0 gives min(1, ∞) = 1
  const clipped = mapParams((g) => g.mul(scale.ref), grads) as P;
  scale.dispose();
  return { grads: clipped, norm };
}
