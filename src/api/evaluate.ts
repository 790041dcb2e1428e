// Evaluation and scoring sharded over worker threads (Node): the examples are split into one
// contiguous shard per worker, each evaluated by its own engine on its own core; an evaluation's
// means are combined weighted by the shards' sizes (active units from their moments), a scoring's
// per-example columns put back in input order. Shard i draws its samples from seed + i, so a result
// is determined by the seed and the number of workers; one worker is `evaluate` (`scoreExamples`) itself.
import { LatentkitError } from "../io/errors.js";
import { combineEvalResults, type EvalOptions, type EvalResult } from "../eval/evaluate.js";
import type { SplitName } from "../data/dataset.js";
import type { EncodeShardJob, ShardJob, ScoreShardJob } from "./eval-worker.js";
import type { ExampleScores, ScoreOptions } from "../eval/scores.js";
import { exampleSize, sliceSplit, type Split } from "../data/dataset.js";
import type { Images } from "./images.js";
import { machineCores, siblingModule, startWorker } from "../train/worker-thread.js";

/** The worker count when none is given: the machine's cores. */
export const defaultWorkers = machineCores;
/** Evaluations with fewer model passes than this (examples × samples × (1 + refinement steps)) stay on one thread by default. */
export const PARALLEL_EVAL_WORK = 20_000;

/** Runs one worker per job, reporting the examples done over all of them; resolves to their results in order. */
function runShards<R>(jobs: (ShardJob | ScoreShardJob | EncodeShardJob)[], total: number, onProgress?: (done: number, total: number) => void): Promise<R[]> {
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

/**
 * Encodings of fewer FLOPs than this (examples × the encoder's FLOPs per example) stay on one thread
 * by default. Measured on 2 cores (docs/speed.md): 54,000 Fashion-MNIST images through an MLP encoder
 * (35 GFLOP) took 8.9 s on one worker and 9.6 s on two; through keras-conv-vae's (80 GFLOP, at a
 * lower rate), 21.7 s and 17.1 s; 10,000 images through it (15 GFLOP) 4.3 s and 4.2 s.
 */
export const PARALLEL_ENCODE_FLOPS = 50e9;

/**
 * The codes of images [n, C, H, W] (values in [0, 1]) by a run's model, the examples sharded over
 * `workers` threads; [n · codeDim] in input order (the same numbers as one thread: encoding draws nothing).
 */
export async function encodeInWorkers(
  job: { runDir: string; which: "last" | "best" }, images: Images,
  opts: { labels?: Int32Array; batchSize: number }, workers: number,
): Promise<Float32Array> {
  const [n, c, h, w] = images.shape;
  const shards = Math.max(1, Math.min(workers, n));
  const size = Math.ceil(n / shards);
  // one copy of the images that every shard reads (a structured clone per worker would copy them again)
  const shared = new SharedArrayBuffer(images.data.length * 4);
  new Float32Array(shared).set(images.data);
  const jobs = Array.from({ length: shards }, (_, i): EncodeShardJob => {
    const start = i * size, end = Math.min(n, start + size);
    return {
      kind: "encode", runDir: job.runDir, which: job.which, batchSize: opts.batchSize,
      images: shared, imageShape: [c, h, w], start, end, ...(opts.labels ? { labels: opts.labels.slice(start, end) } : {}),
    };
  });
  const parts = await runShards<Float32Array>(jobs, n);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
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
