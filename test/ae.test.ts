// Deterministic autoencoders: ae, dae, sparse-ae, contractive-ae, stacked-ae (src/models/*.ts) and
// the trainer's pretraining stages (src/train/pretrain.ts).
import { folderStore } from "../src/train/checkpoint.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { init, np, keyFromSeed, splitKey, toData, fromData, refTree, disposeTree, toNumber, type Array as Tensor } from "../src/engine/index.js";
import { modelOptionsSchema, type ModelOptions } from "../src/models/registry.js";
import type { DataInfo, Model, Params } from "../src/models/types.js";
import { getModelFamily } from "../src/models/registry.js";
import { corruption, reconstructionLoss } from "../src/models/ae.js";
import { klSparsity } from "../src/models/sparse-ae.js";
import { contractiveTerms } from "../src/models/contractive-ae.js";
import { pretrain, selectParams } from "../src/train/pretrain.js";
import { makeTrainStep } from "../src/train/step.js";
import { validateConfig } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { silentProgress } from "../src/train/progress.js";
import { adam } from "../src/optim/index.js";
import { spritesDataset } from "../src/data/sprites.js";
import { batches } from "../src/data/loader.js";
import { sliceSplit, type Split } from "../src/data/dataset.js";
import { flattenParams, type MlpParams } from "../src/nn/index.js";
import { activation } from "../src/nn/activations.js";
import { assertClose, checkGrad, f64, randn, seededRandom } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

await init();

const sprites = spritesDataset({ seed: 0 });
const trainSplit = sprites.splits.train!;
const testSplit = sprites.splits.test!;
const spriteInfo: DataInfo = { imageShape: [1, 28, 28], numClasses: null };

function build(family: string, opts: Partial<ModelOptions>, info: DataInfo = spriteInfo): Model {
  return getModelFamily(family).create(modelOptionsSchema.parse(opts), info);
}

const ctx = () => ({ klWeight: np.array(1), temperature: np.array(1) });

/** `steps` Adam steps of the model's loss on sprites (the trainer's jitted step, no run folder). */
function fit(model: Model, steps: number, { seed = 0, lr = 2e-3, batchSize = 100 } = {}): Params {
  const optimizer = adam({ weightDecay: 0 });
  const step = makeTrainStep(model, optimizer, null);
  let params = model.init(keyFromSeed(seed));
  let opt: unknown = optimizer.init(params);
  let key = keyFromSeed(seed + 1);
  for (let epoch = 0, done = 0; done < steps; epoch++) {
    for (const b of batches(trainSplit, { batchSize, seed, epoch, dropLast: true })) {
      if (done++ >= steps) { b.x.dispose(); b.y?.dispose(); break; }
      const [next, k] = splitKey(key);
      key = next;
      const out = step(params, opt, { x: b.x, labels: b.y ?? np.zeros([batchSize], { dtype: np.int32 }) }, k, np.array(lr), ctx());
      // reading the loss waits for the step (without it, jax-js queues work and slows down)
      assert.ok(Number.isFinite(toNumber(out.loss)));
      disposeTree([out.gradNorm, out.metrics]);
      params = out.params;
      opt = out.optState;
    }
  }
  key.dispose();
  disposeTree(opt);
  return params;
}

/** The first n test images as [n, 1, 28, 28] and as plain numbers. */
function testImages(n: number): { x: Tensor; data: Float32Array } {
  const data = testSplit.batch(Array.from({ length: n }, (_, i) => i));
  return { x: fromData(data, [n, 1, 28, 28]), data };
}

// ---------------------------------------------------------------- ae

test("ae loss is the per-pixel BCE on logits summed, averaged over the batch (bernoulli)", () => {
  const model = build("ae", { hidden: [8], latent: 3, likelihood: "bernoulli" }, { imageShape: [1, 4, 4], numClasses: null });
  const params = model.init(keyFromSeed(3));
  const u = seededRandom(1);
  const x = Float32Array.from({ length: 5 * 16 }, () => u());
  const { loss, metrics } = model.loss(params, { x: fromData(x, [5, 1, 4, 4]) }, keyFromSeed(0), ctx());
  const p = toData(model.reconstruct(params, { x: fromData(x, [5, 1, 4, 4]) }));
  let bce = 0;
  for (let i = 0; i < x.length; i++) bce -= x[i] * Math.log(p[i]) + (1 - x[i]) * Math.log(1 - p[i]);
  assertClose([toNumber(loss)], [bce / 5], { rtol: 1e-4 }, "loss");
  assertClose([toNumber(metrics.recon)], [bce / 5], { rtol: 1e-4 }, "recon");
  // reconstructionError is Σ (x − x̂)² per example, on the mean image x̂ = σ(logits)
  const err = toData(model.reconstructionError(params, { x: fromData(x, [5, 1, 4, 4]) }));
  const ref = Array.from({ length: 5 }, (_, b) => x.slice(b * 16, b * 16 + 16).reduce((s, v, j) => s + (v - p[b * 16 + j]) ** 2, 0));
  assertClose(err, ref, { rtol: 1e-5 }, "reconstructionError");
  disposeTree(params);
});

