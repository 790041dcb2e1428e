// The MLP variational autoencoders of the seeds: vae (β = 1), beta-vae (β ≠ 1, KL warm-up, free
// bits) and iwae (the importance-weighted bound as the objective; k = 1 is the VAE).
import { makeLatentModel } from "./latent.js";
import { mlpLatentNets } from "./nets.js";
import { z } from "zod";
import { CODE_OPTIONS, ELBO_OPTIONS, ENCODER_NOISE_OPTIONS, LIKELIHOOD_OPTIONS, MLP_OPTIONS, positiveInt } from "./options.js";
import type { ModelFamily } from "./types.js";

/** Seed 000's MNIST VAE: 784-400-20, LeakyReLU(0.2) encoder, ReLU decoder, Bernoulli output. */
const seedVae = {
  hidden: [400], latent: 20, encoderActivation: "leakyRelu", leakySlope: 0.2, decoderActivation: "relu",
  likelihood: "bernoulli",
};
/** Pythae's MNIST benchmark VAE: 784-400-40 with ReLU both ways. */
const pythaeVae = { hidden: [400], latent: 40, encoderActivation: "relu", decoderActivation: "relu", likelihood: "bernoulli" };
/** Burda et al.'s one-stochastic-layer model: 784-200-200-50, tanh, two hidden layers each side. */
const burdaVae = { hidden: [200, 200], latent: 50, encoderActivation: "tanh", decoderActivation: "tanh", likelihood: "bernoulli" };

/**
 * The Quickstart's VAE on the built-in sprites (`latentkit train` with no model, preset or config):
 * 16 latent dimensions, KL weight β = 0.5 reached by a warm-up over 10 epochs (the shape is a small
 * part of each image's likelihood: at β = 1 the code drops it first, and small shapes come back as
 * blobs), 20 epochs of batches of 32 with a cosine learning rate from 3e-3, each training sprite moved
 * by up to a pixel each way (an MLP does not know that a shape one pixel over is the same shape):
 * about a minute on one core. The reported ELBO is still the β = 1 bound (docs/results-quickstart.md).
 */
export const spritesVae = {
  latent: 16, beta: 0.5, klWarmupEpochs: 10, batchSize: 32, epochs: 20, lr: 3e-3, lrSchedule: "cosine", augmentShift: 1,
};

/** The options of the MLP VAEs (vae, beta-vae, and with their own keys beta-tcvae, factor-vae). */
export const vaeOptions = z.object({ ...CODE_OPTIONS, ...MLP_OPTIONS, ...LIKELIHOOD_OPTIONS, ...ELBO_OPTIONS });

export const vaeFamily: ModelFamily<typeof vaeOptions> = {
  name: "vae",
  options: vaeOptions,
  description: "variational autoencoder: Gaussian q(z|x), N(0, I) prior, Bernoulli or Gaussian decoder, loss −ELBO",
  presets: { "seed-vae": seedVae, "pythae-vae": pythaeVae, "burda-vae": burdaVae, "sprites-vae": spritesVae },
  create: (options, info) =>
    makeLatentModel({ family: "vae", options, info, nets: mlpLatentNets(options, info, false), objective: "elbo", conditional: false }),
};

export const betaVaeFamily: ModelFamily<typeof vaeOptions> = {
  name: "beta-vae",
  options: vaeOptions,
  description: "β-VAE: KL weighted by β, optional linear KL warm-up and free bits (per-dimension KL floor)",
  presets: {
    "beta4": { beta: 4 },
    "warmup": { beta: 1, klWarmupEpochs: 10 },
  },
  create: (options, info) =>
    makeLatentModel({ family: "beta-vae", options, info, nets: mlpLatentNets(options, info, false), objective: "elbo", conditional: false }),
};

export const iwaeOptions = z.object({
  ...CODE_OPTIONS, ...MLP_OPTIONS, ...LIKELIHOOD_OPTIONS, ...ENCODER_NOISE_OPTIONS,
  iwSamples: positiveInt.default(5).describe("k, importance samples of the IWAE bound (k = 1 is the VAE)"),
});

export const iwaeFamily: ModelFamily<typeof iwaeOptions> = {
  name: "iwae",
  options: iwaeOptions,
  description: "importance-weighted autoencoder: trains on the k-sample bound log (1/k) Σ p(x,z_i)/q(z_i|x)",
  presets: { "burda-iwae": { ...burdaVae, iwSamples: 5 }, "pythae-iwae": { ...pythaeVae, iwSamples: 5 } },
  create: (options, info) =>
    makeLatentModel({ family: "iwae", options, info, nets: mlpLatentNets(options, info, false), objective: "iwae", conditional: false }),
};
