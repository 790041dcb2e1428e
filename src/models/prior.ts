// The prior p(z | c) of a Gaussian-latent model, a parameter of the model (latent.ts) rather than a
// branch inside it: its parameters, its density, its KL to the posterior per dimension and its
// samples. Two of the seeds':
//
//   standard:    p(z) = N(0, I)                                         (Kingma & Welling)
//   class-mean:  p(z | c) = N(μ_c, I),  μ_c = onehot(c) M, M learned    (seed 002's CVAE)
//
//   KL(N(μ, σ²) ‖ N(m, 1)) per dimension = ½ ((μ − m)² + σ² − log σ² − 1)
//
// Ownership: params borrowed; q borrowed; c (one-hot [B, K]) and keys consumed.
import { np, type Array } from "../engine/index.js";
import { Normal, StandardNormal, kl, klStandardNormalPerDim, type Distribution } from "../distributions/index.js";
import type { Params } from "./types.js";

export type LatentPrior = {
  /** Its parameters, merged into the model's (none for N(0, I)). */
  init(): Params;
  /** p(z | c) for each example of q's batch [B, d]. */
  density(params: Params, q: Normal, c?: Array): Distribution;
  /** KL(q(z|x) ‖ p(z|c)) per example and dimension, [B, d]. */
  klPerDim(params: Params, q: Normal, c?: Array): Array;
  /** n draws z ~ p(z | c), [n, d]. */
  sample(params: Params, key: Array, n: number, c?: Array): Array;
};

/** p(z) = N(0, I) (the context, if any, is not read). */
export function standardNormalPrior(d: number): LatentPrior {
  return {
    init: () => ({}),
    density(_params, q, c) {
      c?.dispose();
      return StandardNormal.like(q);
    },
    klPerDim(_params, q, c) {
      c?.dispose();
      return klStandardNormalPerDim(q);
    },
    sample(_params, key, n, c) {
      c?.dispose();
      return new StandardNormal([n, d]).rsample(key);
    },
  };
}

/** p(z | c) = N(μ_c, I) with a learned mean per class (`params.priorMean`, [K, d], starting at 0). */
export function classMeanPrior(d: number, numClasses: number): LatentPrior {
  /** μ_c = onehot(c) M: [B, K] @ [K, d]. c consumed. */
  const classMean = (params: Params, c: Array): Array => np.matmul(c, (params.priorMean as Array).ref);
  const needContext = (c?: Array): Array => {
    if (!c) throw new Error("the class-mean prior needs the labels");
    return c;
  };
  return {
    init: () => ({ priorMean: np.zeros([numClasses, d]) }),
    density: (params, _q, c) => new Normal(classMean(params, needContext(c)), 1),
    klPerDim(params, q, c) {
      // through the KL registry (Normal‖Normal), per dimension: both factorised with no event dims
      const qDim = Normal.fromLogVar(q.loc.ref, np.broadcastTo(q.logScale.ref.mul(2), q.shape), { eventDims: 0 });
      const pDim = new Normal(classMean(params, needContext(c)), 1, { eventDims: 0 });
      const perDim = kl(qDim, pDim);
      qDim.dispose();
      pDim.dispose();
      return perDim;
    },
    sample: (params, key, n, c) => new StandardNormal([n, d]).rsample(key).add(classMean(params, needContext(c))),
  };
}
