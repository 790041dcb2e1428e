// The library in Node: run folders on disk, data sets by name or path, and the end of a run (prior,
// evaluation, eval.json, pictures and report), on top of the portable pieces (model.ts, train.ts).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError, fileError } from "../io/errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { readSafetensors, writeSafetensors, toFloat32 } from "../io/safetensors.js";
import { decodeTorchStateDict } from "../io/torch-pt.js";
import { getModelFamily } from "../models/registry.js";
import { keyFromSeed, disposeTree } from "../engine/index.js";
import { flattenParams } from "../nn/tree.js";
import { PACKAGE_VERSION } from "../version.js";
import { loadDataset as loadData, type LoadOptions } from "../data/registry.js";
import { listDatasets as listDataFolders, type DatasetListing } from "../data/list.js";
import { loadRunData, savePrior } from "../train/run.js";
import type { Dataset } from "../data/dataset.js";
import { savedConfig, type RunConfig } from "../train/config.js";
import {
  CONFIG_FILE, EVAL_FILE, REPORT_FILE, STATE_FILE, MODEL_FILE, BEST_MODEL_FILE, PRIOR_FILE, assertRunFolder, folderStore, hasCheckpoint, readJsonFile,
} from "../train/checkpoint.js";
import { consoleProgress } from "../train/progress.js";
import { writeReport } from "../report/report.js";
import { TrainedModel, parseRunConfig, type ModelParts } from "./model.js";
import { loadModelPortable } from "./load.js";
import { machineCores } from "../train/worker-thread.js";
import { startDataParallel } from "../train/data-parallel.js";
import { evaluateInWorkers, PARALLEL_EVAL_WORK } from "./evaluate.js";
import { trainWith, testEvaluation, assertFiniteEvaluation, type TrainEnvironment, type TrainOptions, type TrainRun } from "./train.js";
import { datasetView, type LoadedDataset } from "./data.js";

/** Which checkpoint of a run folder: the last (default) or the best by validation loss. */
export type LoadModelOptions = { checkpoint?: "last" | "best" };

/**
 * A trained model from a run folder (Node), a URL (config.json + model.safetensors over fetch), or
 * its parts in memory ({ config, weights }).
 */
export async function loadModel(source: string | URL | ModelParts, opts: LoadModelOptions = {}): Promise<TrainedModel> {
  if (typeof source !== "string") return loadModelPortable(source);
  const dir = source;
  assertRunFolder(dir);
  const file = opts.checkpoint === "best" && existsSync(join(dir, BEST_MODEL_FILE)) ? BEST_MODEL_FILE : MODEL_FILE;
  const read = (name: string) => {
    try {
      return new Uint8Array(readFileSync(join(dir, name)));
    } catch (e) {
      throw fileError(join(dir, name), e);
    }
  };
  const config = readJsonFile<Record<string, unknown>>(join(dir, CONFIG_FILE));
  readSafetensors(join(dir, file)); // the file reader's checks and messages (bounds, header) first
  const prior = existsSync(join(dir, PRIOR_FILE)) ? read(PRIOR_FILE) : undefined;
  try {
    return await TrainedModel.fromParts({ config, weights: read(file), prior });
  } catch (e) {
    // config.json: ... / model.safetensors: ... -> RUN/config.json: ...
    if (e instanceof LatentkitError && (e.message.startsWith(CONFIG_FILE) || e.message.startsWith(MODEL_FILE))) {
      throw new LatentkitError(`${join(dir, e.message.startsWith(MODEL_FILE) ? file : CONFIG_FILE)}${e.message.slice(e.message.indexOf(":"))}`);
    }
    throw e;
  }
}

/**
 * A data set by name ("sprites", "mnist", "fashion-mnist", "binarized-mnist": missing files are
 * downloaded, with checksums) or path (IDX, .csv, .npy, a folder of PNGs). Named sets without a valid
 * split get one carved from the end of train, as training does.
 */
export async function loadDataset(spec: string, opts: Pick<LoadOptions, "dataDir" | "splits"> & { download?: boolean } = {}): Promise<LoadedDataset> {
  const ds = await loadData(spec, { dataDir: opts.dataDir, splits: opts.splits, download: opts.download ?? true, carveValid: true });
  return datasetView(ds);
}

/** The named data sets, whether they are here and their split sizes, as `latentkit datasets --json`. */
export function listDatasets(opts: { dataDir?: string } = {}): DatasetListing[] {
  return listDataFolders(opts);
}

/**
 * The end-of-run evaluation of a run folder (testEvaluation), sharded over every core when it is long
 * (PARALLEL_EVAL_WORK) and its data can be read again by the workers (a named or path data set).
 */
async function folderTestEvaluation(dir: string, model: TrainedModel, data: Dataset, config: RunConfig): Promise<Record<string, unknown> | undefined> {
  const split = data.splits.test ? "test" : "valid";
  const s = data.splits[split];
  if (!s || config.evalIsSamples < 0) return undefined;
  const n = config.evalLimit ? Math.min(config.evalLimit, s.n) : s.n;
  const samples = model.probabilistic ? config.evalIsSamples : 0;
  const cores = machineCores();
  if (cores < 2 || config.dataset === "memory" || n * Math.max(1, samples) < PARALLEL_EVAL_WORK) return testEvaluation(model, data, config);
  const r = await evaluateInWorkers({ runDir: dir, which: "last", split, offset: 0, n },
    { isSamples: samples, seed: config.seed, binarize: config.binarize, batchSize: 100 }, cores);
  return { split, ...assertFiniteEvaluation(r), workers: cores };
}

