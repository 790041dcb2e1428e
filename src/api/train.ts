// The library's `train`, shared by the Node and browser entries: options checked against the
// configuration schema, data from a name, a path or memory, the trainer with callbacks and an
// AbortSignal, and a TrainedModel at the end. Where the run is written (a folder, in Node) and what
// happens after training (evaluation, pictures, report) come from the entry's environment.
import type { z } from "zod";
import { LatentkitError } from "../io/errors.js";
import { makeSplit, type Dataset, type Split } from "../data/dataset.js";
import { getModelFamily, modelFamilies } from "../models/registry.js";
import type { Params } from "../models/types.js";
import { configKeys, ownOptions, resolveConfigSources, trainingOptionsSchema, type ConfigInput, type RunConfig } from "../train/config.js";
import { train as runTrainer, checkTrainingData, dataInfo, type EpochEvent, type Progress, type StepEvent as TrainerStepEvent, type TrainArgs } from "../train/trainer.js";
import { fitModelPrior } from "../train/prior.js";
import { makeOptimizer, stepFlopsPerParameter } from "../train/step.js";
import type { MetricsLine, RunStore } from "../train/run-files.js";
import { PACKAGE_VERSION } from "../version.js";
import { evaluate } from "../eval/evaluate.js";
import { asImages, asLabels, type Images } from "./images.js";
import { TrainedModel } from "./model.js";

/** Training data in memory: images with optional labels, and an optional validation set. */
export type InMemoryDataset = {
  train: Images;
  labels?: Int32Array;
  valid?: Images;
  validLabels?: Int32Array;
  test?: Images;
  testLabels?: Int32Array;
  /** Number of classes of the labels (default: the largest label + 1). */
  numClasses?: number;
};

/** The options of `train`: any configuration key (`latentkit train --set`), plus what a call needs. */
export type TrainOptions = Partial<Omit<ConfigInput, "dataset">> & {
  /** A data set name ("sprites", "fashion-mnist", ...), a path (Node), or the data in memory. */
  dataset?: string | InMemoryDataset;
  /** More configuration keys, as `--set key=value` would give them (they win over the ones above). */
  set?: Partial<ConfigInput>;
  /** The run folder to write (Node). Without it nothing is written. */
  out?: string;
  /** Continue the run in `out` up to `epochs` (its saved configuration; a folder without a checkpoint starts at 0). */
  resume?: boolean;
  /** Stops at the next step boundary; with `out`, a checkpoint of that step is saved first. */
  signal?: AbortSignal;
  /** After every step. A returned promise is awaited before the next step: training pauses until it settles. */
  onStep?: (event: StepEvent) => void | Promise<void>;
  onEpoch?: (event: EpochEvent) => void;
  /** Progress lines on stderr (Node), as the CLI prints them. Default false. */
  progress?: boolean | Progress;
  /** Where the end-of-run notes go (prior fitted, report written). Default: the progress lines. */
  log?: (line: string) => void;
  /** Evaluate on the test split at the end (eval.json with `out`). Default: true with `out`, else false. */
  evaluate?: boolean;
};

/** What `train` returns. */
export type TrainRun = {
  model: TrainedModel;
  /** The metrics line of every epoch this call trained (metrics.jsonl's lines). */
  metrics: MetricsLine[];
  /** The end-of-run evaluation on the test split, when it ran. */
  evaluation?: Record<string, unknown>;
  /** The run folder, when `out` was given. */
  dir?: string;
  /** Why training ended before `epochs`: "interrupted" (the signal), early stopping; null when it did not. */
  stopped: string | null;
  config: RunConfig;
};

/**
 * After every optimizer step: the epoch (1-based, in progress), the run's step count, the batch's
 * metrics, and `snapshot()`: the model as it is now, to look at while it trains (dispose it).
 */
export type StepEvent = Omit<TrainerStepEvent, "params"> & { snapshot(): TrainedModel };
export type { EpochEvent, MetricsLine };

