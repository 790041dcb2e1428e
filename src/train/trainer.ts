// One trainer for every model: epochs of jitted steps, validation each epoch, metrics,
// checkpoints (last and best) that resume exactly, early stopping, a divergence guard, optional
// Polyak averaging (average.ts), callbacks and an AbortSignal. It writes through a RunStore (the run
// folder in Node, checkpoint.ts) or nowhere, and touches no file system itself: the browser runs it too.
import { init, np, keyFromSeed, splitKey, toNumber, disposeTree, refTree, type Array } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { batches, batchesPerEpoch, hostBatches } from "../data/loader.js";
import type { Dataset, Split } from "../data/dataset.js";
import type { DataInfo, Model, Params } from "../models/types.js";
import { toRecords, fromRecords } from "../nn/tree.js";
import { savedConfig, type RunConfig } from "./config.js";
import { makeEvalStep, makeOptimizer, scalarArrays, splitBuffers, singleThreadRunner, type StepRunner } from "./step.js";
import { scalarsAt, type Scalars } from "../models/scheduled.js";
import type { Optimizer } from "../optim/index.js";
import { learningRateSchedule } from "./schedules.js";
import { packOptimizer, unpackOptimizer, PRETRAIN_FILE, type MetricsLine, type RunStore, type TrainState } from "./run-files.js";
import { averageDecayAt, makeAverageUpdate } from "./average.js";
import { recordsToTensors, tensorsToRecords } from "./tensors.js";
import { pretrain } from "./pretrain.js";
import { PACKAGE_VERSION } from "../version.js";

/** What training reports as it goes (progress bars on a terminal; nothing in the library by default). */
export type Progress = {
  startEpoch(epoch: number, epochs: number, steps: number): void;
  tick(metrics: Record<string, number>): void;
  endEpoch(): void;
  log(line: string): void;
};

export const silentProgress: Progress = { startEpoch() {}, tick() {}, endEpoch() {}, log() {} };

/**
 * After every optimizer step: the epoch (1-based, in progress), the run's step count, the batch's
 * metrics, and `params()`: the parameters in force now (new references: the caller disposes them).
 */
export type StepEvent = { epoch: number; step: number; stepsPerEpoch: number; metrics: Record<string, number>; params(): Params };
/** After every epoch: its line of metrics.jsonl (train_*, valid_*, lr, kl_weight, time_s). */
export type EpochEvent = { epoch: number; step: number; metrics: MetricsLine };

export type TrainResult = { state: TrainState; params: Params; model: Model; metrics: MetricsLine[] };

export type TrainArgs = {
  config: RunConfig;
  model: Model;
  data: Dataset;
  /** Where checkpoints, metrics and the configuration go; null or absent: nowhere (in memory). */
  store?: RunStore | null;
  /** Continue from the store's checkpoint (a store without one starts at epoch 0). */
  resume?: boolean;
  progress?: Progress;
  /** Stops at the next step boundary: a checkpoint of that step is saved, and the run can resume from it. */
  signal?: AbortSignal;
  /** Called after every step; a returned promise is awaited before the next step (a pause). */
  onStep?: (e: StepEvent) => void | Promise<void>;
  onEpoch?: (e: EpochEvent) => void;
  /** Starts the data-parallel runner when config.workers > 1 (Node: data-parallel.ts's startDataParallel). */
  dataParallel?: (setup: DataParallelSetup) => Promise<StepRunner>;
};

/** What a data-parallel runner is started with; `params` (borrowed) gives the layout. */
export type DataParallelSetup = {
  config: RunConfig; info: DataInfo; model: Model; optimizer: Optimizer<any>; params: Params; split: Split; workers: number;
};

/** Lets the event loop run (signal handlers, a page's input) between steps of a caller that can stop us. */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));

/** What a model needs to know of a data set: its image shape and number of classes. */
export function dataInfo(data: Dataset): DataInfo {
  return { imageShape: [...data.imageShape] as DataInfo["imageShape"], numClasses: data.numClasses ?? null };
}

