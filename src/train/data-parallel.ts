// Data-parallel training over worker threads (Node). Every step, the batch is cut into N contiguous
// shards; shard 0 is computed here, shards 1..N-1 by workers, each with its own engine, all at once.
// Then, here only, the shards' gradients are averaged and one optimizer update is made
// (step.ts: makeApplyStep); the new parameters are what every worker reads at the next step.
//
//   ∇L(batch) = Σ_i (n_i / B) ∇L(shard i)      (L is the mean loss over the batch's examples)
//
// What moves, through SharedArrayBuffers (no message per kernel): the parameters (written here after
// each update, read by the workers), the batch (all shards; each worker reads its rows) and each
// worker's gradient (one slot per worker). The small things (scalars, the step's keys, the loss and
// metrics, afterStep's statistics) go by message, one each way per worker per step.
//
// Randomness: the step's key is split into N keys, shard i drawing from key i, so a run is determined
// by its seed and its worker count. One worker is not this module: the trainer's fused step, unchanged.
import type { Worker } from "node:worker_threads";
import { np, splitKey, toData, toNumber, refTree, disposeTree, type Array } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { toImageArray, type HostBatch } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import type { DataInfo, Model, Params } from "../models/types.js";
import type { Optimizer } from "../optim/index.js";
import { flattenParams, unflattenParams } from "../nn/tree.js";
import type { RunConfig } from "./config.js";
import { makeApplyStep, makeShardGradStep, scalarArrays, splitBuffers, type StepOutput, type StepRunner } from "./step.js";
import type { Scalars } from "../models/scheduled.js";
import { siblingModule, startWorker } from "./worker-thread.js";

/** Where one tensor of a flattened tree lives in a Float32Array: its name, shape, offset and size. */
export type TensorSlot = { name: string; shape: number[]; offset: number; size: number };

/** What a gradient worker is started with (grad-worker.ts). */
export type GradWorkerSetup = {
  config: RunConfig;
  info: DataInfo;
  imageShape: number[];
  /** The whole parameter tree (trainable and buffers), flattened. */
  params: TensorSlot[];
  /** The trainable part: the layout of a gradient. */
  grads: TensorSlot[];
  paramsBuffer: SharedArrayBuffer;
  /** This worker's gradient slot. */
  gradBuffer: SharedArrayBuffer;
  batchBuffer: SharedArrayBuffer;
  labelsBuffer: SharedArrayBuffer;
  /** This worker's rows of the batch, [start, end). */
  start: number;
  end: number;
};

/** A step order, and a worker's answer. */
export type GradWorkerOrder = { kind: "step"; key: number[]; scalars: Scalars<number> } | { kind: "stop" };
export type GradWorkerReply =
  | { kind: "ready" }
  | { kind: "done"; loss: number; metrics: Record<string, number>; aux: Record<string, { shape: number[]; data: Float32Array }> }
  | { kind: "error"; message: string; user: boolean };

/** The layout of a tree's tensors, one after another (float32 only). */
export function layoutOf(tree: Params): TensorSlot[] {
  let offset = 0;
  return Object.entries(flattenParams(tree)).map(([name, x]) => {
    if (x.dtype !== np.float32) throw new LatentkitError(`data-parallel training: parameter ${name} is ${x.dtype}, not float32`);
    const slot = { name, shape: [...x.shape], offset, size: x.size };
    offset += x.size;
    return slot;
  });
}

const totalSize = (layout: TensorSlot[]) => layout.reduce((n, s) => n + s.size, 0);

/** A tree of new arrays from the values in `from` (copied into the engine: the buffer may change afterwards). */
export function readTree(layout: TensorSlot[], from: Float32Array): Params {
  return unflattenParams(Object.fromEntries(layout.map((s) =>
    [s.name, np.array(from.subarray(s.offset, s.offset + s.size) as Float32Array<ArrayBuffer>, { dtype: np.float32 }).reshape(s.shape)]))) as Params;
}

/** Writes the values of a tree's tensors (borrowed) into `to`, laid out as `layout`. */
export function writeTree(layout: TensorSlot[], tree: Params, to: Float32Array): void {
  const flat = flattenParams(tree);
  for (const s of layout) to.set(toData(flat[s.name].ref) as Float32Array, s.offset);
}

/** The shard sizes of a batch of B over N workers: as equal as can be, the larger ones first. */
export function shardSizes(batchSize: number, workers: number): number[] {
  return globalThis.Array.from({ length: workers }, (_, i) => Math.floor(batchSize / workers) + (i < batchSize % workers ? 1 : 0));
}

const scalar = (v: number) => np.array(v, { dtype: np.float32 });

/**
 * Starts `workers` - 1 gradient workers for this run and returns the step runner that uses them.
 * `params` (borrowed) gives the layout. Close the runner to stop the workers.
 */
