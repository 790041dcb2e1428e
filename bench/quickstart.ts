// The Quickstart's quality, judged by an independent shape classifier: an MLP trained on every sprite
// there is (the whole factor grid: train, valid and test; it knows each shape at every pose) to tell
// the four shapes apart. For a run: the share of test reconstructions whose shape it recognises (the
// mean image, and its most likely binary image, p > 0.5), the share of prior samples it recognises as
// some shape with confidence >= 0.9, the test −ELBO from eval.json and the training time; and the share
// of the training sprites' reconstructions it recognises (what the model fits, against what it carries
// to unseen poses).
//   npx tsx bench/quickstart.ts RUN [RUN ...] [--pictures DIR]
// --pictures DIR writes DIR/<run name>-reconstructions.png (12 test sprites above their
// reconstructions) and -samples.png (24 prior samples), enlarged 3 times.
import { readFileSync, existsSync } from "node:fs";
import { join, basename } from "node:path";
import { writeFileSync } from "node:fs";
import { tileGrid } from "../src/viz/grid.js";
import { encodePng } from "../src/io/png.js";
import { loadModel } from "../src/index.js";
import { loadDataset } from "../src/data/registry.js";
import { requireSplit, makeSplit, concatSplits } from "../src/data/dataset.js";
import { trainClassifier, classifierAccuracy, classifierLogits } from "../src/eval/classifier.js";
import { jnn, fromData, toData } from "../src/engine/index.js";
import { normalisedMutualInformation } from "../src/eval/disentanglement.js";
import { SPRITES_FACTORS } from "../src/data/sprites.js";

const FACTORS = SPRITES_FACTORS.names;

