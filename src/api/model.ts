// A trained model for code that uses it: typed arrays in, typed arrays out, async, the engine's
// arrays kept inside. The same class serves Node (a run folder) and a web page (a URL, or the bytes
// in memory): it is built from a run's config.json and model.safetensors (and prior.safetensors, the
// code prior a VQ-VAE samples from).
import { init, jit, np, fromData, keyFromSeed, splitKey, refTree, disposeTree, type Array } from "../engine/index.js";
import { LatentkitError } from "../io/errors.js";
import { decodeSafetensors, encodeSafetensors } from "../io/safetensors-bytes.js";
import { makeSplit } from "../data/dataset.js";
import { getModelFamily } from "../models/registry.js";
import type { DataInfo, Model, Params } from "../models/types.js";
import { fromRecords, toRecords } from "../nn/tree.js";
import { savedConfig, validateConfig, type RunConfig } from "../train/config.js";
import { tensorsToRecords, recordsToTensors } from "../train/tensors.js";
import { CONFIG_FILE, MODEL_FILE, PRIOR_FILE } from "../train/run-files.js";
import { scoreExamples } from "../eval/scores.js";
import { disentanglement, type Disentanglement, type DisentanglementOptions } from "../eval/disentanglement.js";
import { asImages, asLabels, assertFinite, type Codes, type Images, type ImagesInput } from "./images.js";

/** A run's configuration as config.json holds it: the resolved options, the data shape, the version. */
export type RunConfigFile = RunConfig & { data: DataInfo; version?: string };

/** A model in memory: config.json parsed, model.safetensors (and prior.safetensors, if any) as bytes. */
export type ModelParts = {
  config: Record<string, unknown>;
  weights: Uint8Array | ArrayBuffer;
  prior?: Uint8Array | ArrayBuffer;
};

/** Options of the methods that take examples: labels, one per example, for a conditional model; and
 *  how many examples go through the engine at once (memory against speed; default 256). */
export type LabelOptions = { labels?: ArrayLike<number>; batchSize?: number };

/** Per-example scores, in input order (higher recon and nll = more anomalous). */
export type Scores = {
  /** Σ_pixels (x − x̂)², x̂ the reconstruction. */
  recon: Float32Array;
  /** The ELBO, a lower bound of log p(x) in nats (latent-variable models). */
  elbo?: Float32Array;
  /** −log p(x) by importance sampling with `isSamples` samples (latent-variable models, isSamples > 0). */
  nll?: Float32Array;
};

/** Examples per engine call: the option, checked, or 256. */
function batchSizeOf(b: number | undefined): number {
  if (b === undefined) return 256;
  if (!(Number.isInteger(b) && b >= 1)) throw new LatentkitError(`batchSize must be a positive integer, got ${b}`);
  return b;
}
type Jitted = ((...args: never[]) => Array) & { dispose?: () => void };

/** The configuration of config.json, validated (one clear line naming the key when it is not one). */
export function parseRunConfig(config: Record<string, unknown>, where = CONFIG_FILE): RunConfigFile {
  if (typeof config !== "object" || config === null) throw new LatentkitError(`${where}: not a JSON object`);
  const { version, data, ...rest } = config as Record<string, unknown> & { data?: DataInfo };
  if (!data || !globalThis.Array.isArray(data.imageShape) || data.imageShape.length !== 3) {
    throw new LatentkitError(`${where}: not a run configuration (no data shape recorded)`);
  }
  let options: RunConfig;
  try {
    options = validateConfig(rest);
  } catch (e) {
    throw new LatentkitError(`${where}: ${(e as Error).message}`);
  }
  return { ...options, data: { imageShape: data.imageShape, numClasses: data.numClasses ?? null }, ...(version ? { version: String(version) } : {}) };
}

