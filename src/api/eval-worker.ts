// One shard of a sharded evaluation or scoring (api/evaluate.ts), in a worker thread with its own
// engine: opens the run, evaluates examples [start, end) of its split (an evaluation), or scores the
// examples it is given (a score job), and posts progress and the result.
import { parentPort, workerData } from "node:worker_threads";
import { openRun, loadRunData } from "../train/run.js";
import { makeSplit, sliceSplit, type ImageShape, type SplitName } from "../data/dataset.js";
import { evaluate, type EvalOptions } from "../eval/evaluate.js";
import { scoreExamples, type ScoreOptions } from "../eval/scores.js";
import { disposeTree } from "../engine/index.js";

export type ShardJob = { runDir: string; which: "last" | "best"; split: SplitName; start: number; end: number; opts: Omit<EvalOptions, "onProgress" | "limit"> };
/** Examples to score, sent as they are: pixels [n, C·H·W] with their scale, labels where known. */
export type ScoreShardJob = {
  kind: "score"; runDir: string; which: "last" | "best";
  examples: { pixels: Uint8Array | Float32Array; scale: number; imageShape: ImageShape; labels?: Int32Array };
  opts: Omit<ScoreOptions, "onProgress">;
};

const job = workerData as ShardJob | ScoreShardJob;
const progress = (done: number) => parentPort!.postMessage({ progress: done });
try {
  const run = await openRun(job.runDir, job.which);
  if ("kind" in job) {
    const { pixels, scale, imageShape, labels } = job.examples;
    const result = scoreExamples(run.model, run.params, makeSplit(pixels, imageShape, { scale, labels }), { ...job.opts, onProgress: progress });
    disposeTree(run.params);
    parentPort!.postMessage({ result });
  } else {
    const data = await loadRunData(run.config, [job.split]);
    const split = sliceSplit(data.splits[job.split]!, job.start, job.end);
    const result = evaluate(run.model, run.params, split, { ...job.opts, withMoments: true, onProgress: progress });
    disposeTree(run.params);
    parentPort!.postMessage({ result });
  }
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message, user: (e as Error).name === "LatentkitError" });
}
