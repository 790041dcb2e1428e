// The library (src/index.ts): what a Node program does with `import ... from "latentkit"`. Train from
// code with callbacks and an AbortSignal, load the run folder (or a URL, or bytes in memory), and
// encode, decode, reconstruct, sample and score with typed arrays; bad input gets one clear error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync, copyFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, extname } from "node:path";
import type { AddressInfo } from "node:net";
import {
  loadModel, loadDataset, train, listModels, listDatasets, LatentkitError, type Images, type StepEvent, type EpochEvent,
} from "../src/index.js";
import { runCliHere } from "./helpers/cli.js";
import { readNpy, writeNpy } from "../src/io/npy.js";
import { assertClose } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

const dir = tempDir("lk-library-");
const sprites = await loadDataset("sprites");
const first = (images: Images, n: number): Images => {
  const size = images.shape[1] * images.shape[2] * images.shape[3];
  return { data: images.data.slice(0, n * size), shape: [n, images.shape[1], images.shape[2], images.shape[3]] };
};
const clearError = (pattern: RegExp) => (e: unknown) =>
  e instanceof LatentkitError && !e.message.includes("\n") && pattern.test(e.message);

test("loadDataset: the sprites as typed arrays, with labels (shape) and factors", () => {
  assert.deepEqual(sprites.imageShape, [1, 28, 28]);
  assert.deepEqual(sprites.test!.images.shape, [1024, 1, 28, 28]);
  assert.equal(sprites.test!.images.data.length, 1024 * 784);
  assert.equal(sprites.test!.labels!.length, 1024);
  assert.equal(sprites.test!.factors!.length, 1024 * 5);
  assert.deepEqual(sprites.factors!.names, ["shape", "scale", "rotation", "x", "y"]);
  assert.ok(sprites.train!.images.data.every((v) => v === 0 || v === 1));
});

test("listModels and listDatasets: as `models --json` and `datasets --json`", async () => {
  const cliModels = JSON.parse((await runCliHere("models", "--json")).stdout);
  assert.deepEqual(listModels(), cliModels);
  assert.ok(listModels().some((m) => m.name === "vae" && m.presets.includes("seed-vae")));
  const sets = listDatasets();
  assert.equal(sets[0].name, "sprites");
  assert.equal(sets[0].available, true);
});

const runDir = join(dir, "vae");
const steps: StepEvent[] = [];
const epochs: EpochEvent[] = [];
const run = await train({
  model: "vae", dataset: "sprites", epochs: 2, batchSize: 100, seed: 1, latent: 8, set: { klWarmupEpochs: 1, evalIsSamples: 10 },
  out: runDir, onStep: (s) => steps.push(s), onEpoch: (e) => epochs.push(e),
});

test("train from code: callbacks for every step and epoch, a run folder, the test evaluation", () => {
  assert.equal(steps.length, 2 * 81);
  assert.deepEqual(steps.slice(0, 2).map((s) => [s.epoch, s.step]), [[1, 1], [1, 2]]);
  assert.ok(Number.isFinite(steps[0].metrics.loss) && "kl" in steps[0].metrics && "recon" in steps[0].metrics);
  assert.deepEqual(epochs.map((e) => e.epoch), [1, 2]);
  assert.ok(epochs[1].metrics.valid_loss! < epochs[0].metrics.valid_loss!, "the validation loss falls");
  assert.deepEqual(run.metrics, epochs.map((e) => e.metrics));
  assert.equal(run.dir, runDir);
  assert.equal(run.stopped, null);
  assert.equal(run.config.latent, 8);
  for (const f of ["config.json", "model.safetensors", "optimizer.safetensors", "state.json", "metrics.jsonl", "eval.json", "report.html"]) {
    assert.ok(existsSync(join(runDir, f)), f);
  }
  assert.deepEqual(JSON.parse(readFileSync(join(runDir, "eval.json"), "utf8")), run.evaluation);
  assert.ok((run.evaluation!.elbo as number) < 0);
});

test("a trained model: encode, decode, reconstruct, sample and score with typed arrays, in input order", async () => {
  const m = run.model;
  assert.deepEqual([m.family, m.codeDim, m.probabilistic, m.conditional, m.numClasses], ["vae", 8, true, false, 4]);
  assert.deepEqual(m.imageShape, [1, 28, 28]);
  const x = first(sprites.test!.images, 300); // more than one internal batch
  const codes = await m.encode(x);
  assert.deepEqual(codes.shape, [300, 8]);
  // input order: the codes of examples 257..299 alone equal rows 257..299 of the whole
  const tail = await m.encode(x.data.slice(257 * 784));
  assertClose(tail.data, codes.data.slice(257 * 8), { rtol: 1e-5, atol: 1e-6 });
  const decoded = await m.decode(codes);
  assert.deepEqual(decoded.shape, [300, 1, 28, 28]);
  const recon = await m.reconstruct(x);
  assertClose(recon.data, decoded.data, { rtol: 1e-5, atol: 1e-6 }, "a VAE reconstructs through the posterior mean");
  assert.ok(recon.data.every((v) => v >= 0 && v <= 1));
  const s1 = await m.sample(5, { seed: 3 }), s2 = await m.sample(5, { seed: 3 }), s3 = await m.sample(5, { seed: 4 });
  assert.deepEqual(s1.shape, [5, 1, 28, 28]);
  assert.deepEqual(s1.data, s2.data, "a seed fixes the samples");
  assert.notDeepEqual(s1.data, s3.data);
  const scores = await m.score(first(x, 20), { isSamples: 50, elboSamples: 10, seed: 1 });
  assert.equal(scores.recon.length, 20);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(scores.elbo!.every((v) => v < 0));
  assert.ok(mean(scores.nll!) < -mean(scores.elbo!), "−log p(x) <= −ELBO (IS is the tighter bound)");
  assert.equal((await m.score(first(x, 3))).nll, undefined, "nll only when isSamples > 0");
});

