// latentkit's public API in a web page (the package's "browser" export condition): the same names as
// the Node entry (index.ts), with no Node modules. Models load from a URL or from memory; training runs
// on data in memory or the built-in sprites; what needs a file system fails with one clear error.
import { LatentkitError } from "./io/errors.js";
import { spritesDataset } from "./data/sprites.js";
import { TrainedModel, type ModelParts } from "./api/model.js";
import { loadModelPortable } from "./api/load.js";
import { trainWith, type TrainOptions, type TrainRun } from "./api/train.js";
import { datasetView, type LoadedDataset } from "./api/data.js";
import type { DatasetListing } from "./data/list.js";

export * from "./common-exports.js";

const nodeOnly = (what: string) => new LatentkitError(`${what} needs Node (a file system); in the browser ${
  what.startsWith("loadModel") ? "pass new URL(...) of a served run folder, or { config, weights }" : "use the built-in sprites or data in memory"}`);

/** A trained model from a URL (a served run folder) or its parts in memory. */
export async function loadModel(source: string | URL | ModelParts, _opts: { checkpoint?: "last" | "best" } = {}): Promise<TrainedModel> {
  if (typeof source === "string") throw nodeOnly(`loadModel("${source}") (a run folder path)`);
  return loadModelPortable(source);
}

/** The built-in sprites (generated in the page); other data sets need Node. */
export async function loadDataset(spec: string): Promise<LoadedDataset> {
  if (spec !== "sprites") throw nodeOnly(`loadDataset("${spec}")`);
  return datasetView(spritesDataset());
}

/** Trains in memory (no `out`): the built-in sprites or { train: Images, ... }. */
export function train(options: TrainOptions): Promise<TrainRun> {
  return trainWith({
    async loadData(spec) {
      if (spec !== "sprites") throw nodeOnly(`train({ dataset: "${spec}" })`);
      return spritesDataset();
    },
  }, options);
}

/** The data sets a page has: the built-in sprites. */
export function listDatasets(): DatasetListing[] {
  return [{ name: "sprites", available: true, path: "(built-in)", splits: { train: 8192, valid: 1024, test: 1024 }, description: "built-in sprites: 28x28 binary shapes with known factors" }];
}
