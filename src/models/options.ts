// The shared base of every family's options: zod shapes a family's own schema is made of (the code
// size, the MLP or conv networks, the decoder likelihood, the ELBO's weight and regularisers). A
// family file spreads the groups it uses into `z.object({...})` and adds its own keys there
// (vq-vae.ts: codebookSize, ...); the registry merges them into the flat schema of `--set` keys.
import { z } from "zod";

const activationName = z.enum(["relu", "leakyRelu", "tanh", "sigmoid", "softplus", "elu", "gelu", "identity"]);
export const positiveInt = z.number().int().positive();
/** A layer or code size: bounded so that a typo cannot ask the engine for more than it can hold (4 GiB). */
export const size = positiveInt.max(65536);

/** The size of the code. */
export const CODE_OPTIONS = {
  latent: size.default(10).describe("latent dimensions (codes for AEs, z for VAEs; code dim for VQ-VAE)"),
};
const ACTIVATIONS = {
  encoderActivation: activationName.default("relu").describe("activation of the encoder's hidden layers"),
  decoderActivation: activationName.default("relu").describe("activation of the decoder's hidden layers"),
  leakySlope: z.number().min(0).max(1).default(0.2).describe("negative slope of leakyRelu (the seeds use 0.2)"),
};
/** The MLP networks of nets.ts. */
export const MLP_OPTIONS = {
  hidden: z.array(size).default([400]).describe("hidden layer sizes of the MLP encoder; the decoder mirrors them"),
  ...ACTIVATIONS,
};
/** The conv networks of conv-nets.ts. */
export const CONV_OPTIONS = {
  convChannels: z.array(size).min(1, "a conv model needs at least one conv layer (without any, use an MLP model)")
    .default([32, 64]).describe("channels of the stride-2 conv layers of conv models"),
  convKernel: positiveInt.default(3).describe("kernel size of conv models"),
  convDense: z.number().int().min(0).max(65536).default(0).describe("a dense hidden layer between conv stack and latent (0: none)"),
  ...ACTIVATIONS,
};
/** The decoder's likelihood p(x|z) (likelihood.ts). */
export const LIKELIHOOD_OPTIONS = {
  likelihood: z.enum(["bernoulli", "gaussian"]).default("bernoulli")
    .describe("decoder output distribution: Bernoulli on logits (BCE) or Gaussian (MSE)"),
  gaussianVariance: z.union([z.literal("learned"), z.number().positive()]).default(1)
    .describe("σ² of a Gaussian decoder: a fixed number, or 'learned' (one log σ² per pixel)"),
};
/** The KL weight β_t of the ELBO (scheduled.ts: warm-up). */
export const KL_WEIGHT_OPTIONS = {
  beta: z.number().min(0).default(1).describe("weight of the KL term (β-VAE); 1 is the ELBO"),
  klWarmupSteps: z.number().int().min(0).default(0).describe("KL weight rises linearly from 0 to beta over this many steps"),
  klWarmupEpochs: z.number().min(0).default(0).describe("the same in epochs (used when klWarmupSteps is 0)"),
};
/** Denoising amortized inference (latent.ts): for the ELBO and, without β, for IWAE's encoder. */
export const ENCODER_NOISE_OPTIONS = {
  encoderNoise: z.number().min(0).default(0)
    .describe("σ of Gaussian noise added to the encoder's input in training (denoising amortized inference regularisation, Shu et al. 2018); the decoder still reconstructs the clean x; 0 is off"),
};
/** The ELBO's KL weight β_t (warm-up) and its regularisers (latent.ts). */
export const ELBO_OPTIONS = {
  ...KL_WEIGHT_OPTIONS,
  freeBits: z.number().min(0).default(0).describe("per-dimension KL floor in nats (free bits); 0 is off"),
  ...ENCODER_NOISE_OPTIONS,
};

/** The values of a group (or a family's schema) of options. */
export type OptionsOf<S extends z.core.$ZodShape> = z.infer<z.ZodObject<S>>;
export type CodeOptions = OptionsOf<typeof CODE_OPTIONS>;
export type MlpOptions = OptionsOf<typeof MLP_OPTIONS>;
export type ConvOptions = CodeOptions & OptionsOf<typeof CONV_OPTIONS>;
export type LikelihoodOptions = OptionsOf<typeof LIKELIHOOD_OPTIONS>;
export type ElboOptions = OptionsOf<typeof ELBO_OPTIONS>;
export type ActivationName = z.infer<typeof activationName>;
