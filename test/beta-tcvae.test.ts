// β-TCVAE (src/models/beta-tcvae.ts): the ELBO plus (β − 1) × the total correlation of q(z),
// estimated on the batch. The estimator against the closed form of a correlated Gaussian, its
// gradient against finite differences in float64, and the family training on the sprites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, toNumber } from "../src/engine/index.js";
import { totalCorrelation } from "../src/models/beta-tcvae.js";
import { train } from "../src/index.js";
import { checkGrad, f64, randn } from "./helpers/numeric.js";

/** A batch whose aggregate posterior is N(0, Σ + s² I), Σ = [[1, ρ], [ρ, 1]]: q(z|x_j) = N(x_j, s² I). */
function correlatedBatch(M: number, rho: number, s: number, seed: number) {
  const e = randn(4 * M, seed);
  const loc = new Float64Array(2 * M), z = new Float64Array(2 * M);
  for (let j = 0; j < M; j++) {
    loc[2 * j] = e[j];
    loc[2 * j + 1] = rho * e[j] + Math.sqrt(1 - rho * rho) * e[M + j];
    z[2 * j] = loc[2 * j] + s * e[2 * M + j];
    z[2 * j + 1] = loc[2 * j + 1] + s * e[3 * M + j];
  }
  return { loc: f64(loc, [M, 2]), logVar: f64(new Float64Array(2 * M).fill(Math.log(s * s)), [M, 2]), z: f64(z, [M, 2]) };
}

test("the minibatch TC estimate of a correlated Gaussian q(z) is its closed form −½ log(1 − ρ²); an independent one's is 0", async () => {
  await init();
  const s = 0.3;
  for (const rho of [0, 0.5, 0.8]) {
    const b = correlatedBatch(2000, rho, s, 7);
    const tc = toNumber(totalCorrelation({ loc: b.loc, logVar: b.logVar }, b.z));
    const r = rho / (1 + s * s); // the aggregate's correlation
    const exact = -0.5 * Math.log(1 - r * r);
    assert.ok(Math.abs(tc - exact) < 0.04, `ρ = ${rho}: estimate ${tc.toFixed(4)}, closed form ${exact.toFixed(4)}`);
    b.loc.dispose(); b.logVar.dispose(); b.z.dispose();
  }
});

test("the TC estimate's gradient with respect to the posterior means, z and log σ² agrees with finite differences (float64)", async () => {
  await init();
  const M = 5, d = 3;
  const loc = randn(M * d, 1), z = randn(M * d, 2), logVar = Float64Array.from(randn(M * d, 3), (v) => 0.3 * v);
  checkGrad((x) => totalCorrelation({ loc: x, logVar: f64(logVar, [M, d]) }, f64(z, [M, d])), loc, [M, d], { what: "d TC / d μ" });
  checkGrad((x) => totalCorrelation({ loc: f64(loc, [M, d]), logVar: f64(logVar, [M, d]) }, x), z, [M, d], { what: "d TC / d z" });
  checkGrad((x) => totalCorrelation({ loc: f64(loc, [M, d]), logVar: x }, f64(z, [M, d])), logVar, [M, d], { what: "d TC / d log σ²" });
});

test("beta-tcvae trains on the sprites: a larger β gives codes with less total correlation, and the ELBO's terms are still reported", async () => {
  const tcOf = async (tcBeta: number) => {
    const run = await train({ dataset: "sprites", model: "beta-tcvae", hidden: [128], latent: 6, tcBeta, epochs: 3, batchSize: 64, seed: 1, workers: 1 });
    run.model.dispose();
    const last = run.metrics[run.metrics.length - 1];
    assert.ok(Number.isFinite(last.valid_recon!) && Number.isFinite(last.valid_kl!) && Number.isFinite(last.valid_tc!));
    return last.valid_tc!;
  };
  const plain = await tcOf(1), penalised = await tcOf(20);
  assert.ok(penalised < plain, `total correlation at β = 20: ${penalised}, at β = 1 (the VAE): ${plain}`);
});