test("reconstructionLoss: squared error for gaussian, BCE for bernoulli, per example", () => {
  const x = [0, 0.25, 1, 0.5, 0.75, 0.1], o = [0.3, -1, 2, 0.5, 0.1, -0.2];
  const se = toData(reconstructionLoss("gaussian", fromData(o, [2, 3]), fromData(x, [2, 3])));
  assertClose(se, [0.09 + 1.5625 + 1, 0 + 0.4225 + 0.09], { rtol: 1e-6 });
  const bce = toData(reconstructionLoss("bernoulli", fromData(o, [2, 3]), fromData(x, [2, 3])));
  const sp = (l: number) => Math.log1p(Math.exp(l));
  const ref = [0, 1].map((b) => [0, 1, 2].reduce((s, j) => s + sp(o[b * 3 + j]) - x[b * 3 + j] * o[b * 3 + j], 0));
  assertClose(bce, ref, { rtol: 1e-5 });
});

test("seed-ae preset mirrors seed 000's Autoencoders: Linear-ReLU-Linear each side, hidden 128, code 512", () => {
  const model = build("ae", getModelFamily("ae").presets["seed-ae"] as Partial<ModelOptions>);
  const params = model.init(keyFromSeed(0));
  const shapes = Object.fromEntries(Object.entries(flattenParams(params)).map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes, {
    "encoder.0.weight": [128, 784], "encoder.0.bias": [128], "encoder.2.weight": [512, 128], "encoder.2.bias": [512],
    "decoder.0.weight": [128, 512], "decoder.0.bias": [128], "decoder.2.weight": [784, 128], "decoder.2.bias": [784],
  });
  assert.equal(model.probabilistic, false);
  assert.equal(model.sample, undefined);
  disposeTree(params);
});

// ---------------------------------------------------------------- dae

test("dae corruption: masking zeroes a fraction ν of the inputs; gaussian adds N(0, ν²)", () => {
  const ones = np.ones([200, 500]);
  const masked = toData(corruption("mask", 0.3)(ones, keyFromSeed(4)));
  const zeros = masked.reduce((s, v) => s + (v === 0 ? 1 : 0), 0) / masked.length;
  assert.ok(Math.abs(zeros - 0.3) < 0.01, `masked fraction ${zeros}`);
  assert.ok(masked.every((v) => v === 0 || v === 1));
  const noisy = toData(corruption("gaussian", 0.5)(np.zeros([200, 500]), keyFromSeed(5)));
  const mean = noisy.reduce((s, v) => s + v, 0) / noisy.length;
  const sd = Math.sqrt(noisy.reduce((s, v) => s + v * v, 0) / noisy.length);
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(sd - 0.5) < 0.01, `mean ${mean}, sd ${sd}`);
});

test("a DAE reconstructs masked test images closer to the clean ones than an AE of the same size and budget", (t) => {
  const arch = { hidden: [128], latent: 16, likelihood: "bernoulli" as const };
  const steps = 300;
  const ae = build("ae", arch);
  const dae = build("dae", { ...arch, noise: "mask", noiseLevel: 0.5 });
  const pAe = fit(ae, steps);
  const pDae = fit(dae, steps);
  // the same masks, half the pixels set to 0 (a JS PRNG, not the engine's), on 500 test images
  const n = 500;
  const { data } = testImages(n);
  const u = seededRandom(9);
  const masked = data.map((v) => (u() < 0.5 ? 0 : v));
  const err = (model: Model, params: Params) => {
    const xr = toData(model.reconstruct(params, { x: fromData(masked, [n, 1, 28, 28]) }));
    return xr.reduce((s, v, i) => s + (v - data[i]) ** 2, 0) / n;
  };
  const clean = (model: Model, params: Params) =>
    toData(model.reconstructionError(params, { x: fromData(data, [n, 1, 28, 28]) })).reduce((s, v) => s + v, 0) / n;
  const eAe = err(ae, pAe), eDae = err(dae, pDae);
  t.diagnostic(`Σ(x − g(f(mask(x))))² per image, ${steps} steps: ae ${eAe.toFixed(2)}, dae ${eDae.toFixed(2)}; clean inputs: ae ${clean(ae, pAe).toFixed(2)}, dae ${clean(dae, pDae).toFixed(2)}`);
  assert.ok(eDae < 0.9 * eAe, `dae ${eDae} should beat ae ${eAe} on masked inputs`);
  disposeTree([pAe, pDae]);
});

