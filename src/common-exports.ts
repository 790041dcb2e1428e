// The names both entries export (index.ts for Node, browser.ts for a page): the engine, the layers,
// the model and its types. Each entry adds its own loadModel, loadDataset, train and listDatasets.
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
export { PACKAGE_VERSION as version } from "./version.js";
export { auroc } from "./eval/auroc.js";
