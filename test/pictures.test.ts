// Pictures: Φ⁻¹, image grids, interpolation paths, PCA, and the five picture commands on real runs.
// Every command's PNG is decoded with fast-png and checked for its size and its content.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decode } from "fast-png";
import { init, np, jnn, type Array as Tensor } from "../src/engine/index.js";
import { LatentkitError } from "../src/io/errors.js";
import { encodePng } from "../src/io/png.js";
import { readNpy } from "../src/io/npy.js";
import { inverseNormalCdf, binCentres } from "../src/viz/invnorm.js";
import { makeGrid, tileGrid, gridSize, writeGrid } from "../src/viz/grid.js";
import { slerp, lerp, sampleGrid, manifoldGrid, pairedRows } from "../src/viz/pictures.js";
import { pca } from "../src/viz/pca.js";
import type { Model, Params } from "../src/models/types.js";
import { modelFamilies } from "../src/models/registry.js";
import { runCli } from "./helpers/cli.js";
import { main } from "../src/cli/main.js";
import { assertClose } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

const tmp = tempDir("latentkit-pictures-");

type Png = { width: number; height: number; channels: number; data: Uint8Array };
function readPngFile(file: string): Png {
  const p = decode(fs.readFileSync(file));
  assert.equal(p.depth, 8, `${file}: 8-bit`);
  return { width: p.width, height: p.height, channels: p.channels, data: p.data as Uint8Array };
}

/** The pixels of cell (r, c) of a grid of h x w cells with 1-pixel borders. */
function cell(img: Png, r: number, c: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * img.channels);
  for (let y = 0; y < h; y++) {
    const start = ((1 + r * (h + 1) + y) * img.width + 1 + c * (w + 1)) * img.channels;
    out.set(img.data.subarray(start, start + w * img.channels), y * w * img.channels);
  }
  return out;
}
const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const spread = (a: Uint8Array) => Math.max(...a) - Math.min(...a);

/** Asserts `fn` throws a one-line LatentkitError containing each part. */
function failsWith(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LatentkitError, `expected a LatentkitError, got ${(e as Error)?.stack}`);
    assert.ok(!e.message.includes("\n"));
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return;
  }
  assert.fail("expected an error");
}

/**
 * The CLI in this process (a child process per call would cost seconds of start-up each): the exit
 * code and what went to stderr. stdout is left alone (the test runner owns it).
 */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `latentkit ${args.join(" ")}: ${r.stderr}`);
  return r.stderr;
}

