// FactorVAE (src/models/factor-vae.ts): the ELBO plus γ × a discriminator's estimate of the total
// correlation of q(z), the discriminator trained in the same step to tell q(z) from its
// dimension-wise permutation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, keyFromSeed, toData } from "../src/engine/index.js";
import { permuteDimensions } from "../src/models/factor-vae.js";
import { train } from "../src/index.js";

test("permuteDimensions: each column is a permutation of itself, and the columns are shuffled independently", async () => {
  await init();
  const M = 50, d = 4;
  const z = Float32Array.from({ length: M * d }, (_, i) => Math.floor(i / d) * 10 + (i % d)); // row r, column k: 10 r + k
  const out = toData(permuteDimensions(np.array(z, { shape: [M, d] }), keyFromSeed(3))) as Float32Array;
  const rowsOf = (k: number) => Array.from({ length: M }, (_, r) => (out[r * d + k] - k) / 10);
  for (let k = 0; k < d; k++) assert.deepEqual([...rowsOf(k)].sort((a, b) => a - b), Array.from({ length: M }, (_, r) => r), `column ${k} keeps its values`);
  assert.notDeepEqual(rowsOf(0), rowsOf(1), "two columns, two permutations");
  assert.notDeepEqual(rowsOf(0), Array.from({ length: M }, (_, r) => r), "and not the identity");
});

test("factor-vae trains on the sprites: its discriminator learns to tell q(z) from ∏ q(z_k), and a large γ leaves it less to tell", async () => {
  const run = async (factorGamma: number) => {
    const r = await train({ dataset: "sprites", model: "factor-vae", hidden: [128], latent: 6, factorGamma, discriminatorHidden: [64, 64], epochs: 3, batchSize: 64, seed: 2, workers: 1 });
    r.model.dispose();
    const last = r.metrics[r.metrics.length - 1];
    assert.ok([last.valid_recon, last.valid_kl, last.valid_tc, last.valid_disc_loss].every((v) => Number.isFinite(v!)));
    return last;
  };
  const plain = await run(0), factorised = await run(35);
  assert.ok(plain.valid_disc_loss! < 2 * Math.log(2) - 0.02, `γ = 0: the discriminator's loss ${plain.valid_disc_loss} is below chance (2 log 2)`);
  assert.ok(factorised.valid_tc! < plain.valid_tc!, `estimated TC: γ = 35 ${factorised.valid_tc}, γ = 0 ${plain.valid_tc}`);
});
