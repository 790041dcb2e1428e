// VQ-VAE (van den Oord et al. 2017): an encoder gives N code vectors z_e(x) ∈ R^D (MLP nets: N =
// codePositions; conv nets: the h × w grid), each replaced by its nearest of K codebook vectors,
// and the decoder reconstructs x from the quantised vectors z_q:
//
//   loss = −log p(x | z_q) + Σ_{i=1..N} ( ‖sg[z_e,i] − e_{k_i}‖² + β ‖z_e,i − sg[e_{k_i}]‖² )
//
// per example, averaged over the batch (the codebook term is replaced by EMA updates with `ema`;
// see vq.ts). The code of an example is its N code indices: `encode` returns them as numbers
// [B, N], `decode` takes them back, and `sample` draws them from the prior over codes that is fitted
// after training (code-prior.ts, saved in the run as prior.safetensors).
import { np, jit, refTree, splitKey, type Array } from "../engine/index.js";
import type { Distribution } from "../distributions/index.js";
import { pixelLikelihood, squaredError } from "./likelihood.js";
import { initMlp, mlp, type MlpParams } from "../nn/mlp.js";
import { LatentkitError } from "../io/errors.js";
import { activationSpec, pixels } from "./nets.js";
import { convGridNets, type CodeGridNets } from "./conv-nets.js";
import { codebookOf, codebookUsage, initQuantizer, lookupCodes, quantize, updateQuantizer, combineQuantizerStats, nearestCodes, type VqConfig } from "./vq.js";
import { fitCodePrior, makeCodePrior, type CodePriorConfig } from "./code-prior.js";
import type { Batch, DataInfo, Model, ModelFamily, Params } from "./types.js";
import { z } from "zod";
import { CODE_OPTIONS, CONV_OPTIONS, LIKELIHOOD_OPTIONS, MLP_OPTIONS, positiveInt, size } from "./options.js";

type VqVaeOptions = z.infer<typeof vqVaeOptions>;

/** Encoder and decoder of a VQ-VAE: x [B, C, H, W] <-> code vectors [B, N, D]. */
export type VqNets = CodeGridNets;

/** MLP nets: x -> hidden... -> N·D (reshaped [B, N, D]); N·D -> reversed hidden... -> x. */
export function mlpVqNets(options: VqVaeOptions, info: DataInfo): VqNets {
  const P = pixels(info), N = options.codePositions, D = options.latent;
  const encAct = activationSpec(options.encoderActivation, options);
  const decAct = activationSpec(options.decoderActivation, options);
  return {
    positions: N,
    init(key) {
      const [ke, kd] = splitKey(key);
      return { encoder: initMlp(ke, [P, ...options.hidden, N * D]), decoder: initMlp(kd, [N * D, ...[...options.hidden].reverse(), P]) };
    },
    encode(params, x) {
      const B = x.shape[0];
      return mlp(params.encoder as MlpParams, x.reshape([B, P]), { activation: encAct }).reshape([B, N, D]);
    },
    decode(params, zq) {
      const B = zq.shape[0];
      return mlp(params.decoder as MlpParams, zq.reshape([B, N * D]), { activation: decAct }).reshape([B, ...info.imageShape]);
    },
  };
}

/** Conv nets: the code grid of conv-nets.ts (stride-2 'same' convs, a 1×1 projection to D). */
export function convVqNets(options: VqVaeOptions, info: DataInfo): VqNets {
  return convGridNets({
    inputShape: info.imageShape, channels: options.convChannels, kernel: options.convKernel, codeDim: options.latent,
    encoderActivation: activationSpec(options.encoderActivation, options), decoderActivation: activationSpec(options.decoderActivation, options),
  });
}

