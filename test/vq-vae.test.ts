// VQ-VAE (src/models/vq-vae.ts), its quantiser (vq.ts: nearest code, straight-through, losses, EMA,
// dead-code restarts), the buffers the training step keeps out of the optimizer (train/step.ts),
// and the prior over codes (code-prior.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { init, np, grad, jit, keyFromSeed, splitKey, toData, fromData, refTree, disposeTree, toNumber, type Array as Tensor } from "../src/engine/index.js";
import { modelOptionsSchema, type ModelOptions } from "../src/models/registry.js";
import type { DataInfo, Model, Params } from "../src/models/types.js";
import { getModelFamily } from "../src/models/registry.js";
import { quantize, nearestCodes, updateQuantizer, codebookUsage, type VqConfig } from "../src/models/vq.js";
import { makeCodePrior, madeMasks, fitCodePrior, independentPrior, type CodePriorConfig } from "../src/models/code-prior.js";
import { makeTrainStep, splitBuffers } from "../src/train/step.js";
import { adam, adamw } from "../src/optim/index.js";
import { spritesDataset } from "../src/data/sprites.js";
import { batches } from "../src/data/loader.js";
import { openRun } from "../src/train/run.js";
import { flattenParams } from "../src/nn/index.js";
import { assertClose, f64, randn, seededRandom } from "./helpers/numeric.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

await init();

const sprites = spritesDataset({ seed: 0 });
const trainSplit = sprites.splits.train!;
const info: DataInfo = { imageShape: [1, 28, 28], numClasses: null };
const data = (x: Tensor) => [...toData(x)];
const build = (opts: Partial<ModelOptions>): Model => getModelFamily("vq-vae").create(modelOptionsSchema.parse(opts), info);
const small = { vqNets: "mlp" as const, hidden: [64], latent: 4, codePositions: 4, codebookSize: 16 };
const vqConfig = (o: Partial<VqConfig> = {}): VqConfig =>
  ({ K: 3, D: 2, commitment: 0.25, ema: false, decay: 0.9, restart: false, threshold: 1, ...o });

// z (5 × 2) and a codebook (3 × 2): nearest codes 0, 0, 1, 1, 0; code 2 is far from everything.
const Z = [0.1, 0.2, -0.1, 0.3, 1.1, 0.9, 0.8, 1.2, 0.05, -0.1];
const E = [0, 0, 1, 1, 10, -10];
const nearestJs = (z: number[], e: number[], D: number) => {
  const out: number[] = [];
  for (let i = 0; i < z.length / D; i++) {
    let best = 0, bestD = Infinity;
    for (let k = 0; k < e.length / D; k++) {
      let d = 0;
      for (let j = 0; j < D; j++) d += (z[i * D + j] - e[k * D + j]) ** 2;
      if (d < bestD) { bestD = d; best = k; }
    }
    out.push(best);
  }
  return out;
};

test("nearest codes agree with a brute-force search (200 random vectors, 32 codes)", () => {
  const z = [...randn(200 * 3, 1)], e = [...randn(32 * 3, 2)];
  assert.deepEqual(data(nearestCodes(fromData(z, [200, 3]), fromData(e, [32, 3]))), nearestJs(z, e, 3));
});

test("straight-through: z_q's value is the code, its gradient passes to z_e unchanged", () => {
  const cfg = vqConfig();
  const w = [0.3, -1, 2, 0.5, 1, -0.2, 0.1, 0.4, -0.7, 0.9];
  const params = { codebook: f64(E, [3, 2]) };
  const q = quantize(params, f64(Z, [5, 2]), keyFromSeed(0), cfg);
  assert.deepEqual(data(q.codes), [0, 0, 1, 1, 0]);
  assertClose(data(q.zq), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0], { rtol: 0, atol: 1e-12 }, "z_q");
  disposeTree([q.vqLoss, q.counts, q.aux]);
  // d/dz_e Σ w ⊙ z_q = w: the identity Jacobian of the straight-through estimator
  const g = grad((z: Tensor) => {
    const r = quantize(params, z, keyFromSeed(0), cfg);
    disposeTree([r.codes, r.vqLoss, r.counts, r.aux]);
    return r.zq.mul(f64(w, [5, 2])).sum();
  })(f64(Z, [5, 2]));
  assertClose(data(g), w, { rtol: 1e-12, atol: 1e-12 }, "∂/∂z_e");
  disposeTree(params);
});