/** The Node environment of `train`: run folders, data by name or path, the end of a run. */
export const nodeTrainEnvironment: TrainEnvironment = {
  loadData: (_spec, config) => loadRunData(config),
  savedConfig(dir) {
    if (!existsSync(join(dir, CONFIG_FILE))) throw new LatentkitError(`${dir}: not a run folder (no ${CONFIG_FILE})`);
    return readJsonFile<Record<string, unknown>>(join(dir, CONFIG_FILE));
  },
  store(dir, fresh) {
    if (fresh && existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new LatentkitError(`${dir}: exists and is not a folder; choose another out`);
      if (hasCheckpoint(dir)) throw new LatentkitError(`${dir}: already holds a run; continue it with --resume ${dir} or choose another --out`);
      // A run that never reached its first checkpoint has nothing to lose: it starts afresh.
      const others = readdirSync(dir).filter((f) => f !== CONFIG_FILE && !f.startsWith("."));
      if (!existsSync(join(dir, CONFIG_FILE)) && others.length > 0) throw new LatentkitError(`${dir}: folder exists and is not empty; choose another --out`);
    }
    return folderStore(dir);
  },
  consoleProgress: () => consoleProgress(),
  cores: machineCores,
  dataParallel: startDataParallel,
  savedEpoch: (dir) => (hasCheckpoint(dir) ? readJsonFile<{ epoch: number }>(join(dir, STATE_FILE)).epoch : undefined),
  // The end (eval.json or report.html) written after the last checkpoint: the run is complete.
  finished: (dir) => [EVAL_FILE, REPORT_FILE].some((f) => existsSync(join(dir, f)) && statSync(join(dir, f)).mtimeMs >= statSync(join(dir, STATE_FILE)).mtimeMs),
  async finish(dir, model, data, config, prior, log) {
    if (prior) savePrior(dir, prior.params, prior.metrics);
    const evaluation = await folderTestEvaluation(dir, model, data, config);
    if (evaluation) writeJsonAtomic(join(dir, EVAL_FILE), evaluation);
    if (config.report) {
      const { model: m, params } = model.internals;
      writeReport({ dir, config: model.config as never, model: m, params }, data, { log });
    }
    return evaluation;
  },
};

/**
 * Trains a model: a family and preset, a data set (name, path or memory) and any configuration key;
 * with `out`, a run folder that the CLI's commands and loadModel open. See TrainOptions.
 */
export function train(options: TrainOptions): Promise<TrainRun> {
  return trainWith(nodeTrainEnvironment, options);
}

/**
 * A run folder from a PyTorch state dict (a zip-format torch.save file, .pt/.pth) or a safetensors
 * file, and a run's config.json: every tensor must be a parameter of the configured model with its
 * shape (one line names the first that is not, or is missing). The folder holds config.json and
 * model.safetensors: eval, encode, score, the pictures, serve and loadModel open it.
 */
export function importRun(file: string, configFile: string, out: string): { tensors: number; params: number } {
  const config = parseRunConfig(readJsonFile<Record<string, unknown>>(configFile), configFile);
  const model = (() => {
    try {
      return getModelFamily(config.model).create(config, config.data);
    } catch (e) {
      throw new LatentkitError(`${configFile}: model ${config.model}: ${(e as Error).message}`);
    }
  })();
  const skeleton = model.init(keyFromSeed(0));
  const want = Object.fromEntries(Object.entries(flattenParams(skeleton as never)).map(([k, v]) => [k, v.shape]));
  disposeTree(skeleton);
  let tensors: Record<string, { shape: number[]; data: Float32Array }>;
  if (/\.safetensors$/i.test(file)) {
    tensors = Object.fromEntries(Object.entries(readSafetensors(file).tensors).map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }]));
  } else {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (e) {
      throw fileError(file, e);
    }
    tensors = decodeTorchStateDict(bytes, file);
  }
  for (const [k, shape] of Object.entries(want)) {
    const t = tensors[k];
    if (!t) throw new LatentkitError(`${file}: no tensor "${k}" (shape [${shape.join(", ")}]) that the ${config.model} model of ${configFile} needs`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new LatentkitError(`${file}: "${k}" has shape [${t.shape.join(", ")}] where the model has [${shape.join(", ")}]`);
    }
  }
  const extra = Object.keys(tensors).find((k) => !(k in want));
  if (extra) throw new LatentkitError(`${file}: "${extra}" is not a parameter of the ${config.model} model of ${configFile}`);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
    throw new LatentkitError(`${out}: exists and is not an empty folder; choose another --out`);
  }
  const store = folderStore(out);
  store.writeConfig(savedConfig({ ...config, version: PACKAGE_VERSION }));
  writeSafetensors(join(out, MODEL_FILE), Object.fromEntries(Object.keys(want).map((k) => [k, { dtype: "F32" as const, shape: tensors[k].shape, data: tensors[k].data }])), { step: "0", epoch: "0", imported_from: file });
  return { tensors: Object.keys(want).length, params: Object.values(tensors).reduce((a, t) => a + t.data.length, 0) };
}