// ---------------------------------------------------------------- sparse-ae

test("klSparsity is Σ_j ρ log(ρ/ρ̂_j) + (1−ρ) log((1−ρ)/(1−ρ̂_j))", () => {
  const rhoHat = [0.05, 0.2, 0.7], rho = 0.1;
  const ref = rhoHat.reduce((s, r) => s + rho * Math.log(rho / r) + (1 - rho) * Math.log((1 - rho) / (1 - r)), 0);
  assertClose([toNumber(klSparsity(rho, fromData(rhoHat, [3])))], [ref], { rtol: 1e-5 });
  assertClose([toNumber(klSparsity(rho, fromData([rho, rho], [2])))], [0], { atol: 1e-6 });
});

test("sparse-ae penalties: w Σ_j KL(ρ‖ρ̂_j) on the batch-mean code, or w mean_batch Σ_j |h_j|", () => {
  const info: DataInfo = { imageShape: [1, 3, 3], numClasses: null };
  const u = seededRandom(5);
  const x = Float32Array.from({ length: 6 * 9 }, () => u());
  for (const sparsity of ["kl", "l1"] as const) {
    const model = build("sparse-ae", { hidden: [5], latent: 4, sparsity, sparsityWeight: 0.5, sparsityTarget: 0.2 }, info);
    const params = model.init(keyFromSeed(2));
    const h = toData(model.encode(params, { x: fromData(x, [6, 1, 3, 3]) }));
    const rhoHat = [0, 1, 2, 3].map((j) => [0, 1, 2, 3, 4, 5].reduce((s, b) => s + h[b * 4 + j], 0) / 6);
    const penalty = sparsity === "kl"
      ? rhoHat.reduce((s, r) => s + 0.2 * Math.log(0.2 / r) + 0.8 * Math.log(0.8 / (1 - r)), 0)
      : h.reduce((s, v) => s + Math.abs(v), 0) / 6;
    const { loss, metrics } = model.loss(params, { x: fromData(x, [6, 1, 3, 3]) }, keyFromSeed(0), ctx());
    assertClose([toNumber(metrics.sparsity)], [penalty], { rtol: 1e-4 }, `${sparsity} penalty`);
    assertClose([toNumber(loss)], [toNumber(metrics.recon) + 0.5 * penalty], { rtol: 1e-5 }, `${sparsity} loss`);
    toNumber(metrics.mean_code);
    disposeTree(params);
  }
});

test("a sparse AE's mean code activation lands within 0.02 of the target ρ", (t) => {
  const rho = 0.1;
  const model = build("sparse-ae", { hidden: [128], latent: 32, sparsity: "kl", sparsityTarget: rho, sparsityWeight: 30 });
  const params = fit(model, 300);
  const { x } = testImages(1000);
  const h = toData(model.encode(params, { x }));
  assert.ok(h.every((v) => v >= 0 && v <= 1), "sigmoid codes");
  const mean = h.reduce((s, v) => s + v, 0) / h.length;
  t.diagnostic(`mean code activation on 1000 test images: ${mean.toFixed(4)} (ρ = ${rho})`);
  assert.ok(Math.abs(mean - rho) < 0.02, `mean activation ${mean}`);
  disposeTree(params);
});

// ---------------------------------------------------------------- contractive-ae

const jsActivations = {
  tanh: Math.tanh,
  softplus: (a: number) => Math.log1p(Math.exp(a)),
  leakyRelu: (a: number) => (a >= 0 ? a : 0.2 * a),
};
type JsLayer = { w: Float64Array; b: Float64Array; nIn: number; nOut: number };

