// A model's prior fitted after training (Model.fitPrior: VQ-VAE's code prior), on the codes of the
// training split (the validation split's codes give it a held-out score). No file system: run.ts saves it.
import { keyFromSeed } from "../engine/index.js";
import { batches } from "../data/loader.js";
import type { Dataset, Split } from "../data/dataset.js";
import type { Model, Params } from "../models/types.js";
import type { RunConfig } from "./config.js";

/** The fitted prior (owned by the caller) and its metrics. `params` is borrowed. */
export function fitModelPrior(
  model: Model, params: Params, data: Dataset, config: RunConfig, log: (line: string) => void = () => {},
): { prior: Params; metrics: Record<string, number> } {
  const binarize = config.binarize === "dynamic" ? "static" : config.binarize;
  const over = (split: Split) => {
    const it = batches(split, { batchSize: 500, shuffle: false, binarize });
    return (function* () { for (const b of it) yield { x: b.x, labels: b.y }; })();
  };
  const valid = data.splits.valid;
  return model.fitPrior!(params, { train: over(data.splits.train!), valid: valid && over(valid) }, keyFromSeed(config.seed + 2), log);
}