const scalar = (v: number) => np.array(v, { dtype: np.float32 });
const keyWords = (key: Array): number[] => [...(key.ref.dataSync() as Uint32Array)];
const keyFromWords = (words: number[]) => np.array(new Uint32Array(words), { dtype: np.uint32 });

/** A validation split: the data set's own, or none (then the train loss stands in). */
function validationSplit(data: Dataset): Split | undefined {
  return data.splits.valid;
}

/** Mean loss and metrics of `model` over a split (labels zero-filled where the split has none). */
export function evaluateLoss(
  model: Model, evalStep: ReturnType<typeof makeEvalStep>, params: Params, split: Split,
  config: RunConfig, scalars: Scalars<number>, seed: number,
): Record<string, number> {
  const sums: Record<string, number> = {};
  let n = 0;
  let key = keyFromSeed(seed);
  for (const b of batches(split, { batchSize: config.batchSize, shuffle: false, binarize: config.binarize === "dynamic" ? "static" : config.binarize })) {
    const size = b.x.shape[0];
    const [next, k] = splitKey(key);
    key = next;
    const labels = b.y ?? np.zeros([size], { dtype: np.int32 });
    const out = evalStep(params, { x: b.x, labels }, k, scalarArrays(scalars));
    sums.loss = (sums.loss ?? 0) + toNumber(out.loss) * size;
    for (const [name, v] of Object.entries(out.metrics)) sums[name] = (sums[name] ?? 0) + toNumber(v) * size;
    n += size;
  }
  key.dispose();
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}

