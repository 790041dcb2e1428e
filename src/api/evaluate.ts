// Evaluation and scoring sharded over worker threads (Node): the examples are split into one
// contiguous shard per worker, each evaluated by its own engine on its own core; an evaluation's
// means are combined weighted by the shards' sizes (active units from their moments), a scoring's
// per-example columns put back in input order. Shard i draws its samples from seed + i, so a result
// is determined by the seed and the number of workers; one worker is `evaluate` (`scoreExamples`) itself.
import { LatentkitError } from "../io/errors.js";
import { combineEvalResults, type EvalOptions, type EvalResult } from "../eval/evaluate.js";
import type { SplitName } from "../data/dataset.js";
import type { ShardJob, ScoreShardJob } from "./eval-worker.js";
import type { ExampleScores, ScoreOptions } from "../eval/scores.js";
import { exampleSize, sliceSplit, type Split } from "../data/dataset.js";
import { machineCores, siblingModule, startWorker } from "../train/worker-thread.js";

/** The worker count when none is given: the machine's cores. */
export const defaultWorkers = machineCores;
/** Evaluations with fewer model passes than this (examples × samples × (1 + refinement steps)) stay on one thread by default. */
export const PARALLEL_EVAL_WORK = 20_000;

/** Runs one worker per job, reporting the examples done over all of them; resolves to their results in order. */
function runShards<R>(jobs: (ShardJob | ScoreShardJob)[], total: number, onProgress?: (done: number, total: number) => void): Promise<R[]> {
  const done = new Array<number>(jobs.length).fill(0);
  const script = siblingModule(import.meta.url, "eval-worker");
  return Promise.all(jobs.map((data, i) => new Promise<R>((resolve, reject) => {
    const worker = startWorker(script, data);
    worker.on("message", (m: { progress?: number; result?: R; error?: string; user?: boolean }) => {
      if (m.progress !== undefined) {
        done[i] = m.progress;
        onProgress?.(done.reduce((a, b) => a + b, 0), total);
      } else if (m.result) {
        resolve(m.result);
        void worker.terminate();
      } else if (m.error !== undefined) {
        reject(m.user ? new LatentkitError(m.error) : new Error(`evaluation worker ${i}: ${m.error}`));
        void worker.terminate();
      }
    });
    worker.on("error", (e) => reject(e));
  })));
}

/** Examples [offset, offset + n) of a run's split, evaluated in `workers` threads. */
export async function evaluateInWorkers(
  job: { runDir: string; which: "last" | "best"; split: SplitName; offset: number; n: number },
  opts: Omit<EvalOptions, "limit" | "withMoments">, workers: number,
): Promise<EvalResult> {
  const shards = Math.max(1, Math.min(workers, job.n));
  const size = Math.ceil(job.n / shards);
  const { onProgress, ...rest } = opts;
  const jobs = Array.from({ length: shards }, (_, i): ShardJob => {
    const start = job.offset + i * size, end = Math.min(job.offset + job.n, start + size);
    return { runDir: job.runDir, which: job.which, split: job.split, start, end, opts: { ...rest, seed: (rest.seed ?? 0) + i } };
  });
  return combineEvalResults(await runShards<EvalResult>(jobs, job.n, onProgress));
}

/** The per-example scores of `split` (scoreExamples), its examples sharded over `workers` threads, in input order. */
export async function scoreInWorkers(
  job: { runDir: string; which: "last" | "best" }, split: Split, opts: ScoreOptions, workers: number,
): Promise<ExampleScores> {
  const n = split.n, d = exampleSize(split.imageShape);
  const shards = Math.max(1, Math.min(workers, n));
  const size = Math.ceil(n / shards);
  const { onProgress, ...rest } = opts;
  const jobs = Array.from({ length: shards }, (_, i): ScoreShardJob => {
    const part = sliceSplit(split, i * size, Math.min(n, (i + 1) * size));
    return {
      kind: "score", runDir: job.runDir, which: job.which,
      examples: { pixels: part.pixels.slice(0, part.n * d), scale: part.scale, imageShape: part.imageShape, ...(part.labels ? { labels: part.labels.slice() } : {}) },
      opts: { ...rest, seed: (rest.seed ?? 0) + i },
    };
  });
  const parts = await runShards<ExampleScores>(jobs, n, onProgress);
  const column = (name: "recon_error" | "neg_elbo" | "nll") => {
    if (!parts[0][name]) return undefined;
    const out = new Float64Array(n);
    let at = 0;
    for (const p of parts) { out.set(p[name]!, at); at += p.n; }
    return out;
  };
  const labels = parts[0].labels ? Int32Array.from(parts.flatMap((p) => Array.from(p.labels!))) : undefined;
  return {
    n, recon_error: column("recon_error")!, ...(labels ? { labels } : {}),
    ...(parts[0].neg_elbo ? { neg_elbo: column("neg_elbo") } : {}), ...(parts[0].nll ? { nll: column("nll"), is_samples: parts[0].is_samples } : {}),
  };
}
