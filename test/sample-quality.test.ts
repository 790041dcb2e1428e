// Sample quality (src/eval/sample-quality.ts): the matrix square root against a float64 reference,
// the Fréchet distance on Gaussians with a closed form, FID of a set against itself and against
// shifted copies, and precision/recall on sets with a known answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sqrtmSymmetric, symmetricEigen, frechetDistance, precisionRecall, meanAndCovariance } from "../src/eval/sample-quality.js";
import { init } from "../src/engine/index.js";
import { seededRandom } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

await init();
const rand = seededRandom(21);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** A random symmetric positive definite d x d matrix M Mᵀ + 0.1 I. */
function spd(d: number): Float64Array {
  const m = Float64Array.from({ length: d * d }, gaussian);
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = i === j ? 0.1 : 0;
    for (let k = 0; k < d; k++) s += m[i * d + k] * m[j * d + k];
    out[i * d + j] = s;
  }
  return out;
}

test("sqrtmSymmetric: its square is the matrix (float64), and the eigenvectors are orthonormal", () => {
  for (const d of [1, 3, 12, 40]) {
    const a = spd(d);
    const r = sqrtmSymmetric(a, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += r[i * d + k] * r[k * d + j];
      assert.ok(Math.abs(s - a[i * d + j]) < 1e-9 * (1 + Math.abs(a[i * d + j])), `d=${d} [${i},${j}]: ${s} vs ${a[i * d + j]}`);
      assert.ok(Math.abs(r[i * d + j] - r[j * d + i]) < 1e-12, "symmetric");
    }
    const { vectors } = symmetricEigen(a, d);
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[k * d + p] * vectors[k * d + q];
      assert.ok(Math.abs(s - (p === q ? 1 : 0)) < 1e-10);
    }
  }
});

/** n rows of d features from N(shift, diag(scale²)). */
function sample(n: number, d: number, shift = 0, scale = 1): Float32Array {
  return Float32Array.from({ length: n * d }, () => shift + scale * gaussian());
}

test("Fréchet distance: 0 for a set against itself, ‖Δμ‖² + d(σ₁ − σ₂)² for isotropic Gaussians", () => {
  const d = 8, n = 20000;
  const x = sample(n, d);
  assert.ok(frechetDistance(x, n, x, n) < 1e-8);
  // N(0, I) vs N(μ, 4I): ‖μ‖² + d (1 − 2)² = d·0.25 + d with μ = 0.5 in every coordinate
  const y = sample(n, d, 0.5, 2);
  const fid = frechetDistance(x, n, y, n);
  assert.ok(Math.abs(fid - (d * 0.25 + d)) < 0.3, `${fid} vs ${d * 1.25}`);
  // the covariance estimate is the sample covariance
  const { cov } = meanAndCovariance(y, n);
  assert.ok(Math.abs(cov[0] - 4) < 0.2);
});

test("FID grows monotonically with the shift of a copy", () => {
  const d = 16, n = 3000;
  const x = sample(n, d);
  const fids = [0, 0.1, 0.3, 0.6, 1].map((s) => frechetDistance(x, n, Float32Array.from(x, (v, i) => v + s * (i % 2 ? 1 : -0.5)), n));
  assert.ok(fids[0] < 1e-8);
  for (let i = 1; i < fids.length; i++) assert.ok(fids[i] > fids[i - 1], `shifts: ${fids}`);
});

test("precision and recall: the same set scores 1 and 1; far away 0 and 0; half the real set covered 1 and ~0.5", () => {
  const d = 4, n = 600;
  const real = sample(n, d);
  assert.deepEqual(precisionRecall(real, n, real, n), { precision: 1, recall: 1 });
  const far = sample(n, d, 100);
  assert.deepEqual(precisionRecall(far, n, real, n), { precision: 0, recall: 0 });
  // generated = the real points with a positive first feature: all inside the real manifold, covering half of it
  const half = [...Array(n).keys()].filter((i) => real[i * d] > 0);
  const gen = Float32Array.from(half.flatMap((i) => Array.from(real.subarray(i * d, (i + 1) * d))));
  const pr = precisionRecall(gen, half.length, real, n);
  assert.equal(pr.precision, 1);
  assert.ok(pr.recall > 0.4 && pr.recall < 0.7, `recall ${pr.recall}`);
});