/** A CLI call that must fail with exit code 1 and one line on stderr containing each part. */
async function cliFails(args: string[], ...parts: string[]): Promise<void> {
  const r = await cli(args);
  assert.equal(r.code, 1, `exit code for ${args.join(" ")}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
  for (const p of parts) assert.ok(lines[0].includes(p), `"${lines[0]}" lacks "${p}"`);
}

// ---- Φ⁻¹ ---------------------------------------------------------------------------------------

/** Φ(b) − Φ(a) = ∫_a^b φ(t) dt by composite Simpson's rule (φ is smooth: error ~1e-15 here). */
function normalMass(a: number, b: number, m = 4000): number {
  const phi = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  const h = (b - a) / m;
  let s = phi(a) + phi(b);
  for (let k = 1; k < m; k++) s += (k % 2 ? 4 : 2) * phi(a + k * h);
  return (s * h) / 3;
}

test("inverseNormalCdf matches tabulated quantiles", () => {
  assert.equal(inverseNormalCdf(0.5), 0);
  assertClose([inverseNormalCdf(0.975)], [1.959963984540054], { rtol: 1e-14, atol: 0 });
  assertClose([inverseNormalCdf(0.8413447460685429)], [1], { rtol: 1e-14, atol: 0 });
  assertClose([inverseNormalCdf(0.001)], [-3.090232306167813], { rtol: 1e-14, atol: 0 });
  assertClose([inverseNormalCdf(1e-10)], [-6.361340902404056], { rtol: 1e-14, atol: 0 });
  assert.equal(inverseNormalCdf(0), -Infinity);
  assert.equal(inverseNormalCdf(1), Infinity);
  assert.ok(Number.isNaN(inverseNormalCdf(-0.1)) && Number.isNaN(inverseNormalCdf(1.5)) && Number.isNaN(inverseNormalCdf(NaN)));
});

test("inverseNormalCdf inverts Φ (numerical integration of the density) in all three regions of AS 241", () => {
  // central |p − ½| ≤ 0.425, tail r ≤ 5, far tail r > 5 (p < e^-25 ≈ 1.4e-11)
  for (const p of [1e-300, 1e-20, 1e-12, 1e-6, 0.001, 0.02, 0.074, 0.0751, 0.2, 0.45, 0.5, 0.61, 0.9, 0.975, 0.999]) {
    const z = inverseNormalCdf(p);
    const lower = p <= 0.5 ? normalMass(Math.min(z - 1, -40), z, 20000) : 1 - normalMass(z, 40, 20000);
    if (p > 1e-280) assertClose([lower], [p], { rtol: 1e-9, atol: 0 }, `Φ(Φ⁻¹(${p}))`);
    // Φ⁻¹(q) = −Φ⁻¹(1 − q), with q = 1 − p rounded and 1 − q exact (Sterbenz)
    const q = 1 - p;
    if (q < 1) assertClose([inverseNormalCdf(q)], [-inverseNormalCdf(1 - q)], { rtol: 1e-12, atol: 1e-15 }, `symmetry at ${p}`);
  }
  // Strictly increasing across the region boundaries.
  const ps = Array.from({ length: 2001 }, (_, k) => 1e-6 + (k / 2000) * (1 - 2e-6));
  for (let k = 1; k < ps.length; k++) assert.ok(inverseNormalCdf(ps[k]) > inverseNormalCdf(ps[k - 1]));
  assert.deepEqual(binCentres(4), [0.125, 0.375, 0.625, 0.875]);
});

// ---- grids -------------------------------------------------------------------------------------

test("tileGrid: cells in row-major order, 1-pixel borders, grey and RGB", () => {
  // 5 grey 2x3 images, 3 columns: 2 rows; image k is filled with k/4.
  const g = makeGrid(Float32Array.from({ length: 5 * 6 }, (_, i) => Math.floor(i / 6) / 4), [5, 1, 2, 3], 3);
  assert.equal(g.rows, 2);
  assert.deepEqual(gridSize(g), { width: 3 * 3 + 4, height: 2 * 2 + 3 });
  const img = tileGrid(g);
  assert.equal(img.channels, 1);
  const at = (x: number, y: number) => img.data[y * img.width + x];
  assert.equal(at(0, 0), 128); // border
  assert.equal(at(1, 1), 0); // image 0
  assert.equal(at(5, 1), 64); // image 1 starts at x = 1 + 3 + 1
  assert.equal(at(1, 4), 191); // image 3 (0.75) opens the second row
  assert.equal(at(5, 5), 255); // image 4
  assert.equal(at(9, 4), 128); // the sixth cell is empty: border grey
  const png = decode(encodePng(img));
  assert.deepEqual([png.width, png.height, png.channels], [13, 7, 1]);

  // RGB: planes [C, H, W] become interleaved pixels; values are clamped to [0, 1].
  const rgb = tileGrid(makeGrid(Float32Array.from([1.5, 0.2, -1]), [1, 3, 1, 1], 1), { border: 2, borderValue: 0 });
  assert.deepEqual([rgb.width, rgb.height, rgb.channels], [5, 5, 3]);
  assert.deepEqual([...rgb.data.subarray((2 * 5 + 2) * 3, (2 * 5 + 3) * 3)], [255, 51, 0]);
  failsWith(() => tileGrid(makeGrid(new Float32Array(2), [1, 2, 1, 1], 1)), "2 channels");
});

test("writeGrid: .png picture, .npy raw float32 [N, C, H, W], anything else refused", () => {
  const images = Float32Array.from({ length: 4 * 3 * 2 * 2 }, (_, i) => (i % 7) / 6);
  const g = makeGrid(images, [4, 3, 2, 2], 2);
  writeGrid(path.join(tmp, "g.png"), g);
  const png = readPngFile(path.join(tmp, "g.png"));
  assert.deepEqual([png.width, png.height, png.channels], [7, 7, 3]);
  writeGrid(path.join(tmp, "g.npy"), g);
  const npy = readNpy(path.join(tmp, "g.npy"));
  assert.deepEqual(npy.shape, [4, 3, 2, 2]);
  assert.ok(npy.data instanceof Float32Array);
  assert.deepEqual([...npy.data], [...images]);
  failsWith(() => writeGrid(path.join(tmp, "g.jpg"), g), "g.jpg", ".png or .npy");
});

test("pairedRows: inputs above their reconstructions, in blocks of `cols`", () => {
  const top = Float32Array.from([1, 2, 3]), bottom = Float32Array.from([-1, -2, -3]);
  const g = pairedRows(top, bottom, [3, 1, 1, 1], 2);
  assert.deepEqual([g.rows, g.cols], [4, 2]);
  assert.deepEqual([...g.images], [1, 2, -1, -2, 3, 0, -3, 0]);
});

// ---- paths and projections ---------------------------------------------------------------------

test("lerp and slerp: endpoints, constant norm on the great circle, straight fallback", () => {
  const a = [3, 0, 0], b = [0, 3, 0];
  assertClose(slerp(a, b, 0), a, { atol: 1e-6 });
  assertClose(slerp(a, b, 1), b, { atol: 1e-6 });
  for (const t of [0.1, 0.5, 0.8]) {
    const z = slerp(a, b, t);
    assertClose([Math.hypot(...z)], [3], { rtol: 1e-6 }, `‖slerp(t=${t})‖`);
    // On the quarter circle from a to b the angle grows linearly: atan2(z1, z0) = t · π/2
    assertClose([Math.atan2(z[1], z[0])], [(t * Math.PI) / 2], { rtol: 1e-6 });
  }
  assertClose(lerp(a, b, 0.5), [1.5, 1.5, 0]);
  assert.ok(Math.hypot(...lerp(a, b, 0.5)) < 3);
  assertClose(slerp([1, 2], [2, 4], 0.5), [1.5, 3]); // parallel: the straight line
  assertClose(slerp([0, 0], [2, 4], 0.5), [1, 2]); // a zero end: the straight line
});

test("pca finds the principal axes of a stretched, rotated cloud", () => {
  // Points with standard deviations 3, 1, 0.1 along the rotated axes u, v, w.
  const c = Math.cos(0.6), s = Math.sin(0.6);
  const u = [c, s, 0], v = [-s, c, 0], w = [0, 0, 1];
  const n = 4000;
  const x = new Float64Array(n * 3);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (let i = 0; i < n; i++) {
    const [a, b, e] = [3 * Math.sqrt(12) * rand(), Math.sqrt(12) * rand(), 0.1 * Math.sqrt(12) * rand()];
    for (let j = 0; j < 3; j++) x[i * 3 + j] = a * u[j] + b * v[j] + e * w[j] + [5, -2, 1][j];
  }
  const p = pca(x, n, 3, 2);
  assertClose([Math.abs(p.components[0].reduce((t, e, j) => t + e * u[j], 0))], [1], { rtol: 1e-3 });
  assertClose([Math.abs(p.components[1].reduce((t, e, j) => t + e * v[j], 0))], [1], { rtol: 1e-3 });
  assertClose(p.variances, [9, 1], { rtol: 0.08 });
  assertClose(p.mean, [5, -2, 1], { atol: 0.15 });
  // Projections are centred coordinates along the components.
  const mean0 = p.projections.filter((_, k) => k % 2 === 0).reduce((t, e) => t + e, 0) / n;
  assertClose([mean0], [0], { atol: 1e-9 });
});

// ---- pictures from models (small stand-in models make the layout exact) -------------------------

/** A stand-in model: images are 1 x 1 x d strips; decode(z) = sigmoid(z); samples are label/10. */
function standIn({ conditional = false, probabilistic = true, d = 2 } = {}): Model {
  const strip = (z: Tensor) => jnn.sigmoid(z).reshape([-1, 1, 1, d]);
  return {
    family: conditional ? "stand-in-cvae" : "stand-in", options: {} as Model["options"],
    info: { imageShape: [1, 1, d], numClasses: conditional ? 4 : null }, codeDim: d, probabilistic, conditional,
    init: () => ({}),
    loss: () => { throw new Error("unused"); },
    encode: (_p: Params, b) => b.x.reshape([-1, d]),
    decode: (_p: Params, z: Tensor, labels?: Tensor) => {
      labels?.dispose();
      return strip(z);
    },
    reconstruct: (_p: Params, b) => b.x,
    reconstructionError: () => { throw new Error("unused"); },
    ...(probabilistic && {
      sample: (_p: Params, key: Tensor, n: number, labels?: Tensor) => {
        key.dispose();
        const l = labels ? labels.astype(np.float32).div(10) : np.zeros([n]);
        return np.broadcastTo(l.reshape([n, 1, 1, 1]), [n, 1, 1, d]);
      },
    }),
  };
}

before(async () => {
  await init();
});

test("manifoldGrid: z_i = Φ⁻¹(u_col) across, z_j = Φ⁻¹(u_row) upwards, the other dimensions at 0", () => {
  const g = 5;
  const grid = manifoldGrid(standIn({ d: 3 }), {}, { grid: g, dims: [2, 0], quantile: (_d, u) => inverseNormalCdf(u) });
  assert.deepEqual([grid.rows, grid.cols, ...grid.shape], [5, 5, 25, 1, 1, 3]);
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  for (let r = 0; r < g; r++)
    for (let c = 0; c < g; c++) {
      const px = grid.images.subarray((r * g + c) * 3, (r * g + c + 1) * 3);
      const want = [sig(inverseNormalCdf((g - 1 - r + 0.5) / g)), 0.5, sig(inverseNormalCdf((c + 0.5) / g))];
      assertClose(px, want, { atol: 1e-6 }, `cell ${r},${c}`);
    }
});

test("sampleGrid: one row per label in the order given; deterministic models and stray labels refused", () => {
  const grid = sampleGrid(standIn({ conditional: true }), {}, { n: 3, seed: 0, labels: [2, 0, 3] });
  assert.deepEqual([grid.rows, grid.cols, grid.shape[0]], [3, 3, 9]);
  assertClose(grid.images, [2, 2, 2, 0, 0, 0, 3, 3, 3].flatMap((l) => [l / 10, l / 10]), { atol: 1e-7 });
  // Without --label a conditional model shows every class.
  assert.equal(sampleGrid(standIn({ conditional: true }), {}, { n: 2, seed: 0 }).rows, 4);
  failsWith(() => sampleGrid(standIn({ conditional: true }), {}, { n: 2, seed: 0, labels: [4] }), "--label 4", "0..3");
  failsWith(() => sampleGrid(standIn(), {}, { n: 2, seed: 0, labels: [1] }), "--label", "not conditional");
  failsWith(() => sampleGrid(standIn({ probabilistic: false }), {}, { n: 2, seed: 0 }), "deterministic", "no prior to sample from");
  // Without labels, n images in a near-square grid.
  const plain = sampleGrid(standIn(), {}, { n: 10, seed: 0 });
  assert.deepEqual([plain.rows, plain.cols], [3, 4]);
});

// ---- the commands on trained runs ----------------------------------------------------------------

const run2 = path.join(tmp, "vae2");
const rgbRun = path.join(tmp, "rgb");
const C28 = 28;

before(async () => {
  // A 2-D latent VAE on sprites (28x28 grey), one epoch: enough to tell cells apart.
  await ok(["train", "--latent", "2", "--epochs", "1", "--out", run2, "--quiet",
    "--set", "evalIsSamples=5", "--set", "evalLimit=200", "--set", "report=false"]);
  assert.ok(fs.existsSync(path.join(run2, "eval.json")));
});

test("manifold --grid 20 on a 2-D latent: a 20x20 grid of 28x28 cells that change across the grid", async () => {
  const out = path.join(tmp, "m20.png");
  await ok(["manifold", run2, "--grid", "20", "--out", out]);
  const img = readPngFile(out);
  assert.deepEqual([img.width, img.height, img.channels], [20 * C28 + 21, 20 * C28 + 21, 1]);
  // Borders are the grey frame; cells are pictures, and far-apart cells differ.
  for (let k = 0; k < img.width; k += 29) assert.equal(img.data[k * img.width + 7], 128);
  const corners = [cell(img, 0, 0, C28, C28), cell(img, 0, 19, C28, C28), cell(img, 19, 0, C28, C28), cell(img, 19, 19, C28, C28)];
  for (const c of corners) assert.ok(spread(c) > 60, `a cell with contrast (spread ${spread(c)})`);
  for (let a = 0; a < 4; a++)
    for (let b = a + 1; b < 4; b++) assert.ok(meanAbsDiff(corners[a], corners[b]) > 2, `corners ${a} and ${b} differ`);
  // Neighbours change less than opposite corners: the decoder is smooth along the grid.
  assert.ok(meanAbsDiff(cell(img, 10, 10, C28, C28), cell(img, 10, 11, C28, C28)) < meanAbsDiff(corners[0], corners[3]));
});

test("a picture command as a user runs it: the path on stdout, RUN/images/ by default; errors in one line", () => {
  const r = runCli(["manifold", run2, "--grid", "3"]);
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(run2, "images", "manifold.png");
  assert.equal(r.stdout.trim(), file);
  assert.equal(readPngFile(file).width, 3 * C28 + 4);
  const bad = runCli(["sample", run2, "--label", "1"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /^latentkit: --label: model vae is not conditional[^\n]*\n$/);
});

test("sample: a PNG grid deterministic for a seed, or raw float32 [N, C, H, W] as .npy", async () => {
  const a = path.join(tmp, "s-a.png"), b = path.join(tmp, "s-b.png"), c = path.join(tmp, "s-c.png"), npy = path.join(tmp, "s.npy");
  for (const [file, seed] of [[a, "3"], [b, "3"], [c, "4"]]) await ok(["sample", run2, "--n", "16", "--seed", seed, "--out", file]);
  const img = readPngFile(a);
  assert.deepEqual([img.width, img.height, img.channels], [4 * C28 + 5, 4 * C28 + 5, 1]);
  assert.deepEqual(fs.readFileSync(a), fs.readFileSync(b), "same seed, same picture");
  assert.notDeepEqual(fs.readFileSync(a), fs.readFileSync(c), "another seed, another picture");
  const cells = Array.from({ length: 16 }, (_, k) => cell(img, Math.floor(k / 4), k % 4, C28, C28));
  assert.ok(cells.every((x) => spread(x) > 30), "no blank sample");
  assert.ok(meanAbsDiff(cells[0], cells[1]) > 1 && meanAbsDiff(cells[5], cells[15]) > 1, "samples differ");

  await ok(["sample", run2, "--n", "5", "--seed", "3", "--out", npy]);
  const arr = readNpy(npy);
  assert.deepEqual(arr.shape, [5, 1, 28, 28]);
  assert.ok(arr.data instanceof Float32Array && arr.data.every((v) => v >= 0 && v <= 1));
  await cliFails(["sample", run2, "--out", path.join(tmp, "s.gif")], "s.gif", ".png or .npy");
});

test("reconstruct: inputs above, their reconstructions below; --input reads other images", async () => {
  const out = path.join(tmp, "r.png");
  await ok(["reconstruct", run2, "--n", "6", "--out", out]);
  const img = readPngFile(out);
  assert.deepEqual([img.width, img.height], [6 * C28 + 7, 2 * C28 + 3]);
  const inputs = Array.from({ length: 6 }, (_, k) => cell(img, 0, k, C28, C28));
  const recons = Array.from({ length: 6 }, (_, k) => cell(img, 1, k, C28, C28));
  assert.ok(inputs.every((x) => x.every((v) => v === 0 || v === 255)), "sprites are binary");
  assert.ok(recons.some((x) => x.some((v) => v !== 0 && v !== 255)), "reconstructions are means, not inputs");
  // Each reconstruction is closer to its own input than to the others, on average.
  let own = 0, other = 0;
  for (let i = 0; i < 6; i++)
    for (let j = 0; j < 6; j++) (i === j ? (own += meanAbsDiff(recons[i], inputs[j]) / 6) : (other += meanAbsDiff(recons[i], inputs[j]) / 30));
  assert.ok(own < other, `own ${own} < other ${other}`);

  // --input: a folder of PNG images of the model's size.
  const folder = path.join(tmp, "inputs");
  fs.mkdirSync(folder);
  for (let k = 0; k < 3; k++) {
    const data = new Uint8Array(C28 * C28);
    for (let y = 6 + 2 * k; y < 20; y++) for (let x = 8; x < 18 + k; x++) data[y * C28 + x] = 255;
    fs.writeFileSync(path.join(folder, `${k}.png`), encodePng({ width: C28, height: C28, channels: 1, data }));
  }
  const npy = path.join(tmp, "r.npy");
  await ok(["reconstruct", run2, "--input", folder, "--out", npy]);
  assert.deepEqual(readNpy(npy).shape, [3, 1, 28, 28]);
  const small = path.join(tmp, "small");
  fs.mkdirSync(small);
  fs.writeFileSync(path.join(small, "a.png"), encodePng({ width: 8, height: 8, channels: 1, data: new Uint8Array(64) }));
  await cliFails(["reconstruct", run2, "--input", small], small, "1x8x8", "1x28x28");
});

test("traverse: one row per latent dimension, most KL first; each row changes along the sweep", async () => {
  const out = path.join(tmp, "t.png");
  await ok(["traverse", run2, "--steps", "7", "--out", out]);
  const img = readPngFile(out);
  assert.deepEqual([img.width, img.height], [7 * C28 + 8, 2 * C28 + 3]);
  for (let r = 0; r < 2; r++) {
    assert.ok(meanAbsDiff(cell(img, r, 0, C28, C28), cell(img, r, 6, C28, C28)) > 2, `row ${r} changes`);
    assert.ok(spread(cell(img, r, 3, C28, C28)) > 30);
  }
  const zero = path.join(tmp, "t0.png");
  await ok(["traverse", run2, "--steps", "7", "--zero", "--out", zero]);
  assert.notDeepEqual(fs.readFileSync(zero), fs.readFileSync(out), "fixed at 0 vs at an example's mean");
});

test("interpolate: real ends, decoded paths between them; spherical paths differ from straight ones", async () => {
  const lin = path.join(tmp, "i.png"), sph = path.join(tmp, "is.png");
  await ok(["interpolate", run2, "--pairs", "3", "--steps", "5", "--out", lin]);
  await ok(["interpolate", run2, "--pairs", "3", "--steps", "5", "--spherical", "--out", sph]);
  const a = readPngFile(lin), b = readPngFile(sph);
  assert.deepEqual([a.width, a.height], [7 * C28 + 8, 3 * C28 + 4]);
  for (let r = 0; r < 3; r++) {
    for (const c of [0, 6]) assert.ok(cell(a, r, c, C28, C28).every((v) => v === 0 || v === 255), "the ends are the inputs");
    assert.ok(meanAbsDiff(cell(a, r, 1, C28, C28), cell(a, r, 5, C28, C28)) > 1, `row ${r}: the path moves`);
    assert.deepEqual(cell(a, r, 1, C28, C28), cell(b, r, 1, C28, C28), "both paths start at the same code");
  }
  const middle = [0, 1, 2].reduce((s, r) => s + meanAbsDiff(cell(a, r, 3, C28, C28), cell(b, r, 3, C28, C28)), 0);
  assert.ok(middle > 0.1, `slerp and lerp differ mid-path (${middle})`);
});

test("picture commands fail with one line on bad input", async () => {
  await cliFails(["manifold", run2, "--dims", "0,0"], "--dims 0,0");
  await cliFails(["manifold", run2, "--dims", "0,2"], "--dims 0,2", "0..1");
  await cliFails(["manifold", path.join(tmp, "nope")], "nope", "no such run folder");
  await cliFails(["traverse", run2, "--example", "99999"], "--example 99999");
  await cliFails(["reconstruct", run2, "--split", "dev"], "--split dev");
  const r = await cli(["sample", run2, "--n", "0"]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes("--n"));
});

test("RGB images of any size: a labelled PNG folder, grids in colour, manifold over the top-2 KL dimensions", async () => {
  const folder = path.join(tmp, "rgb-data");
  const [H, W] = [12, 10];
  for (const [label, color] of [["red", [255, 40, 40]], ["blue", [40, 40, 255]]] as const) {
    fs.mkdirSync(path.join(folder, label), { recursive: true });
    for (let k = 0; k < 60; k++) {
      const data = new Uint8Array(H * W * 3);
      const [x0, y0] = [k % 6, Math.floor(k / 6) % 8];
      for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) data.set(color, (y * W + x) * 3);
      fs.writeFileSync(path.join(folder, label, `${k}.png`), encodePng({ width: W, height: H, channels: 3, data }));
    }
  }
  await ok(["train", "--dataset", folder, "--latent", "3", "--epochs", "2", "--batch-size", "20", "--out", rgbRun,
    "--quiet", "--set", "hidden=32", "--set", "evalIsSamples=5"]);
  // train wrote the run's pictures and report.
  for (const f of ["samples.png", "reconstructions.png", "manifold.png", "traversal.png", "interpolation.png", "curves.svg", "latent.svg", "kl.svg"]) {
    assert.ok(fs.existsSync(path.join(rgbRun, "images", f)), `images/${f}`);
  }
  assert.ok(fs.existsSync(path.join(rgbRun, "report.html")));
  const s = readPngFile(path.join(rgbRun, "images", "samples.png"));
  assert.deepEqual([s.width, s.height, s.channels], [8 * W + 9, 8 * H + 9, 3]);
  const note = await ok(["manifold", rgbRun, "--grid", "4"]);
  const kl = JSON.parse(fs.readFileSync(path.join(rgbRun, "eval.json"), "utf8")).kl_per_dim as number[];
  const top2 = [0, 1, 2].sort((a, b) => kl[b] - kl[a]).slice(0, 2).join(",");
  assert.ok(note.includes(`latent dimensions ${top2} (the two with the most KL)`), `"${note}" names ${top2}`);
  const img = readPngFile(path.join(rgbRun, "images", "manifold.png"));
  assert.deepEqual([img.width, img.height, img.channels], [4 * W + 5, 4 * H + 5, 3]);
  const c0 = cell(img, 0, 0, H, W), c1 = cell(img, 3, 3, H, W);
  assert.ok(spread(c0) > 20 && meanAbsDiff(c0, c1) > 1);
});

// ---- other model kinds (where their families are registered) ---------------------------------------

const has = (family: string) => modelFamilies.some((f) => f.name === family);

test("a conditional VAE: sample --label gives one row per label, in label order, also as .npy", { skip: !has("cvae") && "model cvae is not registered" }, async () => {
  const run = path.join(tmp, "cvae");
  await ok(["train", "--model", "cvae", "--latent", "2", "--epochs", "1", "--batch-size", "256", "--out", run, "--quiet",
    "--set", "evalIsSamples=0", "--set", "evalLimit=100", "--set", "report=false"]);
  const out = path.join(tmp, "cs.png"), npy = path.join(tmp, "cs.npy");
  await ok(["sample", run, "--label", "2,0", "--n", "3", "--out", out]);
  const img = readPngFile(out);
  assert.deepEqual([img.width, img.height], [3 * C28 + 4, 2 * C28 + 3]);
  await ok(["sample", run, "--label", "2,0", "--n", "3", "--out", npy]);
  const arr = readNpy(npy);
  assert.deepEqual(arr.shape, [6, 1, 28, 28]);
  // Row r of the PNG is label[r]: the .npy's images 0..2 are label 2, 3..5 label 0 (same seed, same draws).
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let k = 0; k < 6; k++) {
    const png = cell(img, Math.floor(k / 3), k % 3, C28, C28);
    const raw = arr.data.subarray(k * 784, (k + 1) * 784);
    assert.ok(png.every((v, i) => Math.abs(v - byte(raw[i])) <= 1), `cell ${k} is image ${k}`);
  }
  const rowMean = (r: number) => [0, 1, 2].map((c) => cell(img, r, c, C28, C28)).reduce((s, x) => s + x.reduce((a, b) => a + b, 0), 0);
  assert.notEqual(rowMean(0), rowMean(1), "labels change the samples");
  await cliFails(["sample", run, "--label", "7"], "--label 7", "0..3");
  await ok(["manifold", run, "--grid", "4", "--label", "3", "--out", path.join(tmp, "cm.png")]);
  await cliFails(["manifold", run, "--label", "9"], "--label 9");
});

test("a deterministic autoencoder: no samples; its manifold spans the quantiles of its codes", { skip: !has("ae") && "model ae is not registered" }, async () => {
  const run = path.join(tmp, "ae");
  await ok(["train", "--model", "ae", "--latent", "2", "--epochs", "1", "--batch-size", "256", "--out", run, "--quiet",
    "--set", "evalIsSamples=0", "--set", "evalLimit=100", "--set", "report=false"]);
  await cliFails(["sample", run], "deterministic", "no prior to sample from");
  const out = path.join(tmp, "am.png");
  await ok(["manifold", run, "--grid", "6", "--out", out]);
  const img = readPngFile(out);
  assert.equal(img.width, 6 * C28 + 7);
  assert.ok(meanAbsDiff(cell(img, 0, 0, C28, C28), cell(img, 5, 5, C28, C28)) > 1);
  await ok(["traverse", run, "--steps", "5", "--out", path.join(tmp, "at.png")]);
  assert.equal(readPngFile(path.join(tmp, "at.png")).height, 2 * C28 + 3);
});
