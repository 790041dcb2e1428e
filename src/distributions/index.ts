// Probability distributions for latent-variable models (torch.distributions is the model): each owns
// its parameter arrays, borrows them in its methods, and sums log-densities over its event dims.
export { Distribution, sumEvent } from "./distribution.js";
export { Normal, StandardNormal, gaussianLikelihood } from "./normal.js";
export type { NormalOptions, StandardNormalOptions, GaussianNoise } from "./normal.js";
export { Bernoulli } from "./bernoulli.js";
export type { BernoulliOptions } from "./bernoulli.js";
export { Categorical } from "./categorical.js";
export { RelaxedOneHotCategorical } from "./relaxed_one_hot_categorical.js";
export { kl, registerKl, klStandardNormal, klStandardNormalPerDim } from "./kl.js";
export { softplus, logSigmoid, sigmoid } from "./stable.js";
export { gumbelNoise } from "./gumbel.js";