const data = await loadDataset("sprites");
const test = requireSplit(data, "test");
const train = requireSplit(data, "train");
const grid = concatSplits(concatSplits(requireSplit(data, "train"), requireSplit(data, "valid")), test);
// Trained on the grid and on blurred copies of it (Gaussian σ = 0.5, 0.8, 1.1 px): a reconstruction
// with soft edges is judged by its shape, not by its sharpness (an unblurred judge reads a σ = 0.7
// blur of the true test images as the right shape only 72% of the time).
const gridPixels = Float32Array.from(grid.pixels, (v) => v * grid.scale);
const augmented = new Float32Array(gridPixels.length * 4);
const labels = new Int32Array(grid.n * 4);
[0, 0.5, 0.8, 1.1].forEach((sigma, copy) => {
  augmented.set(sigma ? blur(gridPixels, sigma) : gridPixels, copy * gridPixels.length);
  labels.set(grid.labels!, copy * grid.n);
});
const judge = trainClassifier(makeSplit(augmented, grid.imageShape, { labels }), 4, { hidden: [512, 256], epochs: 12, seed: 7 });
console.log(`judge: accuracy on the grid ${(classifierAccuracy(judge, grid) * 100).toFixed(1)}%, on its σ = 1 blur ${(classifierAccuracy(judge, makeSplit(blur(gridPixels, 1), grid.imageShape, { labels: grid.labels })) * 100).toFixed(1)}%`);
const images = Float32Array.from(test.pixels, (v) => v * test.scale);
const args = process.argv.slice(2);
// The test examples of each scale, and a gather of their rows.
const scaleGroups = [0, 1, 2, 3].map((s) => Array.from({ length: test.n }, (_, i) => i).filter((i) => test.factors![i * 5 + 1] === s));
const gather = (x: Float32Array, rows: number[]) => {
  const out = new Float32Array(rows.length * 784);
  rows.forEach((r, i) => out.set(x.subarray(r * 784, (r + 1) * 784), i * 784));
  return out;
};
const labelsOf = (rows: number[]) => Int32Array.from(rows, (r) => test.labels![r]);
const at = args.indexOf("--pictures");
const pictures = at >= 0 ? args.splice(at, 2)[1] : undefined;
for (const dir of args) {
  const model = await loadModel(dir);
  const recon = (await model.reconstruct(images, { labels: model.conditional ? test.labels : undefined })).data;
  const accuracy = (x: Float32Array, labels = test.labels) => classifierAccuracy(judge, makeSplit(x, test.imageShape, { labels }));
  // Reconstructions recognised at each scale of the sprites (smallest first): where the misses are.
  const truthByScale = scaleGroups.map((rows) => +accuracy(gather(images, rows), labelsOf(rows)).toFixed(3));
  const byScale = scaleGroups.map((rows) => +accuracy(gather(recon, rows), labelsOf(rows)).toFixed(3));
  // The same on the training sprites: how much of the miss is fitting, how much is carrying a shape to
  // an unseen pose.
  const trainImages = Float32Array.from(train.pixels, (v) => v * train.scale);
  const trainRecon = (await model.reconstruct(trainImages, { labels: model.conditional ? train.labels : undefined })).data;
  const trainAccuracy = classifierAccuracy(judge, makeSplit(trainRecon, train.imageShape, { labels: train.labels }));
  // A model without a prior (a plain autoencoder) has no samples to judge.
  const samples = await model.sample(1000, { seed: 3, batchSize: 100 }).catch(() => ({ data: new Float32Array(0) }));
  let sure = 0;
  for (let at = 0; at < samples.data.length / 784; at += 100) {
    const x = fromData(samples.data.subarray(at * 784, (at + 100) * 784), [100, 1, 28, 28]);
    const p = toData(jnn.softmax(classifierLogits(judge, x), -1)) as Float32Array;
    for (let i = 0; i < 100; i++) if (Math.max(...p.subarray(i * 4, i * 4 + 4)) >= 0.9) sure++;
  }
  if (pictures) {
    const pick = Array.from({ length: 12 }, (_, i) => Math.floor((i * test.n) / 12)); // every shape, in grid order
    const rows = new Float32Array(24 * 784);
    pick.forEach((j, i) => { rows.set(images.subarray(j * 784, (j + 1) * 784), i * 784); rows.set(recon.subarray(j * 784, (j + 1) * 784), (12 + i) * 784); });
    const name = basename(dir);
    writeEnlarged(join(pictures, `${name}-reconstructions.png`), rows, 2, 12);
    writeEnlarged(join(pictures, `${name}-samples.png`), samples.data.subarray(0, 24 * 784), 2, 12);
  }
  const ev = existsSync(join(dir, "eval.json")) ? JSON.parse(readFileSync(join(dir, "eval.json"), "utf8")) : {};
  // What each of the top-KL dimensions (the traversal's rows) encodes: the factor it shares the most
  // information with (mutual information over the factor's entropy, over the whole grid), and the runner-up.
  const codes = await model.encode({ data: gridPixels, shape: [grid.n, 1, 28, 28] });
  const nmi = normalisedMutualInformation(codes.data, grid.factors!, grid.n);
  const order = (ev.kl_per_dim as number[] | undefined)?.map((kl, j) => [kl, j]).sort((a, b) => b[0] - a[0]).map(([, j]) => j) ?? [];
  const topDims = order.slice(0, 5).map((j) => {
    const ranked = nmi[j].map((v, f) => [v, f]).sort((a, b) => b[0] - a[0]);
    return { dim: j, kl: +(ev.kl_per_dim[j] as number).toFixed(2), factor: FACTORS[ranked[0][1]], nmi: +ranked[0][0].toFixed(2), next: FACTORS[ranked[1][1]], next_nmi: +ranked[1][0].toFixed(2) };
  });
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  console.log(JSON.stringify({
    run: dir, recon_shape_accuracy: accuracy(recon), recon_binary_shape_accuracy: accuracy(recon.map((v) => (v > 0.5 ? 1 : 0))),
    recon_by_scale: byScale, train_recon_shape_accuracy: trainAccuracy, test_images_by_scale: truthByScale, samples_recognised: samples.data.length ? sure / 1000 : null, test_neg_elbo: ev.elbo !== undefined ? -ev.elbo : null,
    train_s: +lines.reduce((a, l) => a + (l.time_s ?? 0), 0).toFixed(1), top_kl_dimensions: topDims,
  }));
  model.dispose();
}

/** Each 28x28 image blurred by a Gaussian of `sigma` pixels (separable, edges clamped). */
function blur(images: Float32Array, sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b);
  const w = k.map((v) => v / sum);
  const out = new Float32Array(images.length), tmp = new Float32Array(images.length);
  const at = (y: number, x: number) => Math.min(27, Math.max(0, y)) * 28 + Math.min(27, Math.max(0, x));
  for (let o = 0; o < images.length; o += 784) {
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      let a = 0;
      for (let t = -r; t <= r; t++) a += w[t + r] * images[o + at(y, x + t)];
      tmp[o + y * 28 + x] = a;
    }
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      let a = 0;
      for (let t = -r; t <= r; t++) a += w[t + r] * tmp[o + at(y + t, x)];
      out[o + y * 28 + x] = a;
    }
  }
  return out;
}

/** A rows x cols grid of 28x28 images, each pixel drawn 3x3. */
function writeEnlarged(file: string, data: Float32Array, rows: number, cols: number): void {
  const tile = tileGrid({ images: data, shape: [rows * cols, 1, 28, 28], rows, cols });
  const k = 3, W = tile.width * k, H = tile.height * k;
  const big = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) big[y * W + x] = tile.data[Math.floor(y / k) * tile.width + Math.floor(x / k)];
  writeFileSync(file, encodePng({ width: W, height: H, channels: 1, data: big }));
}
