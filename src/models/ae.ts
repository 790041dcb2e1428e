// Deterministic autoencoders (seeds 000 and 003): an encoder f, a decoder g, and the loss
//
//   L = mean_batch Σ_pixels ℓ(x, g(f(x̃))) + penalty,        x̃ = x, or a corrupted x (DAE)
//   ℓ = BCE on logits, −[x log σ(l) + (1 − x) log σ(−l)]    (likelihood "bernoulli", binary data)
//   ℓ = (x − g)²                                             (likelihood "gaussian": ||x − g(f(x))||²)
//
// Summed over pixels and averaged over the batch, like the VAEs (so numbers compare per example).
// The families: `ae` (any depth; preset seed-ae), `dae` (masking or Gaussian corruption, Vincent et
// al. 2008) here; sparse-ae, contractive-ae, stacked-ae and conv-ae in their own files, all built
// by makeAutoencoder.
import { np, random, type Array } from "../engine/index.js";
import { Bernoulli } from "../distributions/index.js";
import { sigmoid } from "../distributions/stable.js";
import { mlpNets } from "./nets.js";
import { z } from "zod";
import { CODE_OPTIONS, LIKELIHOOD_OPTIONS, MLP_OPTIONS, type CodeOptions, type LikelihoodOptions, type MlpOptions } from "./options.js";
import { squaredError } from "./likelihood.js";
import type { Batch, DataInfo, LossOutput, Model, ModelFamily, Params, PretrainStage } from "./types.js";

/** The networks of a deterministic AE. */
export type AeNets = {
  /** numbers in a code, when not `latent` (conv-ae's grid code) */
  codeDim?: number;
  init(key: Array): Params;
  /** f(x): the code [B, d]. x [B, C, H, W] consumed, params borrowed. */
  encode(params: Params, x: Array): Array;
  /** g(z) before the output link (logits, or the Gaussian mean), [N, C, H, W]. z consumed. */
  decode(params: Params, z: Array): Array;
};

/** A regulariser of the code: its weighted batch mean (added to the loss) and metrics to log. */
export type CodePenalty = (params: Params, x: Array, code: Array) => { value: Array; metrics: Record<string, Array> };

export type AutoencoderSpec = {
  family: string;
  options: CodeOptions & LikelihoodOptions;
  info: DataInfo;
  nets: AeNets;
  /** x -> x̃ for training (DAE); the model reconstructs the clean x. Consumes x and key. */
  corrupt?: (x: Array, key: Array) => Array;
  /** Consumes x (the clean input) and code. */
  penalty?: CodePenalty;
  pretrainStages?: PretrainStage[];
};

/** Σ_pixels ℓ(x, out) per example [B]: BCE on logits or squared error. Consumes both. */
export function reconstructionLoss(likelihood: LikelihoodOptions["likelihood"], out: Array, x: Array): Array {
  if (likelihood === "bernoulli") {
    const px = new Bernoulli(out, { eventDims: x.ndim - 1 });
    const lp = px.logProb(x);
    px.dispose();
    return lp.neg();
  }
  const B = x.shape[0];
  return np.square(x.sub(out)).reshape([B, -1]).sum(-1);
}

/** The decoder's mean image in [0, 1]: σ(logits), or the Gaussian mean clipped. Consumes out. */
export function outputMean(likelihood: LikelihoodOptions["likelihood"], out: Array): Array {
  return likelihood === "bernoulli" ? sigmoid(out) : np.clip(out, 0, 1);
}

