// DIP-VAE (src/models/dip-vae.ts): the ELBO plus λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)², C the
// batch covariance of the posterior means (I) or of q(z) (II). The covariance and the penalty
// against hand computation, the gradient against finite differences in float64, and the family
// training on the sprites. Added as one file and a line of the registry (docs/family-kit.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, toData, toNumber } from "../src/engine/index.js";
import { aggregateCovariance, dipPenalty } from "../src/models/dip-vae.js";
import { train } from "../src/index.js";
import { assertClose, checkGrad, f64, randn } from "./helpers/numeric.js";

await init();

/** The biased batch covariance of rows [M, d], in doubles. */
function covarianceOf(x: Float64Array, M: number, d: number): number[] {
  const mean = Array.from({ length: d }, (_, k) => x.filter((_, i) => i % d === k).reduce((a, b) => a + b, 0) / M);
  const c = new Array(d * d).fill(0);
  for (let m = 0; m < M; m++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] += (x[m * d + i] - mean[i]) * (x[m * d + j] - mean[j]) / M;
  return c;
}

test("C is Cov[μ] (DIP-VAE-I), plus the mean posterior variance on the diagonal (DIP-VAE-II)", () => {
  const M = 7, d = 3;
  const loc = randn(M * d, 1), logVar = Float64Array.from(randn(M * d, 2), (v) => 0.5 * v);
  const expected = covarianceOf(loc, M, d);
  assertClose(toData(aggregateCovariance({ loc: f64(loc, [M, d]), logVar: f64(logVar, [M, d]) }, "i")) as Float64Array, expected, { atol: 1e-12 });
  const meanVar = Array.from({ length: d }, (_, k) => Array.from({ length: M }, (_, m) => Math.exp(logVar[m * d + k])).reduce((a, b) => a + b) / M);
  const ii = expected.map((v, idx) => (idx % (d + 1) === 0 ? v + meanVar[idx / (d + 1)] : v));
  assertClose(toData(aggregateCovariance({ loc: f64(loc, [M, d]), logVar: f64(logVar, [M, d]) }, "ii")) as Float64Array, ii, { atol: 1e-12 });
});

test("the penalty is 0 at C = I and λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)² elsewhere", () => {
  assert.equal(toNumber(dipPenalty(np.eye(4), 10, 100).value), 0);
  const { value, metrics } = dipPenalty(np.array([[2, 0.5], [0.5, 1]]), 10, 100);
  assertClose([toNumber(value), toNumber(metrics.dip_off_diagonal), toNumber(metrics.dip_diagonal)], [10 * 0.5 + 100 * 1, 0.5, 1], { atol: 1e-5 });
});

test("the penalty's gradient with respect to the posterior means and log σ² agrees with finite differences (float64)", () => {
  const M = 6, d = 3;
  const loc = randn(M * d, 3), logVar = Float64Array.from(randn(M * d, 4), (v) => 0.3 * v);
  for (const kind of ["i", "ii"] as const) {
    checkGrad((x) => dipPenalty(aggregateCovariance({ loc: x, logVar: f64(logVar, [M, d]) }, kind), 2, 5).value, loc, [M, d], { what: `DIP-${kind}: d / d μ` });
  }
  checkGrad((x) => dipPenalty(aggregateCovariance({ loc: f64(loc, [M, d]), logVar: x }, "ii"), 2, 5).value, logVar, [M, d], { what: "DIP-ii: d / d log σ²" });
});

test("dip-vae trains on the sprites: with the penalty the posterior means are less correlated than the VAE's", async () => {
  const offDiagonal = async (lambda: number) => {
    const run = await train({ dataset: "sprites", model: "dip-vae", hidden: [128], latent: 6, dipLambdaOd: lambda, dipLambdaD: 10 * lambda, epochs: 2, batchSize: 64, seed: 1, workers: 1 });
    run.model.dispose();
    const last = run.metrics[run.metrics.length - 1];
    assert.ok(Number.isFinite(last.valid_recon!) && Number.isFinite(last.valid_kl!));
    return last.valid_dip_off_diagonal!;
  };
  const plain = await offDiagonal(0), penalised = await offDiagonal(20);
  assert.ok(penalised < plain / 2, `Σ_{i≠j} Cov[μ]_ij² with λ_od = 20: ${penalised}, with 0 (the VAE): ${plain}`);
});