/** A model of the run's family with the given parameter tensors (checked against its own shapes). */
export function buildModel(config: RunConfigFile, weights: Uint8Array, prior?: Uint8Array): { model: Model; params: Params } {
  let model: Model;
  try {
    model = getModelFamily(config.model).create(config, config.data);
  } catch (e) {
    if (e instanceof LatentkitError) throw e;
    throw new LatentkitError(`model ${config.model}: ${(e as Error).message}`);
  }
  const skeleton = model.init(keyFromSeed(0));
  let params: Params;
  try {
    params = fromRecords(tensorsToRecords(decodeSafetensors(weights, MODEL_FILE).tensors), { like: skeleton as never }) as Params;
  } catch (e) {
    if (e instanceof LatentkitError) throw e;
    throw new LatentkitError(`${MODEL_FILE}: does not fit the run's ${config.model} model: ${(e as Error).message}`);
  } finally {
    disposeTree(skeleton);
  }
  if (prior && model.fitPrior) params.prior = fromRecords(tensorsToRecords(decodeSafetensors(prior, PRIOR_FILE).tensors)) as Params;
  return { model, params };
}

/**
 * A trained model. Images are { data: Float32Array, shape: [N, C, H, W] } in [0, 1] (or a bare
 * Float32Array of N·C·H·W values); every result is a fresh typed array, in input order. Call
 * `dispose()` (or declare it with `using`) to free its parameters.
 */
export class TrainedModel {
  /** The model family (`latentkit models`). */
  readonly family: string;
  /** [C, H, W] of the images it takes and makes. */
  readonly imageShape: [number, number, number];
  /** Size of the code `encode` returns per example. */
  readonly codeDim: number;
  /** Number of classes of its data set (null without labels). */
  readonly numClasses: number | null;
  /** Whether it has a latent-variable density (ELBO, −log p(x), sampling from the prior). */
  readonly probabilistic: boolean;
  /** Whether encoding and decoding need labels (conditional models: cvae). */
  readonly conditional: boolean;
  /** The run's whole configuration. */
  readonly config: RunConfigFile;
  #model: Model;
  #params: Params | null;
  #jitted = new Map<string, Jitted>();

  /** @internal Use loadModel, or train's result. */
  constructor(config: RunConfigFile, model: Model, params: Params) {
    this.config = config;
    this.#model = model;
    this.#params = params;
    this.family = model.family;
    this.imageShape = [...model.info.imageShape] as [number, number, number];
    this.codeDim = model.codeDim;
    this.numClasses = model.info.numClasses;
    this.probabilistic = model.probabilistic;
    this.conditional = model.conditional;
  }

  /** A model from its parts in memory (config.json parsed, model.safetensors bytes). */
  static async fromParts(parts: ModelParts): Promise<TrainedModel> {
    await init();
    const config = parseRunConfig(parts.config);
    const bytes = (b: Uint8Array | ArrayBuffer) => (b instanceof Uint8Array ? b : new Uint8Array(b));
    if (!(parts.weights instanceof Uint8Array || parts.weights instanceof ArrayBuffer)) {
      throw new LatentkitError(`loadModel: weights must be the bytes of ${MODEL_FILE} (Uint8Array or ArrayBuffer)`);
    }
    const { model, params } = buildModel(config, bytes(parts.weights), parts.prior && bytes(parts.prior));
    return new TrainedModel(config, model, params);
  }

  /** The code of each image: the posterior mean E_q[z|x] for a VAE, f(x) for an autoencoder. [N, codeDim] */
  async encode(images: ImagesInput, opts: LabelOptions = {}): Promise<Codes> {
    const x = this.#input(images);
    const labels = this.#labels(opts.labels, x.shape[0]);
    const data = await this.#map("encode", x, labels, this.codeDim, (p, xb, yb) => this.#model.encode(p, { x: xb, labels: yb }), opts.batchSize);
    return { data, shape: [x.shape[0], this.codeDim] };
  }

