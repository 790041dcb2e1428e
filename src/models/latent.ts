// The Gaussian-latent model shared by vae, beta-vae, iwae, cvae and conv-vae: an encoder giving
// q(z|x[,c]) = N(μ, diag σ²), a prior p(z[|c]), a decoder giving p(x|z[,c]) (Bernoulli on logits or
// Gaussian), and the objectives of the seeds:
//
//   ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x)                 (Kingma & Welling)
//   loss    = mean_batch( −E_q[log p(x|z)] + β_t · KL )    one sample z = μ + σ ⊙ ε
//   IWAE_k  = E[ log (1/k) Σ_i p(x, z_i) / q(z_i|x) ],  z_i ~ q(z|x)        (Burda et al.)
//
// Reductions: summed over pixels and latent dimensions, averaged over the batch (the seeds sum over
// the batch too; averaging only rescales the gradient, which Adam ignores, and makes losses
// comparable across batch sizes: the reported numbers are nats per example).
import { np, jnn, lax, random, splitKey, writeOut, type Array } from "../engine/index.js";
import { Normal, type Distribution } from "../distributions/index.js";
import { standardNormalPrior, type LatentPrior } from "./prior.js";
import type { Batch, DataInfo, ElboTerms, GaussianProposal, LossOutput, Model, Params, StepContext } from "./types.js";
import type { CodeOptions, LikelihoodOptions } from "./options.js";
import { pixelLikelihood, squaredError } from "./likelihood.js";

/** The networks of a Gaussian-latent model; conditioning c is a one-hot [B, numClasses] or absent. */
export type LatentNets = {
  init(key: Array): Params;
  /** (μ, log σ²), each [B, d]. x [B, C, H, W] consumed. */
  encode(params: Params, x: Array, c?: Array): [Array, Array];
  /** Decoder output before the link (logits, or the Gaussian mean), [N, C, H, W] for z [N, d]. */
  decode(params: Params, z: Array, c?: Array): Array;
  /** Floats of the decoder's largest intermediate per decoded row, when far above the image's (conv nets). */
  decodeRowFloats?: number;
};

/**
 * An extra term of the ELBO objective, from the batch's posterior and the sample the reconstruction
 * used (β-TCVAE's total correlation, FactorVAE's discriminator): its weighted value, added to the
 * loss, and metrics to log. Borrows q's arrays, z and params; consumes key.
 */
export type LatentPenalty = {
  value(q: GaussianProposal, z: Array, params: Params, key: Array): { value: Array; metrics: Record<string, Array> };
  /** Parameters of its own (FactorVAE's discriminator), merged into the model's at init. */
  init?(key: Array): Params;
};

export type LatentModelSpec = {
  family: string;
  /** What the shared model reads: the code size, the likelihood, the ELBO's regularisers (free bits
   *  and encoder noise, off when absent) and IWAE's k. The KL weight comes through the step context. */
  options: CodeOptions & LikelihoodOptions & { freeBits?: number; encoderNoise?: number; iwSamples?: number };
  info: DataInfo;
  nets: LatentNets;
  objective: "elbo" | "iwae";
  conditional: boolean;
  penalty?: LatentPenalty;
  /** p(z | c) (prior.ts); N(0, I) when absent. */
  prior?: LatentPrior;
};

const mean0 = (x: Array) => np.mean(x, 0);
const ref = (c?: Array) => c?.ref;

/** The pieces every method of a Gaussian-latent model is written with (built once per model). */
type LatentParts = {
  spec: LatentModelSpec;
  d: number;
  numClasses: number;
  prior: LatentPrior;
  decoderLikelihood: ReturnType<typeof pixelLikelihood>;
  /** One-hot conditioning from int labels (consumed), or nothing for unconditional models. */
  context(labels?: Array): Array | undefined;
  /** q(z|x[,c]) = N(μ, diag σ²). x consumed, c borrowed by the caller. */
  posterior(params: Params, x: Array, c?: Array): Normal;
  /**
   * p(x|z): events are whole images [C, H, W]. z [N, d] consumed; c borrowed by the caller.
   * `written`: the decoder's output goes through writeOut (gradients with respect to z alone).
   */
  likelihood(params: Params, z: Array, c?: Array, written?: boolean): Distribution;
  /** Decoded mean images in [0, 1]. */
  decodeMean(params: Params, z: Array, c?: Array): Array;
  /** KL(q‖p) per example [B] and per dimension [B, d] (the priors factorise). c consumed. */
  klTerms(params: Params, q: Normal, c?: Array): { kl: Array; perDim: Array };
};