export async function startDataParallel(setup: {
  config: RunConfig; info: DataInfo; model: Model; optimizer: Optimizer<any>; params: Params; split: Split; workers: number;
}): Promise<StepRunner> {
  const { config, info, model, optimizer, split, workers } = setup;
  if (model.afterStep && !model.combineAux) {
    throw new LatentkitError(`${config.model} cannot train with workers > 1: its after-step statistics have no rule to combine shards (use --workers 1)`);
  }
  const sizes = shardSizes(config.batchSize, workers);
  if (sizes[workers - 1] < 1) throw new LatentkitError(`workers=${workers} is more than batchSize=${config.batchSize}: each worker needs at least one example`);
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const weights = sizes.map((n) => n / config.batchSize);
  const exampleSize = info.imageShape.reduce((a, b) => a * b, 1);

  const paramLayout = layoutOf(setup.params);
  const gradLayout = layoutOf(splitBuffers(setup.params).trainable);
  const paramsBuffer = new SharedArrayBuffer(totalSize(paramLayout) * 4);
  const batchBuffer = new SharedArrayBuffer(config.batchSize * exampleSize * 4);
  const labelsBuffer = new SharedArrayBuffer(config.batchSize * 4);
  const gradBuffers = sizes.slice(1).map(() => new SharedArrayBuffer(totalSize(gradLayout) * 4));
  const paramsView = new Float32Array(paramsBuffer);
  const batchView = new Float32Array(batchBuffer);
  const labelsView = new Int32Array(labelsBuffer);

  // Each worker's replies, in order: the next step's promise is taken from its queue.
  const script = siblingModule(import.meta.url, "grad-worker");
  const pending: ((r: GradWorkerReply | Error) => void)[][] = [];
  const replies: (GradWorkerReply | Error)[][] = [];
  const nextReply = (w: number) => new Promise<GradWorkerReply>((resolve, reject) => {
    const settle = (r: GradWorkerReply | Error) => (r instanceof Error ? reject(r) : resolve(r));
    const ready = replies[w].shift();
    if (ready) settle(ready);
    else pending[w].push(settle);
  });
  const pool: Worker[] = gradBuffers.map((gradBuffer, j) => {
    const w = j + 1;
    pending[j] = [];
    replies[j] = [];
    const data: GradWorkerSetup = {
      config, info, imageShape: [...info.imageShape], params: paramLayout, grads: gradLayout,
      paramsBuffer, gradBuffer, batchBuffer, labelsBuffer, start: starts[w], end: starts[w] + sizes[w],
    };
    const worker = startWorker(script, data);
    const deliver = (r: GradWorkerReply | Error) => {
      const waiting = pending[j].shift();
      if (waiting) waiting(r);
      else replies[j].push(r);
    };
    worker.on("message", (m: GradWorkerReply) => deliver(m));
    worker.on("error", (e: Error) => deliver(new Error(`training worker ${w}: ${e.message}`)));
    worker.on("exit", (code) => { if (code !== 0) deliver(new Error(`training worker ${w} exited with code ${code}`)); });
    return worker;
  });
  const close = async () => { await Promise.all(pool.map((w) => w.terminate())); };
  const expect = async (j: number, kind: "ready" | "done") => {
    const r = await nextReply(j);
    if (r.kind === "error") throw r.user ? new LatentkitError(r.message) : new Error(`training worker ${j + 1}: ${r.message}`);
    if (r.kind !== kind) throw new Error(`training worker ${j + 1}: expected ${kind}, got ${r.kind}`);
    return r;
  };
  try {
    await Promise.all(pool.map((_, j) => expect(j, "ready")));
  } catch (e) {
    await close();
    throw e;
  }

  const gradShard = makeShardGradStep(model);
  const apply = makeApplyStep(model, optimizer, config.clipNorm, weights);
  const gradViews = gradBuffers.map((b) => new Float32Array(b));

  const run = async (params: Params, optState: unknown, batch: HostBatch, key: Array, lr: number, scalars: Scalars<number>): Promise<StepOutput> => {
    writeTree(paramLayout, params, paramsView);
    batchView.set(batch.x);
    if (batch.labels) labelsView.set(batch.labels);
    else labelsView.fill(0);
    const keys = splitKey(key, workers);
    pool.forEach((worker, j) => {
      const order: GradWorkerOrder = { kind: "step", key: [...(toData(keys[j + 1]) as Uint32Array)], scalars };
      worker.postMessage(order);
    });
    const done = pool.map((_, j) => expect(j, "done"));
    done.forEach((p) => p.catch(() => {})); // awaited below; an early failure here must not go unhandled
    // Shard 0, here, while the workers compute theirs.
    const x = toImageArray(batch.x.subarray(0, sizes[0] * exampleSize), split);
    const labels = np.array(batch.labels ? batch.labels.slice(0, sizes[0]) : new Int32Array(sizes[0]), { dtype: np.int32 });
    const own = gradShard(refTree(params), { x, labels }, keys[0], scalarArrays(scalars));
    const ownLoss = toNumber(own.loss); // runs the shard now (the engine is lazy), while the workers run theirs
    let results: Extract<GradWorkerReply, { kind: "done" }>[];
    try {
      results = (await Promise.all(done)) as Extract<GradWorkerReply, { kind: "done" }>[];
    } catch (e) {
      disposeTree([own.grads, own.aux, own.metrics, params, optState]);
      throw e;
    }
    const loss = weights[0] * ownLoss + results.reduce((s, r, j) => s + weights[j + 1] * r.loss, 0);
    const metrics: Record<string, Array> = {};
    for (const [name, v] of Object.entries(own.metrics)) {
      metrics[name] = scalar(weights[0] * toNumber(v) + results.reduce((s, r, j) => s + weights[j + 1] * r.metrics[name], 0));
    }
    const grads = [own.grads, ...gradViews.map((view) => readTree(gradLayout, view))];
    const aux = [own.aux, ...results.map((r) => unflattenParams(Object.fromEntries(Object.entries(r.aux).map(([name, t]) =>
      [name, np.array(t.data as Float32Array<ArrayBuffer>, { dtype: np.float32 }).reshape(t.shape)]))) as Params)];
    const updated = apply(params, optState, grads, aux, scalar(lr));
    return { params: updated.params, optState: updated.optState, loss: scalar(loss), gradNorm: updated.gradNorm, metrics };
  };
  return { workers, run, close };
}