/** What an entry point provides: data by name or path, the run folder, the end-of-run work. */
export type TrainEnvironment = {
  loadData(spec: string, config: RunConfig): Promise<Dataset>;
  /** The saved configuration of a run folder, for a resume (Node). */
  savedConfig?(dir: string): Record<string, unknown>;
  store?(dir: string, fresh: boolean): RunStore;
  consoleProgress?(): Progress;
  /** The epochs a run folder's checkpoint has completed (undefined: no checkpoint). */
  savedEpoch?(dir: string): number | undefined;
  /** Whether a run folder's end (evaluation and report) was written. */
  finished?(dir: string): boolean;
  /** After training with a folder: save the prior, evaluate, write eval.json, pictures and report. */
  /** The machine's cores (Node); absent: one thread (the browser). */
  cores?(): number;
  /** Starts data-parallel training over worker threads (Node). */
  dataParallel?: TrainArgs["dataParallel"];
  finish?(dir: string, model: TrainedModel, data: Dataset, config: RunConfig, prior: { params: Params; metrics: Record<string, number> } | undefined,
    log: (line: string) => void): Promise<Record<string, unknown> | undefined>;
};

const CALL_KEYS = new Set(["dataset", "set", "out", "resume", "signal", "onStep", "onEpoch", "progress", "evaluate", "log"]);
/** Keys that a resume may change (the rest would make it a different run). */
export const RESUMABLE_KEYS = new Set(["epochs", "lr", "lrSchedule", "polyakDecay", "patience", "minDelta", "maxDivergences", "evalIsSamples", "evalLimit", "report", "dataDir", "workers"]);

/** A data set from images in memory (labels, valid and test optional). */
export function inMemoryDataset(d: InMemoryDataset): Dataset {
  if (!d || typeof d !== "object" || !d.train) throw new LatentkitError("dataset: expected a name, a path, or { train: Images, labels?, valid?, ... }");
  const shape = d.train.shape?.slice(1) as [number, number, number];
  if (!shape || shape.length !== 3) throw new LatentkitError(`dataset.train: shape [${d.train.shape}] is not [N, C, H, W]`);
  const all = [d.labels, d.validLabels, d.testLabels].filter((l): l is Int32Array => !!l);
  const numClasses = d.numClasses ?? (all.length ? Math.max(...all.map((l) => l.reduce((a, b) => Math.max(a, b), -1))) + 1 : undefined);
  const split = (images: Images | undefined, labels: Int32Array | undefined, name: string): Split | undefined => {
    if (!images) return undefined;
    const x = asImages(images, shape, `dataset.${name}`);
    const y = labels && asLabels(labels, x.shape[0], numClasses!, `dataset.${name === "train" ? "labels" : name + "Labels"}`);
    for (let i = 0; i < x.data.length; i++) {
      if (x.data[i] < 0 || x.data[i] > 1) throw new LatentkitError(`dataset.${name}: value ${x.data[i]} at index ${i} is outside [0, 1]`);
    }
    return makeSplit(x.data, shape, { labels: y });
  };
  return {
    name: "memory", source: "(memory)", binary: false, imageShape: shape, numClasses,
    splits: { train: split(d.train, d.labels, "train"), valid: split(d.valid, d.validLabels, "valid"), test: split(d.test, d.testLabels, "test") },
  };
}

/** Checks the keys of the options: a misspelled one is an error, not ignored. */
function configValues(options: TrainOptions): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (CALL_KEYS.has(k)) continue;
    if (!configKeys.includes(k)) throw new LatentkitError(`train: unknown option "${k}" (configuration keys: latentkit train --help, or the TrainOptions type)`);
    values[k] = v;
  }
  for (const k of Object.keys(options.set ?? {})) {
    if (!configKeys.includes(k)) throw new LatentkitError(`train: set.${k}: unknown configuration key`);
  }
  return values;
}

/** The configuration of a resumed run: its own, with only the keys of RESUMABLE_KEYS changed. */
export function resumedConfig(saved: Record<string, unknown>, given: Record<string, unknown>): RunConfig {
  const { version: _v, data: _d, ...rest } = ownOptions(saved);
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!RESUMABLE_KEYS.has(k) && JSON.stringify(v) !== JSON.stringify(rest[k])) {
      throw new LatentkitError(`cannot change ${k} when resuming (the run has ${k}=${JSON.stringify(rest[k])}); allowed: ${[...RESUMABLE_KEYS].join(", ")}`);
    }
    if (RESUMABLE_KEYS.has(k)) overrides[k] = v;
  }
  return resolveConfigSources({}, rest, overrides);
}