test("VQ losses: ‖sg[z_e] − e‖² moves the codebook only, β‖z_e − sg[e]‖² the encoder only (values, gradients)", () => {
  const beta = 0.25;
  const codes = [0, 0, 1, 1, 0];
  const dist = codes.map((k, i) => (Z[2 * i] - E[2 * k]) ** 2 + (Z[2 * i + 1] - E[2 * k + 1]) ** 2);
  const lossOf = (z: Tensor, e: Tensor, ema: boolean) => {
    const r = quantize({ codebook: e, buffers: { codebook: e.ref } }, z, keyFromSeed(0), vqConfig({ ema }));
    disposeTree([r.codes, r.zq, r.counts, r.aux]);
    return r.vqLoss;
  };
  assertClose(data(lossOf(f64(Z, [5, 2]), f64(E, [3, 2]), false)), dist.map((d) => d * (1 + beta)), { rtol: 1e-12, atol: 1e-12 }, "L_vq");
  assertClose(data(lossOf(f64(Z, [5, 2]), f64(E, [3, 2]), true)), dist.map((d) => d * beta), { rtol: 1e-12, atol: 1e-12 }, "L_vq (EMA)");
  // ∂L/∂z_e = 2β (z − e_k);  ∂L/∂e_j = Σ_{i: k_i = j} 2 (e_j − z_i)  (0 for the unused code 2)
  const gz = grad((z: Tensor) => lossOf(z, f64(E, [3, 2]), false).sum())(f64(Z, [5, 2]));
  assertClose(data(gz), Z.map((z, i) => 2 * beta * (z - E[2 * codes[i >> 1] + (i & 1)])), { rtol: 1e-9, atol: 1e-12 }, "∂/∂z_e");
  const ge = grad((e: Tensor) => lossOf(f64(Z, [5, 2]), e, false).sum())(f64(E, [3, 2]));
  const expect = new Array(6).fill(0);
  codes.forEach((k, i) => { for (let j = 0; j < 2; j++) expect[2 * k + j] += 2 * (E[2 * k + j] - Z[2 * i + j]); });
  assertClose(data(ge), expect, { rtol: 1e-9, atol: 1e-12 }, "∂/∂e");
});

test("codebook perplexity exp(−Σ p log p) and codes in use", () => {
  const u = codebookUsage(np.array([10, 10, 0, 20]));
  const p = [0.25, 0.25, 0.5];
  assertClose([toNumber(u.perplexity)], [Math.exp(-p.reduce((s, v) => s + v * Math.log(v), 0))], { rtol: 1e-5 });
  assert.equal(toNumber(u.codesUsed), 3);
});

test("EMA: N, m and e = m / Ñ follow the update rule, and each used code moves toward the mean of its vectors", () => {
  const g = 0.9, K = 3, cfg = vqConfig({ ema: true, decay: g });
  const e0 = E, N0 = [1, 1, 1];
  const params: Params = { buffers: { codebook: f64(e0, [3, 2]), clusterSize: f64(N0, [3]), embedSum: f64(e0, [3, 2]) } };
  const q = quantize(params, f64(Z, [5, 2]), keyFromSeed(0), cfg);
  disposeTree([q.codes, q.zq, q.vqLoss, q.counts]);
  const out = updateQuantizer(params, q.aux, cfg).buffers;
  // the JS reference
  const codes = [0, 0, 1, 1, 0], n = [3, 2, 0], s = [0, 0, 0, 0, 0, 0];
  codes.forEach((k, i) => { s[2 * k] += Z[2 * i]; s[2 * k + 1] += Z[2 * i + 1]; });
  const N = N0.map((v, k) => g * v + (1 - g) * n[k]);
  const m = e0.map((v, j) => g * v + (1 - g) * s[j]);
  const tot = N.reduce((a, b) => a + b, 0);
  const Nt = N.map((v) => ((v + 1e-5) / (tot + K * 1e-5)) * tot);
  const e = m.map((v, j) => v / Nt[j >> 1]);
  assertClose(data((out.clusterSize as Tensor).ref), N, { rtol: 1e-9 }, "N");
  assertClose(data((out.embedSum as Tensor).ref), m, { rtol: 1e-9 }, "m");
  const e1 = data((out.codebook as Tensor).ref);
  assertClose(e1, e, { rtol: 1e-6, atol: 1e-9 }, "e");
  for (const k of [0, 1]) {
    const mean = [s[2 * k] / n[k], s[2 * k + 1] / n[k]];
    const before = Math.hypot(e0[2 * k] - mean[0], e0[2 * k + 1] - mean[1]);
    const after = Math.hypot(e1[2 * k] - mean[0], e1[2 * k + 1] - mean[1]);
    assert.ok(after < before, `code ${k}: distance to its vectors' mean ${before} -> ${after}`);
  }
  disposeTree(out);
});

