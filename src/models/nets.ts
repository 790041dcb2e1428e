// Encoder and decoder networks shared by the model families, named like the seeds' PyTorch modules
// (`encoder.0.weight`, `decoder.2.bias`: nn.Sequential indices).
import { np, splitKey, type Array } from "../engine/index.js";
import { initMlp, mlp, type MlpParams } from "../nn/mlp.js";
import type { ActivationSpec } from "../nn/activations.js";
import type { ActivationName, CodeOptions, MlpOptions } from "./options.js";
import type { DataInfo, Params } from "./types.js";
import type { LatentNets } from "./latent.js";

export const pixels = (info: DataInfo) => info.imageShape[0] * info.imageShape[1] * info.imageShape[2];

export function activationSpec(name: ActivationName, options: { leakySlope: number }): ActivationSpec {
  return name === "leakyRelu" ? { name, slope: options.leakySlope } : name;
}

/** Concatenates a one-hot context to features: [B, n] ++ [B, K] -> [B, n + K] (seed 000's CVAE). */
export function withContext(h: Array, c?: Array): Array {
  return c ? np.concatenate([h, c], -1) : h;
}

/**
 * MLP encoder and decoder: encoder D(+K) -> hidden... -> out, decoder d(+K) -> reversed hidden... -> D.
 * `encoderOut` is 2d for a Gaussian posterior (μ and log σ² in one layer, split like torch.chunk);
 * the decoder reads `decoderIn` numbers (default `latent`; the dVAE's N·K one-hot code).
 */
export function mlpNets(options: MlpOptions, info: DataInfo, encoderOut: number, contextDim: number, decoderIn: number) {
  const D = pixels(info);
  const encoderSizes = [D + contextDim, ...options.hidden, encoderOut];
  const decoderSizes = [decoderIn + contextDim, ...[...options.hidden].reverse(), D];
  const encAct = activationSpec(options.encoderActivation, options);
  const decAct = activationSpec(options.decoderActivation, options);
  return {
    init(key: Array): Params {
      const [ke, kd] = splitKey(key);
      return { encoder: initMlp(ke, encoderSizes), decoder: initMlp(kd, decoderSizes) };
    },
    /** [B, C, H, W] -> [B, encoderOut] */
    encoder(params: Params, x: Array, c?: Array): Array {
      const flat = x.reshape([x.shape[0], D]);
      return mlp(params.encoder as MlpParams, withContext(flat, c), { activation: encAct });
    },
    /** [N, d] -> [N, C, H, W] (before the output link) */
    decoder(params: Params, z: Array, c?: Array): Array {
      const n = z.shape[0];
      const out = mlp(params.decoder as MlpParams, withContext(z, c), { activation: decAct });
      return out.reshape([n, ...info.imageShape]);
    },
  };
}

/** Splits [B, 2d] into μ = first d columns, log σ² = last d (torch.chunk(h, 2, dim=1)). */
export function chunkGaussian(h: Array, d: number): [Array, Array] {
  const mu = h.ref.slice([], [0, d]);
  const logVar = h.slice([], [d, 2 * d]);
  return [mu, logVar];
}

/** The MLP Gaussian-latent networks (vae, beta-vae, iwae, cvae). */
export function mlpLatentNets(options: MlpOptions & CodeOptions, info: DataInfo, conditional: boolean): LatentNets {
  const K = conditional ? info.numClasses ?? 0 : 0;
  const nets = mlpNets(options, info, 2 * options.latent, K, options.latent);
  return {
    init: nets.init,
    encode: (params, x, c) => chunkGaussian(nets.encoder(params, x, c), options.latent),
    decode: (params, z, c) => nets.decoder(params, z, c),
  };
}
