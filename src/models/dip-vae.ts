// DIP-VAE (Kumar, Sattigeri & Balakrishnan 2018, "Variational Inference of Disentangled Latent
// Concepts from Unlabeled Observations"): the ELBO plus a penalty that matches the moments of the
// aggregate posterior q(z) = E_x q(z|x) to the prior's, N(0, I), through a covariance matrix C:
//
//   DIP-VAE-I:   C = Cov_x[ μ(x) ]                        (the covariance of the posterior means)
//   DIP-VAE-II:  C = E_x[ diag σ²(x) ] + Cov_x[ μ(x) ]    (the covariance of q(z) itself)
//
//   loss = −ELBO + λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)²
//
// C is estimated on the batch. The paper's settings (and disentanglement_lib's): λ_d = 10 λ_od for
// DIP-VAE-I, λ_d = λ_od for DIP-VAE-II.
import { z } from "zod";
import { np, type Array } from "../engine/index.js";
import { makeLatentModel, type LatentPenalty } from "./latent.js";
import { mlpLatentNets } from "./nets.js";
import type { GaussianProposal, ModelFamily } from "./types.js";
import { vaeOptions } from "./vae.js";

/** C of the batch, [d, d]: Cov of the means (I), plus the mean posterior variance on the diagonal (II). q borrowed. */
export function aggregateCovariance(q: GaussianProposal, kind: "i" | "ii"): Array {
  const [M, d] = q.loc.shape;
  const centred = q.loc.ref.sub(np.mean(q.loc.ref, 0, { keepdims: true })); // [M, d]
  const cov = np.matmul(centred.ref.transpose(), centred).mul(1 / M); // the batch covariance (biased, as the paper's)
  if (kind === "i") return cov;
  return cov.add(np.eye(d).mul(np.mean(np.exp(q.logVar.ref), 0).reshape([1, d])));
}

/** λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)², and its two sums as metrics. C consumed. */
export function dipPenalty(cov: Array, lambdaOffDiagonal: number, lambdaDiagonal: number): { value: Array; metrics: Record<string, Array> } {
  const d = cov.shape[0];
  const eye = np.eye(d);
  const diagonal = np.sum(cov.ref.mul(eye.ref), 1); // C_ii
  const offDiagonal = np.square(cov.mul(eye.neg().add(1))).sum();
  const diagonalError = np.square(diagonal.sub(1)).sum();
  const value = offDiagonal.ref.mul(lambdaOffDiagonal).add(diagonalError.ref.mul(lambdaDiagonal));
  return { value, metrics: { dip_off_diagonal: offDiagonal, dip_diagonal: diagonalError } };
}

const covariancePenalty = (kind: "i" | "ii", lambdaOd: number, lambdaD: number): LatentPenalty => ({
  value(q, _z, _params, key) {
    key.dispose();
    return dipPenalty(aggregateCovariance(q, kind), lambdaOd, lambdaD);
  },
});

export const dipVaeOptions = z.object({
  ...vaeOptions.shape,
  dipType: z.enum(["i", "ii"]).default("i").describe("DIP-VAE: match Cov[μ(x)] (i) or the covariance of q(z) (ii) to the identity"),
  dipLambdaOd: z.number().min(0).default(10).describe("DIP-VAE: λ_od, weight of the off-diagonal entries"),
  dipLambdaD: z.number().min(0).default(100).describe("DIP-VAE: λ_d, weight of the diagonal's distance from 1"),
});

export const dipVaeFamily: ModelFamily<typeof dipVaeOptions> = {
  name: "dip-vae",
  options: dipVaeOptions,
  description: "DIP-VAE: the ELBO plus a penalty that drives the covariance of the posterior means (I) or of q(z) (II) to the identity",
  presets: {
    /** Kumar et al.'s dSprites setting for DIP-VAE-I (λ_od = 10, λ_d = 10 λ_od), 10 latent dimensions. */
    "dipvae-sprites": { hidden: [400], latent: 10, dipType: "i", dipLambdaOd: 10, dipLambdaD: 100, batchSize: 64, epochs: 20, lr: 1e-3 },
  },
  create: (options, info) =>
    makeLatentModel({
      family: "dip-vae", options, info, nets: mlpLatentNets(options, info, false), objective: "elbo", conditional: false,
      penalty: covariancePenalty(options.dipType, options.dipLambdaOd, options.dipLambdaD),
    }),
};
