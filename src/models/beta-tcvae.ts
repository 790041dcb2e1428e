// β-TCVAE (Chen, Li, Grosse & Duvenaud 2018, "Isolating Sources of Disentanglement in VAEs"). The
// aggregate KL term of the ELBO splits into three:
//
//   E_x KL(q(z|x) ‖ p(z)) = I_q(x; z)  +  KL(q(z) ‖ ∏_k q(z_k))  +  Σ_k KL(q(z_k) ‖ p(z_k))
//                           index-code MI   total correlation (TC)    dimension-wise KL
//
// and β-TCVAE weights only the TC by β:  loss = −E_q[log p(x|z)] + KL + (β − 1) · TC,
// which is the paper's objective with α = γ = 1 (as disentanglement_lib writes it).
//
// TC is estimated on the batch {x_j}, j = 1..M, with the sample z_i of each x_i ("minibatch
// weighted sampling" without the dataset-size constant, which shifts the estimate and not its
// gradient):
//
//   log q(z_i)      ≈ logsumexp_j log q(z_i | x_j) − log M
//   log q(z_ik)     ≈ logsumexp_j log q(z_ik | x_j) − log M
//   TC              ≈ mean_i [ log q(z_i) − Σ_k log q(z_ik) ]
import { np, jnn, type Array } from "../engine/index.js";
import { makeLatentModel, type LatentPenalty } from "./latent.js";
import { mlpLatentNets } from "./nets.js";
import type { GaussianProposal, ModelFamily } from "./types.js";
import { z } from "zod";
import { vaeOptions } from "./vae.js";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * The minibatch estimate of the total correlation of q(z) (above). q borrowed: loc and log σ², [M, d];
 * z [M, d] borrowed, z_i drawn from q(z|x_i). Returns a scalar.
 */
export function totalCorrelation(q: GaussianProposal, z: Array): Array {
  const [M, d] = z.shape;
  // log q(z_ik | x_j) = −½ ((z_ik − μ_jk)² / σ_jk² + log σ_jk² + log 2π): [M (i), M (j), d]
  const diff = z.ref.reshape([M, 1, d]).sub(q.loc.ref.reshape([1, M, d]));
  const logVar = q.logVar.ref.reshape([1, M, d]);
  const logDensity = np.square(diff).mul(np.exp(logVar.ref.neg())).add(logVar).add(LOG_2PI).mul(-0.5);
  const logM = Math.log(M);
  const logQz = jnn.logsumexp(logDensity.ref.sum(-1), 1).sub(logM); // [M]
  const logProductQzk = jnn.logsumexp(logDensity, 1).sub(logM).sum(-1); // [M]
  return logQz.sub(logProductQzk).mean();
}

/** (β − 1) · TC as the loss's extra term, and TC as a metric. */
const tcPenalty = (beta: number): LatentPenalty => ({
  value(q, z, _params, key) {
    key.dispose();
    const tc = totalCorrelation(q, z);
    return { value: tc.ref.mul(beta - 1), metrics: { tc } };
  },
});

export const betaTcvaeOptions = z.object({
  ...vaeOptions.shape,
  tcBeta: z.number().min(0).default(6).describe("β-TCVAE: weight β of the total correlation term (1 is the ELBO)"),
});

export const betaTcvaeFamily: ModelFamily<typeof betaTcvaeOptions> = {
  name: "beta-tcvae",
  options: betaTcvaeOptions,
  description: "β-TCVAE: the ELBO plus (β − 1) × the total correlation of q(z) (minibatch estimate), which penalises dependence between latent dimensions",
  presets: {
    /** Chen et al.'s dSprites setting: β = 6 on the total correlation, 10 latent dimensions. */
    "tcvae-sprites": { hidden: [400], latent: 10, tcBeta: 6, batchSize: 64, epochs: 20, lr: 1e-3 },
  },
  create: (options, info) =>
    makeLatentModel({
      family: "beta-tcvae", options, info, nets: mlpLatentNets(options, info, false), objective: "elbo", conditional: false,
      penalty: tcPenalty(options.tcBeta),
    }),
};
