// latentkit encode RUN --input PATH --out FILE(.csv|.npy): the code of every input, in input order
// (model.encode: f(x) for an autoencoder, the posterior mean E_q[z|x] for a VAE), batch by batch.
import type { Command } from "commander";
import { extname } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { writeNpy } from "../io/npy.js";
import { loadDataset, DATASET_NAMES } from "../data/registry.js";
import { requireSplit, type Split, type SplitName } from "../data/dataset.js";
import { openRun, type OpenRun } from "../train/run.js";
import { disposeTree } from "../engine/index.js";
import { loadModel } from "../api/node.js";
import type { Images } from "../api/images.js";
import { intOption, say } from "./common.js";
import { defaultWorkers, encodeInWorkers, PARALLEL_ENCODE_FLOPS } from "../api/evaluate.js";
import { countFlops } from "../engine/flops.js";
import { np, refTree, type Array } from "../engine/index.js";
import type { Params } from "../models/types.js";

/** The encoder's FLOPs per example (matrix products and convolutions of one traced encode). */
function encoderFlops(run: OpenRun): number {
  const [c, h, w] = run.config.data.imageShape;
  const x = np.zeros([1, c, h, w]);
  return run.model.conditional
    ? countFlops((p: Params, xs: Array, y: Array) => run.model.encode(p, { x: xs, labels: y }), refTree(run.params), x, np.zeros([1], { dtype: np.int32 }))
    : countFlops((p: Params, xs: Array) => run.model.encode(p, { x: xs }), refTree(run.params), x);
}

export type InputFlags = { input: string; split?: string; dataDir?: string };

/**
 * The examples a command reads: a path (IDX, .csv, .npy, PNG folder: all of it), or a named data set
 * and its `--split` (default test). Their image shape must be the run's.
 */
export async function readRunInput(run: OpenRun, flags: InputFlags): Promise<Split> {
  let split: Split;
  if (DATASET_NAMES.includes(flags.input)) {
    const name = (flags.split ?? "test") as SplitName;
    if (!["train", "valid", "test"].includes(name)) throw new LatentkitError(`--split ${flags.split}: must be train, valid or test`);
    const data = await loadDataset(flags.input, { dataDir: flags.dataDir ?? run.config.dataDir ?? undefined, download: true, carveValid: true, splits: [name] });
    split = requireSplit(data, name);
  } else {
    if (flags.split !== undefined) throw new LatentkitError(`--split ${flags.split}: only for a named data set input (${DATASET_NAMES.join(", ")}); a file is read whole`);
    split = requireSplit(await loadDataset(flags.input), "train");
  }
  const want = run.config.data.imageShape;
  const got = split.imageShape;
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new LatentkitError(`${flags.input}: images of shape [${got.join(", ")}] do not match the model's [${want.join(", ")}] (run ${run.dir})`);
  }
  if (run.model.conditional && !split.labels) {
    throw new LatentkitError(`${flags.input}: has no labels, and model ${run.model.family} is conditional (it needs one per example)`);
  }
  return split;
}

/** The output format from the file name, checked before any work. */
export function outFormat(file: string, allowed: string[]): string {
  const ext = extname(file).toLowerCase();
  if (!allowed.includes(ext)) throw new LatentkitError(`--out ${file}: must end in ${allowed.join(" or ")}`);
  return ext;
}

/** The shortest decimal that reads back as the same float32. */
export function float32Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === Math.fround(v)) return String(Number(s));
  }
  return String(Math.fround(v));
}

/** A CSV with a header row, written atomically, one row at a time. */
export function writeCsv(file: string, header: string[], rows: number, cell: (row: number, col: number) => string): void {
  writeFileAtomic(file, (write) => {
    write(header.join(",") + "\n");
    for (let r = 0; r < rows; r++) {
      const cells = new globalThis.Array<string>(header.length);
      for (let c = 0; c < header.length; c++) cells[c] = cell(r, c);
      write(cells.join(",") + "\n");
    }
  });
}

/** The examples of a split as the library's Images (values in [0, 1]). */
export function splitImages(split: Split): Images {
  const data = Float32Array.from(split.pixels, (v) => v * split.scale);
  return { data, shape: [split.n, ...split.imageShape] };
}

type EncodeFlags = InputFlags & { out: string; batchSize: number; best?: boolean; workers?: number };

export async function encodeCommand(runDir: string, flags: EncodeFlags): Promise<void> {
  const format = outFormat(flags.out, [".csv", ".npy"]);
  const run = await openRun(runDir, flags.best ? "best" : "last");
  const perExample = encoderFlops(run);
  disposeTree(run.params); // the configuration and model shape are what readRunInput needs
  using model = await loadModel(runDir, { checkpoint: flags.best ? "best" : "last" });
  {
    const split = await readRunInput(run, flags);
    // Shards over worker threads (each its own engine): --workers N, by default every core for many examples.
    const workers = flags.workers ?? (split.n * perExample >= PARALLEL_ENCODE_FLOPS ? defaultWorkers() : 1);
    const images = splitImages(split);
    const codes = workers > 1
      ? await encodeInWorkers({ runDir, which: flags.best ? "best" : "last" }, images, { labels: split.labels, batchSize: flags.batchSize }, workers)
      : (await model.encode(images, { labels: split.labels, batchSize: flags.batchSize })).data;
    const d = model.codeDim;
    if (format === ".npy") {
      writeNpy(flags.out, { shape: [split.n, d], data: codes });
    } else {
      const labels = split.labels;
      const header = ["index", ...(labels ? ["label"] : []), ...globalThis.Array.from({ length: d }, (_, j) => `z${j}`)];
      const first = labels ? 2 : 1;
      writeCsv(flags.out, header, split.n, (r, c) =>
        c === 0 ? String(r) : labels && c === 1 ? String(labels[r]) : float32Text(codes[r * d + c - first]));
    }
    say(`${flags.out}: ${split.n} codes of ${d} dimensions`);
  }
}

export function registerEncode(program: Command): void {
  program
    .command("encode <run>")
    .description("write the code of every input (an AE's f(x), a VAE's posterior mean) to .csv or .npy, in input order")
    .requiredOption("--input <path|name>", "images: an IDX file, .csv, .npy, a PNG folder, or a data set name (with --split)")
    .requiredOption("--out <file>", "FILE.csv (index, label, z0..) or FILE.npy (float32 [N, codeDim])")
    .option("--split <name>", "split of a named data set input: train, valid or test (default test)")
    .option("--batch-size <n>", "examples per batch", intOption("--batch-size", 1), 500)
    .option("--data-dir <dir>", "where named data sets are looked for")
    .option("--best", "use the best checkpoint instead of the last")
    .option("--workers <n>", "threads the examples are sharded over, each with its own engine (default: every core when the encoder's work is long: 50 GFLOP or more)", intOption("--workers", 1))
    .action(encodeCommand);
}
