// Data-parallel training (src/train/data-parallel.ts, `train --workers N`): the batch cut into N
// shards, each shard's gradient computed by its own engine on its own thread, the gradients averaged
// with the shards' shares and one update made. With a deterministic model this is the one-thread
// step up to the order of float additions; a run is determined by its seed and its worker count, so
// a resumed run equals an uninterrupted one bit for bit, workers or not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { train } from "../src/index.js";
import { trainingWorkers, workersNote, AUTO_PARALLEL_EXAMPLES, AUTO_PARALLEL_FLOPS_PER_PARAMETER } from "../src/api/train.js";
import { makeOptimizer, stepFlopsPerParameter } from "../src/train/step.js";
import { train as runTrainer } from "../src/train/trainer.js";
import { shardSizes } from "../src/train/data-parallel.js";
import { resolveConfig, createModel } from "../src/train/run.js";
import { spritesDataset } from "../src/data/sprites.js";
import { quantize, combineQuantizerStats, type VqConfig } from "../src/models/vq.js";
import { init, np, random, keyFromSeed, toData } from "../src/engine/index.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const dir = tempDir("lk-data-parallel-");

/** The losses of the first `steps` steps of a run (then stopped by its signal). */
async function lossCurve(options: Record<string, unknown>, steps: number): Promise<number[]> {
  const losses: number[] = [];
  const stop = new AbortController();
  const run = await train({
    dataset: "sprites", epochs: 1, batchSize: 64, seed: 5, ...options, signal: stop.signal,
    onStep: (e) => { losses.push(e.metrics.loss); if (losses.length === steps) stop.abort(); },
  });
  run.model.dispose();
  assert.equal(run.stopped, "interrupted");
  return losses;
}

test("shards: as equal as can be, the larger first, summing to the batch", () => {
  assert.deepEqual(shardSizes(100, 2), [50, 50]);
  assert.deepEqual(shardSizes(101, 3), [34, 34, 33]);
  assert.deepEqual(shardSizes(7, 7), [1, 1, 1, 1, 1, 1, 1]);
});

test("workers 2 follow workers 1's loss curve within float tolerance over 20 steps (ae: no sampling)", async () => {
  const one = await lossCurve({ model: "ae", hidden: [64], latent: 8, workers: 1 }, 20);
  const two = await lossCurve({ model: "ae", hidden: [64], latent: 8, workers: 2 }, 20);
  assert.equal(two.length, 20);
  for (let i = 0; i < 20; i++) assert.ok(Math.abs(one[i] - two[i]) <= 1e-4 * Math.abs(one[i]), `step ${i + 1}: ${one[i]} vs ${two[i]}`);
  assert.ok(one[19] < 0.9 * one[0], `and it is learning: ${one[0]} -> ${one[19]}`);
});

test("a VAE with workers 2 draws other noise (a key per shard) but learns the same: the curves agree to within the noise", async () => {
  const one = await lossCurve({ model: "vae", hidden: [64], latent: 4, workers: 1 }, 20);
  const two = await lossCurve({ model: "vae", hidden: [64], latent: 4, workers: 2 }, 20);
  assert.ok(Math.abs(one[0] - two[0]) < 0.02 * one[0], `first step ${one[0]} vs ${two[0]}`);
  for (let i = 0; i < 20; i++) assert.ok(Math.abs(one[i] - two[i]) < 0.05 * one[i], `step ${i + 1}: ${one[i]} vs ${two[i]}`);
  assert.notDeepEqual(one, two, "shard i samples with key i: not the one-thread draws");
});

test("resume with workers is exact: a run stopped mid-epoch and resumed equals the uninterrupted run, bit for bit", async () => {
  const options = { dataset: "sprites", model: "vae", hidden: [64], latent: 4, epochs: 2, batchSize: 64, workers: 2, seed: 9, set: { evalIsSamples: 0, report: false } };
  (await train({ ...options, out: join(dir, "whole") })).model.dispose();
  const stop = new AbortController();
  let steps = 0;
  const first = await train({ ...options, out: join(dir, "parts"), signal: stop.signal, onStep: () => { if (++steps === 150) stop.abort(); } });
  first.model.dispose();
  assert.equal(first.stopped, "interrupted");
  (await train({ ...options, out: join(dir, "parts"), resume: true })).model.dispose();
  assert.deepEqual(readFileSync(join(dir, "parts", "model.safetensors")), readFileSync(join(dir, "whole", "model.safetensors")));
  assert.deepEqual(readFileSync(join(dir, "parts", "optimizer.safetensors")), readFileSync(join(dir, "whole", "optimizer.safetensors")));
  assert.equal(JSON.parse(readFileSync(join(dir, "whole", "config.json"), "utf8")).workers, 2, "the run records its worker count");
});

