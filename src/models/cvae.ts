// The conditional VAE of the seeds: the label c, one-hot, is concatenated to the encoder's input and
// to the decoder's input (seed 000's CVAE), so the model learns q(z|x,c) and p(x|z,c):
//
//   ELBO(x|c) = E_q(z|x,c)[log p(x|z,c)] − KL(q(z|x,c) ‖ p(z|c)) ≤ log p(x|c)
//
// p(z|c) is N(0, I) (seed 000), or with `conditionalPrior: "class-mean"` N(μ_c, I) with a learned
// mean per class (seed 002: KL = ½ Σ_i [(μ_i − μ^c_i)² + σ_i² − log σ_i² − 1]). Sampling takes the
// labels to generate: z ~ p(z|c), x = mean of p(x|z,c).
import { np, type Array } from "../engine/index.js";
import { activation } from "../nn/activations.js";
import { linear, type LinearParams } from "../nn/linear.js";
import type { MlpParams } from "../nn/mlp.js";
import { makeLatentModel, type LatentNets } from "./latent.js";
import { activationSpec, chunkGaussian, mlpNets, pixels } from "./nets.js";
import { z } from "zod";
import { CODE_OPTIONS, ELBO_OPTIONS, LIKELIHOOD_OPTIONS, MLP_OPTIONS, type CodeOptions, type MlpOptions } from "./options.js";
import type { DataInfo, ModelFamily } from "./types.js";
import { classMeanPrior } from "./prior.js";

// [x₁ x₂] Wᵀ + b = x₁ W₁ᵀ + x₂ W₂ᵀ + b, W = [W₁ W₂] split by columns: torch's Linear of
// torch.cat([x, c], 1), computed without a contraction of odd length (jax-js 0.1.25's matmul runs
// about 10x slower when it is not a multiple of 4: 784 + 10 = 794 made the whole CVAE step 5x slower).
/** Linear layer on the concatenation of `parts` along the last axis. parts [B, n_i] consumed, p borrowed. */
export function linearConcat(p: LinearParams, parts: Array[]): Array {
  const nIn = p.weight.shape[1];
  const total = parts.reduce((s, x) => s + x.shape[1], 0);
  if (total !== nIn) {
    parts.forEach((x) => x.dispose());
    throw new Error(`linearConcat: inputs of ${total} features for a layer of ${nIn}`);
  }
  let offset = 0;
  let y: Array | undefined;
  for (const x of parts) {
    const n = x.shape[1];
    const term = np.matmul(x, p.weight.ref.slice([], [offset, offset + n]).transpose());
    y = y ? y.add(term) : term;
    offset += n;
  }
  return p.bias ? y!.add(p.bias.ref) : y!;
}

/** An MLP whose first layer also reads the context c (one-hot), as Sequential(Linear, act, ..., Linear) over cat([h, c]). */
function conditionalMlp(p: MlpParams, h: Array, c: Array, act: (x: Array) => Array): Array {
  const n = Object.keys(p).length;
  let y = linearConcat(p["0"], [h, c]);
  for (let i = 1; i < n; i++) y = linear(p[String(2 * i)], act(y));
  return y;
}

/** seed 000's CVAE networks: encoder (x ++ c) -> hidden... -> 2d, decoder (z ++ c) -> hidden... -> D. */
export function conditionalMlpNets(options: MlpOptions & CodeOptions, info: DataInfo): LatentNets {
  const K = info.numClasses ?? 0;
  const D = pixels(info);
  const { init } = mlpNets(options, info, 2 * options.latent, K, options.latent); // the same parameters as Linear(D + K, ...) etc.
  const encAct = activation(activationSpec(options.encoderActivation, options));
  const decAct = activation(activationSpec(options.decoderActivation, options));
  const needContext = (c?: Array): Array => {
    if (!c) throw new Error("cvae: the networks need the one-hot labels");
    return c;
  };
  return {
    init,
    encode: (params, x, c) =>
      chunkGaussian(conditionalMlp(params.encoder as MlpParams, x.reshape([x.shape[0], D]), needContext(c), encAct), options.latent),
    decode: (params, z, c) => {
      const n = z.shape[0];
      return conditionalMlp(params.decoder as MlpParams, z, needContext(c), decAct).reshape([n, ...info.imageShape]);
    },
  };
}

/** Seed 000's CVAE: (784+10) -> 400 LeakyReLU(0.2) -> 2·20; (20+10) -> 400 ReLU -> 784 sigmoid (BCE). */
const seedCvae = {
  hidden: [400], latent: 20, encoderActivation: "leakyRelu", leakySlope: 0.2, decoderActivation: "relu",
  likelihood: "bernoulli", conditionalPrior: "standard",
};

export const cvaeOptions = z.object({
  ...CODE_OPTIONS, ...MLP_OPTIONS, ...LIKELIHOOD_OPTIONS, ...ELBO_OPTIONS,
  conditionalPrior: z.enum(["standard", "class-mean"]).default("standard")
    .describe("CVAE prior: N(0, I), or N(mu_c, I) with a learned mean per class (seed 002)"),
});

export const cvaeFamily: ModelFamily<typeof cvaeOptions> = {
  name: "cvae",
  options: cvaeOptions,
  description: "conditional VAE: one-hot labels concatenated to encoder and decoder inputs; prior N(0, I) or N(mu_c, I); samples by label",
  presets: {
    "seed-cvae": seedCvae,
    /** The same networks with seed 002's class-dependent prior N(μ_c, I). */
    "class-prior-cvae": { ...seedCvae, conditionalPrior: "class-mean" },
  },
  create: (options, info) =>
    makeLatentModel({
      family: "cvae", options, info, nets: conditionalMlpNets(options, info), objective: "elbo", conditional: true,
      prior: options.conditionalPrior === "class-mean" ? classMeanPrior(options.latent, info.numClasses ?? 0) : undefined,
    }),
};
