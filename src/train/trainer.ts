// One trainer for every model: epochs of jitted steps, validation each epoch, metrics.jsonl,
// checkpoints (last and best) that resume exactly, early stopping, a divergence guard, and
// optional Polyak averaging (average.ts).
import { mkdirSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { init, np, keyFromSeed, splitKey, toNumber, disposeTree, refTree, type Array } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { appendJsonLine, readJsonLines, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { batches, batchesPerEpoch } from "../data/loader.js";
import type { Dataset, Split } from "../data/dataset.js";
import type { Model, Params } from "../models/types.js";
import { toRecords, fromRecords } from "../nn/tree.js";
import type { RunConfig } from "./config.js";
import { makeTrainStep, makeEvalStep, makeOptimizer, splitBuffers } from "./step.js";
import { klWeightAt, learningRateSchedule, temperatureAt } from "./schedules.js";
import {
  saveCheckpoint, loadCheckpoint, packOptimizer, unpackOptimizer, CONFIG_FILE, METRICS_FILE, type TrainState,
} from "./checkpoint.js";
import { averageDecayAt, makeAverageUpdate } from "./average.js";
import { recordsToTensors, tensorsToRecords } from "./tensors.js";
import type { Progress } from "./progress.js";
import { pretrain } from "./pretrain.js";
import { PACKAGE_VERSION, dataInfo } from "./run.js";

export type TrainResult = { runDir: string; state: TrainState; params: Params; model: Model };

export type TrainArgs = {
  config: RunConfig;
  runDir: string;
  model: Model;
  data: Dataset;
  resume: boolean;
  progress: Progress;
};

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
  config: RunConfig, klWeight: number, temperature: number, seed: number,
): Record<string, number> {
  const sums: Record<string, number> = {};
  let n = 0;
  let key = keyFromSeed(seed);
  for (const b of batches(split, { batchSize: config.batchSize, shuffle: false, binarize: config.binarize === "dynamic" ? "static" : config.binarize })) {
    const size = b.x.shape[0];
    const [next, k] = splitKey(key);
    key = next;
    const labels = b.y ?? np.zeros([size], { dtype: np.int32 });
    const out = evalStep(params, b.x, labels, k, scalar(klWeight), scalar(temperature));
    sums.loss = (sums.loss ?? 0) + toNumber(out.loss) * size;
    for (const [name, v] of Object.entries(out.metrics)) sums[name] = (sums[name] ?? 0) + toNumber(v) * size;
    n += size;
  }
  key.dispose();
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}

export async function train(args: TrainArgs): Promise<TrainResult> {
  await init();
  const { config, runDir, model, data, progress } = args;
  const train = data.splits.train;
  if (!train) throw new LatentkitError(`data set ${data.name}: no training split (missing: ${data.missing?.join(", ") ?? "?"})`);
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
  mkdirSync(runDir, { recursive: true });
  if (args.resume) {
    const saved = loadCheckpoint(runDir);
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
    // metrics.jsonl may hold lines past the checkpoint (a kill after the append): keep those up to it.
    const lines = readJsonLines(join(runDir, METRICS_FILE)) as { epoch: number }[];
    writeFileAtomic(join(runDir, METRICS_FILE), lines.filter((l) => l.epoch <= state.epoch).map((l) => JSON.stringify(l) + "\n").join(""));
  }
  // The configuration in force (a resume may have extended the epochs or changed the learning rate).
  writeJsonAtomic(join(runDir, CONFIG_FILE), { ...config, version: PACKAGE_VERSION, data: dataInfo(data) });
  if (!args.resume) {
    if (existsSync(join(runDir, METRICS_FILE))) rmSync(join(runDir, METRICS_FILE));
    // Greedy pretraining (stacked-ae) happens once, before epoch 1; a resumed run has it in its checkpoint.
    if (model.pretrainStages?.length) {
      const pre = pretrain(model, params, train, config, progress);
      params = pre.params;
      writeJsonAtomic(join(runDir, "pretrain.json"), pre.log);
    }
  }

  if (config.polyakDecay > 0 && averaged === null) averaged = refTree(params);
  const averageUpdate = averaged ? makeAverageUpdate() : undefined;
  const step = makeTrainStep(model, optimizer, config.clipNorm);
  const evalStep = makeEvalStep(model);
  let key = keyFromWords(state.key);

  for (let epoch = state.epoch; epoch < config.epochs && !state.stopped; epoch++) {
    const started = Date.now();
    const sums: Record<string, number> = {};
    let seen = 0;
    progress.startEpoch(epoch + 1, config.epochs, stepsPerEpoch);
    for (const b of batches(train, {
      batchSize: config.batchSize, seed: config.seed, epoch, dropLast: true, binarize: config.binarize,
    })) {
      const size = b.x.shape[0];
      const labels = b.y ?? np.zeros([size], { dtype: np.int32 });
      const [nextKey, stepKey] = splitKey(key);
      key = nextKey;
      const lr = learningRateAt(state.step) * state.lrScale;
      const out = step(
        refTree(params), refTree(optState), b.x, labels, stepKey, scalar(lr),
        scalar(klWeightAt(config, state.step, stepsPerEpoch)), scalar(temperatureAt(config, state.step)),
      );
      const loss = toNumber(out.loss);
      const gradNorm = toNumber(out.gradNorm);
      const metrics = Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, toNumber(v)]));
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
    }
    progress.endEpoch();
    if (state.stopped) break;

    const line: Record<string, number | null> = { epoch: epoch + 1, step: state.step };
    for (const [k, v] of Object.entries(sums)) line[`train_${k}`] = v / Math.max(1, seen);
    const klTarget = config.beta;
    let validLoss: number;
    if (valid) {
      const v = evaluateLoss(model, evalStep, averaged ?? params, valid, config, klTarget, temperatureAt(config, state.step), config.seed + 1);
      for (const [k, x] of Object.entries(v)) line[`valid_${k}`] = x;
      validLoss = v.loss;
    } else {
      validLoss = line.train_loss ?? Infinity;
    }
    line.lr = learningRateAt(state.step) * state.lrScale;
    line.kl_weight = klWeightAt(config, state.step, stepsPerEpoch);
    line.time_s = (Date.now() - started) / 1000;

    state.epoch = epoch + 1;
    state.key = keyWords(key);
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
    // The metrics line goes first: a resume drops lines past its checkpoint, so a kill between the
    // two writes loses nothing.
    appendJsonLine(join(runDir, METRICS_FILE), line);
    const modelTensors = recordsToTensors(toRecords((averaged ?? params) as any));
    const optimizerTensors = packOptimizer(
      recordsToTensors(toRecords(optState as any)), averaged ? recordsToTensors(toRecords(params as any)) : undefined,
    );
    saveCheckpoint(runDir, modelTensors, optimizerTensors, state, improved ? modelTensors : undefined);
    progress.log(formatEpochLine(line, config.epochs));
  }
  key.dispose();
  if (state.stopped?.startsWith("diverged")) {
    disposeTree(params);
    if (averaged) disposeTree(averaged);
    disposeTree(optState);
    throw new LatentkitError(state.epoch > 0 ? state.stopped : state.stopped.replace(/; the last good.*/, "; no checkpoint was written"));
  }
  if (state.stopped) progress.log(state.stopped);
  disposeTree(optState);
  if (averaged) disposeTree(params);
  return { runDir, state, params: averaged ?? params, model };
}

function formatEpochLine(line: Record<string, number | null>, epochs: number): string {
  const parts = [`epoch ${line.epoch}/${epochs}`];
  for (const [k, v] of Object.entries(line)) {
    if (k === "epoch" || k === "step" || v === null) continue;
    parts.push(`${k} ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(k === "time_s" ? 1 : 4) : v.toExponential(2)}`);
  }
  return parts.join("  ");
}
