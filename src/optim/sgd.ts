// Stochastic gradient descent with momentum, as torch.optim.SGD:
//   g ← g + λ θ                               (weightDecay λ, L2 added to the gradient)
//   b ← g at the first step, else μ b + (1 − τ) g   (momentum μ, dampening τ)
//   d ← g + μ b if nesterov else b            (d = g when μ = 0)
//   θ ← θ − lr · d
import { np, type Array } from "../engine/index.js";
import { mapParams, type ParamTree } from "../nn/tree.js";
import { checkRange, initStep, sharedScalar, zerosLikeTree, type Optimizer } from "./optimizer.js";

export type SgdOpts = { momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number };
/** `momentumBuffer` (torch's momentum_buffer per parameter) exists only when momentum > 0. */
export type SgdState = { step: Array; momentumBuffer?: ParamTree };

export function sgd({ momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 }: SgdOpts = {}): Optimizer<SgdState> {
  checkRange("sgd momentum", momentum, 0, 1, true);
  checkRange("sgd dampening", dampening, 0, 1);
  checkRange("sgd weightDecay", weightDecay, 0, Infinity);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new Error("sgd: nesterov momentum needs momentum > 0 and dampening = 0");
  }
  return {
    init(params) {
      return momentum > 0 ? { step: initStep(params), momentumBuffer: zerosLikeTree(params) } : { step: initStep(params) };
    },
    update(grads, state, params, lr) {
      const rate = sharedScalar(lr);
      const g = weightDecay !== 0
        ? (mapParams((gi, p) => gi.add(p.ref.mul(weightDecay)), grads, params) as ParamTree)
        : grads;
      let d = g;
      let momentumBuffer: ParamTree | undefined;
      if (momentum > 0) {
        // The buffer starts at 0, so μ·0 + c·g with c = 1 at t = 0 reproduces torch's "b ← g".
        const c = dampening === 0
          ? 1
          : np.where(state.step.ref.equal(0), np.onesLike(state.step.ref), np.fullLike(state.step.ref, 1 - dampening));
        const use = typeof c === "number" ? () => c : () => c.ref;
        momentumBuffer = mapParams((b, gi) => b.mul(momentum).add(gi.ref.mul(use())), state.momentumBuffer!, g) as ParamTree;
        if (typeof c !== "number") c.dispose();
        d = nesterov
          ? (mapParams((gi, b) => gi.add(b.ref.mul(momentum)), g, momentumBuffer) as ParamTree)
          : (mapParams((gi, b) => (gi.dispose(), b.ref), g, momentumBuffer) as ParamTree);
      }
      const newParams = mapParams((p, di) => p.sub(di.mul(rate.use())), params, d);
      rate.done();
      const step = state.step.add(1);
      return { params: newParams as typeof params, state: momentumBuffer ? { step, momentumBuffer } : { step } };
    },
  };
}