test("dead-code restart: an unused code moves onto an encoder output of the batch, live codes stay", () => {
  // Without EMA: usage U ← γU + (1 − γ)n, code 2 (never nearest) falls below the threshold 1.
  const cfg = vqConfig({ restart: true, decay: 0.5 });
  const params: Params = { codebook: f64(E, [3, 2]), buffers: { usage: f64([1, 1, 1], [3]) } };
  const q = quantize(params, f64(Z, [5, 2]), keyFromSeed(3), cfg);
  disposeTree([q.codes, q.zq, q.vqLoss, q.counts]);
  const out = updateQuantizer(params, q.aux, cfg);
  const e = data(out.codebook!.ref);
  assert.deepEqual(e.slice(0, 4), E.slice(0, 4), "live codes unchanged");
  const rows = [0, 1, 2, 3, 4].map((i) => [Z[2 * i], Z[2 * i + 1]]);
  assert.ok(rows.some(([a, b]) => Math.abs(a - e[4]) < 1e-12 && Math.abs(b - e[5]) < 1e-12), `code 2 = (${e[4]}, ${e[5]}) is not an encoder output`);
  assertClose(data((out.buffers.usage as Tensor).ref), [0.5 + 0.5 * 3, 0.5 + 0.5 * 2, 1], { rtol: 1e-12 }, "usage (code 2 reset to the threshold)");
  disposeTree(out);
  // With EMA: N_2 decays below 1 the same way; m_2 = candidate · threshold, so e_2 is the candidate.
  const emaCfg = vqConfig({ ema: true, restart: true, decay: 0.5 });
  const p2: Params = { buffers: { codebook: f64(E, [3, 2]), clusterSize: f64([1, 1, 1], [3]), embedSum: f64(E, [3, 2]) } };
  const q2 = quantize(p2, f64(Z, [5, 2]), keyFromSeed(3), emaCfg);
  disposeTree([q2.codes, q2.zq, q2.vqLoss, q2.counts]);
  const out2 = updateQuantizer(p2, q2.aux, emaCfg).buffers;
  const e2 = data((out2.codebook as Tensor).ref);
  assert.ok(rows.some(([a, b]) => Math.abs(a - e2[4]) < 1e-12 && Math.abs(b - e2[5]) < 1e-12), `EMA code 2 = (${e2[4]}, ${e2[5]})`);
  assert.equal(data((out2.clusterSize as Tensor).ref)[2], 1);
  disposeTree(out2);
});

