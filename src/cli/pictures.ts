// latentkit sample | reconstruct | manifold | traverse | interpolate RUN: the pictures of the seeds
// as commands. Each writes a PNG grid (default RUN/images/<name>.png), or with an .npy path the
// images as float32 [N, C, H, W] in [0, 1], and prints the path it wrote.
import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { loadDataset } from "../data/registry.js";
import { sliceSplit, type Split, type SplitName } from "../data/dataset.js";
import { loadModel } from "../api/node.js";
import { splitImages } from "./encode.js";
import { openRun, loadRunData, type OpenRun } from "../train/run.js";
import { disposeTree } from "../engine/index.js";
import { writeGrid, type Grid } from "../viz/grid.js";
import {
  samplesPicture, reconstructionsPicture, manifoldPicture, traversalPicture, interpolationPicture, parseDims,
} from "../viz/run-pictures.js";
import { intOption, numberOption, say, note } from "./common.js";

/** Opens the run, draws, writes, prints the path; the parameters are freed whatever happens. */
async function withRun(runDir: string, out: string | undefined, name: string, draw: (run: OpenRun) => Promise<Grid> | Grid): Promise<void> {
  const run = await openRun(runDir);
  try {
    const grid = await draw(run);
    const file = out ?? join(runDir, "images", `${name}.png`);
    mkdirSync(dirname(file), { recursive: true });
    writeGrid(file, grid);
    say(file);
  } finally {
    disposeTree(run.params);
  }
}

/** The run's test split (else valid), or undefined with a note when `optional` and it is missing. */
async function runSplit(run: OpenRun, name: SplitName = "test", optional = false): Promise<Split | undefined> {
  let data;
  try {
    data = await loadRunData(run.config, [name]);
    // Path data sets have no test split: their valid split (carved from train) stands in.
    if (name === "test" && !data.splits.test) data = await loadRunData(run.config, ["valid"]);
  } catch (e) {
    if (optional && e instanceof LatentkitError) {
      note(`note: the run's data set is not available (${e.message})`);
      return undefined;
    }
    throw e;
  }
  const split = data.splits[name] ?? (name === "test" ? data.splits.valid : undefined);
  if (split) return split;
  const why = `data set ${data.name} has no ${name} split${data.missing?.length ? ` (missing: ${data.missing.join(", ")})` : ""}`;
  if (optional) {
    note(`note: ${why}`);
    return undefined;
  }
  throw new LatentkitError(why);
}

/** The most images one picture command writes: 10,000 in a PNG grid; for .npy, 1 GiB of float32. */
const MAX_GRID_IMAGES = 10_000;
const MAX_NPY_BYTES = 2 ** 30;

/** Refuses, before any work, a picture of `count` images that is larger than the bounds above. */
function boundImages(flag: string, count: number, run: OpenRun, out: string | undefined): void {
  const [c, h, w] = run.model.info.imageShape;
  const npy = out?.toLowerCase().endsWith(".npy") ?? false;
  const most = npy ? Math.floor(MAX_NPY_BYTES / (4 * c * h * w)) : MAX_GRID_IMAGES;
  if (count > most) {
    throw new LatentkitError(`${flag}: ${count} images is more than one ${npy ? ".npy" : "PNG grid"} holds here (at most ${most}${npy ? `, 1 GiB of ${c}x${h}x${w} float32` : ""}); ask for fewer`);
  }
}

function parseLabels(spec: string): number[] {
  const parts = spec.split(",").map((s) => s.trim());
  if (!parts.every((s) => /^\d+$/.test(s))) throw new LatentkitError(`--label ${spec}: expected class numbers such as 3 or 0,1,2`);
  return parts.map(Number);
}

const positive = (what: string) => intOption(what, 1);

