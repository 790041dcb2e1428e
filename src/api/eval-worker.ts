// One shard of a sharded evaluation, scoring or encoding (api/evaluate.ts), in a worker thread with
// its own engine: opens the run, evaluates examples [start, end) of its split (an evaluation), or
// scores or encodes the examples it is given, and posts progress and the result.
import { parentPort, workerData } from "node:worker_threads";
import { openRun, loadRunData } from "../train/run.js";
import { makeSplit, sliceSplit, type ImageShape, type SplitName } from "../data/dataset.js";
import { evaluate, type EvalOptions } from "../eval/evaluate.js";
import { scoreExamples, type ScoreOptions } from "../eval/scores.js";
import { disposeTree } from "../engine/index.js";
import { loadModel } from "./node.js";

export type ShardJob = { runDir: string; which: "last" | "best"; split: SplitName; start: number; end: number; opts: Omit<EvalOptions, "onProgress" | "limit"> };
/** Examples to score, sent as they are: pixels [n, C·H·W] with their scale, labels where known. */
export type ScoreShardJob = {
  kind: "score"; runDir: string; which: "last" | "best";
  examples: { pixels: Uint8Array | Float32Array; scale: number; imageShape: ImageShape; labels?: Int32Array };
  opts: Omit<ScoreOptions, "onProgress">;
};
/** Examples [start, end) of images shared by every shard (float32 [n, C, H, W]) to encode with the library's encode. */
export type EncodeShardJob = {
  kind: "encode"; runDir: string; which: "last" | "best";
  images: SharedArrayBuffer; imageShape: [number, number, number]; start: number; end: number; labels?: Int32Array;
  batchSize: number;
};

const job = workerData as ShardJob | ScoreShardJob | EncodeShardJob;
const progress = (done: number) => parentPort!.postMessage({ progress: done });
try {
  if ("kind" in job && job.kind === "encode") {
    using model = await loadModel(job.runDir, { checkpoint: job.which });
    const { images, imageShape, start, end, labels } = job;
    const d = imageShape[0] * imageShape[1] * imageShape[2];
    const data = new Float32Array(images, start * d * 4, (end - start) * d) as unknown as Float32Array<ArrayBuffer>;
    const codes = await model.encode({ data, shape: [end - start, ...imageShape] }, { labels, batchSize: job.batchSize });
    parentPort!.postMessage({ result: codes.data }, [codes.data.buffer as ArrayBuffer]);
  } else if ("kind" in job) {
    const run = await openRun(job.runDir, job.which);
    const { pixels, scale, imageShape, labels } = job.examples;
    const result = scoreExamples(run.model, run.params, makeSplit(pixels, imageShape, { scale, labels }), { ...job.opts, onProgress: progress });
    disposeTree(run.params);
    parentPort!.postMessage({ result });
  } else {
    const run = await openRun(job.runDir, job.which);
    const data = await loadRunData(run.config, [job.split]);
    const split = sliceSplit(data.splits[job.split]!, job.start, job.end);
    const result = evaluate(run.model, run.params, split, { ...job.opts, withMoments: true, onProgress: progress });
    disposeTree(run.params);
    parentPort!.postMessage({ result });
  }
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message, user: (e as Error).name === "LatentkitError" });
}