test("loadModel: the run folder gives the trained model; the codes equal `latentkit encode`'s", async () => {
  const loaded = await loadModel(runDir);
  const x = first(sprites.test!.images, 130);
  const mine = await loaded.encode(x);
  assertClose(mine.data, (await run.model.encode(x)).data, { rtol: 0, atol: 0 }, "same parameters, same codes");
  const input = join(dir, "x.npy"), out = join(dir, "codes.npy");
  writeNpy(input, { shape: x.shape, data: x.data });
  const r = await runCliHere("encode", runDir, "--input", input, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const cli = readNpy(out);
  assert.deepEqual(cli.shape, [130, 8]);
  assertClose(cli.data as Float32Array, mine.data, { rtol: 0, atol: 1e-6 });
  const best = await loadModel(runDir, { checkpoint: "best" });
  assert.equal(best.codeDim, 8);
  best.dispose();
  loaded.dispose();
  await assert.rejects(loaded.encode(x), clearError(/used after dispose/));
});

test("loadModel over HTTP (a URL) and from bytes in memory give the same model", async () => {
  const server = createServer((req, res) => {
    const file = join(runDir, decodeURIComponent(new URL(req.url!, "http://x").pathname.replace(/^\/run\//, "")));
    if (!existsSync(file) || extname(file) === "") { res.writeHead(404).end(); return; }
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  try {
    const port = (server.address() as AddressInfo).port;
    const overHttp = await loadModel(new URL(`http://127.0.0.1:${port}/run`));
    const inMemory = await loadModel({ config: JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")), weights: readFileSync(join(runDir, "model.safetensors")) });
    const z = new Float32Array(3 * 8).map((_, i) => Math.sin(i));
    const a = await overHttp.decode(z), b = await inMemory.decode(z), c = await run.model.decode(z);
    assert.deepEqual(a.data, c.data);
    assert.deepEqual(b.data, c.data);
    await assert.rejects(loadModel(new URL(`http://127.0.0.1:${port}/nothing/`)), clearError(/nothing\/config\.json: HTTP 404/));
    overHttp.dispose();
    inMemory.dispose();
  } finally {
    server.close();
  }
});

test("bad input: one clear error naming the problem", async () => {
  const m = run.model;
  await assert.rejects(m.encode({ data: new Float32Array(2 * 3 * 28 * 28), shape: [2, 3, 28, 28] }), clearError(/shape \[2,3,28,28\] does not match the model's images \[N, 1, 28, 28\]/));
  await assert.rejects(m.encode(new Float32Array(785)), clearError(/785 values are not a whole number of 1x28x28 images/));
  const nan = new Float32Array(784); nan[17] = NaN;
  await assert.rejects(m.encode(nan), clearError(/value NaN at index 17 is not a finite number/));
  await assert.rejects(m.decode(new Float32Array(7)), clearError(/N·8 values/));
  await assert.rejects(m.sample(0), clearError(/positive integer/));
  await assert.rejects(train({ dataset: "sprites", epochz: 2 } as never), clearError(/unknown option "epochz"/));
  await assert.rejects(train({ dataset: "sprites", epochs: -1 }), clearError(/epochs=-1 is invalid/));
  await assert.rejects(train({ dataset: "sprites", set: { latnet: 3 } as never }), clearError(/set\.latnet: unknown configuration key/));
  await assert.rejects(loadModel(dir), clearError(/not a run folder \(no config\.json\)/));
  await assert.rejects(loadModel(join(dir, "absent")), clearError(/no such run folder/));
  // weights of another architecture: the tensor and both shapes are named
  const other = join(dir, "other");
  mkdirSync(other);
  const config = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8"));
  writeFileSync(join(other, "config.json"), JSON.stringify({ ...config, latent: 5 }));
  copyFileSync(join(runDir, "model.safetensors"), join(other, "model.safetensors"));
  await assert.rejects(loadModel(other), (e: unknown) => clearError(/other\/model\.safetensors: does not fit the run's vae model: "encoder\.\d+\.(weight|bias)": shape \[\d+(,\d+)?\] where \[\d+(,\d+)?\] was expected/)(e));
  await assert.rejects(train({ dataset: "sprites", epochs: 1, out: runDir }), clearError(/already holds a run; continue it with --resume/));
});

test("in memory: train on images without a folder; a conditional model needs its labels", async () => {
  // every 8th training sprite (a split is in factor-grid order: its first rows are all squares)
  const pick = Array.from({ length: 1000 }, (_, i) => i * 8);
  const x: Images = { data: new Float32Array(1000 * 784), shape: [1000, 1, 28, 28] };
  pick.forEach((j, i) => x.data.set(sprites.train!.images.data.subarray(j * 784, (j + 1) * 784), i * 784));
  const labels = Int32Array.from(pick, (j) => sprites.train!.labels![j]);
  const before = new Set(readdirSync(dir));
  const r = await train({ model: "cvae", dataset: { train: x, labels }, epochs: 1, batchSize: 100, latent: 4, seed: 2 });
  assert.deepEqual(new Set(readdirSync(dir)), before, "nothing written");
  assert.equal(r.dir, undefined);
  assert.equal(r.metrics.length, 1);
  const m = r.model;
  assert.equal(m.conditional, true);
  assert.equal(m.numClasses, 4);
  const codes = await m.encode(first(x, 4), { labels: [0, 1, 2, 3] });
  assert.deepEqual(codes.shape, [4, 4]);
  await assert.rejects(m.encode(first(x, 4)), clearError(/conditional and needs one label per example/));
  await assert.rejects(m.encode(first(x, 2), { labels: [0, 9] }), clearError(/label 9 at index 1 is not a class in 0\.\.3/));
  const s = await m.sample(3, { labels: [2, 0], seed: 1 });
  assert.deepEqual(s.shape, [6, 1, 28, 28], "n per label, in label order");
  await assert.rejects(m.sample(3), clearError(/conditional: give labels/));
  m.dispose();
});

test("an AbortSignal stops at the next step with a checkpoint; the resumed run equals an uninterrupted one", async () => {
  const opts = { model: "vae", dataset: "sprites", epochs: 2, batchSize: 200, latent: 4, seed: 5, set: { evalIsSamples: 0, report: false } } as const;
  const whole = await train({ ...opts, out: join(dir, "whole") });
  const controller = new AbortController();
  const cut = join(dir, "cut");
  const stopped = await train({ ...opts, out: cut, signal: controller.signal, onStep: (s) => { if (s.step === 50) controller.abort(); } });
  assert.equal(stopped.stopped, "interrupted");
  const state = JSON.parse(readFileSync(join(cut, "state.json"), "utf8"));
  assert.equal(state.step, 50, "the checkpoint is the step where it stopped (inside epoch 2)");
  assert.equal(state.epoch, 1);
  const resumed = await train({ out: cut, resume: true });
  assert.equal(resumed.stopped, null);
  assert.deepEqual(readFileSync(join(cut, "model.safetensors")), readFileSync(join(dir, "whole", "model.safetensors")), "bit-identical parameters");
  assert.deepEqual(
    readFileSync(join(cut, "metrics.jsonl"), "utf8").split("\n").map((l) => l.replace(/"time_s":[0-9.e-]+/, "")),
    readFileSync(join(dir, "whole", "metrics.jsonl"), "utf8").split("\n").map((l) => l.replace(/"time_s":[0-9.e-]+/, "")));
  await assert.rejects(train({ out: cut, resume: true, epochs: 1 }), clearError(/already trained to epoch 2; nothing to do/));
  for (const r of [whole, stopped, resumed]) r.model.dispose();
});

test("a run folder without a checkpoint is no dead end: resume starts at epoch 0, train --out starts afresh", async () => {
  const empty = join(dir, "no-checkpoint");
  mkdirSync(empty);
  const config = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8"));
  writeFileSync(join(empty, "config.json"), JSON.stringify({ ...config, epochs: 1, evalIsSamples: 0, report: false }));
  writeFileSync(join(empty, `.optimizer.safetensors.next.999999999.deadbeef.tmp`), "left by a killed save");
  const r = await runCliHere("eval", empty);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no checkpoint yet .*continue it with train --resume/);
  const resumed = await train({ out: empty, resume: true });
  assert.equal(resumed.metrics.length, 1);
  assert.ok(!readdirSync(empty).some((f) => f.endsWith(".tmp")), "the stale temporary file is gone");
  resumed.model.dispose();
  const fresh = join(dir, "no-checkpoint-2");
  mkdirSync(fresh);
  writeFileSync(join(fresh, "config.json"), "{}");
  const again = await runCliHere("train", "--out", fresh, "--epochs", "1", "--set", "evalIsSamples=0", "--set", "report=false", "--quiet");
  assert.equal(again.code, 0, again.stderr);
  assert.ok(existsSync(join(fresh, "model.safetensors")));
});
