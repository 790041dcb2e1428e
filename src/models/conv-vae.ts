// The convolutional VAE of seed 001 (TensorFlow's "Convolutional Variational Autoencoder" tutorial):
// a conv encoder giving q(z|x) = N(μ, diag σ²) through one dense layer of 2·latent units (μ, log σ²
// split like tf.split), and a transposed-conv decoder giving Bernoulli logits; the Gaussian-latent
// objective of latent.ts (−ELBO, β, warm-up, free bits):
//
//   encoder  Conv2d(C→32, 3, s2) ReLU, Conv2d(32→64, 3, s2) ReLU, Flatten, Dense(2·latent)   28→13→6
//   decoder  Dense(7·7·32) ReLU, Reshape(32, 7, 7), ConvT(32→64, 3, s2, same) ReLU,
//            ConvT(64→32, 3, s2, same) ReLU, ConvT(32→C, 3, s1, same) -> logits               7→14→28
//
// The tutorial estimates the KL with the same single sample as the reconstruction
// (log p(z) − log q(z|x)); latent.ts uses the closed form, which has the same expectation and less
// noise. Other image sizes and channel counts: convChannels, convKernel, convDense (a hidden dense
// layer on both sides), with the decoder starting from ceil(H / 2^n) and cropping to H.
import { splitKey } from "../engine/index.js";
import { activationSpec, chunkGaussian } from "./nets.js";
import { convDecoder, convEncoder } from "./conv-nets.js";
import { makeLatentModel, type LatentNets } from "./latent.js";
import { z } from "zod";
import { CODE_OPTIONS, CONV_OPTIONS, ELBO_OPTIONS, LIKELIHOOD_OPTIONS, type ConvOptions } from "./options.js";
import type { DataInfo, ModelFamily, Params } from "./types.js";

/** The conv encoder/decoder pair of a Gaussian-latent model (conv-vae; reusable by conditional ones). */
export function convLatentNets(options: ConvOptions, info: DataInfo): LatentNets {
  const d = options.latent;
  const channels = options.convChannels;
  const dense = options.convDense > 0 ? [options.convDense] : [];
  const encoder = convEncoder({
    inputShape: info.imageShape, channels, kernel: options.convKernel, padding: "valid",
    activation: activationSpec(options.encoderActivation, options), dense, out: 2 * d,
  });
  const decoder = convDecoder({
    outputShape: info.imageShape, channels: [...channels].reverse(), startChannels: channels[0],
    kernel: options.convKernel, activation: activationSpec(options.decoderActivation, options), inputDim: d, dense,
  });
  return {
    init(key) {
      const [ke, kd] = splitKey(key);
      return { encoder: encoder.init(ke), decoder: decoder.init(kd) };
    },
    encode: (params, x) => chunkGaussian(encoder.apply(params.encoder as Params, x), d),
    decode: (params, z) => decoder.apply(params.decoder as Params, z),
    decodeRowFloats: decoder.rowFloats,
  };
}

/** Seed 001's tutorial: latent 2, Adam(1e-4), batch 32, 10 epochs, images binarised at 0.5. */
const kerasConvVae = {
  latent: 2, convChannels: [32, 64], convKernel: 3, convDense: 0, encoderActivation: "relu", decoderActivation: "relu",
  likelihood: "bernoulli", binarize: "static", lr: 1e-4, batchSize: 32, epochs: 10,
};

export const convVaeOptions = z.object({ ...CODE_OPTIONS, ...CONV_OPTIONS, ...LIKELIHOOD_OPTIONS, ...ELBO_OPTIONS });

export const convVaeFamily: ModelFamily<typeof convVaeOptions> = {
  name: "conv-vae",
  options: convVaeOptions,
  description: "convolutional VAE: strided conv encoder, transposed-conv decoder (seed 001's Keras tutorial), any image size and channels",
  presets: { "keras-conv-vae": kerasConvVae },
  create: (options, info) =>
    makeLatentModel({ family: "conv-vae", options, info, nets: convLatentNets(options, info), objective: "elbo", conditional: false }),
};
