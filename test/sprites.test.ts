// sprites: the built-in data set of shapes over a grid of known factors (shape, scale, rotation, x, y).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  generateSpritesGrid, spritesDataset, spritesSplitSizes, SPRITES_FACTORS, SPRITE_SHAPES, SPRITE_SIZE,
} from "../src/data/sprites.js";
import { loadDatasetSync } from "../src/data/registry.js";
import type { Split } from "../src/data/dataset.js";

const t0 = performance.now();
const grid = generateSpritesGrid();
const genMs = performance.now() - t0;
const ds = spritesDataset({ seed: 0 });
const D = SPRITE_SIZE * SPRITE_SIZE;
const [S, K, R, X, Y] = SPRITES_FACTORS.sizes;
/** Grid index of a factor tuple (shape slowest, y fastest). */
const at = (f: number[]) => f.reduce((i, v, k) => i * SPRITES_FACTORS.sizes[k] + v, 0);
const img = (i: number) => grid.images.subarray(i * D, (i + 1) * D);
const area = (i: number) => img(i).reduce((a, b) => a + b, 0);

test("the grid: 4 shapes x 4 scales x 10 rotations x 8 x 8 positions, generated in well under 2 s", () => {
  assert.deepEqual(SPRITES_FACTORS.names, ["shape", "scale", "rotation", "x", "y"]);
  assert.equal(grid.n, 4 * 4 * 10 * 8 * 8);
  assert.ok(genMs < 2000, `${genMs} ms`);
  assert.deepEqual(SPRITE_SHAPES, ["square", "ellipse", "heart", "triangle"]);
  for (let i = 0; i < grid.n; i += 997) assert.equal(at([...grid.factors.subarray(i * 5, i * 5 + 5)]), i);
});

test("images are binary, never empty, and stay inside the frame", () => {
  assert.ok(grid.images.every((v) => v === 0 || v === 1));
  for (let i = 0; i < grid.n; i++) {
    const x = img(i);
    assert.ok(area(i) >= 10, `image ${i} has ${area(i)} pixels`);
    for (let j = 0; j < SPRITE_SIZE; j++) {
      const border = x[j] + x[(SPRITE_SIZE - 1) * SPRITE_SIZE + j] + x[j * SPRITE_SIZE] + x[j * SPRITE_SIZE + SPRITE_SIZE - 1];
      assert.equal(border, 0, `image ${i} touches the frame`);
    }
  }
});

test("shapes are distinguishable: at every scale, rotation and position the four differ", () => {
  for (let k = 0; k < K; k++)
    for (let r = 0; r < R; r++)
      for (let x = 0; x < X; x++)
        for (let y = 0; y < Y; y++) {
          const ims = [0, 1, 2, 3].map((s) => Buffer.from(img(at([s, k, r, x, y]))));
          for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) assert.ok(!ims[a].equals(ims[b]), `shapes ${a}, ${b} at ${[k, r, x, y]}`);
        }
});

test("factors act as named: scale grows the area, x and y move the centroid, rotation turns the heart", () => {
  const centroid = (i: number) => {
    let cx = 0, cy = 0;
    img(i).forEach((v, p) => { cx += v * (p % SPRITE_SIZE); cy += v * Math.floor(p / SPRITE_SIZE); });
    return [cx / area(i), cy / area(i)];
  };
  for (let s = 0; s < S; s++)
    for (let r = 0; r < R; r += 3) {
      for (let k = 1; k < K; k++) assert.ok(area(at([s, k, r, 3, 4])) > area(at([s, k - 1, r, 3, 4])), `scale, shape ${s}`);
      for (let x = 1; x < X; x++) assert.ok(centroid(at([s, 2, r, x, 4]))[0] > centroid(at([s, 2, r, x - 1, 4]))[0], "x moves right");
      for (let y = 1; y < Y; y++) assert.ok(centroid(at([s, 2, r, 4, y]))[1] > centroid(at([s, 2, r, 4, y - 1]))[1], "y moves down");
    }
  // the heart has no rotational symmetry: all ten rotations differ
  const hearts = Array.from({ length: R }, (_, r) => Buffer.from(img(at([2, K - 1, r, 4, 4]))).toString("hex"));
  assert.equal(new Set(hearts).size, R);
  // a translation by whole pixels moves the image exactly (x steps are 2 px)
  const a = img(at([3, 1, 2, 2, 5])), b = img(at([3, 1, 2, 3, 5]));
  for (let p = 0; p < D; p++) if (p % SPRITE_SIZE >= 2) assert.equal(b[p], a[p - 2]);
});

test("splits: deterministic for a seed, disjoint, covering the grid once; labels are the shape", () => {
  const { train, valid, test: tst } = ds.splits as Record<string, Split>;
  assert.deepEqual([train.n, valid.n, tst.n], [8192, 1024, 1024]);
  assert.deepEqual(spritesSplitSizes(), { train: 8192, valid: 1024, test: 1024 });
  assert.equal(ds.binary, true);
  assert.deepEqual(ds.imageShape, [1, 28, 28]);
  assert.deepEqual(ds.labelNames, [...SPRITE_SHAPES]);
  assert.equal(ds.numClasses, 4);
  const seen = new Uint8Array(grid.n);
  for (const s of [train, valid, tst]) {
    for (let i = 0; i < s.n; i++) {
      const f = [...s.factors!.subarray(i * 5, i * 5 + 5)];
      const g = at(f);
      seen[g]++;
      assert.equal(s.labels![i], f[0]);
      if (i % 101 === 0) assert.deepEqual(s.batch([i]), Float32Array.from(img(g)));
    }
  }
  assert.ok(seen.every((c) => c === 1), "each grid point in exactly one split");
  // every value of every factor appears in train
  for (let k = 0; k < 5; k++) {
    const vals = new Set<number>();
    for (let i = 0; i < train.n; i++) vals.add(train.factors![i * 5 + k]);
    assert.equal(vals.size, SPRITES_FACTORS.sizes[k], SPRITES_FACTORS.names[k]);
  }

  const again = spritesDataset({ seed: 0 });
  assert.deepEqual(again.splits.test!.factors, tst.factors);
  assert.ok(Buffer.from(again.splits.train!.pixels).equals(Buffer.from(train.pixels)));
  const other = spritesDataset({ seed: 1 });
  assert.notDeepEqual(other.splits.test!.factors, tst.factors);
  assert.equal(other.splits.test!.n, 1024);
  // the default data set (by name, no download)
  assert.deepEqual(loadDatasetSync("sprites").splits.valid!.factors, valid.factors);
});
