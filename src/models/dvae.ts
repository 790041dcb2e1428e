// The discrete VAE (Jang et al. 2017, "Categorical Reparameterization with Gumbel-Softmax";
// Maddison et al. 2017): N categorical latents z_n with K classes each, one-hot coded.
//
//   q(z|x) = Π_n Cat(z_n; softmax(l_n(x))),   p(z) = Π_n Cat(z_n; 1/K)
//   ELBO   = E_q[log p(x|z)] − Σ_n KL(q_n ‖ U_K)            (KL by the Categorical‖Categorical form)
//   train: z_n = softmax((l_n + g_n) / τ_t),  g ~ Gumbel(0, 1)      (relaxed one-hot, reparameterised)
//          hardSamples: z_n = onehot(argmax) forward, the relaxed sample's gradient backward
//          τ_t = max(τ_min, τ_0 e^{−r t}) comes from the trainer (StepContext.temperature)
//   eval:  the discrete model itself, z one-hot ~ q(z|x):
//          log w = log p(x|z) + log p(z) − log q(z|x),  log p(z) = −N log K
//
// Codes: `encode` gives the posterior probabilities q(z|x) flattened [B, N·K] (the posterior mean
// of the one-hot z); `decode` takes any [B, N·K] (one-hot or relaxed); `reconstruct` decodes the
// posterior mode (one-hot argmax). Per-unit KL for active units: KL(q_n‖U) = Σ_k [q_k log(K q_k) −
// q_k + 1/K], each term ≥ 0 (the Σ of −q_k + 1/K is 0).
import { np, jnn, lax, random, type Array } from "../engine/index.js";
import { Categorical, gumbelNoise, kl, type Distribution } from "../distributions/index.js";
import { pixelLikelihood, squaredError } from "./likelihood.js";
import { mlpNets } from "./nets.js";
import type { Batch, DataInfo, ElboTerms, Model, ModelFamily, Params } from "./types.js";
import { z } from "zod";
import { KL_WEIGHT_OPTIONS, LIKELIHOOD_OPTIONS, MLP_OPTIONS, size } from "./options.js";

// y = softmax((l + g) / τ), g ~ Gumbel(0, 1); hard: y_hard + (y − sg(y)).
/**
 * The Gumbel-softmax sample of logits [..., K] (consumed) at a temperature τ given as an array
 * (traced inside the jitted step, so that annealing never retraces; RelaxedOneHotCategorical in
 * distributions/ is the same sample with a fixed number τ).
 */
export function gumbelSoftmax(logits: Array, tau: Array, key: Array, hard: boolean): Array {
  const g = gumbelNoise(key, logits.shape).astype(logits.dtype);
  const y = jnn.softmax(logits.add(g).div(tau), -1);
  if (!hard) return y;
  const K = y.shape[y.ndim - 1];
  const yHard = jnn.oneHot(np.argmax(y.ref, -1), K).astype(y.dtype);
  return yHard.add(y.ref.sub(lax.stopGradient(y)));
}

