// The discrete VAE (src/models/dvae.ts): the Gumbel-softmax sample at a traced temperature, the KL
// to the uniform prior, exact log p(x) by enumeration against the ELBO and the IS estimate, and
// training. The Concrete distribution itself (one-hot as τ → 0, hard-sample frequencies = class
// probabilities, Concrete density) and the Categorical‖Categorical KL against Monte Carlo are
// tested in test/distributions.test.ts; here gumbelSoftmax is checked against that distribution.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, grad, jit, random, keyFromSeed, splitKey, toData, fromData, disposeTree, toNumber, type Array as Tensor } from "../src/engine/index.js";
import { modelOptionsSchema, type ModelOptions } from "../src/models/registry.js";
import type { DataInfo, Model, Params } from "../src/models/types.js";
import { getModelFamily } from "../src/models/registry.js";
import { gumbelSoftmax } from "../src/models/dvae.js";
import { gumbelNoise } from "../src/distributions/index.js";
import { RelaxedOneHotCategorical } from "../src/distributions/index.js";
import { makeTrainStep } from "../src/train/step.js";
import { adam } from "../src/optim/index.js";
import { spritesDataset } from "../src/data/sprites.js";
import { batches } from "../src/data/loader.js";
import { assertClose, seededRandom } from "./helpers/numeric.js";

await init();

const data = (x: Tensor) => [...toData(x)];
const build = (opts: Partial<ModelOptions>, info: DataInfo): Model =>
  getModelFamily("dvae").create(modelOptionsSchema.parse(opts), info);
const LOGITS = [0.5, -1.0, 1.2, 0.0];

test("gumbelSoftmax with a traced τ is RelaxedOneHotCategorical's sample, and tends to one-hot as τ falls", () => {
  const sample = jit((l: Tensor, tau: Tensor, key: Tensor) => gumbelSoftmax(l, tau, key, false));
  const n = 2000;
  const meanMax = [10, 1, 0.1, 0.01].map((tau) => {
    const y = sample(np.broadcastTo(np.array(LOGITS), [n, 4]), np.array(tau), keyFromSeed(21));
    const d = new RelaxedOneHotCategorical(np.broadcastTo(np.array(LOGITS), [n, 4]), tau);
    assertClose(data(y.ref), data(d.rsample(keyFromSeed(21))), { rtol: 1e-4, atol: 1e-6 }, `τ = ${tau}`);
    d.dispose();
    return data(y.max(-1)).reduce((s, v) => s + v, 0) / n;
  });
  for (let i = 1; i < meanMax.length; i++) assert.ok(meanMax[i] > meanMax[i - 1], `E[max y] ${meanMax}`);
  assert.ok(meanMax[3] > 0.99, `E[max y] at τ = 0.01: ${meanMax[3]}`);
  sample.dispose();
});

test("Gumbel noise stays finite where the engine's draws u = 0 (random.gumbel gives +∞ there: key 7, entry 103009)", () => {
  const n = 1 << 17;
  const engine = data(random.gumbel(keyFromSeed(7), [n]));
  const ours = data(gumbelNoise(keyFromSeed(7), [n]));
  assert.equal(engine[103009], Infinity, "the engine's draw this test guards against");
  assert.ok(ours.every(Number.isFinite));
  assert.ok(ours.every((v, i) => i === 103009 || v === engine[i]), "the same noise everywhere else");
});

test("gumbelSoftmax hard: exactly one-hot forward, the relaxed sample's gradient backward, frequencies = softmax(l)", () => {
  const n = 20000;
  const y = data(gumbelSoftmax(np.broadcastTo(np.array(LOGITS), [n, 4]), np.array(0.5), keyFromSeed(33), true));
  assert.ok(y.every((v) => v === 0 || v === 1));
  const freq = [0, 1, 2, 3].map((k) => { let s = 0; for (let i = 0; i < n; i++) s += y[4 * i + k]; return s / n; });
  const e = LOGITS.map(Math.exp), z = e.reduce((a, b) => a + b, 0);
  assertClose(freq, e.map((v) => v / z), { rtol: 0, atol: 0.015 }, "frequency");
  const w = np.array([0.3, -1, 2, 0.5]);
  const g = (hard: boolean) => data(grad((l: Tensor) => gumbelSoftmax(l, np.array(0.7), keyFromSeed(8), hard).mul(w.ref).sum())(np.array(LOGITS)));
  assertClose(g(true), g(false), { rtol: 1e-6, atol: 1e-7 }, "straight-through gradient");
  w.dispose();
});

// A tiny model on 4×4 binary images with N = 2 latents of K = 3 classes: 9 codes to enumerate.
const tinyInfo: DataInfo = { imageShape: [1, 4, 4], numClasses: null };
const tiny = () => build({ hidden: [8], categoricals: 2, classes: 3 }, tinyInfo);
const rand = seededRandom(3);
const X = Float32Array.from({ length: 3 * 16 }, () => (rand() < 0.4 ? 1 : 0));
const xs = () => fromData(X, [3, 1, 4, 4]);

