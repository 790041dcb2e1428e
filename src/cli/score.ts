// latentkit score RUN --input PATH --out FILE.csv: per-example anomaly scores in input order:
// recon_error for every model; neg_elbo and nll (IS −log p(x), --is-samples K) for latent-variable ones.
import type { Command } from "commander";
import { openRun } from "../train/run.js";
import { scoreExamples } from "../eval/scores.js";
import { scoreInWorkers, defaultWorkers, PARALLEL_EVAL_WORK } from "../api/evaluate.js";
import { disposeTree } from "../engine/index.js";
import { intOption, say } from "./common.js";
import { examplesProgress } from "../train/progress.js";
import { readRunInput, outFormat, writeCsv, float32Text, type InputFlags } from "./encode.js";

type ScoreFlags = InputFlags & { out: string; isSamples: number; elboSamples: number; batchSize: number; seed: number; best?: boolean; quiet?: boolean; workers?: number };

export async function scoreCommand(runDir: string, flags: ScoreFlags): Promise<void> {
  outFormat(flags.out, [".csv"]);
  const run = await openRun(runDir, flags.best ? "best" : "last");
  try {
    const split = await readRunInput(run, flags);
    const opts = {
      isSamples: flags.isSamples, elboSamples: flags.elboSamples, batchSize: flags.batchSize, seed: flags.seed, binarize: run.config.binarize,
      onProgress: examplesProgress("score", { quiet: flags.quiet }),
    };
    // Shards over worker threads (each its own engine): --workers N, by default every core for long work.
    const work = split.n * Math.max(1, run.model.probabilistic ? flags.isSamples + flags.elboSamples : 1);
    const workers = flags.workers ?? (work >= PARALLEL_EVAL_WORK ? defaultWorkers() : 1);
    const s = workers > 1
      ? await scoreInWorkers({ runDir, which: flags.best ? "best" : "last" }, split, opts, workers)
      : scoreExamples(run.model, run.params, split, opts);
    const columns: [string, (i: number) => string][] = [["index", (i) => String(i)]];
    if (s.labels) columns.push(["label", (i) => String(s.labels![i])]);
    columns.push(["recon_error", (i) => float32Text(s.recon_error[i])]);
    if (s.neg_elbo) columns.push(["neg_elbo", (i) => float32Text(s.neg_elbo![i])]);
    if (s.nll) columns.push(["nll", (i) => String(s.nll![i])]);
    writeCsv(flags.out, columns.map(([name]) => name), s.n, (r, c) => columns[c][1](r));
    say(`${flags.out}: ${s.n} examples scored (${columns.slice(s.labels ? 2 : 1).map(([name]) => name).join(", ")}${s.is_samples ? `; IS k=${s.is_samples}` : ""})`);
  } finally {
    disposeTree(run.params);
  }
}

export function registerScore(program: Command): void {
  program
    .command("score <run>")
    .description("per-example anomaly scores to FILE.csv: recon_error; for latent-variable models also neg_elbo and nll")
    .requiredOption("--input <path|name>", "images: an IDX file, .csv, .npy, a PNG folder, or a data set name (with --split)")
    .requiredOption("--out <file.csv>", "CSV: index, label (if any), recon_error, neg_elbo, nll")
    .option("--split <name>", "split of a named data set input: train, valid or test (default test)")
    .option("--is-samples <k>", "importance samples of -log p(x) (0 skips it)", intOption("--is-samples", 0), 100)
    .option("--elbo-samples <s>", "draws of z averaged in neg_elbo", intOption("--elbo-samples", 1), 10)
    .option("--batch-size <n>", "examples per batch", intOption("--batch-size", 1), 100)
    .option("--seed <n>", "random seed of the ELBO and IS estimates", intOption("--seed", 0), 0)
    .option("--data-dir <dir>", "where named data sets are looked for")
    .option("--best", "use the best checkpoint instead of the last")
    .option("--workers <n>", "threads the examples are sharded over, each with its own engine (default: every core when the work is long; shard i draws from seed + i)", intOption("--workers", 1))
    .option("--quiet", "no progress lines on stderr")
    .action(scoreCommand);
}
