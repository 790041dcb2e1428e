// FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising"): the ELBO plus γ × the total
// correlation of q(z), estimated by a discriminator D that tells samples of q(z) from samples of
// ∏_k q(z_k) (the density-ratio trick):
//
//   TC(q(z)) = KL(q(z) ‖ ∏_k q(z_k)) ≈ E_q(z)[ log D(z) / (1 − D(z)) ] = E_q(z)[ logit D(z) ]
//   loss_VAE = −E_q[log p(x|z)] + KL(q(z|x) ‖ p(z)) + γ · E[logit D(z)]           (D held fixed)
//   loss_D   = −E_q(z)[log D(z)] − E_∏q(z_k)[log (1 − D(z̃))]                     (z held fixed)
//
// z̃ permutes each dimension of the batch's codes independently: a sample of ∏_k q(z_k). Both
// losses go into one objective, each seeing the other's parameters through a stop-gradient, so one
// optimizer step updates the VAE on loss_VAE and D on loss_D (the paper used two optimizers).
import { np, jnn, lax, random, type Array } from "../engine/index.js";
import { initMlp, mlp, type MlpParams } from "../nn/mlp.js";
import { mapParams, type ParamTree } from "../nn/tree.js";
import { makeLatentModel, type LatentPenalty } from "./latent.js";
import { mlpLatentNets } from "./nets.js";
import type { ModelFamily } from "./types.js";
import { z } from "zod";
import { size } from "./options.js";
import { vaeOptions } from "./vae.js";

/** Each column of z [M, d] (consumed) permuted across the batch with its own permutation. key consumed. */
export function permuteDimensions(z: Array, key: Array): Array {
  const [M, d] = z.shape;
  const order = np.argsort(random.uniform(key, [d, M]), -1); // [d, M]: a permutation per dimension
  const pick = jnn.oneHot(order, M).astype(z.dtype); // [d, M (i), M (j)]: row i takes example j
  return np.einsum("kij,jk->ik", pick, z);
}

/** log D(z) − log(1 − D(z)) for codes [M, d]: the discriminator's logit, [M]. */
const logit = (params: MlpParams, z: Array) => {
  const out = mlp(params, z, { activation: { name: "leakyRelu", slope: 0.2 } });
  return out.reshape([out.shape[0]]);
};

const discriminatorPenalty = (gamma: number, latent: number, hidden: number[]): LatentPenalty => ({
  init: (key) => ({ discriminator: initMlp(key, [latent, ...hidden, 1]) }),
  value(_q, z, params, key) {
    const D = params.discriminator as MlpParams;
    const held = mapParams((w) => lax.stopGradient(w.ref), D as unknown as ParamTree) as unknown as MlpParams;
    const tc = logit(held, z.ref).mean(); // through z into the VAE; D fixed
    const zFixed = lax.stopGradient(z.ref);
    const real = logit(D, zFixed.ref), permuted = logit(D, permuteDimensions(zFixed, key));
    // −log σ(l) = softplus(−l) for the real codes (label 1), −log(1 − σ(l)) = softplus(l) for the permuted (label 0)
    const discLoss = jnn.softplus(real.neg()).mean().add(jnn.softplus(permuted).mean());
    return { value: tc.ref.mul(gamma).add(discLoss.ref), metrics: { tc, disc_loss: discLoss } };
  },
});

export const factorVaeOptions = z.object({
  ...vaeOptions.shape,
  factorGamma: z.number().min(0).default(35).describe("FactorVAE: weight γ of the discriminator's total-correlation estimate"),
  discriminatorHidden: z.array(size).default([256, 256]).describe("FactorVAE: hidden layer sizes of the discriminator"),
});

export const factorVaeFamily: ModelFamily<typeof factorVaeOptions> = {
  name: "factor-vae",
  options: factorVaeOptions,
  description: "FactorVAE: the ELBO plus γ × the total correlation of q(z), estimated by a discriminator between q(z) and its dimension-wise permutation",
  presets: {
    /** Kim & Mnih's dSprites setting: γ = 35, 10 latent dimensions (the discriminator smaller: 2 × 256). */
    "factorvae-sprites": { hidden: [400], latent: 10, factorGamma: 35, discriminatorHidden: [256, 256], batchSize: 64, epochs: 20, lr: 1e-3 },
  },
  create: (options, info) =>
    makeLatentModel({
      family: "factor-vae", options, info, nets: mlpLatentNets(options, info, false), objective: "elbo", conditional: false,
      penalty: discriminatorPenalty(options.factorGamma, options.latent, options.discriminatorHidden),
    }),
};