/** The encoder in plain float64 JS: hidden layers φ(W a + b), a sigmoid code layer. One example. */
function jsEncoder(layers: JsLayer[], phi: (a: number) => number, x: ArrayLike<number>): number[] {
  let a = Array.from(x);
  layers.forEach((l, k) => {
    const out: number[] = [];
    for (let o = 0; o < l.nOut; o++) {
      let s = l.b[o];
      for (let i = 0; i < l.nIn; i++) s += l.w[o * l.nIn + i] * a[i];
      out.push(k === layers.length - 1 ? 1 / (1 + Math.exp(-s)) : phi(s));
    }
    a = out;
  });
  return a;
}

/**
 * ‖J_f(x)‖²_F per example from central differences of the plain-JS float64 encoder, with one
 * Richardson step D = (4 D(h/2) − D(h)) / 3 (error O(h⁴)). (Not of the engine's forward pass: the
 * wasm backend evaluates float64 exp/log in float32, ~1e-5 relative error near 2, which central
 * differences would amplify by 1/h; the engine's code is compared with the JS one separately.)
 */
function finiteDifferenceFrobenius(layers: JsLayer[], phi: (a: number) => number, x: Float64Array, B: number, D: number, h = 1e-3): number[] {
  return Array.from({ length: B }, (_, b) => {
    const xb = Array.from(x.subarray(b * D, (b + 1) * D));
    let sum = 0;
    for (let i = 0; i < D; i++) {
      const central = (step: number) => {
        const up = [...xb], down = [...xb];
        up[i] += step;
        down[i] -= step;
        const fu = jsEncoder(layers, phi, up), fd = jsEncoder(layers, phi, down);
        return fu.map((u, j) => (u - fd[j]) / (2 * step));
      };
      const coarse = central(h), fine = central(h / 2);
      for (let j = 0; j < coarse.length; j++) sum += ((4 * fine[j] - coarse[j]) / 3) ** 2;
    }
    return sum;
  });
}

/** Random float64 layers, as engine parameters and as plain JS. */
function randomEncoder(sizes: number[], seed: number): { enc: MlpParams; js: JsLayer[] } {
  const enc: MlpParams = {};
  const js: JsLayer[] = [];
  for (let k = 0; k + 1 < sizes.length; k++) {
    const [nIn, nOut] = [sizes[k], sizes[k + 1]];
    const w = randn(nIn * nOut, seed + 2 * k).map((v) => v * 0.7), b = randn(nOut, seed + 2 * k + 1).map((v) => v * 0.3);
    enc[String(2 * k)] = { weight: f64(w, [nOut, nIn]), bias: f64(b, [nOut]) };
    js.push({ w, b, nIn, nOut });
  }
  return { enc, js };
}

/** The engine's code and ‖J‖²_F against the JS encoder and its finite-difference Jacobian. */
function checkContractive(sizes: number[], name: keyof typeof jsActivations, seed: number): void {
  const B = 3, D = sizes[0];
  const { enc, js } = randomEncoder(sizes, seed);
  const x = randn(B * D, seed + 100);
  const phi = activation(name === "leakyRelu" ? { name, slope: 0.2 } : name);
  const { frobenius, code } = contractiveTerms(enc, f64(x, [B, D]), phi);
  const jsCode = Array.from({ length: B }, (_, b) => jsEncoder(js, jsActivations[name], x.subarray(b * D, (b + 1) * D))).flat();
  assertClose(toData(code), jsCode, { rtol: 1e-4, atol: 1e-6 }, `code (${name})`);
  assertClose(toData(frobenius), finiteDifferenceFrobenius(js, jsActivations[name], x, B, D), { rtol: 1e-5, atol: 1e-8 }, `‖J‖²_F (${name}, sizes ${sizes})`);
  disposeTree(enc);
}

const f64Layer = (nIn: number, nOut: number, seed: number) => ({
  weight: f64(randn(nIn * nOut, seed).map((v) => v * 0.7), [nOut, nIn]), bias: f64(randn(nOut, seed + 1).map((v) => v * 0.3), [nOut]),
});

test("contractive penalty, one sigmoid layer: the closed form Σ_j (h_j(1−h_j))² Σ_i W_ji² equals a finite-difference ‖J‖²_F (float64)", () => {
  checkContractive([7, 4], "tanh", 10);
});

test("contractive penalty through hidden layers (chain rule, slopes by jvp) equals a finite-difference ‖J‖²_F (float64)", () => {
  for (const name of ["tanh", "softplus", "leakyRelu"] as const) checkContractive([6, 5, 4, 3], name, 20);
});

