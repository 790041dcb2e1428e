// The library in Node: run folders on disk, data sets by name or path, and the end of a run (prior,
// evaluation, eval.json, pictures and report), on top of the portable pieces (model.ts, train.ts).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError, fileError } from "../io/errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { readSafetensors } from "../io/safetensors.js";
import { loadDataset as loadData, type LoadOptions } from "../data/registry.js";
import { listDatasets as listDataFolders, type DatasetListing } from "../data/list.js";
import { loadRunData, savePrior } from "../train/run.js";
import {
  CONFIG_FILE, EVAL_FILE, REPORT_FILE, STATE_FILE, MODEL_FILE, BEST_MODEL_FILE, PRIOR_FILE, assertRunFolder, folderStore, hasCheckpoint, readJsonFile,
} from "../train/checkpoint.js";
import { consoleProgress } from "../train/progress.js";
import { writeReport } from "../report/report.js";
import { TrainedModel, type ModelParts } from "./model.js";
import { loadModelPortable } from "./load.js";
import { trainWith, testEvaluation, type TrainEnvironment, type TrainOptions, type TrainRun } from "./train.js";
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
  savedEpoch: (dir) => (hasCheckpoint(dir) ? readJsonFile<{ epoch: number }>(join(dir, STATE_FILE)).epoch : undefined),
  // The end (eval.json or report.html) written after the last checkpoint: the run is complete.
  finished: (dir) => [EVAL_FILE, REPORT_FILE].some((f) => existsSync(join(dir, f)) && statSync(join(dir, f)).mtimeMs >= statSync(join(dir, STATE_FILE)).mtimeMs),
  async finish(dir, model, data, config, prior, log) {
    if (prior) savePrior(dir, prior.params, prior.metrics);
    const evaluation = testEvaluation(model, data, config);
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