function latentParts(spec: LatentModelSpec): LatentParts {
  const { options, info, nets, conditional } = spec;
  const d = options.latent;
  const numClasses = info.numClasses ?? 0;
  const prior = spec.prior ?? standardNormalPrior(d);
  const decoderLikelihood = pixelLikelihood(options, info);
  return {
    spec, d, numClasses, prior, decoderLikelihood,
    context(labels) {
      if (!conditional) {
        labels?.dispose();
        return undefined;
      }
      if (!labels) throw new Error(`${spec.family} needs labels`);
      return jnn.oneHot(labels, numClasses).astype(np.float32);
    },
    posterior(params, x, c) {
      const [mu, logVar] = nets.encode(params, x, c);
      return Normal.fromLogVar(mu, logVar);
    },
    likelihood(params, z, c, written = false) {
      const decoded = nets.decode(params, z, c);
      return decoderLikelihood.of(params, written ? writeOut(decoded) : decoded);
    },
    decodeMean: (params, z, c) => decoderLikelihood.meanImage(params, nets.decode(params, z, c)),
    klTerms(params, q, c) {
      const perDim = prior.klPerDim(params, q, c);
      return { kl: perDim.ref.sum(-1), perDim };
    },
  };
}

type ElboWithPenalty = ElboTerms & { extra?: ReturnType<LatentPenalty["value"]> };

// With encoder noise σ > 0 (training only), q is computed from x̃ = x + σ ε, ε ~ N(0, I), and the
// decoder still scores the clean x: E_x̃[ E_q(z|x̃)[log p(x|z)] − KL(q(z|x̃) ‖ p(z)) ] (Shu et al. 2018).
function elboTermsOf(m: LatentParts) {
  return (params: Params, batch: Batch, key: Array, encoderNoise = 0, penalty?: LatentPenalty): ElboWithPenalty => {
    const c = m.context(batch.labels);
    let sampleKey = key;
    let encoderInput = batch.x.ref;
    if (encoderNoise > 0) {
      const [noiseKey, rest] = splitKey(key);
      sampleKey = rest;
      encoderInput = encoderInput.add(random.normal(noiseKey, batch.x.shape).astype(batch.x.dtype).mul(encoderNoise));
    }
    const q = m.posterior(params, encoderInput, ref(c));
    let penaltyKey: Array | undefined;
    if (penalty) [sampleKey, penaltyKey] = splitKey(sampleKey);
    const z = q.rsample(sampleKey);
    let extra: ReturnType<LatentPenalty["value"]> | undefined;
    if (penalty) {
      const logVar = np.broadcastTo(q.logScale.ref.mul(2), q.shape);
      extra = penalty.value({ loc: q.loc, logVar }, z, params, penaltyKey!);
      logVar.dispose();
    }
    const px = m.likelihood(params, z, ref(c));
    const recon = px.logProb(batch.x).neg(); // [B]
    px.dispose();
    const { kl: klB, perDim } = m.klTerms(params, q, c);
    q.dispose();
    return { recon, kl: klB, klPerDim: perDim, extra };
  };
}

// log w_i = log p(x|z_i) + log p(z_i) − log r(z_i), z_i ~ r, i = 1..k: [k, B], where the proposal
// r is the encoder's q(z|x), or a Gaussian given per example (eval's refined proposal).
function logImportanceWeightsOf(m: LatentParts) {
  const { d, numClasses } = m;
  const [C, H, W] = m.spec.info.imageShape;
  return (params: Params, batch: Batch, key: Array, k: number, proposal?: GaussianProposal, pathwise = false): Array => {
    const c = m.context(batch.labels);
    const q = proposal ? Normal.fromLogVar(proposal.loc, proposal.logVar) : m.posterior(params, batch.x.ref, ref(c));
    const B = batch.x.shape[0];
    const z = q.rsample(key, [k]); // [k, B, d]
    // pathwise: the density of z under r's parameters held constant
    const density = pathwise ? Normal.fromLogVar(lax.stopGradient(q.loc.ref), lax.stopGradient(q.logScale.ref.mul(2))) : q;
    const logQ = density.logProb(z.ref); // [k, B]
    if (pathwise) density.dispose();
    const p = m.prior.density(params, q, ref(c));
    const logPz = p.logProb(z.ref);
    p.dispose();
    const cRep = c ? np.broadcastTo(c.ref.reshape([1, B, numClasses]), [k, B, numClasses]).reshape([k * B, numClasses]) : undefined;
    // pathwise (refine.ts) differentiates with respect to z alone, and jit would fuse the logits'
    // matmul into the matmul of their cotangent with the weights: writeOut stops it
    const px = m.likelihood(params, z.reshape([k * B, d]), cRep, pathwise);
    const xRep = np.broadcastTo(batch.x.reshape([1, B, C, H, W]), [k, B, C, H, W]).reshape([k * B, C, H, W]);
    const logPx = px.logProb(xRep).reshape([k, B]);
    px.dispose();
    q.dispose();
    c?.dispose();
    return logPx.add(logPz).sub(logQ);
  };
}