/** log p(x) = log Σ_z p(x|z) p(z), and the exact ELBO and KL, per example, by enumerating the 9 codes. */
function exact(model: Model, params: Params) {
  const z = new Float32Array(9 * 6);
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) { z[6 * (3 * a + b) + a] = 1; z[6 * (3 * a + b) + 3 + b] = 1; }
  const m = data(model.decode(params, fromData(z, [9, 6]))); // [9, 16] Bernoulli means
  const q = data(model.encode(params, { x: xs() })); // [3, 6]
  const logPz = -2 * Math.log(3);
  return [0, 1, 2].map((i) => {
    let lse = -Infinity;
    const terms: number[] = [];
    let elbo = 0, kl = 0;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      const c = 3 * a + b;
      let lpx = 0;
      for (let j = 0; j < 16; j++) lpx += X[16 * i + j] ? Math.log(m[16 * c + j]) : Math.log(1 - m[16 * c + j]);
      terms.push(lpx + logPz);
      const qz = q[6 * i + a] * q[6 * i + 3 + b];
      elbo += qz * (lpx + logPz - Math.log(qz));
      kl += qz * (Math.log(qz) - logPz);
    }
    const mx = Math.max(...terms);
    lse = mx + Math.log(terms.reduce((s, t) => s + Math.exp(t - mx), 0));
    return { logPx: lse, elbo, kl };
  });
}

test("ELBO terms and IS weights agree with exact enumeration: KL, E[log w] = ELBO, log mean w → log p(x) ≥ ELBO", () => {
  const model = tiny();
  const params = model.init(keyFromSeed(5));
  const ex = exact(model, params);
  const t = model.elbo!(params, { x: xs() }, keyFromSeed(1));
  assertClose(data(t.kl), ex.map((e) => e.kl), { rtol: 1e-4, atol: 1e-5 }, "KL(q‖U)");
  const perDim = data(t.klPerDim!);
  assert.ok(perDim.every((v) => v >= -1e-7), "per-unit KL terms are ≥ 0");
  assertClose([0, 1, 2].map((i) => perDim.slice(6 * i, 6 * i + 6).reduce((a, b) => a + b, 0)), ex.map((e) => e.kl), { rtol: 1e-4, atol: 1e-5 }, "Σ per-unit KL");
  t.recon.dispose();
  const k = 4000;
  const logW = data(model.logImportanceWeights!(params, { x: xs() }, keyFromSeed(2), k)); // [k, 3]
  for (let i = 0; i < 3; i++) {
    const w = Array.from({ length: k }, (_, r) => logW[3 * r + i]);
    const meanW = w.reduce((a, b) => a + b, 0) / k;
    const sd = Math.sqrt(w.reduce((a, b) => a + (b - meanW) ** 2, 0) / k);
    assert.ok(Math.abs(meanW - ex[i].elbo) < 4 * sd / Math.sqrt(k) + 1e-4, `example ${i}: E[log w] ${meanW} vs ELBO ${ex[i].elbo}`);
    const mx = Math.max(...w);
    const lme = mx + Math.log(w.reduce((s, v) => s + Math.exp(v - mx), 0) / k);
    assert.ok(Math.abs(lme - ex[i].logPx) < 0.02, `example ${i}: IS ${lme} vs log p(x) ${ex[i].logPx}`);
    assert.ok(ex[i].logPx >= ex[i].elbo);
  }
  disposeTree(params);
});

test("encode is q(z|x) (rows of each latent sum to 1); reconstruct decodes the mode; samples are images", () => {
  const model = tiny();
  const params = model.init(keyFromSeed(6));
  const q = data(model.encode(params, { x: xs() }));
  for (let r = 0; r < 6; r++) assertClose([q[3 * r] + q[3 * r + 1] + q[3 * r + 2]], [1], { rtol: 1e-5 });
  const mode = new Float32Array(18);
  for (let r = 0; r < 6; r++) {
    const row = q.slice(3 * r, 3 * r + 3);
    mode[3 * r + row.indexOf(Math.max(...row))] = 1;
  }
  assertClose(data(model.reconstruct(params, { x: xs() })), data(model.decode(params, fromData(mode, [3, 6]))), { rtol: 0, atol: 1e-6 });
  const s = data(model.sample!(params, keyFromSeed(0), 5));
  assert.equal(s.length, 5 * 16);
  assert.ok(s.every((v) => v >= 0 && v <= 1));
  disposeTree(params);
});

test("training steps lower the loss, with relaxed and with straight-through hard samples", () => {
  const split = spritesDataset({ seed: 0 }).splits.train!;
  for (const hardSamples of [false, true]) {
    const model = build({ hidden: [64], categoricals: 8, classes: 4, hardSamples }, { imageShape: [1, 28, 28], numClasses: null });
    const optimizer = adam();
    const step = makeTrainStep(model, optimizer, null);
    let params = model.init(keyFromSeed(0));
    let opt: unknown = optimizer.init(params);
    let key = keyFromSeed(1);
    const losses: number[] = [];
    for (const b of batches(split, { batchSize: 64, seed: 0, dropLast: true, limit: 64 * 40 })) {
      const [next, k] = splitKey(key);
      key = next;
      const out = step(params, opt, { x: b.x, labels: np.zeros([64], { dtype: np.int32 }) }, k, np.array(2e-3), { klWeight: np.array(1), temperature: np.array(0.7) });
      losses.push(toNumber(out.loss));
      disposeTree([out.gradNorm, out.metrics]);
      params = out.params;
      opt = out.optState;
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(losses.slice(-5)) < 0.7 * mean(losses.slice(0, 5)), `hard=${hardSamples}: ${losses.map((l) => l.toFixed(0))}`);
    disposeTree([params, opt, key]);
  }
});
