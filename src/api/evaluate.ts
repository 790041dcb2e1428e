// Evaluation sharded over worker threads (Node): the examples are split into one contiguous shard
// per worker, each evaluated by its own engine on its own core, and the shards' means combined
// weighted by their sizes (active units from their moments). Shard i draws its samples from seed + i,
// so a result is determined by the seed and the number of workers; one worker is `evaluate` itself.
import { LatentkitError } from "../io/errors.js";
import { combineEvalResults, type EvalOptions, type EvalResult } from "../eval/evaluate.js";
import type { SplitName } from "../data/dataset.js";
import type { ShardJob } from "./eval-worker.js";
import { machineCores, siblingModule, startWorker } from "../train/worker-thread.js";

/** The worker count when none is given: the machine's cores. */
export const defaultWorkers = machineCores;
/** Evaluations with fewer model passes than this (examples × samples × (1 + refinement steps)) stay on one thread by default. */
export const PARALLEL_EVAL_WORK = 20_000;

/** Examples [offset, offset + n) of a run's split, evaluated in `workers` threads. */
export async function evaluateInWorkers(
  job: { runDir: string; which: "last" | "best"; split: SplitName; offset: number; n: number },
  opts: Omit<EvalOptions, "limit" | "withMoments">, workers: number,
): Promise<EvalResult> {
  const shards = Math.max(1, Math.min(workers, job.n));
  const size = Math.ceil(job.n / shards);
  const done = new Array<number>(shards).fill(0);
  const script = siblingModule(import.meta.url, "eval-worker");
  const { onProgress, ...rest } = opts;
  const parts = await Promise.all(Array.from({ length: shards }, (_, i) => {
    const start = job.offset + i * size, end = Math.min(job.offset + job.n, start + size);
    const data: ShardJob = { runDir: job.runDir, which: job.which, split: job.split, start, end, opts: { ...rest, seed: (rest.seed ?? 0) + i } };
    return new Promise<EvalResult>((resolve, reject) => {
      const worker = startWorker(script, data);
      worker.on("message", (m: { progress?: number; result?: EvalResult; error?: string; user?: boolean }) => {
        if (m.progress !== undefined) {
          done[i] = m.progress;
          onProgress?.(done.reduce((a, b) => a + b, 0), job.n);
        } else if (m.result) {
          resolve(m.result);
          void worker.terminate();
        } else if (m.error !== undefined) {
          reject(m.user ? new LatentkitError(m.error) : new Error(`evaluation worker ${i}: ${m.error}`));
          void worker.terminate();
        }
      });
      worker.on("error", (e) => reject(e));
    });
  }));
  return combineEvalResults(parts);
}