/** The training objective: −IWAE_k, or −ELBO with β_t, free bits and the family's penalty. */
function latentLoss(m: LatentParts, elboTerms: ReturnType<typeof elboTermsOf>, logImportanceWeights: ReturnType<typeof logImportanceWeightsOf>) {
  const { options, objective, penalty } = m.spec;
  return (params: Params, batch: Batch, key: Array, ctx: StepContext): LossOutput => {
    if (objective === "iwae") {
      const k = options.iwSamples ?? 1;
      const logW = logImportanceWeights(params, batch, key, k); // [k, B]
      // IWAE_k = log-mean-exp over the k samples, per example
      const bound = jnn.logsumexp(logW.ref, 0).sub(Math.log(k));
      const elboEstimate = mean0(logW.mean(0));
      const iwaeBound = bound.mean();
      return { loss: iwaeBound.ref.neg(), metrics: { iwae: iwaeBound, elbo: elboEstimate } };
    }
    const { recon, kl: klB, klPerDim, extra } = elboTerms(params, batch, key, ctx.training ? options.encoderNoise ?? 0 : 0, penalty);
    // Free bits (Kingma et al. 2016): each dimension's batch-mean KL is floored at λ in the objective.
    const freeBits = options.freeBits ?? 0;
    const klObjective = freeBits > 0
      ? np.maximum(mean0(klPerDim!), freeBits).sum()
      : (klPerDim!.dispose(), klB.ref.mean());
    const reconMean = recon.mean();
    const klMean = klB.mean();
    let lossValue = reconMean.ref.add(klObjective.mul(ctx.klWeight.ref));
    if (extra) lossValue = lossValue.add(extra.value);
    return { loss: lossValue, metrics: { recon: reconMean, kl: klMean, ...(extra?.metrics ?? {}) } };
  };
}

export function makeLatentModel(spec: LatentModelSpec): Model {
  const { options, info, nets, objective, conditional } = spec;
  if (conditional && !info.numClasses) {
    throw new Error(`${spec.family} is conditional and needs a labelled data set`);
  }
  if (objective === "iwae" && (options.encoderNoise ?? 0) > 0) {
    throw new Error(`encoderNoise=${options.encoderNoise}: it regularises the ELBO's encoder; the iwae objective does not take it`);
  }
  const m = latentParts(spec);
  const { context, posterior, decodeMean, prior, decoderLikelihood } = m;
  const elboTerms = elboTermsOf(m);
  const logImportanceWeights = logImportanceWeightsOf(m);

  /** The decoded posterior mean of each input: g(E_q[z|x]). */
  const reconstruct = (params: Params, batch: Batch): Array => {
    const c = context(batch.labels);
    const q = posterior(params, batch.x, ref(c));
    const out = decodeMean(params, q.loc.ref, ref(c));
    q.dispose();
    c?.dispose();
    return out;
  };

  return {
    family: spec.family,
    options,
    info,
    codeDim: m.d,
    decodeRowFloats: nets.decodeRowFloats,
    probabilistic: true,
    conditional,
    init(key) {
      const [kNets, kPrior] = splitKey(key);
      const params = nets.init(kNets);
      if (spec.penalty?.init) Object.assign(params, spec.penalty.init(kPrior.ref));
      Object.assign(params, prior.init());
      Object.assign(params, decoderLikelihood.init());
      kPrior.dispose();
      return params;
    },
    loss: latentLoss(m, elboTerms, logImportanceWeights),
    encode(params, batch) {
      const c = context(batch.labels);
      const q = posterior(params, batch.x, c);
      const mu = q.loc.ref;
      q.dispose();
      return mu;
    },
    decode(params, z, labels) {
      const c = context(labels);
      const out = decodeMean(params, z, ref(c));
      c?.dispose();
      return out;
    },
    reconstruct,
    // z ~ p(z[|c]) (prior.ts), then the decoder's mean image
    sample(params, key, n, labels) {
      if (labels && labels.shape[0] !== n) {
        const count = labels.shape[0];
        labels.dispose();
        key.dispose();
        throw new Error(`${spec.family}.sample: ${count} labels for n = ${n} samples (one label per sample)`);
      }
      const c = context(labels);
      const z = prior.sample(params, key, n, ref(c));
      const out = decodeMean(params, z, ref(c));
      c?.dispose();
      return out;
    },
    elbo: elboTerms,
    logImportanceWeights,
    gaussianPosterior(params, batch) {
      const [loc, logVar] = nets.encode(params, batch.x, context(batch.labels));
      return { loc, logVar };
    },
    reconstructionError(params, batch) {
      return squaredError(reconstruct(params, { x: batch.x.ref, labels: batch.labels }), batch.x);
    },
  };
}
