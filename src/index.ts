// latentkit's public API (Node). The browser entry (browser.ts) exports the same names.
//
//   loadModel     a trained model from a run folder, a URL or memory: encode, decode, reconstruct, sample, score
//   loadDataset   a data set by name or path, as typed arrays
//   train         train a model from code (callbacks, AbortSignal), optionally into a run folder
//   listModels    the model families and presets; listDatasets: the named data sets here
//   init, np, nn  the engine (jax-js) and the project's layers, for lower-level work
import "./engine/float16.js";
export { init, np, keyFromSeed, splitKey, fromData, toData } from "./engine/index.js";
export * as nn from "./nn/index.js";
export { LatentkitError } from "./io/errors.js";
export { TrainedModel, type ModelParts, type Scores, type LabelOptions, type RunConfigFile } from "./api/model.js";
export type { Images, Codes, ImagesInput } from "./api/images.js";
export type { LoadedDataset, DatasetSplit } from "./api/data.js";
export { listModels, type TrainOptions, type TrainRun, type InMemoryDataset, type StepEvent, type EpochEvent, type MetricsLine, type ModelListing } from "./api/train.js";
export type { Progress } from "./train/trainer.js";
export type { DatasetListing } from "./data/list.js";
export type { Disentanglement, DisentanglementOptions } from "./eval/disentanglement.js";
export { loadModel, loadDataset, train, listDatasets, type LoadModelOptions } from "./api/node.js";
export { PACKAGE_VERSION as version } from "./version.js";
