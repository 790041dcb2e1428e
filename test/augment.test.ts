// Training-time augmentation by random translation (augmentShift): what it does to an image, how its
// offsets are drawn, and that a run with it stays a function of (seed, epoch, example).
import { test } from "node:test";
import assert from "node:assert/strict";
import { shiftBatch, shiftOf } from "../src/data/augment.js";
import { hostBatches } from "../src/data/loader.js";
import { makeSplit } from "../src/data/dataset.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";

test("a shift moves every pixel by (dx, dy) and fills what comes in from outside with 0", () => {
  // Two 2-channel 5x4 images whose pixel values are their own coordinates: 100c + 10i + j + 1.
  const shape = [2, 5, 4] as [number, number, number];
  const image = Float32Array.from({ length: 40 }, (_, k) => 100 * Math.floor(k / 20) + 10 * Math.floor((k % 20) / 4) + (k % 4) + 1);
  const indices = [3, 11];
  const x = new Float32Array(80);
  x.set(image, 0);
  x.set(image, 40);
  shiftBatch(x, indices, shape, 2, { seed: 5, epoch: 1 });
  indices.forEach((index, r) => {
    const [dx, dy] = shiftOf(2, index, { seed: 5, epoch: 1 });
    for (let c = 0; c < 2; c++) for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) {
      const si = i - dy, sj = j - dx;
      const want = si >= 0 && si < 5 && sj >= 0 && sj < 4 ? 100 * c + 10 * si + sj + 1 : 0;
      assert.equal(x[r * 40 + c * 20 + i * 4 + j], want, `row ${r} (dx ${dx}, dy ${dy}) at c ${c}, i ${i}, j ${j}`);
    }
  });
  // maxShift 0 is the identity; a shift as large as the image is refused.
  const same = image.slice();
  shiftBatch(same, [0], shape, 0);
  assert.deepEqual(same, image);
  assert.throws(() => shiftBatch(image.slice(), [0], shape, 4), /does not fit 5x4 images/);
});

test("the offsets are uniform on {−s..s}², a function of (seed, epoch, example) only", () => {
  const s = 2, counts = new Map<string, number>();
  const n = 25_000;
  for (let i = 0; i < n; i++) {
    const [dx, dy] = shiftOf(s, i, { seed: 1, epoch: 3 });
    assert.ok(Math.abs(dx) <= s && Math.abs(dy) <= s);
    counts.set(`${dx},${dy}`, (counts.get(`${dx},${dy}`) ?? 0) + 1);
  }
  assert.equal(counts.size, 25);
  // Pearson's χ² with 24 degrees of freedom: above 51.2 has probability 0.001 for uniform offsets.
  const expected = n / 25;
  const chi2 = [...counts.values()].reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 51.2, `χ² = ${chi2.toFixed(1)}`);
  assert.deepEqual(shiftOf(s, 7, { seed: 1, epoch: 3 }), shiftOf(s, 7, { seed: 1, epoch: 3 }));
  const epochs = new Set(Array.from({ length: 20 }, (_, e) => shiftOf(s, 7, { seed: 1, epoch: e }).join()));
  assert.ok(epochs.size > 5, "the offsets are redrawn each epoch");
});

test("an epoch of shifted batches resumed at a position gives the batches the whole epoch gave there", () => {
  const images = Float32Array.from({ length: 64 * 36 }, (_, k) => ((k * 7919) % 13) / 12);
  const split = makeSplit(images, [1, 6, 6]);
  const opts = { batchSize: 8, seed: 4, epoch: 2, shift: 1, dropLast: true };
  const whole = [...hostBatches(split, opts)];
  const resumed = [...hostBatches(split, { ...opts, startAt: 24 })];
  assert.deepEqual(resumed.map((b) => b.x), whole.slice(3).map((b) => b.x));
  // and each is the unshifted batch moved by its examples' offsets
  const plain = [...hostBatches(split, { ...opts, shift: 0 })];
  plain.forEach((b, k) => assert.deepEqual(shiftBatch(b.x, b.indices, [1, 6, 6], 1, { seed: 4, epoch: 2 }), whole[k].x));
});

test("train --set augmentShift=1 records it in config.json; a shift as large as the images is one line", () => {
  const dir = tempDir("lk-augment-");
  const small = ["train", "--dataset", "sprites", "--latent", "4", "--set", "hidden=64", "--batch-size", "256", "--epochs", "1",
    "--set", "report=false", "--set", "evalIsSamples=0", "--quiet"];
  const r = runCli([...small, "--set", "augmentShift=1", "--out", join(dir, "run")]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, "run", "config.json"), "utf8")).augmentShift, 1);
  const bad = runCli([...small, "--set", "augmentShift=28", "--out", join(dir, "bad")]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr.trim().split("\n").at(-1)!, /^latentkit: augmentShift=28: a shift must be smaller than the 28x28 images$/);
  assert.ok(!existsSync(join(dir, "bad")), "no folder is left behind");
});