/** Runs shorter than this many examples (epochs × training examples) train on one thread when workers = 0. */
export const AUTO_PARALLEL_EXAMPLES = 100_000;
/**
 * Steps with fewer FLOPs per parameter than this train on one thread when workers = 0: measured on 2
 * cores (latentkit bench), seed-vae's MLP step (about 500) ran 0.76x as fast on 2 workers and
 * keras-conv-vae's (about 30,000) 1.80x: moving the parameters and gradients costs more than it saves.
 */
export const AUTO_PARALLEL_FLOPS_PER_PARAMETER = 4000;

/**
 * The worker count of a run: config.workers, or for 0 every core when the run is long enough for the
 * workers' start (a second or two) to pay and its step does enough arithmetic per parameter moved
 * (`intensity`, step.ts's stepFlopsPerParameter); never more than the batch has examples.
 */
export function trainingWorkers(config: RunConfig, trainExamples: number, cores: number, intensity: () => number): number {
  const long = config.epochs * trainExamples >= AUTO_PARALLEL_EXAMPLES;
  const asked = config.workers > 0 ? config.workers
    : cores > 1 && long && intensity() >= AUTO_PARALLEL_FLOPS_PER_PARAMETER ? cores : 1;
  return Math.max(1, Math.min(asked, config.batchSize));
}

/**
 * A line for a run that asked for several workers although its step does too little arithmetic per
 * parameter for them to pay (see AUTO_PARALLEL_FLOPS_PER_PARAMETER); null when they may pay.
 */
export function workersNote(asked: number, flopsPerParameter: number): string | null {
  if (asked <= 1 || flopsPerParameter >= AUTO_PARALLEL_FLOPS_PER_PARAMETER) return null;
  return `note: ${asked} workers are likely slower than 1 here: the step does about ${Math.round(flopsPerParameter)} FLOPs ` +
    `per parameter, and data-parallel training pays from about ${AUTO_PARALLEL_FLOPS_PER_PARAMETER} (conv nets; docs/speed.md)`;
}

/** The end-of-run evaluation: ELBO, −log p(x) (IS, config.evalIsSamples) or the reconstruction error, on test (else valid). */
export function testEvaluation(model: TrainedModel, data: Dataset, config: RunConfig): Record<string, unknown> | undefined {
  const split = data.splits.test ?? data.splits.valid;
  if (!split || config.evalIsSamples < 0) return undefined;
  const { model: m, params } = model.internals;
  const r = evaluate(m, params, split, {
    isSamples: m.probabilistic ? config.evalIsSamples : 0, limit: config.evalLimit || undefined,
    seed: config.seed, binarize: config.binarize, batchSize: 100,
  });
  return { split: data.splits.test ? "test" : "valid", ...assertFiniteEvaluation(r) };
}

/** An evaluation's numbers, or one error naming the first that is not finite. */
export function assertFiniteEvaluation<T extends object>(r: T): T {
  const bad = Object.entries(r).find(([, v]) => typeof v === "number" && !Number.isFinite(v));
  if (bad) throw new LatentkitError(`evaluation: ${bad[0]} is ${bad[1]} (the model's numbers are not finite: the run diverged, or its data has non-finite values)`);
  return r;
}

