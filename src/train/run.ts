// Runs: a configuration resolved from its sources, the data it names, the model it builds, and a
// saved run folder opened again for evaluation and pictures.
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { init } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { loadDataset } from "../data/registry.js";
import { concatSplits, gatherSplit, type Dataset, type SplitName } from "../data/dataset.js";
import { getModelFamily, findPreset } from "../models/registry.js";
import type { DataInfo, Model, Params } from "../models/types.js";
import { fromRecords, toRecords } from "../nn/tree.js";
import { disposeTree, keyFromSeed } from "../engine/index.js";
import {
  validateConfig, readConfigFile, mergeSources, parseSetting, type ConfigSource, type RunConfig,
} from "./config.js";
import { CONFIG_FILE, loadModelTensors, readJsonFile, assertRunFolder } from "./checkpoint.js";
import { tensorsToRecords, recordsToTensors } from "./tensors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { batches } from "../data/loader.js";
import type { Split } from "../data/dataset.js";

export const PACKAGE_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    return String(pkg.version);
  } catch {
    return "unknown";
  }
})();

/** What a saved config.json holds besides the configuration. */
export type SavedConfig = RunConfig & { version: string; data: DataInfo };

/**
 * defaults <- preset <- --config FILE <- flags <- --set: the model comes from the flags, else the
 * file, else the preset's family, else "vae".
 */
export function resolveConfig(
  { flags = {}, configFile, sets = [] }: { flags?: ConfigSource; configFile?: string; sets?: string[] },
): RunConfig {
  const file = configFile ? readConfigFile(configFile) : {};
  const setValues = Object.fromEntries(sets.map(parseSetting));
  const merged = mergeSources(file, flags, setValues);
  const preset = merged.preset as string | undefined | null;
  const model = merged.model as string | undefined;
  let presetValues: ConfigSource = {};
  let presetModel: string | undefined;
  if (preset) {
    const found = findPreset(preset, model);
    presetValues = found.values;
    presetModel = found.family.name;
  }
  const config = validateConfig(mergeSources({ model: presetModel }, presetValues, merged));
  getModelFamily(config.model); // an unknown model fails here, before any work
  return config;
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

export function dataInfo(data: Dataset): DataInfo {
  return { imageShape: [...data.imageShape] as DataInfo["imageShape"], numClasses: data.numClasses ?? null };
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
    throw new LatentkitError(`${join(dir, "model.safetensors")}: does not match the run's model (${(e as Error).message})`);
  } finally {
    disposeTree(skeleton);
  }
  const priorFile = join(dir, PRIOR_FILE);
  if (model.fitPrior && existsSync(priorFile)) {
    params.prior = fromRecords(tensorsToRecords(readSafetensors(priorFile).tensors)) as Params;
  }
  return { dir, config: { ...config, version, data }, model, params };
}

/** Where a model's prior fitted after training (Model.fitPrior) is kept. */
export const PRIOR_FILE = "prior.safetensors";

/**
 * Fits the model's post-training prior on the training split (validation codes for a held-out
 * score) and saves it as RUN/prior.safetensors; returns its metrics. `params` is borrowed.
 */
export function fitRunPrior(
  dir: string, model: Model, params: Params, data: Dataset, config: RunConfig, log: (line: string) => void,
): Record<string, number> {
  const binarize = config.binarize === "dynamic" ? "static" : config.binarize;
  const over = (split: Split) => {
    const it = batches(split, { batchSize: 500, shuffle: false, binarize });
    return (function* () { for (const b of it) yield { x: b.x, labels: b.y }; })();
  };
  const train = data.splits.train!;
  const valid = data.splits.valid;
  const { prior, metrics } = model.fitPrior!(params, { train: over(train), valid: valid && over(valid) }, keyFromSeed(config.seed + 2), log);
  const meta = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, String(v)]));
  writeSafetensors(join(dir, PRIOR_FILE), recordsToTensors(toRecords(prior as any)), meta);
  disposeTree(prior);
  return metrics;
}