test("the contractive penalty's gradient wrt the weights matches finite differences (float64)", () => {
  const B = 2, D = 4;
  const x = randn(B * D, 30);
  const w0 = randn(5 * D, 31).map((v) => v * 0.7);
  const rest = { "2": f64Layer(5, 3, 32) };
  const phi = activation("tanh");
  checkGrad((w) => {
    const enc: MlpParams = { "0": { weight: w, bias: f64([0.1, -0.2, 0.3, 0, 0.05], [5]) }, ...refTree(rest) };
    const { frobenius, code } = contractiveTerms(enc, f64(x, [B, D]), phi);
    code.dispose();
    disposeTree(enc);
    return frobenius.sum();
  }, w0, [5, D], { what: "d‖J‖²_F/dW₀" });
  disposeTree(rest);
});

test("contractive-ae's loss is recon + λ mean ‖J‖²_F", () => {
  const info: DataInfo = { imageShape: [1, 3, 3], numClasses: null };
  const lambda = 0.7;
  const model = build("contractive-ae", { hidden: [], latent: 4, contractiveWeight: lambda }, info);
  const params = model.init(keyFromSeed(1));
  const u = seededRandom(2);
  const x = Float32Array.from({ length: 4 * 9 }, () => u());
  const { loss, metrics } = model.loss(params, { x: fromData(x, [4, 1, 3, 3]) }, keyFromSeed(0), ctx());
  const { frobenius, code } = contractiveTerms(params.encoder as MlpParams, fromData(x, [4, 9]), activation("relu"));
  code.dispose();
  const jac = toNumber(frobenius.mean());
  assertClose([toNumber(metrics.jacobian)], [jac], { rtol: 1e-5 });
  assertClose([toNumber(loss)], [toNumber(metrics.recon) + lambda * jac], { rtol: 1e-5 });
  disposeTree(params);
});

// ---------------------------------------------------------------- stacked-ae

/** A split of the first n training sprites. */
function firstSprites(n: number): Split {
  return sliceSplit(trainSplit, 0, n);
}

test("stacked-ae: a pretraining stage changes only its own layers (E_k and the mirrored G_k)", () => {
  const model = build("stacked-ae", { hidden: [32, 16], latent: 8, pretrainEpochs: 1 });
  const stages = model.pretrainStages!;
  assert.deepEqual(stages.map((s) => s.params), [["encoder.0", "decoder.4"], ["encoder.2", "decoder.2"], ["encoder.4", "decoder.0"]]);
  const config = validateConfig({ model: "stacked-ae", batchSize: 50, lr: 1e-3 });
  const params = model.init(keyFromSeed(0));
  const before = Object.fromEntries(Object.entries(flattenParams(params)).map(([k, v]) => [k, Float32Array.from(v.ref.dataSync() as Float32Array)]));
  const { params: after, log } = pretrain({ ...model, pretrainStages: [stages[1]] }, params, firstSprites(500), config, silentProgress);
  assert.equal(log.length, 1);
  for (const [name, v] of Object.entries(flattenParams(after))) {
    const changed = toData(v.ref).some((a, i) => a !== before[name][i]);
    assert.equal(changed, name.startsWith("encoder.2.") || name.startsWith("decoder.2."), `${name} changed: ${changed}`);
  }
  // the second stage's input is φ(E_1 x), the first layer's code
  const x = testImages(3).x;
  const a = toData(stages[1].input(after, x.ref));
  const e0 = selectParams(after, ["encoder.0"]).encoder as MlpParams;
  const ref = toData(np.maximum(np.matmul(x.reshape([3, 784]), e0["0"].weight.ref.transpose()).add(e0["0"].bias!.ref), 0));
  assertClose(a, ref, { rtol: 1e-5, atol: 1e-6 });
  disposeTree(after);
});