export function makeAutoencoder(spec: AutoencoderSpec): Model {
  const { options, info, nets, corrupt, penalty } = spec;

  const loss = (params: Params, batch: Batch, key: Array): LossOutput => {
    batch.labels?.dispose();
    const x = batch.x;
    const input = corrupt ? corrupt(x.ref, key) : (key.dispose(), x.ref);
    const code = nets.encode(params, input);
    const out = nets.decode(params, penalty ? code.ref : code);
    const recon = reconstructionLoss(options.likelihood, out, penalty ? x.ref : x).mean();
    if (!penalty) return { loss: recon.ref, metrics: { recon } };
    const p = penalty(params, x, code);
    return { loss: recon.ref.add(p.value), metrics: { recon, ...p.metrics } };
  };

  const encode = (params: Params, batch: Batch): Array => {
    batch.labels?.dispose();
    return nets.encode(params, batch.x);
  };
  const decode = (params: Params, z: Array, labels?: Array): Array => {
    labels?.dispose();
    return outputMean(options.likelihood, nets.decode(params, z));
  };
  const reconstruct = (params: Params, batch: Batch): Array => decode(params, encode(params, batch));

  return {
    family: spec.family,
    options,
    info,
    codeDim: nets.codeDim ?? options.latent,
    probabilistic: false,
    conditional: false,
    init: (key) => nets.init(key),
    loss,
    encode,
    decode,
    reconstruct,
    // Σ_pixels (x − g(f(x)))² per example: the clean input, never corrupted
    reconstructionError(params, batch) {
      return squaredError(reconstruct(params, { x: batch.x.ref, labels: batch.labels }), batch.x);
    },
    ...(spec.pretrainStages ? { pretrainStages: spec.pretrainStages } : {}),
  };
}

/** MLP encoder D -> hidden... -> latent and decoder latent -> reversed hidden... -> D; the code
 * goes through `codeActivation` (identity for a plain AE, sigmoid for sparse and contractive AEs). */
export function mlpAeNets(options: MlpOptions & CodeOptions, info: DataInfo, codeActivation?: (h: Array) => Array): AeNets {
  const nets = mlpNets(options, info, options.latent, 0, options.latent);
  return {
    init: nets.init,
    encode: (params, x) => (codeActivation ? codeActivation(nets.encoder(params, x)) : nets.encoder(params, x)),
    decode: (params, z) => nets.decoder(params, z),
  };
}

// Corruption q(x̃|x) of the denoising AE:
//   mask:     x̃_i = x_i · m_i,  m_i ~ Bernoulli(1 − ν)    (a fraction ν of the inputs set to 0)
//   gaussian: x̃ = x + ν ε,      ε ~ N(0, I)
export function corruption(kind: z.infer<typeof daeOptions>["noise"], level: number): (x: Array, key: Array) => Array {
  if (kind === "mask") {
    return (x, key) => x.mul(random.bernoulli(key, 1 - level, x.shape).astype(x.dtype));
  }
  return (x, key) => x.add(random.normal(key, x.shape).astype(x.dtype).mul(level));
}

/** Seed 000's `Autoencoders` (Linear-ReLU-Linear each side, hidden 128, code 512), for the data's
 * input size instead of its 96; squared-error loss as in seed 003. */
const seedAe = { hidden: [128], latent: 512, encoderActivation: "relu", decoderActivation: "relu", likelihood: "gaussian" };

export const aeOptions = z.object({ ...CODE_OPTIONS, ...MLP_OPTIONS, ...LIKELIHOOD_OPTIONS });

export const aeFamily: ModelFamily<typeof aeOptions> = {
  name: "ae",
  options: aeOptions,
  description: "autoencoder: encoder f, decoder g, loss ||x − g(f(x))||² (gaussian) or BCE (bernoulli), any depth",
  presets: {
    "seed-ae": seedAe,
    "deep-ae": { hidden: [512, 256, 128], latent: 32, likelihood: "bernoulli" },
  },
  create: (options, info) => makeAutoencoder({ family: "ae", options, info, nets: mlpAeNets(options, info) }),
};

export const daeOptions = z.object({
  ...aeOptions.shape,
  noise: z.enum(["mask", "gaussian"]).default("mask").describe("DAE corruption: masking noise or additive Gaussian"),
  noiseLevel: z.number().min(0).default(0.3).describe("DAE: fraction of inputs zeroed (mask) or noise σ (gaussian)"),
});

export const daeFamily: ModelFamily<typeof daeOptions> = {
  name: "dae",
  options: daeOptions,
  description: "denoising autoencoder: reconstructs x from a corrupted x̃ (masking noise or additive Gaussian noise)",
  presets: {
    "dae-mask": { noise: "mask", noiseLevel: 0.3 },
    "dae-gaussian": { noise: "gaussian", noiseLevel: 0.3 },
  },
  create: (options, info) => {
    if (options.noise === "mask" && options.noiseLevel >= 1) {
      throw new Error(`noiseLevel=${options.noiseLevel}: the masked fraction must be below 1`);
    }
    return makeAutoencoder({
      family: "dae", options, info, nets: mlpAeNets(options, info), corrupt: corruption(options.noise, options.noiseLevel),
    });
  },
};
