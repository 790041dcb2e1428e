// A separately trained image classifier, the judge of conditional generation: does a sample a CVAE
// generates for class c look like class c? An MLP on the project's own layers, trained with
//
//   loss = mean_batch( −log softmax(f(x))_y )      (cross-entropy)
//
// by Adam in one jitted step. It knows nothing of the generative model it judges.
import { np, jnn, keyFromSeed, refTree, disposeTree, toData, toNumber, type Array } from "../engine/index.js";
import { batches } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import { initMlp, mlp, type MlpParams } from "../nn/mlp.js";
import { adam, lrArray, makeGradientStep } from "../optim/index.js";
import type { Model, Params } from "../models/types.js";
import { convEncoder } from "../models/conv-nets.js";
import type { ImageShape } from "../data/dataset.js";

export type ClassifierOptions = {
  hidden?: number[]; // hidden layer sizes (default [256])
  epochs?: number; // default 3
  batchSize?: number; // default 100
  lr?: number; // Adam learning rate (default 1e-3)
  seed?: number; // initialisation and data order (default 0)
  limit?: number; // train on the first N examples of each epoch's order
  conv?: number[]; // channels of stride-2 3x3 conv layers before the MLP (a conv net: translation-robust)
};

export type Classifier = { params: MlpParams; numClasses: number; pixels: number; imageShape?: ImageShape; conv?: number[] };

const convStack = (c: { imageShape?: ImageShape; conv?: number[] }) =>
  convEncoder({ inputShape: c.imageShape!, channels: c.conv!, kernel: 3, padding: "same" });

/** logits = MLP(flatten(conv(x))) (conv layers when the classifier has them), [B, K]. x [B, C, H, W] consumed, params borrowed. */
export function classifierLogits(c: Classifier, x: Array): Array {
  if (!c.conv?.length) return mlp(c.params, x.reshape([x.shape[0], c.pixels]), { activation: "relu" });
  const { conv, ...head } = c.params as unknown as { conv: Params } & MlpParams;
  const features = convStack(c).apply(conv, x);
  return mlp(head as MlpParams, features.reshape([features.shape[0], -1]), { activation: "relu" });
}

/**
 * The classifier's penultimate activations (after the last hidden layer's ReLU), [B, hidden]: the
 * feature space of sample-quality measures (sample-quality.ts). x consumed, params borrowed.
 */
export function classifierFeatures(c: Classifier, x: Array): Array {
  const { conv, ...head } = c.params as unknown as { conv?: Params } & MlpParams;
  const input = c.conv?.length ? convStack(c).apply(conv!, x) : x;
  const flat = input.reshape([input.shape[0], -1]);
  const keys = Object.keys(head).map(Number).sort((a, b) => a - b);
  const hidden = Object.fromEntries(keys.slice(0, -1).map((k) => [String(k), head[String(k)]])) as MlpParams;
  return mlp(hidden, flat, { activation: "relu", finalActivation: "relu" });
}

// −log softmax(logits)_y = logsumexp(logits) − logits_y
function crossEntropy(c: Classifier, x: Array, y: Array): Array {
  const { numClasses } = c;
  const logits = classifierLogits(c, x);
  const logProbs = jnn.logSoftmax(logits, -1);
  return logProbs.mul(jnn.oneHot(y, numClasses).astype(np.float32)).sum(-1).neg().mean();
}

/** Trains a classifier on a labelled split. */
export function trainClassifier(split: Split, numClasses: number, opts: ClassifierOptions = {}): Classifier {
  if (!split.labels) throw new Error("trainClassifier: the split has no labels");
  const { hidden = [256], epochs = 3, batchSize = 100, lr = 1e-3, seed = 0, limit, conv } = opts;
  const pixels = split.imageShape[0] * split.imageShape[1] * split.imageShape[2];
  const shape = { imageShape: split.imageShape, conv };
  const optimizer = adam();
  let params: MlpParams;
  if (conv?.length) {
    const stack = convStack(shape);
    const [c, h, w] = stack.featureShape;
    params = initMlp(keyFromSeed(seed), [c * h * w, ...hidden, numClasses]);
    (params as unknown as { conv: Params }).conv = stack.init(keyFromSeed(seed + 1));
  } else {
    params = initMlp(keyFromSeed(seed), [pixels, ...hidden, numClasses]);
  }
  let state = optimizer.init(params);
  const step = makeGradientStep((q: MlpParams, x: Array, y: Array) =>
    ({ loss: crossEntropy({ params: q, numClasses, pixels, ...shape }, x, y), aux: {} }), optimizer);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const b of batches(split, { batchSize, seed, epoch, dropLast: true, limit })) {
      const out = step(params, state, lrArray(lr), b.x, b.y!);
      out.gradNorm.dispose();
      params = out.params as MlpParams;
      state = out.state as typeof state;
      toNumber(out.loss); // reading a value each step keeps jax-js's queue of pending work from growing
    }
  }
  step.dispose();
  disposeTree(state);
  return { params, numClasses, pixels, ...shape };
}

/** The predicted class of each image, x [B, C, H, W] in [0, 1] (consumed). */
export function predictClasses(c: Classifier, x: Array): Int32Array {
  return toData(np.argmax(classifierLogits(c, x), -1).astype(np.int32)) as Int32Array;
}

/** Fraction of a labelled split's examples classified correctly. */
export function classifierAccuracy(c: Classifier, split: Split, opts: { limit?: number; batchSize?: number } = {}): number {
  let right = 0, n = 0;
  for (const b of batches(split, { batchSize: opts.batchSize ?? 500, shuffle: false, limit: opts.limit })) {
    const pred = predictClasses(c, b.x);
    b.y?.dispose();
    pred.forEach((p, i) => { if (p === b.labels![i]) right++; });
    n += pred.length;
  }
  return right / Math.max(1, n);
}

/**
 * How often a conditional model's samples are recognised as the class they were generated for:
 * `perClass` samples of each class (z from the prior, labels given), classified by `judge`.
 * Returns the overall fraction and the count right per class. params borrowed.
 */
export function classConditionalAccuracy(
  model: Model, params: Params, judge: Classifier, { perClass = 100, seed = 0 }: { perClass?: number; seed?: number } = {},
): { accuracy: number; rightPerClass: number[]; perClass: number } {
  if (!model.sample || !model.conditional) throw new Error(`${model.family} does not sample by label`);
  const K = judge.numClasses;
  const labels = Int32Array.from({ length: K * perClass }, (_, i) => Math.floor(i / perClass));
  const samples = model.sample(refTree(params), keyFromSeed(seed), labels.length, np.array(labels, { dtype: np.int32 }));
  const predicted = predictClasses(judge, samples);
  const rightPerClass = globalThis.Array.from({ length: K }, () => 0);
  predicted.forEach((p, i) => { if (p === labels[i]) rightPerClass[labels[i]]++; });
  return { accuracy: rightPerClass.reduce((a, b) => a + b, 0) / labels.length, rightPerClass, perClass };
}
