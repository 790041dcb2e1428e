// Denoising autoencoders against a plain AE of the same size and budget (docs/results-ae.md): each
// is trained for the same epochs on the same data, then fed corrupted test images x̃ and scored on
// how close g(f(x̃)) is to the CLEAN x:  Σ_pixels (x − g(f(x̃)))² per image, averaged over the test set.
//
//   npx tsx bench/denoising.ts                    # fashion-mnist, 784-400-20, 5 epochs each
//   npx tsx bench/denoising.ts --epochs 5 --out /tmp/denoising
//
// Models: ae; dae with masking noise (30% of the inputs set to 0 at training); dae with additive
// Gaussian noise (σ = 0.3). Test corruptions (a fixed JS PRNG, the same for every model): none,
// masking 25% and 50%, Gaussian σ = 0.3 and 0.5. Runs go to OUT/<model> and are reused.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latentkit } from "./cli.js";
import { openRun } from "../src/train/run.js";
import { loadDataset } from "../src/data/registry.js";
import { fromData, toData, disposeTree } from "../src/engine/index.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const EPOCHS = opt("--epochs", "5");
const OUT = opt("--out", "/tmp/latentkit-denoising");
const ARCH = ["--set", "hidden=400", "--latent", "20", "--set", "likelihood=bernoulli"];
const MODELS: [string, string[]][] = [
  ["ae", ["--model", "ae"]],
  ["dae-mask-0.3", ["--model", "dae", "--set", "noise=mask", "--set", "noiseLevel=0.3"]],
  ["dae-gaussian-0.3", ["--model", "dae", "--set", "noise=gaussian", "--set", "noiseLevel=0.3"]],
];

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (u: () => number) => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());

const test = (await loadDataset("fashion-mnist", { splits: ["test"] })).splits.test!;
const n = test.n, D = 784;
const clean = test.batch(Array.from({ length: n }, (_, i) => i));
const corruptions: Record<string, Float32Array> = {
  none: clean,
  "mask 25%": (() => { const u = rng(1); return clean.map((v) => (u() < 0.25 ? 0 : v)); })(),
  "mask 50%": (() => { const u = rng(2); return clean.map((v) => (u() < 0.5 ? 0 : v)); })(),
  "gaussian σ=0.3": (() => { const u = rng(3); return clean.map((v) => v + 0.3 * gauss(u)); })(),
  "gaussian σ=0.5": (() => { const u = rng(4); return clean.map((v) => v + 0.5 * gauss(u)); })(),
};

mkdirSync(OUT, { recursive: true });
const results: Record<string, Record<string, number>> = {};
for (const [name, flags] of MODELS) {
  const run = join(OUT, name);
  if (!existsSync(join(run, "eval.json"))) {
    await latentkit(["train", ...flags, ...ARCH, "--dataset", "fashion-mnist", "--epochs", EPOCHS,
      "--set", "report=false", "--set", "evalLimit=1000", "--out", run, "--quiet"]);
  }
  const r = await openRun(run);
  results[name] = {};
  for (const [what, x] of Object.entries(corruptions)) {
    let sum = 0;
    for (let s = 0; s < n; s += 500) {
      const e = Math.min(n, s + 500);
      const xr = toData(r.model.reconstruct(r.params, { x: fromData(x.subarray(s * D, e * D), [e - s, 1, 28, 28]) }));
      for (let i = 0; i < xr.length; i++) sum += (xr[i] - clean[s * D + i]) ** 2;
    }
    results[name][what] = sum / n;
  }
  disposeTree(r.params);
  process.stderr.write(`${name}: ${JSON.stringify(results[name])}\n`);
}
writeFileSync(join(OUT, "denoising.json"), JSON.stringify({ epochs: Number(EPOCHS), results }, null, 2) + "\n");
const cols = Object.keys(corruptions);
process.stdout.write([
  `| model (${EPOCHS} epochs, 784-400-20) | ${cols.map((c) => `input ${c}`).join(" | ")} |`,
  `|---|${cols.map(() => "---").join("|")}|`,
  ...MODELS.map(([name]) => `| ${name} | ${cols.map((c) => results[name][c].toFixed(2)).join(" | ")} |`),
].join("\n") + "\n");