test("stacked-ae in the trainer: greedy stages before epoch 1 (logged in pretrain.json), lower stage losses each epoch, none on resume", async () => {
  const dir = tempDir("lk-stacked-");
  const config = validateConfig({ model: "stacked-ae", hidden: [64], latent: 8, pretrainEpochs: 2, epochs: 1, batchSize: 100, report: false });
  const data = { ...sprites, splits: { train: firstSprites(2000), valid: undefined, test: undefined } };
  const model = build("stacked-ae", config);
  const r = await train({ config, store: folderStore(join(dir, "run")), model, data, resume: false, progress: silentProgress });
  disposeTree(r.params);
  const log = JSON.parse(readFileSync(join(dir, "run", "pretrain.json"), "utf8")) as { stage: string; epoch: number; loss: number }[];
  assert.deepEqual(log.map((l) => [l.stage, l.epoch]), [["layer 1/2", 1], ["layer 1/2", 2], ["layer 2/2", 1], ["layer 2/2", 2]]);
  assert.ok(log[1].loss < log[0].loss && log[3].loss < log[2].loss, JSON.stringify(log));
  assert.equal(r.state.epoch, 1);
  // resuming continues the fine-tuning: no second pretraining
  const lines: string[] = [];
  const spy = { ...silentProgress, log: (l: string) => { lines.push(l); } };
  const resumed = await train({ config: { ...config, epochs: 2 }, store: folderStore(join(dir, "run")), model, data, resume: true, progress: spy });
  disposeTree(resumed.params);
  assert.equal(resumed.state.epoch, 2);
  assert.deepEqual(lines.filter((l) => l.startsWith("pretrain")), []);
  assert.ok(lines.some((l) => l.startsWith("epoch 2/2")), lines.join("; "));
});

// ---------------------------------------------------------------- conv-ae

test("conv-ae: the conv-vae's conv stack with a deterministic code; encode [B, latent], reconstruct [B, C, H, W] in [0, 1]", () => {
  const model = build("conv-ae", { latent: 6, convChannels: [4, 8], convKernel: 3, convDense: 0 });
  const params = model.init(keyFromSeed(0));
  const shapes = Object.fromEntries(Object.entries(flattenParams(params)).map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes["encoder.0.weight"], [4, 1, 3, 3]); // 28 -> 13
  assert.deepEqual(shapes["encoder.2.weight"], [8, 4, 3, 3]); // 13 -> 6
  assert.deepEqual(shapes["encoder.5.weight"], [6, 8 * 6 * 6]); // Flatten, Dense(latent)
  assert.deepEqual(shapes["decoder.0.weight"], [4 * 7 * 7, 6]);
  const { x } = testImages(3);
  assert.deepEqual(model.encode(params, { x: x.ref }).shape, [3, 6]);
  const xr = toData(model.reconstruct(params, { x }));
  assert.equal(xr.length, 3 * 784);
  assert.ok(xr.every((v) => v >= 0 && v <= 1));
  disposeTree(params);
});

test("conv-ae with convCode=grid: the VQ-VAE's encoder and decoder without the quantiser (a 7×7 grid of D-vectors)", () => {
  const opts = { latent: 3, convChannels: [4, 8], convKernel: 3 };
  const model = build("conv-ae", { ...opts, convCode: "grid" });
  assert.equal(model.codeDim, 7 * 7 * 3);
  const params = model.init(keyFromSeed(0));
  const shapes = (p: Params) => Object.fromEntries(Object.entries(flattenParams(p)).map(([k, v]) => [k, v.shape]));
  const vq = build("vq-vae", { ...opts, vqNets: "conv", codebookSize: 16 });
  const vqParams = vq.init(keyFromSeed(0));
  const vqShapes = shapes(vqParams);
  // every weight of the grid AE is the VQ-VAE's, name and shape (the VQ-VAE adds the codebook)
  for (const [name, shape] of Object.entries(shapes(params))) assert.deepEqual(vqShapes[name], shape, name);
  assert.deepEqual(shapes(params)["project.weight"], [3, 8]); // the 1×1 projection to D
  const { x } = testImages(2);
  const code = model.encode(params, { x: x.ref });
  assert.deepEqual(code.shape, [2, 147]);
  const xr = model.decode(params, code);
  assert.deepEqual(xr.shape, [2, 1, 28, 28]);
  assert.ok(toData(xr).every((v) => v >= 0 && v <= 1));
  disposeTree([params, vqParams]);
  x.dispose();
});

test("conv-ae trains: the reconstruction loss falls over 40 steps", () => {
  const model = build("conv-ae", { latent: 8, convChannels: [4, 8], convKernel: 3 });
  const { x } = testImages(32);
  const loss = (p: Params) => toNumber(model.loss(p, { x: x.ref }, keyFromSeed(0), ctx()).loss);
  const p0 = model.init(keyFromSeed(0));
  const before = loss(p0);
  disposeTree(p0);
  const p = fit(model, 40, { batchSize: 32, lr: 3e-3 });
  const after = loss(p);
  assert.ok(after < 0.8 * before, `loss ${before} -> ${after}`);
  disposeTree(p);
  x.dispose();
});
