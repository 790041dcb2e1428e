// One shard of a sharded evaluation (api/evaluate.ts), in a worker thread with its own engine: opens
// the run, reads its split, evaluates examples [start, end) and posts progress and the result.
import { parentPort, workerData } from "node:worker_threads";
import { openRun, loadRunData } from "../train/run.js";
import { sliceSplit, type SplitName } from "../data/dataset.js";
import { evaluate, type EvalOptions } from "../eval/evaluate.js";
import { disposeTree } from "../engine/index.js";

export type ShardJob = { runDir: string; which: "last" | "best"; split: SplitName; start: number; end: number; opts: Omit<EvalOptions, "onProgress" | "limit"> };

const job = workerData as ShardJob;
try {
  const run = await openRun(job.runDir, job.which);
  const data = await loadRunData(run.config, [job.split]);
  const split = sliceSplit(data.splits[job.split]!, job.start, job.end);
  const result = evaluate(run.model, run.params, split, {
    ...job.opts, withMoments: true, onProgress: (done) => parentPort!.postMessage({ progress: done }),
  });
  disposeTree(run.params);
  parentPort!.postMessage({ result });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message, user: (e as Error).name === "LatentkitError" });
}