/** Trains a model (see TrainOptions); the environment says where it is written. */
export async function trainWith(env: TrainEnvironment, options: TrainOptions): Promise<TrainRun> {
  if (!options || typeof options !== "object") throw new LatentkitError("train: expected an options object");
  const values = configValues(options);
  const inMemory = typeof options.dataset === "object" && options.dataset !== null;
  if (typeof options.dataset === "string") values.dataset = options.dataset;
  if (inMemory) values.dataset = "memory";
  const given = { ...values, ...(options.set ?? {}) };
  const out = options.out;
  if (out !== undefined && !env.store) throw new LatentkitError("train: out (a run folder) needs Node; in the browser, train in memory and keep the returned model");
  let config: RunConfig;
  if (options.resume) {
    if (out === undefined) throw new LatentkitError("train: resume needs out (the run folder to continue)");
    config = resumedConfig(env.savedConfig!(out), given);
    // A resume with nothing left to train: an error, unless the run's end (evaluation, report) is what
    // a kill interrupted, which then runs now.
    const done = env.savedEpoch?.(out);
    if (done !== undefined && done >= config.epochs && (done > config.epochs || env.finished?.(out))) {
      throw new LatentkitError(`${out}: already trained to epoch ${done}; nothing to do (give epochs above ${done} to continue it)`);
    }
  } else {
    config = resolveConfigSources({}, values, options.set ?? {});
  }
  const data = inMemory ? inMemoryDataset(options.dataset as InMemoryDataset) : await env.loadData(config.dataset, config);
  let model;
  try {
    model = getModelFamily(config.model).create(config, dataInfo(data));
  } catch (e) {
    if (e instanceof LatentkitError) throw e;
    throw new LatentkitError(`model ${config.model}: ${(e as Error).message}`);
  }
  let intensity: number | undefined; // FLOPs per parameter of the step, traced once if needed
  const flopsPerParameter = () => (intensity ??= stepFlopsPerParameter(model, makeOptimizer(config), config.batchSize));
  config = { ...config, workers: trainingWorkers(config, data.splits.train?.n ?? 0, env.cores?.() ?? 1, flopsPerParameter) };
  checkTrainingData(config, data); // before a run folder is made
  const progress = options.progress === true ? env.consoleProgress?.() : options.progress || undefined;
  const store = out !== undefined ? env.store!(out, !options.resume) : null;
  const log = options.log ?? ((line: string) => progress?.log(line));
  log(`training ${config.model}${config.preset ? ` (${config.preset})` : ""} on ${data.name}: ` +
    `${data.splits.train?.n ?? 0} train / ${data.splits.valid?.n ?? 0} valid examples, ${config.epochs} epochs${out !== undefined ? ` -> ${out}` : ""}`);
  const note = config.workers > 1 ? workersNote(config.workers, flopsPerParameter()) : null;
  if (note) log(note);
  const savedConfig = { ...config, data: dataInfo(data), version: PACKAGE_VERSION };
  const result = await runTrainer({
    config, model, data, store, resume: !!options.resume, progress, signal: options.signal, onEpoch: options.onEpoch,
    onStep: options.onStep && ((e) => {
      const { params, ...rest } = e;
      return options.onStep!({ ...rest, snapshot: () => new TrainedModel(savedConfig, model, params()) });
    }),
    dataParallel: env.dataParallel,
  });
  const interrupted = result.state.stopped === "interrupted";

  let prior: { params: Params; metrics: Record<string, number> } | undefined;
  if (model.fitPrior && !interrupted) {
    const fitted = fitModelPrior(model, result.params, data, config, (line) => progress?.log(line));
    result.params.prior = fitted.prior;
    prior = { params: fitted.prior, metrics: fitted.metrics };
    log(`prior fitted: ${Object.entries(fitted.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`).join("  ")}`);
  }
  const trained = new TrainedModel(savedConfig, model, result.params);
  let evaluation: Record<string, unknown> | undefined;
  if (!interrupted) {
    if (out !== undefined) {
      evaluation = await env.finish?.(out, trained, data, config, prior, log);
    } else if (options.evaluate) {
      evaluation = testEvaluation(trained, data, config);
    }
  }
  return { model: trained, metrics: result.metrics, evaluation, dir: out, stopped: result.state.stopped, config };
}

/** A model family as `latentkit models --json` lists it. */
export type ModelListing = {
  name: string; description: string; presets: string[];
  /** The family's options (its schema's keys) with their defaults and descriptions. */
  options: Record<string, { default: unknown; description: string }>;
};

/** The model families, their presets and options, as `latentkit models --json`. */
export function listModels(): ModelListing[] {
  return modelFamilies.map((m) => ({
    name: m.name, description: m.description, presets: Object.keys(m.presets), options: optionListing(m.options),
  }));
}

/** The training options (every family's: epochs, lr, schedules, augmentation, ...), as `train --help` lists them. */
export function listTrainingOptions(): ModelListing["options"] {
  return optionListing(trainingOptionsSchema);
}

/** A schema's keys with their defaults and descriptions. */
function optionListing(schema: z.ZodObject): ModelListing["options"] {
  return Object.fromEntries(Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, field]) =>
    [key, { default: field.parse(undefined), description: field.description ?? "" }]));
}
