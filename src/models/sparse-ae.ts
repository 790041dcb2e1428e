// Sparse autoencoder: sigmoid code units h = σ(f(x)) pushed toward a low mean activation ρ.
//
//   KL:  penalty = w Σ_j KL(ρ ‖ ρ̂_j),   ρ̂_j = mean_batch h_j,
//        KL(ρ ‖ ρ̂) = ρ log(ρ / ρ̂) + (1 − ρ) log((1 − ρ) / (1 − ρ̂))     (Ng's sparse AE notes)
//   L1:  penalty = w mean_batch Σ_j |h_j|   (= Σ_j h_j for sigmoid codes)
import { np, type Array } from "../engine/index.js";
import { sigmoid } from "../distributions/stable.js";
import { makeAutoencoder, mlpAeNets, type CodePenalty } from "./ae.js";
import { z } from "zod";
import { aeOptions } from "./ae.js";
import type { ModelFamily } from "./types.js";

/** Σ_j KL(ρ ‖ ρ̂_j) for the batch-mean activations ρ̂ [d] (consumed); ρ̂ clipped away from 0 and 1. */
export function klSparsity(rho: number, rhoHat: Array): Array {
  const r = np.clip(rhoHat, 1e-6, 1 - 1e-6);
  const a = np.log(r.ref).neg().add(Math.log(rho)).mul(rho); // ρ (log ρ − log ρ̂)
  const b = np.log1p(r.neg()).neg().add(Math.log1p(-rho)).mul(1 - rho); // (1 − ρ)(log(1 − ρ) − log(1 − ρ̂))
  return a.add(b).sum();
}

export function sparsityPenalty(options: z.infer<typeof sparseAeOptions>): CodePenalty {
  const { sparsity, sparsityWeight: w, sparsityTarget: rho } = options;
  return (_params, x, code) => {
    x.dispose();
    const rhoHat = np.mean(code, 0); // [d]
    const meanCode = rhoHat.ref.mean();
    const value = sparsity === "kl" ? klSparsity(rho, rhoHat) : (rhoHat.dispose(), meanCode.ref.mul(options.latent));
    return { value: value.ref.mul(w), metrics: { sparsity: value, mean_code: meanCode } };
  };
}

export const sparseAeOptions = z.object({
  ...aeOptions.shape,
  sparsity: z.enum(["kl", "l1"]).default("kl").describe("sparse AE penalty: KL(ρ‖ρ̂_j) on sigmoid codes, or L1 on codes"),
  sparsityWeight: z.number().min(0).default(1).describe("weight of the sparsity penalty"),
  sparsityTarget: z.number().gt(0).lt(1).default(0.05).describe("ρ, target mean activation of a sparse code unit"),
});

export const sparseAeFamily: ModelFamily<typeof sparseAeOptions> = {
  name: "sparse-ae",
  options: sparseAeOptions,
  description: "sparse autoencoder: sigmoid codes with a KL(ρ‖ρ̂_j) sparsity penalty toward mean activation ρ, or L1 on the code",
  presets: {
    "sparse-kl": { sparsity: "kl", sparsityTarget: 0.1, sparsityWeight: 30, latent: 64 }, // w as in test/ae.test.ts
    "sparse-l1": { sparsity: "l1", sparsityWeight: 0.1, latent: 64 },
  },
  create: (options, info) => makeAutoencoder({
    family: "sparse-ae", options, info, nets: mlpAeNets(options, info, sigmoid), penalty: sparsityPenalty(options),
  }),
};
