// `latentkit export --format torch-project` (src/export/torch-project.ts, python/torch_project/): a
// PyTorch project that computes latentkit's objective and trains the same model, under torchrun with
// DistributedDataParallel, writing a latentkit run folder back. Parity: from the same parameters, the
// same batch and the same noise ε (latentkit's own draws, fed to losses.py), the loss agrees within
// 1e-4 relative and one Adam step gives the same parameters within 1e-5. Runs where /usr/bin/python3
// has torch (Debian's python3-torch); skipped, saying so, elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { init, np, random, randomIndices, keyFromSeed, refTree, toData, toNumber, disposeTree } from "../src/engine/index.js";
import { resolveConfigSources, parseSetting } from "../src/train/config.js";
import { createModel } from "../src/train/run.js";
import { makeOptimizer, makeTrainStep, splitBuffers } from "../src/train/step.js";
import { writeSafetensors, readSafetensors, toFloat32 } from "../src/io/safetensors.js";
import { recordsToTensors } from "../src/train/tensors.js";
import { toRecords, flattenParams } from "../src/nn/tree.js";
import { writeNpy } from "../src/io/npy.js";
import { gumbelNoise } from "../src/distributions/gumbel.js";
import { spritesDataset } from "../src/data/sprites.js";
import { loadModel, train } from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { needsData, DATA_DIR } from "./helpers/data.js";
import { tempDir } from "./helpers/tmp.js";

const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
const noTorch = hasTorch ? false : `${PYTHON} with torch is not available (apt-get install python3-torch)`;
const dir = tempDir("lk-torch-project-");

