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

/**
 * Trains a model: restores the run (or starts it, with pretraining), then epochs of steps, each
 * followed by validation and a checkpoint, until the last epoch, early stopping, divergence or a stop.
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  await init();
  const run = startRun(args);
  const runner = await startRunner(args, run);
  try {
    while (run.state.epoch < run.config.epochs && !run.state.stopped) {
      const epoch = await runEpoch(run, runner);
      if (run.state.stopped) {
        if (run.state.stopped === "interrupted") run.store?.saveCheckpoint(checkpoint(run));
        break;
      }
      endEpoch(run, epoch);
    }
    return finish(run);
  } finally {
    await runner.close();
  }
}

/** A run in progress: what it was given and the state that changes step by step. */
type Run = {
  args: TrainArgs; config: RunConfig; model: Model; train: Split; valid?: Split;
  store: RunStore | null; progress: Progress;
  stepsPerEpoch: number; optimizer: Optimizer<any>; learningRateAt: (step: number) => number;
  params: Params; averaged: Params | null; optState: unknown; state: TrainState; key: Array;
  averageUpdate?: ReturnType<typeof makeAverageUpdate>; evalStep: ReturnType<typeof makeEvalStep>;
  lines: MetricsLine[];
};

/**
 * The run's starting point: a new one (initialised, pretrained when the model has stages), or its
 * store's checkpoint when resuming (a store without one starts afresh). Writes the configuration in force.
 */
/** The training split, once the configuration is known to fit it; one line naming the key otherwise. */
export function checkTrainingData(config: RunConfig, data: Dataset): Split {
  const train = data.splits.train;
  if (!train) throw new LatentkitError(`data set ${data.name}: no training split (missing: ${data.missing?.join(", ") ?? "?"})`);
  if (train.n < config.batchSize) {
    throw new LatentkitError(`batchSize=${config.batchSize} is larger than the training split (${train.n} examples)`);
  }
  const [, height, width] = train.imageShape;
  if (config.augmentShift >= Math.min(height, width)) {
    throw new LatentkitError(`augmentShift=${config.augmentShift}: a shift must be smaller than the ${height}x${width} images`);
  }
  return train;
}

function startRun(args: TrainArgs): Run {
  const { config, model, data, store = null } = args;
  const train = checkTrainingData(config, data);
  const stepsPerEpoch = batchesPerEpoch(train.n, config.batchSize, true);
  const optimizer = makeOptimizer(config);
  const [initKey, firstRunKey] = splitKey(keyFromSeed(config.seed));
  const params = model.init(initKey);
  const run: Run = {
    args, config, model, train, valid: validationSplit(data), store, progress: args.progress ?? silentProgress,
    stepsPerEpoch, optimizer, learningRateAt: learningRateSchedule(config, stepsPerEpoch),
    params, averaged: null, optState: optimizer.init(splitBuffers(params).trainable), // buffers are not optimised
    state: {
      epoch: 0, step: 0, key: keyWords(firstRunKey), lrScale: 1, divergences: 0,
      bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, stopped: null,
    },
    key: firstRunKey, evalStep: makeEvalStep(model), lines: [],
  };
  const resumed = args.resume && store ? restoreCheckpoint(run, store) : false;
  // The configuration in force (a resume may have extended the epochs or changed the learning rate).
  store?.writeConfig(savedConfig({ ...config, version: PACKAGE_VERSION, data: dataInfo(data) }));
  if (!resumed) {
    store?.resetMetrics();
    // Greedy pretraining (stacked-ae) happens once, before epoch 1; a resumed run has it in its checkpoint.
    if (model.pretrainStages?.length) {
      const pre = pretrain(model, run.params, train, config, run.progress);
      run.params = pre.params;
      store?.writeRecord(PRETRAIN_FILE, pre.log);
    }
  }
  if (config.polyakDecay > 0) {
    run.averaged ??= refTree(run.params);
    run.averageUpdate = makeAverageUpdate();
  }
  return run;
}

/** The store's checkpoint into `run` (parameters, optimizer, average, state); false when it has none. */
function restoreCheckpoint(run: Run, store: RunStore): boolean {
  const saved = store.restore();
  if (!saved) return false;
  const { optimizer: savedOptimizer, iterate: savedIterate } = unpackOptimizer(saved.optimizer);
  const loadParams = (t: typeof saved.model) => fromRecords(tensorsToRecords(t), { like: run.params as any }) as Params;
  const savedModel = loadParams(saved.model);
  const loadedOpt = fromRecords(tensorsToRecords(savedOptimizer), { like: run.optState as any });
  disposeTree(run.optState);
  run.optState = loadedOpt;
  // An averaging run saved the average as the model and the iterate with the optimizer. A run
  // that switches averaging on at this resume starts the average at the iterate.
  disposeTree(run.params);
  run.params = savedIterate ? loadParams(savedIterate) : savedModel;
  if (run.config.polyakDecay > 0) run.averaged = savedIterate ? savedModel : refTree(savedModel);
  else if (savedIterate) disposeTree(savedModel);
  run.state = { ...saved.state, stopped: null };
  run.key.dispose();
  run.key = keyFromWords(run.state.key);
  store.keepMetricsUpTo(run.state.epoch);
  return true;
}

/** The step runner: the fused step on this thread, or data-parallel workers (config.workers > 1). */
async function startRunner(args: TrainArgs, run: Run): Promise<StepRunner> {
  const { config, model, optimizer, train } = run;
  if (config.workers <= 1) return singleThreadRunner(model, optimizer, config.clipNorm, train);
  if (!args.dataParallel) throw new LatentkitError(`workers=${config.workers}: training on more than one thread needs Node's worker threads; use workers 1 here`);
  return args.dataParallel({ config, info: dataInfo(args.data), model, optimizer, params: run.params, split: train, workers: config.workers });
}