/** `steps` jitted train steps on sprites; returns the losses and the final parameters. */
function fit(model: Model, steps: number, optimizer = adam(), lr = 2e-3) {
  const step = makeTrainStep(model, optimizer, null);
  let params = model.init(keyFromSeed(0));
  let opt: unknown = optimizer.init(splitBuffers(params).trainable);
  const losses: number[] = [];
  let key = keyFromSeed(1);
  for (let epoch = 0; losses.length < steps; epoch++) for (const b of batches(trainSplit, { batchSize: 64, seed: 0, epoch, dropLast: true })) {
    if (losses.length >= steps) { b.x.dispose(); continue; }
    const [next, k] = splitKey(key);
    key = next;
    const out = step(params, opt, { x: b.x, labels: np.zeros([64], { dtype: np.int32 }) }, k, np.array(lr), { klWeight: np.array(1), temperature: np.array(1) });
    losses.push(toNumber(out.loss));
    disposeTree([out.gradNorm, out.metrics]);
    params = out.params;
    opt = out.optState;
  }
  key.dispose();
  disposeTree(opt);
  return { losses, params };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("training steps lower the loss (codebook loss; EMA with restarts); the encoder gets gradients through z_q", () => {
  // With the codebook loss the encoder first runs ahead of the slowly moving codes (the VQ term
  // rises for ~60 steps, then falls: see docs/results-discrete.md); EMA codes follow their vectors.
  for (const [opts, steps] of [[{}, 200], [{ ema: true, deadCodeRestart: true }, 40]] as const) {
    const model = build({ ...small, ...opts });
    const { losses, params } = fit(model, steps);
    assert.ok(mean(losses.slice(-10)) < 0.7 * mean(losses.slice(0, 5)), `${JSON.stringify(opts)}: losses ${losses.map((l) => l.toFixed(0))}`);
    disposeTree(params);
  }
  // the reconstruction term alone reaches the encoder only through the straight-through path
  const model = build(small);
  const params = model.init(keyFromSeed(0));
  const x = fromData(trainSplit.batch(Uint32Array.from([0, 1, 2, 3])), [4, 1, 28, 28]);
  const g = grad((p: Params) => {
    const out = model.loss(p, { x: x.ref }, keyFromSeed(0), { klWeight: np.array(1), temperature: np.array(1) });
    disposeTree([out.loss, out.aux, out.metrics.vq, out.metrics.perplexity, out.metrics.codes_used]);
    return out.metrics.recon;
  })(refTree(params)) as Params;
  const norm = Object.values(flattenParams(g.encoder as Params)).reduce((s, a) => s + data(a.ref).reduce((t, v) => t + v * v, 0), 0);
  assert.ok(norm > 1e-6 && Number.isFinite(norm), `‖∂recon/∂encoder‖² = ${norm}`);
  assert.ok(data((g.codebook as Tensor).ref).every((v) => v === 0), "the reconstruction term does not reach the codebook");
  disposeTree([g, params, x]);
});

test("buffers get no optimizer update (AdamW weight decay included): the EMA codebook stays m / Ñ after steps", () => {
  const model = build({ ...small, ema: true });
  const { params } = fit(model, 3, adamw({ weightDecay: 0.5 }), 0.05);
  const b = params.buffers as Params;
  const N = data((b.clusterSize as Tensor).ref), m = data((b.embedSum as Tensor).ref), e = data((b.codebook as Tensor).ref);
  const tot = N.reduce((a, c) => a + c, 0), K = N.length, D = m.length / K;
  const expect = m.map((v, j) => v / (((N[Math.floor(j / D)] + 1e-5) / (tot + K * 1e-5)) * tot));
  assertClose(e, expect, { rtol: 1e-4, atol: 1e-6 }, "codebook = m / Ñ");
  assert.ok(!Object.keys(flattenParams(adam().init(splitBuffers(params).trainable))).some((k) => k.includes("buffers")));
  disposeTree(params);
});

test("encode gives code indices; decode(encode(x)) = reconstruct(x); sample needs the fitted prior", () => {
  const model = build(small);
  const params = model.init(keyFromSeed(4));
  const x = () => fromData(trainSplit.batch(Uint32Array.from([5, 6, 7])), [3, 1, 28, 28]);
  const codes = model.encode(params, { x: x() });
  assert.deepEqual(codes.shape, [3, 4]);
  const c = data(codes.ref);
  assert.ok(c.every((v) => Number.isInteger(v) && v >= 0 && v < 16));
  assertClose(data(model.decode(params, codes)), data(model.reconstruct(params, { x: x() })), { rtol: 0, atol: 1e-6 });
  assert.throws(() => model.sample!(params, keyFromSeed(0), 2), /no prior over codes/);
  params.prior = independentPrior(Int32Array.from([1, 2, 3, 4, 1, 2, 3, 4]), 4, 16);
  assert.deepEqual(model.sample!(params, keyFromSeed(0), 5).shape, [5, 1, 28, 28]);
  disposeTree(params);
});

test("conv nets: stride-2 convs give a 7×7 grid of code vectors (N = 49), mirrored by the decoder", () => {
  const model = build({ vqNets: "conv", latent: 3, codebookSize: 8, convChannels: [4, 8] });
  assert.equal(model.codeDim, 49);
  const params = model.init(keyFromSeed(1));
  assert.deepEqual(Object.keys(flattenParams(params)).filter((k) => !k.startsWith("encoder.") && !k.startsWith("decoder.")),
    ["project.weight", "project.bias", "codebook"]);
  const x = () => fromData(trainSplit.batch(Uint32Array.from([1, 2])), [2, 1, 28, 28]);
  const codes = model.encode(params, { x: x() });
  assert.deepEqual(codes.shape, [2, 49]);
  const xr = model.decode(params, codes);
  assert.deepEqual(xr.shape, [2, 1, 28, 28]);
  assertClose(data(xr), data(model.reconstruct(params, { x: x() })), { rtol: 0, atol: 1e-6 });
  disposeTree(params);
});

const priorConfig = (o: Partial<CodePriorConfig> = {}): CodePriorConfig =>
  ({ N: 3, K: 4, kind: "autoregressive", hidden: [32], epochs: 30, batchSize: 100, lr: 1e-2, seed: 0, ...o });

test("MADE masks: the logits of position i depend on positions < i only", () => {
  const cfg = priorConfig({ N: 4, hidden: [16, 16] });
  const masks = madeMasks(4, 4, [16, 16]);
  assert.equal(masks.length, 3);
  const p = makeCodePrior(cfg);
  const prior = p.init(keyFromSeed(2));
  const base = [1, 2, 3, 0];
  const logitsOf = (codes: number[]) => data(p.logits(prior, np.array(Int32Array.from(codes), { dtype: np.int32 }).reshape([1, 4])));
  const l0 = logitsOf(base);
  for (let j = 0; j < 4; j++) {
    const changed = [...base];
    changed[j] = (changed[j] + 1) % 4;
    const l1 = logitsOf(changed);
    for (let i = 0; i < 4; i++) {
      const same = l0.slice(4 * i, 4 * i + 4).every((v, t) => v === l1[4 * i + t]);
      if (i <= j) assert.ok(same, `position ${i}'s logits changed with the code at ${j}`);
    }
  }
  disposeTree(prior);
  p.dispose();
});

test("the code priors: independent counts vs an autoregressive prior that learns k_2 = k_1, k_3 = (k_1 + 1) mod K", () => {
  const rand = seededRandom(7), n = 2000;
  const codes = new Int32Array(3 * n);
  for (let r = 0; r < n; r++) {
    const a = Math.floor(rand() * 4);
    codes.set([a, a, (a + 1) % 4], 3 * r);
  }
  const ind = fitCodePrior(codes, undefined, priorConfig({ kind: "independent" }), keyFromSeed(0));
  // each position is uniform: 3 log 4 nats
  assertClose([ind.metrics.prior_nll_train], [3 * Math.log(4)], { rtol: 0.01 }, "independent −log p");
  disposeTree(ind.prior);
  const ar = fitCodePrior(codes, codes.slice(0, 600), priorConfig(), keyFromSeed(1));
  // only k_1 is uncertain: log 4 nats
  assert.ok(ar.metrics.prior_nll_train < Math.log(4) + 0.1, `autoregressive −log p = ${ar.metrics.prior_nll_train}`);
  const p = makeCodePrior(priorConfig());
  const s = data(p.sample(ar.prior, keyFromSeed(5), 200));
  let ok = 0;
  for (let r = 0; r < 200; r++) ok += s[3 * r] === s[3 * r + 1] && s[3 * r + 2] === (s[3 * r] + 1) % 4 ? 1 : 0;
  assert.ok(ok >= 190, `${ok}/200 samples follow the rule`);
  disposeTree(ar.prior);
  p.dispose();
});

test("train writes prior.safetensors; the opened run samples through it; eval reports recon and mse", () => {
  const dir = join(tempDir("latentkit-vq-"), "run");
  const r = runCli(["train", "--model", "vq-vae", "--dataset", "sprites", "--epochs", "1", "--latent", "4", "--out", dir,
    "--set", "vqNets=mlp", "--set", "hidden=64", "--set", "codebookSize=16", "--set", "codePositions=4", "--set", "priorEpochs=1",
    "--set", "priorHidden=32", "--set", "ema=true", "--set", "deadCodeRestart=true", "--set", "report=false", "--set", "evalLimit=200", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, "prior.safetensors")));
  const ev = runCli(["eval", dir, "--json", "--limit", "100"]);
  assert.equal(ev.code, 0, ev.stderr);
  const out = JSON.parse(ev.stdout);
  assert.ok(out.recon > 0 && out.mse > 0 && out.nll === undefined, ev.stdout);
  return openRun(dir).then((run) => {
    assert.ok(run.params.prior, "openRun attaches the prior");
    const imgs = jit((p: Params, k: Tensor) => run.model.sample!(p, k, 4))(refTree(run.params), keyFromSeed(0));
    const v = data(imgs);
    assert.equal(v.length, 4 * 784);
    assert.ok(v.every((t) => t >= 0 && t <= 1));
    disposeTree(run.params);
  });
});