/** Exports a project for `sets` (key=value) and returns its folder. */
function exportProject(name: string, sets: string[]): string {
  const out = join(dir, name);
  const r = runCli(["export", "--format", "torch-project", "--out", out, ...sets.flatMap((s) => ["--set", s])]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

// The parity check, run by python in the project folder: the loss with the given ε, then one Adam step.
const PARITY = `
import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from model import Model
from train import read_safetensors, safetensors_bytes
torch.set_default_dtype(torch.float32)
d = sys.argv[2]
config = json.load(open(d + "/config.json"))
model = Model(config)
model.load_state_dict(read_safetensors(d + "/params.safetensors"))
x = torch.from_numpy(np.load(d + "/x.npy"))
import os
eps = torch.from_numpy(np.load(d + "/eps.npy")) if os.path.exists(d + "/eps.npy") else None
labels = torch.from_numpy(np.load(d + "/labels.npy")) if os.path.exists(d + "/labels.npy") else None
opt = torch.optim.Adam(model.parameters(), lr=float(sys.argv[3]))
loss, metrics = model(x, float(sys.argv[4]), eps, labels=labels, temperature=float(sys.argv[5]))
opt.zero_grad(); loss.backward()
open(d + "/grads.safetensors", "wb").write(safetensors_bytes({n: p.grad for n, p in model.named_parameters()}))
opt.step()
model.after_step()
open(d + "/after.safetensors", "wb").write(safetensors_bytes(model.state_dict()))
print(json.dumps({"loss": float(loss), **{k: float(v) for k, v in metrics.items()}}))
`;

const CASES: Record<string, string[]> = {
  vae: ["model=vae", "hidden=[32]", "latent=4"],
  "beta-vae with free bits, leaky ReLU, Gaussian": ["model=beta-vae", "hidden=[32,16]", "latent=3", "beta=4", "freeBits=0.2", "encoderActivation=leakyRelu", "likelihood=gaussian", "gaussianVariance=0.5"],
  iwae: ["model=iwae", "hidden=[32]", "latent=4", "iwSamples=3"],
  ae: ["model=ae", "hidden=[32]", "latent=4"],
  "ae, squared error": ["model=ae", "hidden=[24]", "latent=5", "likelihood=gaussian", "encoderActivation=tanh"],
  "cvae, N(0, I) prior": ["model=cvae", "hidden=[32]", "latent=4"],
  "cvae, class-mean prior, KL warm-up weight": ["model=cvae", "hidden=[32]", "latent=3", "conditionalPrior=class-mean", "beta=0.7"],
  "dae, masking noise": ["model=dae", "hidden=[32]", "latent=6", "noise=mask", "noiseLevel=0.3"],
  "dae, Gaussian noise, squared error": ["model=dae", "hidden=[32]", "latent=6", "noise=gaussian", "noiseLevel=0.2", "likelihood=gaussian"],
  "sparse-ae, KL": ["model=sparse-ae", "hidden=[32]", "latent=8", "sparsity=kl", "sparsityTarget=0.1", "sparsityWeight=3"],
  "sparse-ae, L1": ["model=sparse-ae", "hidden=[32]", "latent=8", "sparsity=l1", "sparsityWeight=0.5"],
  "contractive-ae, one layer (closed form)": ["model=contractive-ae", "hidden=[]", "latent=16", "contractiveWeight=0.1"],
  "contractive-ae, two layers, tanh": ["model=contractive-ae", "hidden=[24,12]", "latent=6", "contractiveWeight=0.3", "encoderActivation=tanh"],
  "stacked-ae (the end-to-end loss)": ["model=stacked-ae", "hidden=[32,16]", "latent=4", "pretrainEpochs=1"],
  "conv-vae (seed 001's nets, Keras padding)": ["model=conv-vae", "convChannels=[8,16]", "convKernel=3", "latent=3"],
  "conv-vae, kernel 4, a dense layer, leaky ReLU, Gaussian": ["model=conv-vae", "convChannels=[4,8]", "convKernel=4", "convDense=24", "latent=2", "encoderActivation=leakyRelu", "likelihood=gaussian"],
  "conv-ae, dense code": ["model=conv-ae", "convChannels=[8,16]", "latent=6"],
  "conv-ae, grid code ('same' convs, 1×1 projection)": ["model=conv-ae", "convChannels=[4,8]", "convCode=grid", "latent=3"],
  "dvae, τ = 0.7": ["model=dvae", "hidden=[32]", "categoricals=4", "classes=5", "temperature=0.7"],
  "dvae, straight-through one-hot samples, β = 0.5": ["model=dvae", "hidden=[32]", "categoricals=3", "classes=4", "hardSamples=true", "beta=0.5"],
  "vq-vae, conv grid, EMA codebook, dead-code restarts": ["model=vq-vae", "vqNets=conv", "convChannels=[4,8]", "latent=3", "codebookSize=16", "ema=true", "deadCodeRestart=true", "deadCodeThreshold=2"],
  "vq-vae, MLP, codebook by gradient, restarts": ["model=vq-vae", "vqNets=mlp", "hidden=[32]", "codePositions=4", "latent=3", "codebookSize=8", "ema=false", "deadCodeRestart=true"],
  "vq-vae, MLP, codebook by gradient": ["model=vq-vae", "vqNets=mlp", "hidden=[32]", "codePositions=4", "latent=3", "codebookSize=8", "ema=false", "commitment=0.5"],
};

for (const [name, sets] of Object.entries(CASES)) {
  test(`torch-project parity, ${name}: losses.py gives latentkit's loss (1e-4) and one Adam step its parameters (1e-5)`, { skip: noTorch }, async () => {
    await init();
    const project = exportProject(name.replace(/\W+/g, "-"), sets);
    const config = resolveConfigSources({}, {}, Object.fromEntries(sets.map(parseSetting)));
    const model = createModel(config, { imageShape: [1, 28, 28], numClasses: 4 });
    const sprites = spritesDataset();
    const B = 16;
    const x = Float32Array.from(sprites.splits.train!.pixels.subarray(0, B * 784), (v) => v * sprites.splits.train!.scale);
    let params = model.init(keyFromSeed(3));
    // a class-mean prior starts at zero (then it is N(0, I)): move it, so that its KL term is tested
    if (params.priorMean) params = { ...params, priorMean: (disposeTree(params.priorMean), random.normal(keyFromSeed(5), [4, config.latent])) };
    const labels = Int32Array.from(sprites.splits.train!.labels!.subarray(0, B));
    const work = mkdtempSync(join(dir, "case-"));
    writeFileSync(join(work, "config.json"), readFileSync(join(project, "config.json")));
    writeSafetensors(join(work, "params.safetensors"), recordsToTensors(toRecords(params as never)));
    writeNpy(join(work, "x.npy"), { data: x, shape: [B, 1, 28, 28] });
    // latentkit's own draw: the loss's key goes straight to q.rsample (no encoder noise), ε ~ N(0, I) of q's shape.
    const key = keyFromSeed(11);
    const k = config.model === "iwae" ? config.iwSamples : 0;
    const epsShape = config.model === "iwae" ? [k, B, config.latent] : [B, config.latent];
    if (["vae", "beta-vae", "iwae", "cvae", "conv-vae"].includes(config.model)) writeNpy(join(work, "eps.npy"), { data: toData(random.normal(key.ref, epsShape)) as Float32Array, shape: epsShape });
    // the dae's corruption draws from the loss's key: its keep-mask m ~ Bernoulli(1 − ν), or ε ~ N(0, I), shaped like x
    if (config.model === "dae") {
      const shape = [B, 1, 28, 28];
      const draw = config.noise === "mask" ? random.bernoulli(key.ref, 1 - config.noiseLevel, shape).astype(np.float32) : random.normal(key.ref, shape);
      writeNpy(join(work, "eps.npy"), { data: toData(draw) as Float32Array, shape });
    }
    if (config.model === "cvae") writeNpy(join(work, "labels.npy"), { data: labels, shape: [B] });
    // the dvae's Gumbel noise g [B, N, K], drawn from the loss's key as gumbelSoftmax draws it
    if (config.model === "dvae") {
      const shape = [B, config.categoricals, config.classes];
      writeNpy(join(work, "eps.npy"), { data: toData(gumbelNoise(key.ref, shape)) as Float32Array, shape });
    }
    // the vq-vae's restart candidates: K rows of z_e [B·N, D], drawn from the loss's key
    if (config.model === "vq-vae" && config.deadCodeRestart) {
      const M = B * (config.vqNets === "conv" ? 49 : config.codePositions);
      writeNpy(join(work, "eps.npy"), { data: toData(randomIndices(key.ref, M, [config.codebookSize])) as Int32Array, shape: [config.codebookSize] });
    }
    const temperature = config.temperature;
    const klWeight = config.beta;
    const lr = 1e-3;
    // latentkit: the loss, then one jitted step (loss, gradient, Adam) with the same key.
    const labelArray = () => np.array(labels, { shape: [B], dtype: np.int32 });
    const out = model.loss(refTree(params), { x: np.array(x, { shape: [B, 1, 28, 28] }), labels: labelArray() }, key.ref,
      { klWeight: np.array(klWeight), temperature: np.array(temperature), training: true });
    const loss = toNumber(out.loss);
    disposeTree(out.metrics);
    disposeTree(out.aux);
    const optimizer = makeOptimizer({ ...config, lr });
    const step = makeTrainStep(model, optimizer, null);
    const stepped = step(refTree(params), optimizer.init(splitBuffers(params).trainable), { x: np.array(x, { shape: [B, 1, 28, 28] }), labels: labelArray() }, key,
      np.array(lr), { klWeight: np.array(klWeight), temperature: np.array(temperature) });
    const r = spawnSync(PYTHON, ["-c", PARITY, project, work, String(lr), String(klWeight), String(temperature)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.ok(Math.abs(theirs.loss - loss) <= 1e-4 * Math.abs(loss), `loss: latentkit ${loss}, PyTorch ${theirs.loss}`);
    const after = readSafetensors(join(work, "after.safetensors")).tensors;
    const mine = flattenParams(stepped.params as never);
    assert.deepEqual(Object.keys(after).sort(), Object.keys(mine).sort(), "the same parameter names");
    // Adam's first step moves a parameter by lr · g / (|g| + ε), ε = 1e-8: where the gradient itself is
    // within float32 rounding of zero (|g| < 1e-6, sums that cancel), that ratio swings by O(1) with
    // the last bits of g, so there the check is the bound |Δ| <= lr of both (and such coordinates must
    // be rare: under 2%); everywhere else 1e-5. (Exact zeros, the pixels no sprite touches, step by 0 in both.)
    const grads = readSafetensors(join(work, "grads.safetensors")).tensors;
    let worst = 0, where = "", illConditioned = 0;
    for (const [n, t] of Object.entries(after)) {
      // buffers (the VQ-VAE's EMA codebook and counts) have no gradient: compared as they are
      const a = toData(mine[n].ref), b = t.data as Float32Array, g = grads[n]?.data as Float32Array | undefined;
      for (let i = 0; i < a.length; i++) {
        const diff = Math.abs(a[i] - b[i]);
        if (g && Math.abs(g[i]) < 1e-6) {
          if (g[i] !== 0) illConditioned++;
          assert.ok(diff <= 2 * lr + 1e-6, `${n}[${i}]: near-zero gradient, and steps apart by ${diff} (latentkit ${a[i]}, PyTorch ${b[i]})`);
        } else if (diff > worst) [worst, where] = [diff, `${n}[${i}]`];
      }
    }
    assert.ok(worst <= 1e-5, `largest parameter difference after one step: ${worst} (${where})`);
    assert.ok(illConditioned < 0.02 * Object.values(after).reduce((s, t) => s + t.data.length, 0), `${illConditioned} near-zero (not zero) gradients`);
    disposeTree(stepped);
    disposeTree(params);
  });
}

test("torch-project data.py shift (augmentShift): each image is the original moved by (dx, dy) in {−s..s}², zero-filled, every offset drawn", { skip: noTorch }, () => {
  const project = exportProject("shift", ["model=vae", "hidden=[32]", "latent=4", "augmentShift=2"]);
  assert.equal(JSON.parse(readFileSync(join(project, "config.json"), "utf8")).augmentShift, 2);
  const check = `
import sys, torch
sys.path.insert(0, sys.argv[1])
import data
x = torch.rand(400, 2, 7, 6)
y = data.shift(x, 2, torch.Generator().manual_seed(1))
seen = set()
for r in range(400):
    pad = torch.nn.functional.pad(x[r], (2, 2, 2, 2))
    found = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if torch.equal(y[r], pad[:, 2 - dy:9 - dy, 2 - dx:8 - dx])]
    assert len(found) == 1, (r, found)
    seen.add(found[0])
assert len(seen) == 25, seen
assert torch.equal(data.shift(x, 0, None), x)
print("ok")
`;
  const r = spawnSync(PYTHON, ["-c", check, project], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "ok");
});

test("torch-project: families it does not export are refused in one line, with the reason", () => {
  const r = runCli(["export", "--format", "torch-project", "--out", join(dir, "no"), "--preset", "tcvae-sprites"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /beta-tcvae is not exported \(its total-correlation term/);
  assert.equal(existsSync(join(dir, "no")), false);
  const noRun = runCli(["export", "--format", "torch", "--out", join(dir, "x.pt")]);
  assert.match(noRun.stderr, /needs a RUN folder/);
});

test("torchrun, 2 processes (gloo): the exported seed-vae trains on fashion-mnist; latentkit opens the run it writes, and its -ELBO is within 2 nats of latentkit's own",
  { skip: noTorch || needsData("fashion-mnist") }, async () => {
    const project = join(dir, "seed-vae");
    assert.equal(runCli(["export", "--format", "torch-project", "--preset", "seed-vae", "--set", "dataset=fashion-mnist", "--out", project]).code, 0);
    const run = join(dir, "seed-vae-run");
    // --redirects 1 --tee 1: torch 1.13's torchrun cannot parse its own defaults on Python >= 3.11 (the project's README)
    const r = spawnSync("torchrun", ["--standalone", "--nproc_per_node=2", "--redirects", "1", "--tee", "1", join(project, "train.py"),
      "--data-dir", DATA_DIR!, "--out", run, "--epochs", "3", "--limit", "10000"], { encoding: "utf8", timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const lines = readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.ok("train_recon" in lines[0] && "valid_kl" in lines[0] && "kl_weight" in lines[0], "latentkit's metric keys");
    const evaluated = runCli(["eval", run, "--is-samples", "0", "--limit", "2000", "--json"], { LATENTKIT_DATA: DATA_DIR! });
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const theirs = JSON.parse(evaluated.stdout);
    using model = await loadModel(run);
    assert.equal(model.family, "vae");
    // latentkit, same configuration and budget: the first 10,000 training images, 3 epochs, batch 100.
    const data = (await import("../src/index.js")).loadDataset("fashion-mnist", { dataDir: DATA_DIR });
    const fashion = await data;
    const images = { data: fashion.train!.images.data.subarray(0, 10000 * 784), shape: [10000, 1, 28, 28] as [number, number, number, number] };
    const mine = await train({ preset: "seed-vae", dataset: { train: images, valid: fashion.valid!.images }, epochs: 3, workers: 1, out: join(dir, "latentkit-run"), set: { evalIsSamples: 0, report: false } });
    mine.model.dispose();
    writeFileSync(join(dir, "latentkit-run", "config.json"), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, "latentkit-run", "config.json"), "utf8")), dataset: "fashion-mnist" }));
    const ours = JSON.parse(runCli(["eval", join(dir, "latentkit-run"), "--is-samples", "0", "--limit", "2000", "--json"], { LATENTKIT_DATA: DATA_DIR! }).stdout);
    assert.ok(Math.abs(theirs.elbo - ours.elbo) < 2, `test -ELBO: torchrun ${-theirs.elbo}, latentkit ${-ours.elbo}`);
  });

for (const preset of ["class-prior-cvae", "stacked-3", "jang-dvae", "vqvae-conv-small"]) {
  test(`train.py, one process: the exported ${preset} trains on fashion-mnist (labels for the cvae, greedy pretraining for the stacked AE, the temperature schedule for the dvae, the EMA codebook and code prior for the VQ-VAE) and latentkit evaluates the run it writes`,
    { skip: noTorch || needsData("fashion-mnist") }, () => {
      const project = join(dir, `${preset}-project`);
      assert.equal(runCli(["export", "--format", "torch-project", "--preset", preset, "--set", "dataset=fashion-mnist", "--out", project]).code, 0);
      const run = join(dir, `${preset}-run`);
      const r = spawnSync(PYTHON, [join(project, "train.py"), "--data-dir", DATA_DIR!, "--out", run, "--epochs", "2", "--limit", "3000"], { encoding: "utf8", timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      if (preset === "stacked-3") assert.match(r.stdout, /"pretrain": "layer 3\/3"/, "the three greedy stages ran");
      const lines = readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      if (preset === "jang-dvae") assert.ok(lines.every((l) => l.temperature < 1 && l.temperature >= 0.5), "τ_t annealed from 1 toward 0.5");
      assert.ok(lines[1].valid_loss < lines[0].valid_loss, `the validation loss falls: ${lines.map((l) => l.valid_loss.toFixed(2)).join(", ")}`);
      const evaluated = runCli(["eval", run, "--is-samples", "0", "--limit", "1000", "--json"], { LATENTKIT_DATA: DATA_DIR! });
      assert.equal(evaluated.code, 0, evaluated.stderr);
      const out = JSON.parse(evaluated.stdout);
      assert.ok(Number.isFinite(out.recon) && out.recon > 0);
      if (preset === "vqvae-conv-small") {
        // the prior over codes train.py fitted: latentkit samples through it
        const meta = readSafetensors(join(run, "prior.safetensors")).metadata;
        assert.ok(Number(meta.prior_nll_valid) < Number(meta.prior_nll_independent_valid), `MADE ${meta.prior_nll_valid} nats below the per-position prior ${meta.prior_nll_independent_valid}`);
        const sampled = runCli(["sample", run, "--n", "8", "--out", join(dir, "vq-samples.npy")]);
        assert.equal(sampled.code, 0, sampled.stderr);
        assert.ok(lines.at(-1).valid_codes_used > 8, `codes in use per batch: ${lines.at(-1).valid_codes_used} of 64`);
      }
      // the cvae's test reconstruction term is near its valid one (the AE's eval reports squared error, its loss BCE)
      if (preset === "class-prior-cvae") assert.ok(Math.abs(out.recon - lines[1].valid_recon) < 0.15 * lines[1].valid_recon, `test recon ${out.recon} near the valid recon ${lines[1].valid_recon}`);
    });
}

test("torch-project prior.py: the MADE prior over codes gives latentkit's log p(k) (1e-4), its masks make position i see only codes before it",
  { skip: noTorch }, async () => {
    await init();
    const { makeCodePrior } = await import("../src/models/code-prior.js");
    const project = exportProject("vq-prior", ["model=vq-vae", "vqNets=mlp", "hidden=[32]", "codePositions=5", "codebookSize=6"]);
    const N = 5, K = 6;
    const prior = makeCodePrior({ N, K, kind: "autoregressive", hidden: [16, 12], epochs: 1, batchSize: 10, lr: 1e-3, seed: 0 });
    const params = prior.init(keyFromSeed(4));
    const codes = Int32Array.from({ length: 20 * N }, (_, i) => (i * 7 + Math.floor(i / 3)) % K);
    const mine = Array.from(toData(prior.logProb(refTree(params), np.array(codes, { dtype: np.int32 }).reshape([20, N]))) as Float32Array);
    const work = mkdtempSync(join(dir, "prior-"));
    writeSafetensors(join(work, "prior.safetensors"), recordsToTensors(toRecords(params as never)));
    writeNpy(join(work, "codes.npy"), { data: codes, shape: [20, N] });
    const script = `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from prior import MadePrior
from train import read_safetensors
d = sys.argv[2]
p = MadePrior(${N}, ${K}, [16, 12])
state = read_safetensors(d + "/prior.safetensors")
p.made.load_state_dict({k[len("made."):]: v for k, v in state.items()})
codes = torch.from_numpy(np.load(d + "/codes.npy"))
lp = p.log_prob(codes)
# autoregressive: changing the last position's code leaves the logits of every earlier position alone
c2 = codes.clone(); c2[:, -1] = (c2[:, -1] + 1) % ${K}
same = torch.allclose(p.logits(codes)[:, :-1], p.logits(c2)[:, :-1])
print(json.dumps({"lp": lp.tolist(), "earlier_unchanged": bool(same)}))
`;
    const r = spawnSync(PYTHON, ["-c", script, project, work], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(theirs.earlier_unchanged, true);
    for (let i = 0; i < mine.length; i++) assert.ok(Math.abs(theirs.lp[i] - mine[i]) <= 1e-4 * Math.abs(mine[i]), `example ${i}: latentkit ${mine[i]}, PyTorch ${theirs.lp[i]}`);
    disposeTree(params);
    prior.dispose();
  });
