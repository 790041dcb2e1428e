// Sample quality of a trained model (Node): FID and precision/recall between prior samples and the
// test set, in the feature space of a small conv classifier that latentkit trains once per data set
// (on its training split) and caches in ~/.cache/latentkit/features/ ($XDG_CACHE_HOME honoured).
// This is an MNIST-family FID on that classifier's features: not Inception FID, and not comparable
// across feature extractors.
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { makeSplit, sliceSplit, type Dataset, type Split } from "../data/dataset.js";
import { loadDatasetSync } from "../data/registry.js";
import { trainClassifier, classifierAccuracy, classifierFeatures, type Classifier } from "../eval/classifier.js";
import { frechetDistance, precisionRecall } from "../eval/sample-quality.js";
import { fromData, toData } from "../engine/index.js";
import { fromRecords, toRecords } from "../nn/tree.js";
import { recordsToTensors, tensorsToRecords } from "../train/tensors.js";
import type { MlpParams } from "../nn/mlp.js";
import type { TrainedModel } from "./model.js";

/** What `eval --sample-quality --json` adds: FID, precision and recall, the sample count, the features. */
export type SampleQuality = { fid: number; precision: number; recall: number; samples: number; features: string };

/** The feature classifier: two stride-2 conv layers (16, 32 channels), a 128-unit hidden layer. */
const FEATURES = { conv: [16, 32], hidden: [128], epochs: 3, seed: 11 } as const;

const cacheDir = () => join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "latentkit", "features");

/**
 * Labelled sets whose images train the feature classifier of an unlabelled one: binarized-mnist
 * (Larochelle & Murray's binarization of MNIST, no labels) uses MNIST's labelled images, thresholded
 * at 0.5 (its training split where present, else its test split).
 */
const STAND_INS: Record<string, string> = { "binarized-mnist": "mnist" };

/** The labelled training images of a data set's feature classifier, and what they are. */
function classifierTrainingSet(data: Dataset, dataDir?: string): { train: Split; test?: Split; numClasses: number; source: string } {
  const train = data.splits.train, test = data.splits.test ?? data.splits.valid;
  if (train?.labels && data.numClasses) return { train, test, numClasses: data.numClasses, source: data.name };
  const standIn = STAND_INS[data.name];
  if (!standIn) throw new LatentkitError(`--sample-quality: data set ${data.name} has no labels to train its feature classifier on`);
  const other = loadDatasetSync(standIn, { dataDir, splits: ["train", "test"] });
  const split = other.splits.train ?? other.splits.test;
  if (!split?.labels || !other.numClasses) {
    throw new LatentkitError(`--sample-quality: ${data.name} has no labels; its feature classifier trains on ${standIn}, whose labelled images are missing (${other.missing?.join(", ") ?? "no files"})`);
  }
  const thresholded = (s: Split) => makeSplit(Uint8Array.from(s.pixels, (v) => (v * s.scale > 0.5 ? 1 : 0)), s.imageShape, { labels: s.labels });
  if (other.splits.train && other.splits.test) {
    return { train: thresholded(other.splits.train), test: thresholded(other.splits.test), numClasses: other.numClasses, source: `${standIn} train images thresholded at 0.5 (${data.name} has no labels)` };
  }
  // only the stand-in's test images: its first 80% train the classifier, the rest measure its accuracy
  const cut = Math.floor(split.n * 0.8);
  return {
    train: thresholded(sliceSplit(split, 0, cut)), test: thresholded(sliceSplit(split, cut, split.n)), numClasses: other.numClasses,
    source: `the first ${cut} ${standIn} test images thresholded at 0.5 (${data.name} has no labels)`,
  };
}