test("eval --sample-quality --json: FID, precision, recall, samples and what the features are; the feature classifier is trained once and cached", async () => {
  const { readdirSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { train } = await import("../src/index.js");
  const { runCli } = await import("./helpers/cli.js");
  const dir = tempDir("lk-quality-");
  (await train({ model: "vae", dataset: "sprites", epochs: 1, latent: 4, seed: 1, set: { evalIsSamples: 0, report: false }, out: join(dir, "run") })).model.dispose();
  const env = { XDG_CACHE_HOME: join(dir, "cache") };
  const args = ["eval", join(dir, "run"), "--sample-quality", "--samples", "300", "--limit", "300", "--is-samples", "0", "--json"];
  const first = runCli(args, env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /training the feature classifier of sprites \(once; cached in/);
  const q = JSON.parse(first.stdout).sample_quality;
  assert.deepEqual(Object.keys(q), ["fid", "precision", "recall", "samples", "features"]);
  assert.equal(q.samples, 300);
  assert.ok(q.fid > 0 && q.precision >= 0 && q.precision <= 1 && q.recall >= 0 && q.recall <= 1, JSON.stringify(q));
  assert.match(q.features, /not Inception FID/);
  assert.equal(readdirSync(join(dir, "cache", "latentkit", "features")).length, 1);
  const second = runCli(args, env);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /training the feature classifier/);
  assert.deepEqual(JSON.parse(second.stdout).sample_quality, q, "the cached classifier gives the same numbers");
  // Kept for the run's report, with what it was measured on; the report shows it.
  const { readFileSync } = await import("node:fs");
  const kept = JSON.parse(readFileSync(join(dir, "run", "measures.json"), "utf8")).sample_quality;
  assert.deepEqual({ ...kept, split: undefined, n: undefined, checkpoint: undefined }, { ...q, split: undefined, n: undefined, checkpoint: undefined });
  assert.deepEqual([kept.split, kept.n, kept.checkpoint], ["test", 300, "last"]);
  const report = runCli(["report", join(dir, "run")]);
  assert.equal(report.code, 0, report.stderr);
  const html = readFileSync(join(dir, "run", "report.html"), "utf8");
  assert.match(html, /Sample quality and disentanglement/);
  // (the report writes numbers of 100 and over with 2 decimals, smaller ones with 4)
  assert.ok(html.includes(q.fid.toFixed(Math.abs(q.fid) >= 100 ? 2 : 4)), `the FID ${q.fid} is in the report`);
  const ae = runCli(["train", "--model", "ae", "--epochs", "1", "--set", "report=false", "--set", "evalIsSamples=0", "--out", join(dir, "ae"), "--quiet"]);
  assert.equal(ae.code, 0, ae.stderr);
  const bad = runCli(["eval", join(dir, "ae"), "--sample-quality", "--samples", "100"], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /model ae: has no prior to sample from/);
});

test("binarized-mnist has no labels: its feature classifier trains on MNIST's labelled images, thresholded, and reports its accuracy on held-out ones",
  { skip: (await import("./helpers/data.js")).needsData("binarized-mnist", "mnist") }, async () => {
    await init();
    const { join } = await import("node:path");
    const { featureClassifier } = await import("../src/api/sample-quality.js");
    const { loadDatasetSync } = await import("../src/data/registry.js");
    const { DATA_DIR } = await import("./helpers/data.js");
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = tempDir("lk-standin-");
    try {
      const data = loadDatasetSync("binarized-mnist", { dataDir: DATA_DIR, splits: ["test"] });
      const lines: string[] = [];
      const { description } = featureClassifier(data, (l) => lines.push(l), DATA_DIR);
      assert.match(lines.join("\n"), /on the first 8000 mnist test images thresholded at 0\.5/);
      const accuracy = Number(/test accuracy ([0-9.]+)/.exec(description)![1]);
      assert.ok(accuracy > 0.9, `held-out accuracy of the stand-in classifier: ${accuracy}`);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
    }
  });
