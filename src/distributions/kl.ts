// KL(p‖q) = E_p[log p(x) − log q(x)], dispatched on the pair of distribution types (as
// torch.distributions.kl): closed forms where they exist, a clear error where they don't.
// Every KL is summed over the event dims and has the batch shape; p and q are borrowed.
import { np, type Array } from "../engine/index.js";
import { Distribution, checkSameEvent, sumEvent } from "./distribution.js";
import { Normal, StandardNormal } from "./normal.js";
import { Bernoulli } from "./bernoulli.js";
import { Categorical } from "./categorical.js";
import { softplus, sigmoid } from "./stable.js";

type DistributionClass<D extends Distribution> = abstract new (...args: any[]) => D;
type KlFn = (p: any, q: any) => Array;

const registry = new Map<Function, Map<Function, KlFn>>();

/** Registers `fn(p, q)` as KL(p‖q) for p an instance of `P` and q of `Q` (replacing any earlier one). */
export function registerKl<P extends Distribution, Q extends Distribution>(
  P: DistributionClass<P>, Q: DistributionClass<Q>, fn: (p: P, q: Q) => Array,
): void {
  let row = registry.get(P);
  if (!row) registry.set(P, (row = new Map()));
  row.set(Q, fn);
}

/** The classes of `d`, most specific first, down to `Distribution`. */
function classChain(d: Distribution): Function[] {
  const chain: Function[] = [];
  for (let c = d.constructor; c && c !== Object; c = Object.getPrototypeOf(c)) {
    chain.push(c);
    if (c === Distribution) break;
  }
  return chain;
}

/**
 * KL(p‖q), summed over the event dims (shape: the batch shape). Uses the registered closed form of
 * the most specific pair of classes (fewest subclass steps, p's side first); throws
 * "no closed-form KL registered for P‖Q" when there is none. Borrows `p` and `q`.
 */
export function kl(p: Distribution, q: Distribution): Array {
  const ps = classChain(p), qs = classChain(q);
  for (let depth = 0; depth <= ps.length + qs.length - 2; depth++) {
    for (let i = 0; i <= depth && i < ps.length; i++) {
      const fn = registry.get(ps[i])?.get(qs[depth - i]);
      if (fn) return fn(p, q);
    }
  }
  throw new Error(`no closed-form KL registered for ${p.constructor.name}‖${q.constructor.name}`);
}

// KL(N(μ, σ²)‖N(0, 1)) = ½ (μ² + σ² − log σ² − 1), per dimension
/**
 * KL of each dimension of `q` from the standard normal, not summed (`q.shape`): for free bits
 * (clamp each dimension's KL from below) and active-unit counts. Borrows `q`.
 */
export function klStandardNormalPerDim(q: Normal): Array {
  const logVar = np.broadcastTo(q.logScale.ref.mul(2), q.shape);
  return np.square(q.loc.ref).add(np.exp(logVar.ref)).sub(logVar).sub(1).mul(0.5);
}

// KL(N(μ, diag σ²)‖N(0, I)) = ½ Σ_event (μ² + σ² − log σ² − 1)
/** KL of `q` from the standard normal, summed over the event dims (the VAE's regulariser). */
export function klStandardNormal(q: Normal): Array {
  return sumEvent(klStandardNormalPerDim(q), q.eventDims);
}

// KL(N(μp, σp²)‖N(μq, σq²)) = Σ_event [log σq − log σp + (σp² + (μp − μq)²) / (2σq²) − ½]
//                           = Σ_event ½ [exp(2(log σp − log σq)) + ((μp − μq)/σq)² − 1] − (log σp − log σq)
registerKl(Normal, Normal, (p: Normal, q: Normal) => {
  checkSameEvent(p, q);
  const logRatio = p.logScale.ref.sub(q.logScale.ref); // log σp − log σq
  const z = p.loc.ref.sub(q.loc.ref).div(q.scale.ref);
  const perDim = np.exp(logRatio.ref.mul(2)).add(np.square(z)).sub(1).mul(0.5).sub(logRatio);
  return sumEvent(perDim, p.eventDims); // every parameter of p and q enters: the broadcast shape
});

registerKl(Normal, StandardNormal, (p: Normal, q: StandardNormal) => {
  checkSameEvent(p, q);
  return klStandardNormal(p);
});

// KL(N(0, 1)‖N(μ, σ²)) = Σ_event [log σ + (1 + μ²) / (2σ²) − ½]
registerKl(StandardNormal, Normal, (p: StandardNormal, q: Normal) => {
  checkSameEvent(p, q);
  const perDim = q.logScale.ref.add(np.square(q.loc.ref).add(1).div(np.square(q.scale.ref)).mul(0.5)).sub(0.5);
  return sumEvent(np.broadcastTo(perDim, np.broadcastShapes(p.shape, q.shape)), p.eventDims);
});

registerKl(StandardNormal, StandardNormal, (p: StandardNormal, q: StandardNormal) => {
  checkSameEvent(p, q);
  return np.zeros(np.broadcastShapes(p.batchShape, q.batchShape), { dtype: p.dtype });
});

// KL(Ber(σ(a))‖Ber(σ(b))) = Σ_event [σ(a)(a − b) − softplus(a) + softplus(b)]
registerKl(Bernoulli, Bernoulli, (p: Bernoulli, q: Bernoulli) => {
  checkSameEvent(p, q);
  const a = p.logits, b = q.logits;
  const perDim = sigmoid(a.ref).mul(a.ref.sub(b.ref)).sub(softplus(a.ref)).add(softplus(b.ref));
  return sumEvent(perDim, p.eventDims);
});

// KL(Cat(p)‖Cat(q)) = Σ_k p_k (log p_k − log q_k), with log p, log q by log-softmax
registerKl(Categorical, Categorical, (p: Categorical, q: Categorical) => {
  if (p.numClasses !== q.numClasses) {
    throw new Error(`KL(Categorical‖Categorical): ${p.numClasses} vs ${q.numClasses} classes`);
  }
  const logp = p.logProbs;
  return np.exp(logp.ref).mul(logp.sub(q.logProbs)).sum(-1);
});
