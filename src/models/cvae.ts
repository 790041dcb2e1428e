// The conditional VAE of the seeds: the label c, one-hot, is concatenated to the encoder's input and
// to the decoder's input (seed 000's CVAE), so the model learns q(z|x,c) and p(x|z,c):
//
//   ELBO(x|c) = E_q(z|x,c)[log p(x|z,c)] − KL(q(z|x,c) ‖ p(z|c)) ≤ log p(x|c)
//
// p(z|c) is N(0, I) (seed 000), or with `conditionalPrior: "class-mean"` N(μ_c, I) with a learned
// mean per class (seed 002: KL = ½ Σ_i [(μ_i − μ^c_i)² + σ_i² − log σ_i² − 1]). Sampling takes the
// labels to generate: z ~ p(z|c), x = mean of p(x|z,c).
import { makeLatentModel } from "./latent.js";
import { mlpLatentNets } from "./nets.js";
import type { ModelFamily } from "./types.js";

/** Seed 000's CVAE: (784+10) -> 400 LeakyReLU(0.2) -> 2·20; (20+10) -> 400 ReLU -> 784 sigmoid (BCE). */
const seedCvae = {
  hidden: [400], latent: 20, encoderActivation: "leakyRelu", leakySlope: 0.2, decoderActivation: "relu",
  likelihood: "bernoulli", conditionalPrior: "standard",
};

export const cvaeFamily: ModelFamily = {
  name: "cvae",
  description: "conditional VAE: one-hot labels concatenated to encoder and decoder inputs; prior N(0, I) or N(mu_c, I); samples by label",
  presets: {
    "seed-cvae": seedCvae,
    /** The same networks with seed 002's class-dependent prior N(μ_c, I). */
    "class-prior-cvae": { ...seedCvae, conditionalPrior: "class-mean" },
  },
  create: (options, info) =>
    makeLatentModel({ family: "cvae", options, info, nets: mlpLatentNets(options, info, true), objective: "elbo", conditional: true }),
};