export function makeDvae(options: z.infer<typeof dvaeOptions>, info: DataInfo, family = "dvae"): Model {
  const N = options.categoricals, K = options.classes, NK = N * K;
  const [C, H, W] = info.imageShape;
  const nets = mlpNets(options, info, NK, 0, NK);
  const decoderLikelihood = pixelLikelihood(options, info);

  /** Encoder logits [B, N, K] of images x (consumed). */
  const logitsOf = (params: Params, x: Array): Array => nets.encoder(params, x).reshape([x.shape[0], N, K]);

  /** p(x|z) for z [M, N·K] (consumed). */
  const likelihood = (params: Params, z: Array): Distribution => decoderLikelihood.of(params, nets.decoder(params, z));
  const decodeMean = (params: Params, z: Array): Array => decoderLikelihood.meanImage(params, nets.decoder(params, z));

  /** KL(q‖U) per example [B] (the registry's closed form) from logits [B, N, K] (consumed). */
  const klUniform = (logits: Array): Array => {
    const q = new Categorical(logits);
    const u = new Categorical(np.zeros([N, K]));
    const out = kl(q, u).sum(-1);
    q.dispose();
    u.dispose();
    return out;
  };
  /** The per-unit terms q_k log(K q_k) − q_k + 1/K, [B, N·K], from logits (consumed). */
  const klUnits = (logits: Array): Array => {
    const logq = jnn.logSoftmax(logits, -1);
    const q = np.exp(logq.ref);
    return q.ref.mul(logq.add(Math.log(K))).sub(q).add(1 / K).reshape([-1, NK]);
  };

  const oneHotCodes = (indices: Array): Array => jnn.oneHot(indices, K).astype(np.float32);

  const elbo = (params: Params, batch: Batch, key: Array): ElboTerms => {
    batch.labels?.dispose();
    const B = batch.x.shape[0];
    const logits = logitsOf(params, batch.x.ref);
    const q = new Categorical(logits.ref);
    const z = oneHotCodes(q.sample(key)).reshape([B, NK]); // z ~ q(z|x), exactly one-hot
    q.dispose();
    const px = likelihood(params, z);
    const recon = px.logProb(batch.x).neg();
    px.dispose();
    return { recon, kl: klUniform(logits.ref), klPerDim: klUnits(logits) };
  };

  // log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x),  z_i ~ q(z|x): [k, B]
  const logImportanceWeights = (params: Params, batch: Batch, key: Array, k: number): Array => {
    batch.labels?.dispose();
    const B = batch.x.shape[0];
    const q = new Categorical(logitsOf(params, batch.x.ref));
    const idx = q.sample(key, [k]); // [k, B, N]
    const logQ = q.logProb(idx.ref).sum(-1); // [k, B]
    q.dispose();
    const px = likelihood(params, oneHotCodes(idx).reshape([k * B, NK]));
    const xRep = np.broadcastTo(batch.x.reshape([1, B, C, H, W]), [k, B, C, H, W]).reshape([k * B, C, H, W]);
    const logPx = px.logProb(xRep).reshape([k, B]);
    px.dispose();
    return logPx.sub(logQ).sub(N * Math.log(K));
  };

  const reconstruct = (params: Params, batch: Batch): Array => {
    batch.labels?.dispose();
    const B = batch.x.shape[0];
    const mode = oneHotCodes(np.argmax(logitsOf(params, batch.x), -1)).reshape([B, NK]);
    return decodeMean(params, mode);
  };

  return {
    family,
    options,
    info,
    codeDim: NK,
    probabilistic: true,
    conditional: false,
    init(key) {
      return { ...nets.init(key), ...decoderLikelihood.init() };
    },
    loss(params, batch, key, ctx) {
      batch.labels?.dispose();
      const B = batch.x.shape[0];
      const logits = logitsOf(params, batch.x.ref);
      const z = gumbelSoftmax(logits.ref, ctx.temperature.ref, key, options.hardSamples).reshape([B, NK]);
      const px = likelihood(params, z);
      const recon = px.logProb(batch.x).neg().mean();
      px.dispose();
      const klMean = klUniform(logits).mean();
      const loss = recon.ref.add(klMean.ref.mul(ctx.klWeight.ref));
      return { loss, metrics: { recon, kl: klMean } };
    },
    encode(params, batch) {
      batch.labels?.dispose();
      return jnn.softmax(logitsOf(params, batch.x), -1).reshape([-1, NK]);
    },
    decode(params, z, labels) {
      labels?.dispose();
      return decodeMean(params, z);
    },
    reconstruct,
    sample(params, key, n, labels) {
      labels?.dispose();
      const idx = random.categorical(key, np.zeros([K]), { shape: [n, N] }); // z_n ~ U_K
      return decodeMean(params, oneHotCodes(idx).reshape([n, NK]));
    },
    elbo,
    logImportanceWeights,
    reconstructionError(params, batch) {
      return squaredError(reconstruct(params, { x: batch.x.ref, labels: batch.labels }), batch.x);
    },
  };
}

/** Jang et al.'s MNIST model: 784-512-256-(20 × 10), ReLU, Bernoulli output. */
const jangDvae = { hidden: [512, 256], categoricals: 20, classes: 10, encoderActivation: "relu", decoderActivation: "relu", likelihood: "bernoulli" };

export const dvaeOptions = z.object({
  ...MLP_OPTIONS, ...LIKELIHOOD_OPTIONS, ...KL_WEIGHT_OPTIONS,
  categoricals: size.default(20).describe("dVAE: N categorical latents"),
  classes: size.default(10).describe("dVAE: K classes per latent"),
  temperature: z.number().positive().default(1).describe("dVAE: initial Gumbel-softmax temperature"),
  minTemperature: z.number().positive().default(0.5).describe("dVAE: final temperature"),
  temperatureDecay: z.number().min(0).default(3e-5).describe("dVAE: τ = max(min, τ0·exp(−rate·step))"),
  hardSamples: z.boolean().default(false).describe("dVAE: straight-through one-hot samples"),
});

export const dvaeFamily: ModelFamily<typeof dvaeOptions> = {
  name: "dvae",
  options: dvaeOptions,
  description: "discrete VAE: N categorical latents of K classes, Gumbel-softmax with an annealed temperature (optionally straight-through), KL to the uniform prior",
  presets: { "jang-dvae": jangDvae },
  create: (options, info) => makeDvae(options, info),
};