export function makeVqVae(options: VqVaeOptions, info: DataInfo, nets: VqNets, family = "vq-vae"): Model {
  const N = nets.positions, D = options.latent, K = options.codebookSize;
  const vq: VqConfig = {
    K, D, commitment: options.commitment, ema: options.ema, decay: options.emaDecay,
    restart: options.deadCodeRestart, threshold: options.deadCodeThreshold,
  };
  const priorConfig: CodePriorConfig = {
    N, K, kind: options.codePrior, hidden: options.priorHidden, epochs: options.priorEpochs, batchSize: 100, lr: 1e-3, seed: 0,
  };
  const decoderLikelihood = pixelLikelihood(options, info);

  /** p(x|z_q) (likelihood.ts) and its mean image, from code vectors [B, N, D] (consumed). */
  const likelihood = (params: Params, zq: Array): Distribution => decoderLikelihood.of(params, nets.decode(params, zq));
  const meanImage = (params: Params, zq: Array): Array => decoderLikelihood.meanImage(params, nets.decode(params, zq));
  /** Nearest-code indices [B, N] int32 of images x (consumed). */
  const codesOf = (params: Params, x: Array): Array => {
    const B = x.shape[0];
    const ze = nets.encode(params, x).reshape([B * N, D]);
    return nearestCodes(ze, codebookOf(params, vq)).reshape([B, N]);
  };
  const decodeCodes = (params: Params, codes: Array): Array =>
    meanImage(params, lookupCodes(codes.astype(np.int32), codebookOf(params, vq)));
  const reconstruct = (params: Params, batch: Batch): Array => {
    batch.labels?.dispose();
    return decodeCodes(params, codesOf(params, batch.x));
  };

  const model: Model = {
    family,
    options,
    info,
    codeDim: N,
    probabilistic: false,
    conditional: false,
    init(key) {
      const [kn, kq] = splitKey(key);
      return { ...nets.init(kn), ...initQuantizer(kq, vq), ...decoderLikelihood.init() };
    },
    loss(params, batch, key) {
      batch.labels?.dispose();
      const B = batch.x.shape[0];
      const ze = nets.encode(params, batch.x.ref).reshape([B * N, D]);
      const q = quantize(params, ze, key, vq);
      q.codes.dispose();
      const px = likelihood(params, q.zq.reshape([B, N, D]));
      const recon = px.logProb(batch.x).neg().mean();
      px.dispose();
      const vqLoss = q.vqLoss.reshape([B, N]).sum(-1).mean();
      const { perplexity, codesUsed } = codebookUsage(q.counts);
      return {
        loss: recon.ref.add(vqLoss.ref),
        metrics: { recon, vq: vqLoss, perplexity, codes_used: codesUsed },
        aux: q.aux,
      };
    },
    encode(params, batch) {
      batch.labels?.dispose();
      return codesOf(params, batch.x).astype(np.float32);
    },
    decode(params, z, labels) {
      labels?.dispose();
      return decodeCodes(params, z);
    },
    reconstruct,
    sample(params, key, n, labels) {
      labels?.dispose();
      if (!params.prior) {
        key.dispose();
        throw new LatentkitError(`${family}: the run has no prior over codes (prior.safetensors); it is fitted at the end of training`);
      }
      const prior = makeCodePrior(priorConfig);
      const codes = prior.sample(params.prior as Params, key, n);
      prior.dispose();
      return decodeCodes(params, codes);
    },
    reconstructionError(params, batch) {
      return squaredError(reconstruct(params, { x: batch.x.ref, labels: batch.labels }), batch.x);
    },
    fitPrior(params, data, key, log) {
      const codes = jit((p: Params, x: Array) => codesOf(p, x));
      const gather = (batches: Iterable<Batch>): Int32Array => {
        const parts: Int32Array[] = [];
        for (const b of batches) {
          b.labels?.dispose();
          parts.push(Int32Array.from(codes(refTree(params), b.x).dataSync() as Int32Array));
        }
        const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
        let o = 0;
        for (const p of parts) { out.set(p, o); o += p.length; }
        return out;
      };
      const train = gather(data.train);
      const valid = data.valid ? gather(data.valid) : undefined;
      codes.dispose();
      return fitCodePrior(train, valid, priorConfig, key, log);
    },
  };
  if (vq.ema || vq.restart) {
    model.afterStep = (params, aux) => {
      const { codebook: _c, buffers: _b, ...rest } = params;
      const updated = updateQuantizer(params, aux, vq);
      return { ...rest, ...(updated.codebook ? { codebook: updated.codebook } : {}), buffers: updated.buffers };
    };
    model.combineAux = combineQuantizerStats;
  }
  return model;
}

export const vqVaeOptions = z.object({
  ...CODE_OPTIONS, ...CONV_OPTIONS, hidden: MLP_OPTIONS.hidden, ...LIKELIHOOD_OPTIONS,
  vqNets: z.enum(["conv", "mlp"]).default("conv")
    .describe("VQ-VAE nets: conv (a grid of code vectors, convChannels/convKernel) or mlp (hidden, codePositions)"),
  codePositions: size.default(16).describe("VQ-VAE with MLP nets: code vectors N per example"),
  codebookSize: size.default(128).describe("VQ-VAE: number of codes K"),
  commitment: z.number().min(0).default(0.25).describe("VQ-VAE: β of the commitment loss"),
  ema: z.boolean().default(false).describe("VQ-VAE: EMA codebook updates instead of the codebook loss"),
  emaDecay: z.number().gt(0).lt(1).default(0.99).describe("VQ-VAE: EMA decay"),
  deadCodeRestart: z.boolean().default(false).describe("VQ-VAE: restart unused codes from encoder outputs"),
  deadCodeThreshold: z.number().positive().default(1)
    .describe("VQ-VAE: a code is dead when its EMA count of assigned vectors per batch falls below this"),
  codePrior: z.enum(["autoregressive", "independent"]).default("autoregressive")
    .describe("VQ-VAE: prior over code indices fitted after training (MADE, or a categorical per position)"),
  priorHidden: z.array(size).default([256]).describe("VQ-VAE: hidden layer sizes of the autoregressive code prior"),
  priorEpochs: positiveInt.default(5).describe("VQ-VAE: epochs of code-prior training after the autoencoder"),
});

export const vqVaeFamily: ModelFamily<typeof vqVaeOptions> = {
  name: "vq-vae",
  options: vqVaeOptions,
  description: "VQ-VAE: nearest-codebook quantisation with the straight-through gradient; EMA codebook and dead-code restarts as options; samples through a prior over codes fitted after training",
  presets: {
    /** The recorded runs' model (docs/results-discrete.md): a 7×7 grid of 8-d vectors, 64 codes, EMA, restarts. */
    "vqvae-conv-small": { vqNets: "conv", convChannels: [16, 32], latent: 8, codebookSize: 64, ema: true, deadCodeRestart: true },
    "vqvae-mlp": { vqNets: "mlp", hidden: [512], latent: 16, codePositions: 16, codebookSize: 128, ema: true, deadCodeRestart: true },
  },
  create: (options, info) => makeVqVae(options, info, options.vqNets === "conv" ? convVqNets(options, info) : mlpVqNets(options, info)),
};