export async function train(args: TrainArgs): Promise<TrainResult> {
  await init();
  const { config, model, data, store = null, signal, onStep, onEpoch } = args;
  const progress = args.progress ?? silentProgress;
  const train = data.splits.train!;
  if (!data.splits.train) throw new LatentkitError(`data set ${data.name}: no training split (missing: ${data.missing?.join(", ") ?? "?"})`);
  if (train.n < config.batchSize) {
    throw new LatentkitError(`batchSize=${config.batchSize} is larger than the training split (${train.n} examples)`);
  }
  const valid = validationSplit(data);
  const stepsPerEpoch = batchesPerEpoch(train.n, config.batchSize, true);
  const optimizer = makeOptimizer(config);
  const learningRateAt = learningRateSchedule(config, stepsPerEpoch);

  // Initial state, or the saved one.
  const [initKey, firstRunKey] = splitKey(keyFromSeed(config.seed));
  let params = model.init(initKey);
  let averaged: Params | null = null; // the Polyak average, when config.polyakDecay > 0
  let optState: unknown = optimizer.init(splitBuffers(params).trainable); // buffers are not optimised
  let state: TrainState = {
    epoch: 0, step: 0, key: keyWords(firstRunKey), lrScale: 1, divergences: 0,
    bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, stopped: null,
  };
  firstRunKey.dispose();
  const saved = args.resume && store ? store.restore() : null; // a run without a checkpoint starts afresh
  if (saved) {
    const { optimizer: savedOptimizer, iterate: savedIterate } = unpackOptimizer(saved.optimizer);
    const loadParams = (t: typeof saved.model) => fromRecords(tensorsToRecords(t), { like: params as any }) as Params;
    const savedModel = loadParams(saved.model);
    const loadedOpt = fromRecords(tensorsToRecords(savedOptimizer), { like: optState as any });
    disposeTree(optState);
    optState = loadedOpt;
    // An averaging run saved the average as the model and the iterate with the optimizer. A run
    // that switches averaging on at this resume starts the average at the iterate.
    disposeTree(params);
    params = savedIterate ? loadParams(savedIterate) : savedModel;
    if (config.polyakDecay > 0) averaged = savedIterate ? savedModel : refTree(savedModel);
    else if (savedIterate) disposeTree(savedModel);
    state = { ...saved.state, stopped: null };
    store!.keepMetricsUpTo(state.epoch);
  }
  // The configuration in force (a resume may have extended the epochs or changed the learning rate).
  store?.writeConfig(savedConfig({ ...config, version: PACKAGE_VERSION, data: dataInfo(data) }));
  if (!saved) {
    store?.resetMetrics();
    // Greedy pretraining (stacked-ae) happens once, before epoch 1; a resumed run has it in its checkpoint.
    if (model.pretrainStages?.length) {
      const pre = pretrain(model, params, train, config, progress);
      params = pre.params;
      store?.writeRecord(PRETRAIN_FILE, pre.log);
    }
  }

  if (config.polyakDecay > 0 && averaged === null) averaged = refTree(params);
  const averageUpdate = averaged ? makeAverageUpdate() : undefined;
  let runner: StepRunner;
  if (config.workers > 1) {
    if (!args.dataParallel) throw new LatentkitError(`workers=${config.workers}: training on more than one thread needs Node's worker threads; use workers 1 here`);
    runner = await args.dataParallel({ config, info: dataInfo(data), model, optimizer, params, split: train, workers: config.workers });
  } else {
    runner = singleThreadRunner(model, optimizer, config.clipNorm, train);
  }
  try {
    return await trainLoop();
  } finally {
    await runner.close();
  }

  async function trainLoop(): Promise<TrainResult> {
  const evalStep = makeEvalStep(model);
  let key = keyFromWords(state.key);
  const lines: MetricsLine[] = [];
  /** The checkpoint of the state in force (the model is the average when averaging). */
  const checkpoint = () => {
    const modelTensors = recordsToTensors(toRecords((averaged ?? params) as any));
    const optimizerTensors = packOptimizer(
      recordsToTensors(toRecords(optState as any)), averaged ? recordsToTensors(toRecords(params as any)) : undefined,
    );
    return { model: modelTensors, optimizer: optimizerTensors, state: { ...state, key: keyWords(key) } };
  };

  for (let epoch = state.epoch; epoch < config.epochs && !state.stopped; epoch++) {
    const started = Date.now();
    // An interrupted epoch continues where its checkpoint was saved, with its running sums.
    const partial = state.partial;
    state.partial = undefined;
    const sums: Record<string, number> = { ...(partial?.sums ?? {}) };
    let seen = partial?.seen ?? 0;
    let position = partial?.position ?? 0;
    progress.startEpoch(epoch + 1, config.epochs, stepsPerEpoch);
    for (const b of hostBatches(train, {
      batchSize: config.batchSize, seed: config.seed, epoch, dropLast: true, binarize: config.binarize, startAt: position,
    })) {
      const size = b.indices.length;
      const [nextKey, stepKey] = splitKey(key);
      key = nextKey;
      const lr = learningRateAt(state.step) * state.lrScale;
      const out = await runner.run(
        refTree(params), refTree(optState), b, stepKey, lr, scalarsAt(config, state.step, stepsPerEpoch),
      );
      const loss = toNumber(out.loss);
      const gradNorm = toNumber(out.gradNorm);
      const metrics = Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, toNumber(v)]));
      position = b.end;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        // Divergence guard: drop the step's result, keep the last good state, halve the learning rate.
        disposeTree(out.params);
        disposeTree(out.optState);
        state.divergences += 1;
        state.lrScale /= 2;
        progress.log(`step ${state.step}: non-finite ${Number.isFinite(loss) ? "gradient" : "loss"} (${loss}); rolled back, learning rate now ${(config.lr * state.lrScale).toExponential(2)}`);
        if (state.divergences > config.maxDivergences) {
          state.stopped = `diverged: ${state.divergences} non-finite steps (lr=${config.lr}); the last good checkpoint (epoch ${state.epoch}) is kept`;
          break;
        }
        continue;
      }
      disposeTree(params);
      disposeTree(optState);
      params = out.params;
      optState = out.optState;
      state.step += 1;
      if (averaged) averaged = averageUpdate!(averaged, params, scalar(1 - averageDecayAt(config.polyakDecay, state.step)));
      seen += size;
      sums.loss = (sums.loss ?? 0) + loss * size;
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v * size;
      progress.tick({ loss, ...metrics });
      const current = averaged ?? params;
      const waited = onStep?.({ epoch: epoch + 1, step: state.step, stepsPerEpoch, metrics: { loss, ...metrics }, params: () => refTree(current) });
      if (waited) await waited;
      if (signal) await yieldToEventLoop();
      if (signal?.aborted && position < train.n - (train.n % config.batchSize)) {
        // Stopped inside the epoch: a checkpoint of this step, resumable at the next batch.
        state.partial = { position, seen, sums: { ...sums } };
        state.stopped = "interrupted";
        break;
      }
    }
    progress.endEpoch();
    if (state.stopped) {
      if (state.stopped === "interrupted") store?.saveCheckpoint(checkpoint());
      break;
    }

    const line: MetricsLine = { epoch: epoch + 1, step: state.step };
    for (const [k, v] of Object.entries(sums)) line[`train_${k}`] = v / Math.max(1, seen);
    let validLoss: number;
    if (valid) {
      const scalars = scalarsAt(config, state.step, stepsPerEpoch, "validation");
      const v = evaluateLoss(model, evalStep, averaged ?? params, valid, config, scalars, config.seed + 1);
      for (const [k, x] of Object.entries(v)) line[`valid_${k}`] = x;
      validLoss = v.loss;
    } else {
      validLoss = line.train_loss ?? Infinity;
    }
    line.lr = learningRateAt(state.step) * state.lrScale;
    line.kl_weight = scalarsAt(config, state.step, stepsPerEpoch).klWeight;
    line.time_s = (Date.now() - started) / 1000;

    state.epoch = epoch + 1;
    const improved = state.bestMetric === null || validLoss < state.bestMetric - config.minDelta;
    if (improved) {
      state.bestMetric = validLoss;
      state.bestEpoch = epoch + 1;
      state.epochsWithoutImprovement = 0;
    } else {
      state.epochsWithoutImprovement += 1;
      if (config.patience > 0 && state.epochsWithoutImprovement >= config.patience) {
        state.stopped = `early stopping: no validation improvement for ${config.patience} epochs (best ${state.bestMetric!.toFixed(4)} at epoch ${state.bestEpoch})`;
      }
    }
    if (signal?.aborted && !state.stopped) state.stopped = "interrupted";
    lines.push(line);
    // The metrics line goes first: a resume drops lines past its checkpoint, so a kill between the
    // two writes loses nothing.
    if (store) {
      store.appendMetrics(line);
      const c = checkpoint();
      store.saveCheckpoint(c, improved ? c.model : undefined);
    }
    progress.log(formatEpochLine(line, config.epochs));
    onEpoch?.({ epoch: epoch + 1, step: state.step, metrics: line });
  }
  state.key = keyWords(key);
  key.dispose();
  if (state.stopped?.startsWith("diverged")) {
    disposeTree(params);
    if (averaged) disposeTree(averaged);
    disposeTree(optState);
    throw new LatentkitError(state.epoch > 0 ? state.stopped : state.stopped.replace(/; the last good.*/, "; no checkpoint was written"));
  }
  if (state.stopped && state.stopped !== "interrupted") progress.log(state.stopped);
  disposeTree(optState);
  if (averaged) disposeTree(params);
  return { state, params: averaged ?? params, model, metrics: lines };
  }
}

function formatEpochLine(line: MetricsLine, epochs: number): string {
  const parts = [`epoch ${line.epoch}/${epochs}`];
  for (const [k, v] of Object.entries(line)) {
    if (k === "epoch" || k === "step" || v === null) continue;
    parts.push(`${k} ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(k === "time_s" ? 1 : 4) : v.toExponential(2)}`);
  }
  return parts.join("  ");
}
