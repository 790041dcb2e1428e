// Runs: a configuration resolved from its sources, the data it names, the model it builds, and a
// saved run folder opened again for evaluation and pictures.
import { MODEL_FILE } from "./run-files.js";
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { init } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { loadDataset } from "../data/registry.js";
import { concatSplits, gatherSplit, type Dataset, type SplitName } from "../data/dataset.js";
import { getModelFamily } from "../models/registry.js";
import type { DataInfo, Model, Params } from "../models/types.js";
import { fromRecords, toRecords } from "../nn/tree.js";
import { disposeTree, keyFromSeed } from "../engine/index.js";
import {
  validateConfig, resolveConfigSources, parseSetting, type ConfigSource, type RunConfig,
} from "./config.js";
import { CONFIG_FILE, PRIOR_FILE, loadModelTensors, readJsonFile, assertRunFolder } from "./checkpoint.js";
import { tensorsToRecords, recordsToTensors } from "./tensors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { fitModelPrior } from "./prior.js";
import type { Split } from "../data/dataset.js";

export { PACKAGE_VERSION } from "../version.js";
export { dataInfo } from "./trainer.js";

/** What a saved config.json holds besides the configuration. */
export type SavedConfig = RunConfig & { version: string; data: DataInfo };

/** defaults <- preset <- --config FILE <- flags <- --set (config.ts's resolveConfigSources). */
export function resolveConfig(
  { flags = {}, configFile, sets = [] }: { flags?: ConfigSource; configFile?: string; sets?: string[] },
): RunConfig {
  const file = configFile ? readConfigFile(configFile) : {};
  return resolveConfigSources(file, flags, Object.fromEntries(sets.map(parseSetting)));
}

/** Reads `--config FILE.json`: a JSON object of configuration keys. */
export function readConfigFile(path: string): ConfigSource {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new LatentkitError(`${path}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new LatentkitError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new LatentkitError(`${path}: a config file must hold one JSON object`);
  }
  return parsed as ConfigSource;
}

/** The data set of a configuration; named sets download missing files (one clear line offline). */
export async function loadRunData(config: RunConfig, splits?: readonly SplitName[]): Promise<Dataset> {
  const data = await loadDataset(config.dataset, {
    dataDir: config.dataDir ?? undefined, download: true, carveValid: true, splits,
  });
  const kept = config.excludeClasses.length ? withoutClasses(data, config.excludeClasses) : data;
  return config.trainOnValid ? withValidInTrain(kept) : kept;
}

/** The data set with its valid split appended to train and no valid split left. */
export function withValidInTrain(data: Dataset): Dataset {
  const { train, valid } = data.splits;
  if (!train || !valid) return data; // a command that asked for one split only
  return { ...data, splits: { ...data.splits, train: concatSplits(train, valid), valid: undefined } };
}

/** The data set with the examples of `classes` removed from train and valid (test keeps every class). */
export function withoutClasses(data: Dataset, classes: number[]): Dataset {
  const drop = new Set(classes);
  const filter = (s: Split | undefined): Split | undefined => {
    if (!s) return s;
    if (!s.labels) throw new LatentkitError(`excludeClasses=${JSON.stringify(classes)}: data set ${data.name} has no labels`);
    const keep = [...s.labels.keys()].filter((i) => !drop.has(s.labels![i]));
    return gatherSplit(s, keep);
  };
  return { ...data, splits: { ...data.splits, train: filter(data.splits.train), valid: filter(data.splits.valid) } };
}


export function createModel(config: RunConfig, info: DataInfo): Model {
  try {
    return getModelFamily(config.model).create(config, info);
  } catch (e) {
    if (e instanceof LatentkitError) throw e;
    throw new LatentkitError(`model ${config.model}: ${(e as Error).message}`);
  }
}

export type OpenRun = { dir: string; config: SavedConfig; model: Model; params: Params };

/** A saved run: its configuration, its model and its parameters (last or best checkpoint). */
export async function openRun(dir: string, which: "last" | "best" = "last"): Promise<OpenRun> {
  await init();
  assertRunFolder(dir);
  const saved = readJsonFile<SavedConfig>(join(dir, CONFIG_FILE));
  const { version, data, ...rest } = saved;
  if (!data || !globalThis.Array.isArray(data.imageShape)) throw new LatentkitError(`${join(dir, CONFIG_FILE)}: no data shape recorded`);
  let config: RunConfig;
  try {
    config = validateConfig(rest);
  } catch (e) {
    throw new LatentkitError(`${join(dir, CONFIG_FILE)}: ${(e as Error).message}`);
  }
  const model = createModel(config, data);
  const skeleton = model.init(keyFromSeed(0));
  let params: Params;
  try {
    params = fromRecords(tensorsToRecords(loadModelTensors(dir, which)), { like: skeleton as any }) as Params;
  } catch (e) {
    if (e instanceof LatentkitError) throw e;
    throw new LatentkitError(`${join(dir, MODEL_FILE)}: does not match the run's model (${(e as Error).message})`);
  } finally {
    disposeTree(skeleton);
  }
  const priorFile = join(dir, PRIOR_FILE);
  if (model.fitPrior && existsSync(priorFile)) {
    params.prior = fromRecords(tensorsToRecords(readSafetensors(priorFile).tensors)) as Params;
  }
  return { dir, config: { ...config, version, data }, model, params };
}


/**
 * Fits the model's post-training prior (fitModelPrior) and saves it as RUN/prior.safetensors, with its
 * metrics as metadata; returns the metrics. `params` is borrowed; the prior is disposed.
 */
export function fitRunPrior(
  dir: string, model: Model, params: Params, data: Dataset, config: RunConfig, log: (line: string) => void,
): Record<string, number> {
  const { prior, metrics } = fitModelPrior(model, params, data, config, log);
  savePrior(dir, prior, metrics);
  disposeTree(prior);
  return metrics;
}

/** Saves a fitted prior as RUN/prior.safetensors (its metrics as metadata). */
export function savePrior(dir: string, prior: Params, metrics: Record<string, number>): void {
  const meta = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, String(v)]));
  writeSafetensors(join(dir, PRIOR_FILE), recordsToTensors(toRecords(prior as any)), meta);
}
