// The Quickstart's quality, judged by an independent shape classifier: an MLP trained on every sprite
// there is (the whole factor grid: train, valid and test; it knows each shape at every pose) to tell
// the four shapes apart. For a run: the share of test reconstructions whose shape it recognises (the
// mean image, and its most likely binary image, p > 0.5), the share of prior samples it recognises as
// some shape with confidence >= 0.9, the test −ELBO from eval.json and the training time.
//   npx tsx bench/quickstart.ts RUN [RUN ...]
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../src/index.js";
import { loadDataset } from "../src/data/registry.js";
import { requireSplit, makeSplit, concatSplits } from "../src/data/dataset.js";
import { trainClassifier, classifierAccuracy, classifierLogits } from "../src/eval/classifier.js";
import { jnn, fromData, toData } from "../src/engine/index.js";

const data = await loadDataset("sprites");
const test = requireSplit(data, "test");
const grid = concatSplits(concatSplits(requireSplit(data, "train"), requireSplit(data, "valid")), test);
const judge = trainClassifier(grid, 4, { hidden: [512, 256], epochs: 30, seed: 7 });
console.log(`judge: accuracy on the grid ${(classifierAccuracy(judge, grid) * 100).toFixed(1)}%`);
const images = Float32Array.from(test.pixels, (v) => v * test.scale);
for (const dir of process.argv.slice(2)) {
  const model = await loadModel(dir);
  const recon = (await model.reconstruct(images, { labels: model.conditional ? test.labels : undefined })).data;
  const accuracy = (x: Float32Array) => classifierAccuracy(judge, makeSplit(x, test.imageShape, { labels: test.labels }));
  const samples = await model.sample(1000, { seed: 3, batchSize: 100 });
  let sure = 0;
  for (let at = 0; at < 1000; at += 100) {
    const x = fromData(samples.data.subarray(at * 784, (at + 100) * 784), [100, 1, 28, 28]);
    const p = toData(jnn.softmax(classifierLogits(judge, x), -1)) as Float32Array;
    for (let i = 0; i < 100; i++) if (Math.max(...p.subarray(i * 4, i * 4 + 4)) >= 0.9) sure++;
  }
  const ev = existsSync(join(dir, "eval.json")) ? JSON.parse(readFileSync(join(dir, "eval.json"), "utf8")) : {};
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  console.log(JSON.stringify({
    run: dir, recon_shape_accuracy: accuracy(recon), recon_binary_shape_accuracy: accuracy(recon.map((v) => (v > 0.5 ? 1 : 0))),
    samples_recognised: sure / 1000, test_neg_elbo: ev.elbo !== undefined ? -ev.elbo : null,
    train_s: +lines.reduce((a, l) => a + (l.time_s ?? 0), 0).toFixed(1),
  }));
  model.dispose();
}