/** The data set's feature classifier: from the cache, or trained now on its training split and cached. */
export function featureClassifier(data: Dataset, log: (line: string) => void = () => {}, dataDir?: string): { classifier: Classifier; description: string } {
  const { train, test, numClasses, source } = classifierTrainingSet(data, dataDir);
  const key = `${data.name.replace(/[^A-Za-z0-9_.-]+/g, "_")}-${data.imageShape.join("x")}-${train.n}`;
  const file = join(cacheDir(), `${key}.safetensors`);
  const shape = { numClasses, pixels: data.imageShape[0] * data.imageShape[1] * data.imageShape[2], imageShape: data.imageShape, conv: [...FEATURES.conv] };
  let classifier: Classifier;
  let accuracy: string;
  if (existsSync(file)) {
    const saved = readSafetensors(file);
    classifier = { ...shape, params: fromRecords(tensorsToRecords(saved.tensors)) as unknown as MlpParams };
    accuracy = saved.metadata.test_accuracy;
  } else {
    log(`training the feature classifier of ${data.name}${source === data.name ? "" : ` on ${source}`} (once; cached in ${file})`);
    classifier = trainClassifier(train, numClasses, { ...FEATURES, conv: [...FEATURES.conv], hidden: [...FEATURES.hidden] });
    accuracy = test?.labels ? classifierAccuracy(classifier, test).toFixed(4) : "unknown (no held-out labelled split)";
    mkdirSync(cacheDir(), { recursive: true });
    writeSafetensors(file, recordsToTensors(toRecords(classifier.params as never)), { test_accuracy: accuracy, data_set: data.name, trained_on: source });
  }
  const on = source === data.name ? `trained on its training split` : `trained on ${source}`;
  const description = `penultimate layer (128) of latentkit's conv classifier of ${data.name} (conv 16-32, ${on}; test accuracy ${accuracy}); an MNIST-family FID, not Inception FID`;
  return { classifier, description };
}

/** The classifier's features of n images (flat [n, C, H, W]), in batches. */
function featuresOf(c: Classifier, images: Float32Array, n: number): Float32Array {
  const size = c.pixels;
  let out: Float32Array | undefined;
  for (let at = 0; at < n; at += 500) {
    const b = Math.min(500, n - at);
    const f = toData(classifierFeatures(c, fromData(images.subarray(at * size, (at + b) * size), [b, ...c.imageShape!]))) as Float32Array;
    out ??= new Float32Array(n * (f.length / b));
    out.set(f, at * (f.length / b));
  }
  return out!;
}

/** FID and precision/recall of `samples` prior samples of `model` against the real split. */
export async function sampleQuality(model: TrainedModel, real: Split, data: Dataset, opts: { samples?: number; seed?: number; log?: (line: string) => void; dataDir?: string } = {}): Promise<SampleQuality> {
  const samples = opts.samples ?? 10_000;
  if (!(Number.isInteger(samples) && samples >= 10)) throw new LatentkitError(`--samples ${samples}: must be an integer >= 10`);
  const { classifier, description } = featureClassifier(data, opts.log, opts.dataDir);
  // conditional models: the labels spread evenly over the classes
  const K = model.numClasses ?? 0;
  const generated = model.conditional
    ? await model.sample(Math.ceil(samples / K), { labels: Array.from({ length: K }, (_, k) => k), seed: opts.seed ?? 0, batchSize: 100 })
    : await model.sample(samples, { seed: opts.seed ?? 0, batchSize: 100 }); // batches of 100 bound the peak memory of a code prior's position-by-position sampling
  return compareImages(classifier, description, generated.data, generated.shape[0], real);
}

/** FID and precision/recall of n images (flat, values in [0, 1]) against the real split, in the classifier's features. */
function compareImages(classifier: Classifier, description: string, images: Float32Array, n: number, real: Split): SampleQuality {
  const realImages = Float32Array.from(real.pixels, (v) => v * real.scale);
  const fg = featuresOf(classifier, images, n), fr = featuresOf(classifier, realImages, real.n);
  const { precision, recall } = precisionRecall(fg, n, fr, real.n);
  return { fid: frechetDistance(fg, n, fr, real.n), precision, recall, samples: n, features: description };
}

/**
 * The same measures for n real training images in place of samples: what a perfect generator would
 * score against this test split (FID is not 0 for two finite samples of one distribution).
 */
export function referenceQuality(data: Dataset, real: Split, n: number, dataDir?: string): SampleQuality {
  const train = data.splits.train;
  if (!train) throw new LatentkitError(`${data.name}: no training split to take reference images from`);
  const { classifier, description } = featureClassifier(data, () => {}, dataDir);
  const m = Math.min(n, train.n);
  return compareImages(classifier, description, Float32Array.from(train.pixels.subarray(0, m * classifier.pixels), (v) => v * train.scale), m, real);
}
