// One-class anomaly detection, the literature's protocol (Ruff et al. 2018, Deep SVDD; Golan &
// El-Yaniv 2018), in Node: train on the training images of ONE class (the normal one), score every
// test image, and ask how well each score tells the other classes (the anomalies, positive) from the
// normal class: AUROC (src/eval/auroc.ts). Per class, and its mean over the classes.
//
// Scores, higher = more anomalous:
//   recon      Σ_pixels (x − x̂)²                          every model
//   neg_elbo   −ELBO(x)                                     latent-variable models
//   nll        −log p(x), importance-sampled (isSamples)    latent-variable models, isSamples > 0
//   latent     in the code space: −log N(μ(x); 0, I) up to a constant, ½‖μ(x)‖², for a VAE
//              (how unlikely the posterior mean is under the prior); for a deterministic
//              autoencoder the distance from the code to the nearest code of the training images.
import { LatentkitError } from "../io/errors.js";
import { auroc } from "../eval/auroc.js";
import type { ConfigInput } from "../train/config.js";
import { loadDataset, train } from "./node.js";
import type { TrainedModel } from "./model.js";
import type { Images } from "./images.js";
import type { DatasetSplit } from "./data.js";

export type OneClassScore = "recon" | "neg_elbo" | "nll" | "latent";

export type OneClassOptions = {
  /** A named data set with labels (mnist, fashion-mnist) or a path. */
  dataset: string;
  /** The class trained on; every other class of the test set is an anomaly. */
  normalClass: number;
  /** The model: a family and/or preset, and any configuration keys under `set`. */
  model?: string;
  preset?: string;
  set?: Partial<ConfigInput>;
  epochs?: number;
  seed?: number;
  /** Importance samples of the `nll` score (0: no nll). Default 0. */
  isSamples?: number;
  dataDir?: string;
  /** Training codes kept for the deterministic models' nearest-code score (default 2,000). */
  latentReference?: number;
  /**
   * Where the images come from: "train-test" (train on the training split's images of the class,
   * score the test split; the default) or "test-halves" (for a set with test images only, like the
   * shared MNIST: train on the class's images among the first half of the test split, score the second half).
   */
  protocol?: "train-test" | "test-halves";
};

export type OneClassResult = {
  normalClass: number;
  /** Test images of the normal class and anomalies. */
  normal: number;
  anomalies: number;
  /** AUROC of each score the model has. */
  auroc: Partial<Record<OneClassScore, number>>;
};

/** Trains on one class and scores the test set: the AUROC of each score (see the module comment). */
export async function oneClassAnomaly(o: OneClassOptions): Promise<OneClassResult> {
  const halves = o.protocol === "test-halves";
  const data = await loadDataset(o.dataset, { dataDir: o.dataDir, splits: halves ? ["test"] : ["train", "test"] });
  if (!data.test?.labels || (!halves && !data.train?.labels) || data.numClasses === undefined) {
    throw new LatentkitError(`one-class anomaly detection needs labelled ${halves ? "test" : "train and test"} splits; ${o.dataset} has none`);
  }
  const classes = data.numClasses;
  if (!(Number.isInteger(o.normalClass) && o.normalClass >= 0 && o.normalClass < classes)) {
    throw new LatentkitError(`normalClass ${o.normalClass}: ${o.dataset} has classes 0..${classes - 1}`);
  }
  const cut = Math.floor(data.test.images.shape[0] / 2);
  const pool = halves ? rowsOf(data.test, 0, cut) : data.train!;
  const test = halves ? rowsOf(data.test, cut, data.test.images.shape[0]) : data.test;
  // The normal class's images: the last tenth for validation, the rest to train on.
  const normalRows = [...pool.labels!.keys()].filter((i) => pool.labels![i] === o.normalClass);
  const nValid = Math.max(1, Math.floor(normalRows.length / 10));
  const run = await train({
    dataset: { train: gather(pool.images, normalRows.slice(0, -nValid)), valid: gather(pool.images, normalRows.slice(-nValid)) },
    model: o.model, preset: o.preset, epochs: o.epochs, seed: o.seed, set: { report: false, ...(o.set ?? {}) },
  });
  using model = run.model;
  const positive = Array.from(test.labels!, (y) => y !== o.normalClass);
  const s = await model.score(test.images, { isSamples: o.isSamples ?? 0, seed: o.seed ?? 0 });
  const scores: Partial<Record<OneClassScore, ArrayLike<number>>> = { recon: s.recon };
  if (s.elbo) scores.neg_elbo = Float32Array.from(s.elbo, (v) => -v);
  if (s.nll) scores.nll = s.nll;
  scores.latent = await latentScore(model, test.images, gather(pool.images, normalRows.slice(0, o.latentReference ?? 2000)));
  const result: OneClassResult = { normalClass: o.normalClass, normal: positive.filter((p) => !p).length, anomalies: positive.filter(Boolean).length, auroc: {} };
  for (const [name, values] of Object.entries(scores)) result.auroc[name as OneClassScore] = auroc(values!, positive);
  return result;
}

/** Images at `rows`, in that order. */
function gather(images: Images, rows: number[]): Images {
  const [, c, h, w] = images.shape;
  const size = c * h * w;
  const data = new Float32Array(rows.length * size);
  rows.forEach((r, k) => data.set(images.data.subarray(r * size, (r + 1) * size), k * size));
  return { data, shape: [rows.length, c, h, w] };
}

/** Examples [start, end) of a split. */
function rowsOf(split: DatasetSplit, start: number, end: number): DatasetSplit {
  const rows = Array.from({ length: end - start }, (_, i) => start + i);
  return { images: gather(split.images, rows), labels: split.labels!.slice(start, end) };
}

/** The code-space score: ½‖μ‖² for a probabilistic model, else the distance to the nearest code of `reference`. */
async function latentScore(model: TrainedModel, images: Images, reference: Images): Promise<Float32Array> {
  const codes = await model.encode(images);
  const d = codes.shape[1], n = codes.shape[0];
  const out = new Float32Array(n);
  if (model.probabilistic) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += codes.data[i * d + j] ** 2;
      out[i] = s / 2;
    }
    return out;
  }
  const refCodes = (await model.encode(reference)).data;
  const m = reference.shape[0];
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (codes.data[i * d + j] - refCodes[k * d + j]) ** 2;
      if (s < best) best = s;
    }
    out[i] = Math.sqrt(best);
  }
  return out;
}