  /** Mean images of p(x|z) (an autoencoder's g(z)) for codes [N, codeDim]. */
  async decode(codes: Codes | Float32Array, opts: LabelOptions = {}): Promise<Images> {
    const data = codes instanceof Float32Array ? codes : codes?.data;
    if (!(data instanceof Float32Array) || data.length % this.codeDim !== 0) {
      throw new LatentkitError(`codes: expected a Float32Array of N·${this.codeDim} values (or { data, shape: [N, ${this.codeDim}] })`);
    }
    if (!(codes instanceof Float32Array) && (codes.shape?.[1] !== this.codeDim || codes.shape[0] * this.codeDim !== data.length)) {
      throw new LatentkitError(`codes: shape [${codes.shape}] does not match [N, ${this.codeDim}]`);
    }
    assertFinite(data, "codes");
    const n = data.length / this.codeDim;
    const labels = this.#labels(opts.labels, n);
    const size = this.#pixels();
    const out = new Float32Array(n * size);
    const decode = this.#jit("decode", (p: Params, z: Array, y: Array) => this.#model.decode(p, z, this.conditional ? y : undefined));
    const batch = batchSizeOf(opts.batchSize);
    for (let at = 0; at < n; at += batch) {
      const b = Math.min(batch, n - at);
      const z = fromData(data.subarray(at * this.codeDim, (at + b) * this.codeDim), [b, this.codeDim]);
      out.set((await decode(this.#borrowed() as never, z as never, this.#labelArray(labels, at, b) as never).data()) as Float32Array, at * size);
    }
    return { data: out, shape: [n, ...this.imageShape] };
  }

  /** The reconstruction of each image: the decoded code of the input. */
  async reconstruct(images: ImagesInput, opts: LabelOptions = {}): Promise<Images> {
    const x = this.#input(images);
    const labels = this.#labels(opts.labels, x.shape[0]);
    const data = await this.#map("reconstruct", x, labels, this.#pixels(), (p, xb, yb) => this.#model.reconstruct(p, { x: xb, labels: yb }), opts.batchSize);
    return { data, shape: x.shape };
  }

  /**
   * Mean images of n draws from the prior (latent-variable models, and VQ-VAE through its fitted code
   * prior). Conditional models: n per label of `labels`, in label order.
   */
  async sample(n: number, opts: LabelOptions & { seed?: number } = {}): Promise<Images> {
    // (batchSize: examples drawn per engine call; the draws depend on it, the seed fixes them)
    const sample = this.#model.sample;
    if (!sample) throw new LatentkitError(`model ${this.family}: has no prior to sample from`);
    if (!(Number.isInteger(n) && n >= 1)) throw new LatentkitError(`sample: n must be a positive integer, got ${n}`);
    const seed = opts.seed ?? 0;
    if (!(Number.isInteger(seed) && seed >= 0)) throw new LatentkitError(`sample: seed must be a non-negative integer, got ${seed}`);
    let labels: Int32Array | undefined;
    if (this.conditional) {
      if (!opts.labels?.length) throw new LatentkitError(`sample: model ${this.family} is conditional: give labels (n samples per label)`);
      const each = asLabels(opts.labels, opts.labels.length, this.numClasses ?? 0);
      labels = Int32Array.from({ length: each.length * n }, (_, i) => each[Math.floor(i / n)]);
    }
    const total = labels?.length ?? n;
    // In batches (bounded memory), each from its own key: seed → one key per batch.
    const batch = batchSizeOf(opts.batchSize);
    const size = this.#pixels();
    const out = new Float32Array(total * size);
    const keys = splitKey(keyFromSeed(seed), Math.ceil(total / batch) + 1);
    keys.pop()!.dispose();
    for (let at = 0, k = 0; at < total; at += batch, k++) {
      const b = Math.min(batch, total - at);
      const y = labels ? np.array(labels.slice(at, at + b) as Int32Array<ArrayBuffer>, { dtype: np.int32 }) : undefined;
      const images = sample.call(this.#model, this.#borrowed(), keys[k], b, y);
      out.set((await images.data()) as Float32Array, at * size);
    }
    return { data: out, shape: [total, ...this.imageShape] };
  }

  /**
   * Per-example scores (higher = more anomalous for recon and nll): the reconstruction error; for
   * latent-variable models the ELBO and, with isSamples > 0, −log p(x) by importance sampling.
   */
  async score(images: ImagesInput, opts: LabelOptions & { isSamples?: number; elboSamples?: number; seed?: number } = {}): Promise<Scores> {
    const x = asImages(images, this.imageShape);
    const labels = this.conditional ? this.#labels(opts.labels, x.shape[0]) : undefined;
    const isSamples = opts.isSamples ?? 0;
    if (!(Number.isInteger(isSamples) && isSamples >= 0)) throw new LatentkitError(`score: isSamples must be a non-negative integer, got ${isSamples}`);
    const split = makeSplit(x.data, this.imageShape, { labels });
    const s = scoreExamples(this.#model, this.#borrowed(false), split, {
      isSamples, elboSamples: opts.elboSamples ?? 1, seed: opts.seed ?? 0, batchSize: opts.batchSize === undefined ? 100 : batchSizeOf(opts.batchSize), binarize: this.config.binarize,
    });
    const out: Scores = { recon: Float32Array.from(s.recon_error) };
    if (s.neg_elbo) out.elbo = Float32Array.from(s.neg_elbo, (v) => -v);
    if (s.nll) out.nll = Float32Array.from(s.nll);
    return out;
  }

  /**
   * MIG, the FactorVAE score and DCI of the codes of `images` against their known generating factors
   * (`factors` [N, K] indices, as the sprites carry): src/eval/disentanglement.ts.
   */
  async disentanglement(images: ImagesInput, factors: Int32Array, opts: LabelOptions & DisentanglementOptions = {}): Promise<Disentanglement> {
    const codes = await this.encode(images, opts);
    return disentanglement(codes.data, factors, codes.shape[0], opts);
  }

  /**
   * The model as the files of a run folder, in memory: `config` (config.json's object) and `weights`
   * (model.safetensors' bytes; `prior`, prior.safetensors', for a model with a fitted prior). What
   * loadModel({ config, weights }) takes back, and what a page offers for download.
   */
  parts(): ModelParts & { weights: Uint8Array; prior?: Uint8Array } {
    const { prior, ...rest } = this.#borrowed(false);
    const weights = encodeSafetensors(recordsToTensors(toRecords(rest as never)));
    // as a run folder's config.json: the training keys and the family's options
    return { config: savedConfig(this.config), weights, ...(prior ? { prior: encodeSafetensors(recordsToTensors(toRecords(prior as never))) } : {}) };
  }

  /** Frees the parameters; the model cannot be used afterwards. */
  dispose(): void {
    if (!this.#params) return;
    for (const f of this.#jitted.values()) f.dispose?.();
    this.#jitted.clear();
    disposeTree(this.#params);
    this.#params = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal The engine model and its parameters (borrowed), for the library's own evaluators. */
  get internals(): { model: Model; params: Params } {
    return { model: this.#model, params: this.#borrowed(false) };
  }

  #borrowed(ref = true): Params {
    if (!this.#params) throw new LatentkitError(`model ${this.family}: used after dispose()`);
    return ref ? refTree(this.#params) : this.#params;
  }

  /** The images as the model saw them in training: thresholded at 0.5 when it trained on binarized data. */
  #input(images: ImagesInput): Images {
    const x = asImages(images, this.imageShape);
    if (this.config.binarize === "none") return x;
    return { data: x.data.map((v) => (v > 0.5 ? 1 : 0)), shape: x.shape };
  }

  #pixels(): number {
    return this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
  }

  #labels(labels: ArrayLike<number> | undefined, n: number): Int32Array | undefined {
    if (!this.conditional) return undefined;
    return asLabels(labels, n, this.numClasses ?? 0);
  }

  #labelArray(labels: Int32Array | undefined, at: number, b: number): Array {
    return labels ? np.array(labels.slice(at, at + b) as Int32Array<ArrayBuffer>, { dtype: np.int32 }) : np.zeros([b], { dtype: np.int32 });
  }

  #jit(name: string, f: (p: Params, a: Array, y: Array) => Array): Jitted {
    let j = this.#jitted.get(name);
    if (!j) this.#jitted.set(name, (j = jit(f) as unknown as Jitted));
    return j;
  }

  /** f over the images in batches, each result row `width` values, gathered in order. */
  async #map(name: string, x: Images, labels: Int32Array | undefined, width: number,
    f: (p: Params, x: Array, y: Array | undefined) => Array, batchSize?: number): Promise<Float32Array> {
    const n = x.shape[0];
    const BATCH = batchSizeOf(batchSize);
    const size = this.#pixels();
    const out = new Float32Array(n * width);
    const g = this.#jit(name, (p, xb, yb) => f(p, xb, this.conditional ? yb : undefined));
    for (let at = 0; at < n; at += BATCH) {
      const b = Math.min(BATCH, n - at);
      const xb = fromData(x.data.subarray(at * size, (at + b) * size), [b, ...this.imageShape]);
      out.set((await g(this.#borrowed() as never, xb as never, this.#labelArray(labels, at, b) as never).data()) as Float32Array, at * width);
    }
    return out;
  }
}
