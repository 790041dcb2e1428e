// Stacked autoencoder (Bengio et al. 2007; seed 003's "high level? stacked AE"): a deep AE whose
// layers are first trained greedily, one shallow AE at a time, then fine-tuned end to end.
//
// Encoder layers E_1..E_L (n_0 = D -> n_1 -> ... -> n_L = d), decoder layers mirrored, G_k: n_k -> n_{k−1}.
// Stage k (k = 1..L) trains only E_k and G_k, for `pretrainEpochs`, as the shallow AE
//
//   c = φ_k(E_k a_{k−1}),  â = ψ_k(G_k c),   loss = mean_batch Σ ℓ(a_{k−1}, â)
//
// on the codes a_{k−1} = φ(E_{k−1} ··· φ(E_1 x)) of the layers below (fixed: computed outside the
// gradient). φ_k is the encoder activation (identity for the code layer, k = L); ψ_k is the decoder
// activation, except for k = 1, whose output is the model's output: ℓ is then BCE on logits or the
// squared error, as in `ae`; for k > 1, ℓ is the squared error on the hidden codes.
// The trainer runs the stages (Model.pretrainStages) before the main loop of a new run; the main
// loop's `epochs` are the end-to-end fine-tuning.
import { np } from "../engine/index.js";
import { activation } from "../nn/activations.js";
import { linear, type LinearParams } from "../nn/linear.js";
import type { MlpParams } from "../nn/mlp.js";
import { activationSpec, pixels } from "./nets.js";
import { makeAutoencoder, mlpAeNets, reconstructionLoss } from "./ae.js";
import { z } from "zod";
import { aeOptions } from "./ae.js";
import type { DataInfo, ModelFamily, Params, PretrainStage } from "./types.js";

const layer = (tree: Params, group: "encoder" | "decoder", i: number) => (tree[group] as MlpParams)[String(2 * i)] as LinearParams;

/** The L greedy stages of an MLP AE with hidden sizes `options.hidden` (L = hidden.length + 1). */
export function greedyStages(options: z.infer<typeof stackedAeOptions>, info: DataInfo): PretrainStage[] {
  const L = options.hidden.length + 1;
  const D = pixels(info);
  const enc = activation(activationSpec(options.encoderActivation, options));
  const dec = activation(activationSpec(options.decoderActivation, options));
  return globalThis.Array.from({ length: L }, (_, k): PretrainStage => ({
    name: `layer ${k + 1}/${L}`,
    epochs: options.pretrainEpochs,
    params: [`encoder.${2 * k}`, `decoder.${2 * (L - 1 - k)}`],
    // a_k = φ(E_k ··· φ(E_1 x)), the codes of the trained layers below
    input(params, x) {
      let a = x.reshape([x.shape[0], D]);
      for (let i = 0; i < k; i++) a = enc(linear(layer(params, "encoder", i), a));
      return a;
    },
    loss(params, batch, key) {
      key.dispose();
      batch.labels?.dispose();
      const a = batch.x;
      const pre = linear(layer(params, "encoder", k), a.ref);
      const code = k === L - 1 ? pre : enc(pre);
      const out = linear(layer(params, "decoder", L - 1 - k), code);
      const recon = (k === 0
        ? reconstructionLoss(options.likelihood, out, a)
        : np.square(a.sub(dec(out))).sum(-1)).mean();
      return { loss: recon.ref, metrics: { recon } };
    },
  }));
}

export const stackedAeOptions = z.object({
  ...aeOptions.shape,
  pretrainEpochs: z.number().int().min(0).default(2).describe("stacked AE: greedy epochs per layer before fine-tuning"),
});

export const stackedAeFamily: ModelFamily<typeof stackedAeOptions> = {
  name: "stacked-ae",
  options: stackedAeOptions,
  description: "stacked autoencoder: greedy layer-wise pretraining (pretrainEpochs per layer), then end-to-end fine-tuning",
  presets: {
    "stacked-3": { hidden: [256, 128], latent: 32, pretrainEpochs: 2, likelihood: "bernoulli" },
    "hinton-stacked": {
      hidden: [1000, 500, 250], latent: 30, encoderActivation: "sigmoid", decoderActivation: "sigmoid",
      likelihood: "bernoulli", pretrainEpochs: 2,
    },
  },
  create: (options, info) => makeAutoencoder({
    family: "stacked-ae", options, info, nets: mlpAeNets(options, info),
    pretrainStages: options.pretrainEpochs > 0 ? greedyStages(options, info) : undefined,
  }),
};
