// Convolutional autoencoder (seed 003: "specific data (image) structure? Convolutional AE"): the
// conv encoder and transposed-conv decoder of conv-nets.ts (the conv-vae's, Keras padding), with a
// deterministic code of `latent` units in place of (μ, log σ²), and the AE loss of ae.ts:
//
//   encoder  (Conv2d(k, s2) -> act) × n, Flatten, [Dense -> act], Dense(latent) = f(x)
//   decoder  [Dense -> act], Dense(c0·h0·w0) -> act, Unflatten, (ConvT(k, s2, same) -> act) × n,
//            ConvT(k, s1, same) -> logits (bernoulli) or the mean (gaussian)
//   loss     mean_batch Σ_pixels ℓ(x, g(f(x)))
//
// With convCode = "grid" the code is instead the VQ-VAE's grid (conv-nets.ts convGridNets: 'same'
// convs and a 1×1 projection to `latent` channels, h·w·latent numbers, flattened), so a conv AE and a
// VQ-VAE can be compared on the same latent grid, continuous against quantised.
import { splitKey } from "../engine/index.js";
import { convDecoder, convEncoder, convGridNets } from "./conv-nets.js";
import { activationSpec } from "./nets.js";
import { makeAutoencoder, type AeNets } from "./ae.js";
import { z } from "zod";
import { CODE_OPTIONS, CONV_OPTIONS, LIKELIHOOD_OPTIONS, type ConvOptions } from "./options.js";
import type { DataInfo, ModelFamily, Params } from "./types.js";

/** The grid code of convGridNets, flattened to [B, h·w·D] (and back for the decoder). */
function convGridAeNets(options: ConvOptions, info: DataInfo): AeNets {
  const grid = convGridNets({
    inputShape: info.imageShape, channels: options.convChannels, kernel: options.convKernel, codeDim: options.latent,
    encoderActivation: activationSpec(options.encoderActivation, options), decoderActivation: activationSpec(options.decoderActivation, options),
  });
  const codeDim = grid.positions * options.latent;
  return {
    codeDim,
    init: grid.init,
    encode: (params, x) => grid.encode(params, x).reshape([-1, codeDim]),
    decode: (params, z) => grid.decode(params, z.reshape([z.shape[0], grid.positions, options.latent])),
  };
}

export function convAeNets(options: z.infer<typeof convAeOptions>, info: DataInfo): AeNets {
  if (options.convCode === "grid") return convGridAeNets(options, info);
  const channels = options.convChannels;
  const dense = options.convDense > 0 ? [options.convDense] : [];
  const encoder = convEncoder({
    inputShape: info.imageShape, channels, kernel: options.convKernel, padding: "valid",
    activation: activationSpec(options.encoderActivation, options), dense, out: options.latent,
  });
  const decoder = convDecoder({
    outputShape: info.imageShape, channels: [...channels].reverse(), startChannels: channels[0],
    kernel: options.convKernel, activation: activationSpec(options.decoderActivation, options), inputDim: options.latent, dense,
  });
  return {
    init(key) {
      const [ke, kd] = splitKey(key);
      return { encoder: encoder.init(ke), decoder: decoder.init(kd) };
    },
    encode: (params, x) => encoder.apply(params.encoder as Params, x),
    decode: (params, z) => decoder.apply(params.decoder as Params, z),
  };
}

export const convAeOptions = z.object({
  ...CODE_OPTIONS, ...CONV_OPTIONS, ...LIKELIHOOD_OPTIONS,
  convCode: z.enum(["dense", "grid"]).default("dense")
    .describe("conv-ae: the code as `latent` dense units, or an h × w grid of `latent`-channel vectors (the VQ-VAE's nets without the quantiser)"),
});

export const convAeFamily: ModelFamily<typeof convAeOptions> = {
  name: "conv-ae",
  options: convAeOptions,
  description: "convolutional autoencoder: strided conv encoder to a `latent`-unit code (or a grid of `latent`-d vectors), transposed-conv decoder",
  presets: {
    "conv-ae-small": { latent: 16, convChannels: [32, 64], convKernel: 3, convDense: 0, likelihood: "bernoulli" },
  },
  create: (options, info) => makeAutoencoder({ family: "conv-ae", options, info, nets: convAeNets(options, info) }),
};
