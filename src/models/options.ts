// Model options: one flat, validated record shared by every model family. A model reads the
// options that apply to it and ignores the rest; presets are partial records of these.
import { z } from "zod";

const activationName = z.enum(["relu", "leakyRelu", "tanh", "sigmoid", "softplus", "elu", "gelu", "identity"]);
const positiveInt = z.number().int().positive();
/** A layer or code size: bounded so that a typo cannot ask the engine for more than it can hold (4 GiB). */
const size = positiveInt.max(65536);

export const modelOptionsSchema = z.object({
  latent: size.default(10).describe("latent dimensions (codes for AEs, z for VAEs; code dim for VQ-VAE)"),
  hidden: z.array(size).default([400]).describe("hidden layer sizes of the MLP encoder; the decoder mirrors them"),
  encoderActivation: activationName.default("relu").describe("activation of the encoder's hidden layers"),
  decoderActivation: activationName.default("relu").describe("activation of the decoder's hidden layers"),
  leakySlope: z.number().min(0).max(1).default(0.2).describe("negative slope of leakyRelu (the seeds use 0.2)"),
  likelihood: z.enum(["bernoulli", "gaussian"]).default("bernoulli")
    .describe("decoder output distribution: Bernoulli on logits (BCE) or Gaussian (MSE)"),
  gaussianVariance: z.union([z.literal("learned"), z.number().positive()]).default(1)
    .describe("σ² of a Gaussian decoder: a fixed number, or 'learned' (one log σ² per pixel)"),
  beta: z.number().min(0).default(1).describe("weight of the KL term (β-VAE); 1 is the ELBO"),
  klWarmupSteps: z.number().int().min(0).default(0).describe("KL weight rises linearly from 0 to beta over this many steps"),
  klWarmupEpochs: z.number().min(0).default(0).describe("the same in epochs (used when klWarmupSteps is 0)"),
  freeBits: z.number().min(0).default(0).describe("per-dimension KL floor in nats (free bits); 0 is off"),
  encoderNoise: z.number().min(0).default(0)
    .describe("σ of Gaussian noise added to the encoder's input in training (denoising amortized inference regularisation, Shu et al. 2018); the decoder still reconstructs the clean x; 0 is off"),
  tcBeta: z.number().min(0).default(6).describe("β-TCVAE: weight β of the total correlation term (1 is the ELBO)"),
  factorGamma: z.number().min(0).default(35).describe("FactorVAE: weight γ of the discriminator's total-correlation estimate"),
  discriminatorHidden: z.array(size).default([256, 256]).describe("FactorVAE: hidden layer sizes of the discriminator"),
  iwSamples: positiveInt.default(5).describe("k, importance samples of the IWAE bound (k = 1 is the VAE)"),
  conditionalPrior: z.enum(["standard", "class-mean"]).default("standard")
    .describe("CVAE prior: N(0, I), or N(mu_c, I) with a learned mean per class (seed 002)"),
  convChannels: z.array(size).default([32, 64]).describe("channels of the stride-2 conv layers of conv models"),
  convKernel: positiveInt.default(3).describe("kernel size of conv models"),
  convDense: z.number().int().min(0).max(65536).default(0).describe("a dense hidden layer between conv stack and latent (0: none)"),
  convCode: z.enum(["dense", "grid"]).default("dense")
    .describe("conv-ae: the code as `latent` dense units, or an h × w grid of `latent`-channel vectors (the VQ-VAE's nets without the quantiser)"),
  noise: z.enum(["mask", "gaussian"]).default("mask").describe("DAE corruption: masking noise or additive Gaussian"),
  noiseLevel: z.number().min(0).default(0.3).describe("DAE: fraction of inputs zeroed (mask) or noise σ (gaussian)"),
  sparsity: z.enum(["kl", "l1"]).default("kl").describe("sparse AE penalty: KL(ρ‖ρ̂_j) on sigmoid codes, or L1 on codes"),
  sparsityWeight: z.number().min(0).default(1).describe("weight of the sparsity penalty"),
  sparsityTarget: z.number().gt(0).lt(1).default(0.05).describe("ρ, target mean activation of a sparse code unit"),
  contractiveWeight: z.number().min(0).default(0.1).describe("λ of the contractive penalty λ‖J_f(x)‖²_F"),
  pretrainEpochs: z.number().int().min(0).default(2).describe("stacked AE: greedy epochs per layer before fine-tuning"),
  codebookSize: size.default(128).describe("VQ-VAE: number of codes K"),
  commitment: z.number().min(0).default(0.25).describe("VQ-VAE: β of the commitment loss"),
  ema: z.boolean().default(false).describe("VQ-VAE: EMA codebook updates instead of the codebook loss"),
  emaDecay: z.number().gt(0).lt(1).default(0.99).describe("VQ-VAE: EMA decay"),
  deadCodeRestart: z.boolean().default(false).describe("VQ-VAE: restart unused codes from encoder outputs"),
  deadCodeThreshold: z.number().positive().default(1)
    .describe("VQ-VAE: a code is dead when its EMA count of assigned vectors per batch falls below this"),
  vqNets: z.enum(["conv", "mlp"]).default("conv")
    .describe("VQ-VAE nets: conv (a grid of code vectors, convChannels/convKernel) or mlp (hidden, codePositions)"),
  codePositions: size.default(16).describe("VQ-VAE with MLP nets: code vectors N per example"),
  codePrior: z.enum(["autoregressive", "independent"]).default("autoregressive")
    .describe("VQ-VAE: prior over code indices fitted after training (MADE, or a categorical per position)"),
  priorHidden: z.array(size).default([256]).describe("VQ-VAE: hidden layer sizes of the autoregressive code prior"),
  priorEpochs: positiveInt.default(5).describe("VQ-VAE: epochs of code-prior training after the autoencoder"),
  categoricals: size.default(20).describe("dVAE: N categorical latents"),
  classes: size.default(10).describe("dVAE: K classes per latent"),
  temperature: z.number().positive().default(1).describe("dVAE: initial Gumbel-softmax temperature"),
  minTemperature: z.number().positive().default(0.5).describe("dVAE: final temperature"),
  temperatureDecay: z.number().min(0).default(3e-5).describe("dVAE: τ = max(min, τ0·exp(−rate·step))"),
  hardSamples: z.boolean().default(false).describe("dVAE: straight-through one-hot samples"),
});

export type ModelOptions = z.infer<typeof modelOptionsSchema>;
export type OptionKey = keyof ModelOptions;

// The option groups a family's `options` list is made of: what it reads, so that its config.json
// holds those keys and no other family's (test/family-options.test.ts checks each list against the
// keys the family's model actually reads).
/** The MLP networks of nets.ts. */
export const MLP_OPTIONS = ["hidden", "encoderActivation", "decoderActivation", "leakySlope"] as const satisfies readonly OptionKey[];
/** The conv networks of conv-nets.ts. */
export const CONV_OPTIONS = ["convChannels", "convKernel", "convDense", "encoderActivation", "decoderActivation", "leakySlope"] as const satisfies readonly OptionKey[];
/** The decoder's likelihood p(x|z). */
export const LIKELIHOOD_OPTIONS = ["likelihood", "gaussianVariance"] as const satisfies readonly OptionKey[];
/** The ELBO's KL weight β_t (warm-up) and its regularisers. */
export const ELBO_OPTIONS = ["beta", "klWarmupSteps", "klWarmupEpochs", "freeBits", "encoderNoise"] as const satisfies readonly OptionKey[];