test("vq-vae's EMA statistics of a batch are the sums of its shards' (combineAux), and it trains with workers 2", async () => {
  await init();
  const config: VqConfig = { K: 8, D: 3, commitment: 0.25, ema: true, decay: 0.99, restart: false, threshold: 1 };
  const codebook = random.normal(keyFromSeed(1), [8, 3]);
  const params = { buffers: { codebook, clusterSize: np.ones([8]), embedSum: np.zeros([8, 3]) } };
  const z = random.normal(keyFromSeed(2), [40, 3]);
  const whole = quantize(params, z.ref, keyFromSeed(3), config);
  const halves = [0, 20].map((at, i) => quantize(params, z.ref.slice([at, at + 20]), keyFromSeed(4 + i), config));
  const combined = combineQuantizerStats(halves.map((h) => h.aux));
  assert.deepEqual([...toData(combined.counts as never)], [...toData(whole.aux.counts as never)]);
  const a = toData(combined.sums as never), b = toData(whole.aux.sums as never);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `sums[${i}]: ${a[i]} vs ${b[i]}`);
  z.dispose();

  const run = await train({ dataset: "sprites", preset: "vqvae-mlp", epochs: 1, batchSize: 64, workers: 2, hidden: [64], codebookSize: 16 });
  assert.ok(run.metrics[0].valid_recon! < run.metrics[0].train_recon! * 1.5 && Number.isFinite(run.metrics[0].valid_loss!));
  run.model.dispose();
});

test("the worker count: asked, or every core for a long run; never more than the batch; one thread in the browser", async () => {
  const config = resolveConfig({ flags: { model: "vae" } });
  const high = () => AUTO_PARALLEL_FLOPS_PER_PARAMETER, low = () => AUTO_PARALLEL_FLOPS_PER_PARAMETER - 1;
  assert.equal(trainingWorkers({ ...config, workers: 3 }, 100, 2, low), 3, "asked: given");
  assert.equal(trainingWorkers({ ...config, workers: 0, epochs: 1 }, AUTO_PARALLEL_EXAMPLES - 1, 8, high), 1, "a short run: one");
  assert.equal(trainingWorkers({ ...config, workers: 0, epochs: 2 }, AUTO_PARALLEL_EXAMPLES, 8, high), 8, "a long conv-like run: every core");
  assert.equal(trainingWorkers({ ...config, workers: 0, epochs: 2 }, AUTO_PARALLEL_EXAMPLES, 8, low), 1, "a long MLP-like run: one");
  assert.equal(trainingWorkers({ ...config, workers: 500, batchSize: 16 }, 100, 2, low), 16);
  // The intensity that decides: an MLP step's FLOPs per parameter are low, a conv net's high.
  const optimizer = makeOptimizer(config);
  const mlp = stepFlopsPerParameter(createModel(resolveConfig({ flags: { preset: "seed-vae" } }), { imageShape: [1, 28, 28], numClasses: 10 }), optimizer, 100);
  const conv = stepFlopsPerParameter(createModel(resolveConfig({ flags: { preset: "keras-conv-vae" } }), { imageShape: [1, 28, 28], numClasses: 10 }), optimizer, 128);
  assert.ok(Math.abs(mlp - 328e6 / 652824) < 5, `seed-vae: ${mlp} FLOPs per parameter (0.328 GFLOP, 652,824 parameters)`);
  assert.ok(conv > AUTO_PARALLEL_FLOPS_PER_PARAMETER && mlp < AUTO_PARALLEL_FLOPS_PER_PARAMETER, `conv ${conv}, mlp ${mlp}`);
  // Asking for workers where they do not pay gets a note (the run still uses them).
  assert.match(workersNote(2, mlp) ?? "", /^note: 2 workers are likely slower than 1 here: the step does about 502 FLOPs per parameter/);
  assert.equal(workersNote(2, conv), null);
  assert.equal(workersNote(1, mlp), null);
  const data = spritesDataset();
  const model = createModel(config, { imageShape: [1, 28, 28], numClasses: 4 });
  await assert.rejects(runTrainer({ config: { ...config, workers: 2 }, model, data }), /needs Node's worker threads/);
  const bad = runCli(["train", "--workers", "0x", "--epochs", "1", "--out", join(dir, "bad")]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--workers/);
});