/** The checkpoint of the state in force (the model is the average when averaging). */
function checkpoint(run: Run) {
  const modelTensors = recordsToTensors(toRecords((run.averaged ?? run.params) as any));
  const optimizerTensors = packOptimizer(
    recordsToTensors(toRecords(run.optState as any)), run.averaged ? recordsToTensors(toRecords(run.params as any)) : undefined,
  );
  return { model: modelTensors, optimizer: optimizerTensors, state: { ...run.state, key: keyWords(run.key) } };
}

/** What an epoch's steps add up to: the sums of the batch metrics, weighted by batch size, and the examples seen. */
type EpochSums = { epoch: number; started: number; sums: Record<string, number>; seen: number };

/**
 * The steps of the next epoch (an interrupted one continues where its checkpoint was saved, with
 * its running sums). A non-finite step is rolled back and halves the learning rate; too many stop
 * the run. A stop signal ends the epoch at a step boundary with a resumable partial state.
 */
async function runEpoch(run: Run, runner: StepRunner): Promise<EpochSums> {
  const { config, train, state, progress, stepsPerEpoch, args: { signal, onStep } } = run;
  const epoch = state.epoch;
  const started = Date.now();
  const partial = state.partial;
  state.partial = undefined;
  const sums: Record<string, number> = { ...(partial?.sums ?? {}) };
  let seen = partial?.seen ?? 0;
  let position = partial?.position ?? 0;
  progress.startEpoch(epoch + 1, config.epochs, stepsPerEpoch);
  for (const b of hostBatches(train, {
    batchSize: config.batchSize, seed: config.seed, epoch, dropLast: true, binarize: config.binarize, shift: config.augmentShift, startAt: position,
  })) {
    const size = b.indices.length;
    const [nextKey, stepKey] = splitKey(run.key);
    run.key = nextKey;
    const lr = run.learningRateAt(state.step) * state.lrScale;
    const out = await runner.run(refTree(run.params), refTree(run.optState), b, stepKey, lr, scalarsAt(config, state.step, stepsPerEpoch));
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
    disposeTree(run.params);
    disposeTree(run.optState);
    run.params = out.params;
    run.optState = out.optState;
    state.step += 1;
    if (run.averaged) run.averaged = run.averageUpdate!(run.averaged, run.params, scalar(1 - averageDecayAt(config.polyakDecay, state.step)));
    seen += size;
    sums.loss = (sums.loss ?? 0) + loss * size;
    for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v * size;
    progress.tick({ loss, ...metrics });
    const current = run.averaged ?? run.params;
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
  return { epoch, started, sums, seen };
}

/**
 * The end of an epoch: its metrics line (train means, validation, lr, KL weight, time), the best
 * epoch and early stopping, then the line and the checkpoint (last, and best when it improved).
 */
function endEpoch(run: Run, { epoch, started, sums, seen }: EpochSums): void {
  const { config, state, stepsPerEpoch, store } = run;
  const line: MetricsLine = { epoch: epoch + 1, step: state.step };
  for (const [k, v] of Object.entries(sums)) line[`train_${k}`] = v / Math.max(1, seen);
  let validLoss: number;
  if (run.valid) {
    const scalars = scalarsAt(config, state.step, stepsPerEpoch, "validation");
    const v = evaluateLoss(run.model, run.evalStep, run.averaged ?? run.params, run.valid, config, scalars, config.seed + 1);
    for (const [k, x] of Object.entries(v)) line[`valid_${k}`] = x;
    validLoss = v.loss;
  } else {
    validLoss = line.train_loss ?? Infinity;
  }
  line.lr = run.learningRateAt(state.step) * state.lrScale;
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
  if (run.args.signal?.aborted && !state.stopped) state.stopped = "interrupted";
  run.lines.push(line);
  // The metrics line goes first: a resume drops lines past its checkpoint, so a kill between the
  // two writes loses nothing.
  if (store) {
    store.appendMetrics(line);
    const c = checkpoint(run);
    store.saveCheckpoint(c, improved ? c.model : undefined);
  }
  run.progress.log(formatEpochLine(line, config.epochs));
  run.args.onEpoch?.({ epoch: epoch + 1, step: state.step, metrics: line });
}

/** The result: the model in force (the average when averaging); a diverged run throws. */
function finish(run: Run): TrainResult {
  const { state } = run;
  state.key = keyWords(run.key);
  run.key.dispose();
  if (state.stopped?.startsWith("diverged")) {
    disposeTree([run.params, run.averaged ?? {}, run.optState]);
    throw new LatentkitError(state.epoch > 0 ? state.stopped : state.stopped.replace(/; the last good.*/, "; no checkpoint was written"));
  }
  if (state.stopped && state.stopped !== "interrupted") run.progress.log(state.stopped);
  disposeTree(run.optState);
  if (run.averaged) disposeTree(run.params);
  return { state, params: run.averaged ?? run.params, model: run.model, metrics: run.lines };
}

function formatEpochLine(line: MetricsLine, epochs: number): string {
  const parts = [`epoch ${line.epoch}/${epochs}`];
  for (const [k, v] of Object.entries(line)) {
    if (k === "epoch" || k === "step" || v === null) continue;
    parts.push(`${k} ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(k === "time_s" ? 1 : 4) : v.toExponential(2)}`);
  }
  return parts.join("  ");
}
