// latentkit's public API (Node). The browser entry (browser.ts) exports the same names.
//
//   loadModel     a trained model from a run folder, a URL or memory: encode, decode, reconstruct, sample, score
//   loadDataset   a data set by name or path, as typed arrays
//   train         train a model from code (callbacks, AbortSignal), optionally into a run folder
//   listModels    the model families and presets; listDatasets: the named data sets here
//   init, np, nn  the engine (jax-js) and the project's layers, for lower-level work
export * from "./common-exports.js";
export { loadModel, loadDataset, train, listDatasets, type LoadModelOptions } from "./api/node.js";
export { oneClassAnomaly, type OneClassOptions, type OneClassResult, type OneClassScore } from "./api/anomaly.js";
