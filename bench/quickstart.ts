// The Quickstart's quality, judged by an independent shape classifier (an MLP trained on the sprites'
// shape factor): the share of test reconstructions whose shape it recognises, and the share of prior
// samples it recognises as some shape with confidence >= 0.9; plus the run's test −ELBO.
//   npx tsx bench/quickstart.ts RUN [RUN ...]
import { openRun } from "../src/train/run.js";
import { loadDataset } from "../src/data/registry.js";
import { requireSplit, makeSplit, concatSplits } from "../src/data/dataset.js";
import { trainClassifier, classifierAccuracy, classifierLogits } from "../src/eval/classifier.js";
import { np, jnn, keyFromSeed, refTree, toData, fromData, disposeTree } from "../src/engine/index.js";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const data = await loadDataset("sprites");
const train = requireSplit(data, "train"), test = requireSplit(data, "test");
// The judge sees the whole factor grid (train + valid + test: every sprite there is), so it knows every
// shape at every pose; it is asked whether a reconstruction or a sample still shows one.
const grid = concatSplits(concatSplits(train, requireSplit(data, "valid")), test);
const judge = trainClassifier(grid, 4, { hidden: [512, 256], epochs: 30, seed: 7 });
console.log(`judge: accuracy on the grid ${(classifierAccuracy(judge, grid) * 100).toFixed(1)}%`);
for (const dir of process.argv.slice(2)) {
  const run = await openRun(dir);
  const n = test.n;
  const x = fromData(Float32Array.from(test.pixels, (v) => v * test.scale), [n, ...test.imageShape]);
  const recon = toData(run.model.reconstruct(refTree(run.params), { x })) as Float32Array;
  const reconAcc = classifierAccuracy(judge, makeSplit(recon, test.imageShape, { labels: test.labels }));
  // The most likely binary image of each reconstruction (the sprites are binary): p > 0.5.
  const reconBinaryAcc = classifierAccuracy(judge, makeSplit(recon.map((v) => (v > 0.5 ? 1 : 0)), test.imageShape, { labels: test.labels }));
  const samples = run.model.sample!(refTree(run.params), keyFromSeed(3), 1000);
  const probs = toData(jnn.softmax(classifierLogits(judge, samples), -1)) as Float32Array;
  let sure = 0;
  for (let i = 0; i < 1000; i++) if (Math.max(...probs.subarray(i * 4, i * 4 + 4)) >= 0.9) sure++;
  const ev = existsSync(join(dir, "eval.json")) ? JSON.parse(readFileSync(join(dir, "eval.json"), "utf8")) : {};
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const wall = lines.reduce((a, l) => a + (l.time_s ?? 0), 0);
  console.log(JSON.stringify({ run: dir, recon_shape_accuracy: reconAcc, recon_binary_shape_accuracy: reconBinaryAcc, samples_recognised: sure / 1000, test_neg_elbo: ev.elbo !== undefined ? -ev.elbo : null, train_wall_s: wall }));
  disposeTree(run.params);
}