export function registerPictures(program: Command): void {
  program
    .command("sample <run>")
    .description("decode draws from the prior (conditional models: one row per --label)")
    .option("--n <n>", "images (per label for conditional models; default 64, or 10 per label)", positive("--n"))
    .option("--label <l,...>", "class labels, one row each (conditional models)")
    .option("--out <file>", "a .png grid or a .npy of float32 [N, C, H, W] (default RUN/images/samples.png)")
    .option("--seed <n>", "random seed", intOption("--seed", 0), 0)
    .action((runDir: string, f: { n?: number; label?: string; out?: string; seed: number }) =>
      withRun(runDir, f.out, "samples", (run) => {
        const labels = f.label === undefined ? undefined : parseLabels(f.label);
        boundImages("--n", (f.n ?? (run.model.conditional ? 10 : 64)) * (labels?.length ?? 1), run, f.out);
        return samplesPicture(run, { n: f.n, labels, seed: f.seed });
      }));

  program
    .command("reconstruct <run>")
    .description("examples (above) and their reconstructions (below)")
    .option("--n <n>", "examples, spread evenly over the split (default 10); with --input and an .npy --out, the first N inputs (default all)", positive("--n"))
    .option("--split <name>", "train, valid or test", "test")
    .option("--input <path>", "reconstruct these images instead (a data set path: PNG folder, .npy, .csv, IDX)")
    .option("--out <file>", "a .png grid, or a .npy of the reconstructions (default RUN/images/reconstructions.png)")
    .action((runDir: string, f: { n?: number; split: string; input?: string; out?: string }) =>
      withRun(runDir, f.out, "reconstructions", async (run) => {
        if (!["train", "valid", "test"].includes(f.split)) throw new LatentkitError(`--split ${f.split}: must be train, valid or test`);
        let split: Split | undefined;
        let what = `--split ${f.split}`;
        if (f.input !== undefined) {
          const ds = await loadDataset(f.input);
          split = ds.splits.train ?? ds.splits.test;
          what = f.input;
          if (!split) throw new LatentkitError(`${f.input}: no images`);
        } else {
          split = await runSplit(run, f.split as SplitName);
        }
        if (f.input !== undefined && f.out?.toLowerCase().endsWith(".npy")) {
          // A file of inputs to an .npy: every input (or the first --n), in order, as encode does.
          const n = Math.min(f.n ?? split!.n, split!.n);
          boundImages("--n", n, run, f.out);
          using model = await loadModel(runDir);
          const x = splitImages(sliceSplit(split!, 0, n));
          const recon = await model.reconstruct(x, { labels: split!.labels?.subarray(0, n) });
          return { images: recon.data, shape: recon.shape, rows: n, cols: 1 };
        }
        boundImages("--n", 2 * (f.n ?? 10), run, f.out);
        const { grid, reconstructions } = reconstructionsPicture(run, split!, { n: f.n, what });
        return f.out?.toLowerCase().endsWith(".npy") ? reconstructions : grid;
      }));

  program
    .command("manifold <run>")
    .description("decode a grid over two latent dimensions through the inverse Gaussian CDF (Kingma & Welling, fig. 4)")
    .option("--grid <n>", "points per side", intOption("--grid", 2), 20)
    .option("--dims <i,j>", "the two latent dimensions (default 0,1 for a 2-D latent, else the two with the most KL)")
    .option("--label <l>", "class label to decode with (conditional models)", intOption("--label", 0))
    .option("--out <file>", "a .png grid (default RUN/images/manifold.png)")
    .action((runDir: string, f: { grid: number; dims?: string; label?: number; out?: string }) =>
      withRun(runDir, f.out, "manifold", async (run) => {
        if (f.grid > 200) throw new LatentkitError(`--grid ${f.grid}: at most 200 points per side`);
        const dims = f.dims === undefined ? undefined : parseDims(f.dims, run.model.codeDim);
        const needsData = !run.model.probabilistic || (dims === undefined && run.model.codeDim > 2);
        const split = needsData ? await runSplit(run, "test", run.model.probabilistic) : undefined;
        const { grid, dims: used } = manifoldPicture(run, { grid: f.grid, dims, label: f.label, split });
        if (!dims && run.model.codeDim > 2) note(`manifold over latent dimensions ${used.join(",")} (the two with the most KL); the others at 0`);
        return grid;
      }));

  program
    .command("traverse <run>")
    .description("sweep each latent dimension (most KL first) with the others fixed")
    .option("--steps <n>", "values per dimension", positive("--steps"), 10)
    .option("--max-dims <n>", "dimensions shown (the most informative first)", positive("--max-dims"), 10)
    .option("--range <x>", "sweep z from -x to x (models with a N(0, I) prior)", numberOption("--range", { positive: true }), 3)
    .option("--example <i>", "fix the other dimensions at the posterior mean of this test example", intOption("--example", 0), 0)
    .option("--zero", "fix the other dimensions at 0 instead")
    .option("--out <file>", "a .png grid (default RUN/images/traversal.png)")
    .action((runDir: string, f: { steps: number; maxDims: number; range: number; example: number; zero?: boolean; out?: string }) =>
      withRun(runDir, f.out, "traversal", async (run) => {
        boundImages("--steps x --max-dims", f.steps * f.maxDims, run, f.out);
        const split = await runSplit(run, "test", Boolean(f.zero) && run.model.probabilistic);
        return traversalPicture(run, { split, steps: f.steps, maxDims: f.maxDims, example: f.example, zero: f.zero, range: f.range }).grid;
      }));

  program
    .command("interpolate <run>")
    .description("decode paths between the latent codes of pairs of test examples")
    .option("--pairs <n>", "pairs (rows)", positive("--pairs"), 6)
    .option("--steps <n>", "decoded points per path", intOption("--steps", 2), 10)
    .option("--spherical", "spherical (slerp) instead of linear paths")
    .option("--seed <n>", "which examples are paired", intOption("--seed", 0), 0)
    .option("--out <file>", "a .png grid (default RUN/images/interpolation.png)")
    .action((runDir: string, f: { pairs: number; steps: number; spherical?: boolean; seed: number; out?: string }) =>
      withRun(runDir, f.out, "interpolation", async (run) => {
        boundImages("--pairs x --steps", f.pairs * f.steps, run, f.out);
        return interpolationPicture(run, (await runSplit(run, "test"))!, { pairs: f.pairs, steps: f.steps, spherical: f.spherical, seed: f.seed });
      }));
}
