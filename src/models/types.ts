// The shape every model speaks, so that one trainer, one evaluator and one set of picture commands
// serve them all (after Pythae's shared base and Equinox's "a model is a tree of arrays").
//
// Ownership (docs/ARCHITECTURE.md): `params` is borrowed; batches, keys and latent codes passed in
// are consumed; every returned array is owned by the caller.
import type { Array } from "../engine/index.js";
import type { z } from "zod";
import type { Scalars } from "./scheduled.js";

/** What a model needs to know about its data. */
export type DataInfo = {
  imageShape: [number, number, number]; // [C, H, W]
  numClasses: number | null;
};

/** A parameter tree: nested records of arrays, dotted paths mirror PyTorch state_dict keys. */
export type Params = { [name: string]: Array | Params };

/** A batch: images [B, C, H, W] in [0, 1], and int32 labels [B] where the data set has them. */
export type Batch = { x: Array; labels?: Array };

/**
 * What a training or evaluation step hands a model's loss: the scheduled scalars at this step
 * (scheduled.ts: β_t, τ_t, ..., arrays so that schedules never retrace) and whether it trains.
 * Borrowed: the step owns the arrays, a model reads one as `ctx.klWeight.ref` and ignores the rest.
 */
export type StepContext = Readonly<Scalars<Array>> & {
  readonly training?: boolean; // set by the training step only (not validation): regularisers that act in training
};

/**
 * Per-batch loss and named scalar metrics (batch means), e.g. { recon, kl }; `aux`: arrays of the
 * same forward pass that the model's afterStep needs (batch statistics; no gradient flows there).
 */
export type LossOutput = { loss: Array; metrics: Record<string, Array>; aux?: Params };

/** A diagonal Gaussian over the latent code per example: loc and log variance, each [B, d]. */
export type GaussianProposal = { loc: Array; logVar: Array };

/** Per-example terms of the ELBO, for evaluation: log p(x) >= elbo = −recon − kl. */
export type ElboTerms = {
  recon: Array; // [B] −E_q[log p(x|z)]
  kl: Array; // [B] KL(q(z|x) ‖ p(z))
  klPerDim?: Array; // [B, d] for factorised posteriors (active units, traversal order)
};

export type Model = {
  readonly family: string;
  /** The options it was built with (its family's schema; a run passes the whole configuration). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly info: DataInfo;
  /** Size of the code `encode` returns per example. */
  readonly codeDim: number;
  /** Whether the model has a latent-variable density (ELBO, IS log-likelihood, sampling). */
  readonly probabilistic: boolean;
  /** Whether decoding needs labels (conditional models). */
  readonly conditional: boolean;
  /** Floats of the decoder's largest intermediate per decoded row (conv decoders): bounds how many
   *  rows the importance sampler decodes at once. Absent: a few times the image size. */
  readonly decodeRowFloats?: number;

  init(key: Array): Params;
  /** The training objective for one batch (minimised). */
  loss(params: Params, batch: Batch, key: Array, ctx: StepContext): LossOutput;
  /** The code of each example: the posterior mean for a VAE, f(x) for an AE. [B, codeDim] */
  encode(params: Params, batch: Batch): Array;
  /** Mean images of p(x|z) (or g(z)), [B, C, H, W] in [0, 1]. */
  decode(params: Params, z: Array, labels?: Array): Array;
  /** Reconstructions of a batch, [B, C, H, W] in [0, 1] (decode of the code of each input). */
  reconstruct(params: Params, batch: Batch): Array;
  /** Mean images of n draws from the prior (conditional models: one per label given). */
  sample?(params: Params, key: Array, n: number, labels?: Array): Array;
  /** ELBO terms per example (latent-variable models). */
  elbo?(params: Params, batch: Batch, key: Array): ElboTerms;
  /**
   * log w_i = log p(x, z_i) − log q(z_i|x), z_i ~ q(z|x): [k, B] (latent-variable models). Gaussian
   * models also take a proposal r = N(loc, exp(logVar)) per example (consumed) in place of q(z|x);
   * `pathwise`: log r(z_i) is computed with r's parameters behind stopGradient, so gradients reach
   * them only through z_i = loc + σ ε (the estimators of refine.ts).
   */
  logImportanceWeights?(params: Params, batch: Batch, key: Array, k: number, proposal?: GaussianProposal, pathwise?: boolean): Array;
  /** The encoder's q(z|x) = N(loc, exp(logVar)), each [B, d] (Gaussian-latent models). */
  gaussianPosterior?(params: Params, batch: Batch): GaussianProposal;
  /** Per-example reconstruction error Σ (x − x̂)² [B] (every model). */
  reconstructionError(params: Params, batch: Batch): Array;
  /**
   * Non-gradient state updates (VQ-VAE: EMA codebook, dead-code restarts), inside the jitted
   * training step after the optimizer update: new parameters from the updated ones and the loss's
   * `aux` (both consumed). Arrays under `params.buffers` get no gradient and no optimizer update
   * (no weight decay either): only afterStep changes them.
   */
  afterStep?(params: Params, aux: Params): Params;
  /**
   * Data-parallel training: the `aux` of a whole batch from the `aux` of each of its shards (consumed),
   * combined the way the statistics add up (sums add; a draw from the batch is any shard's draw).
   * Needed by a model with afterStep to train with more than one worker.
   */
  combineAux?(parts: Params[]): Params;
  /**
   * A prior fitted after training (VQ-VAE: a prior over code indices, used by `sample`): trained on
   * the codes of the training data (params borrowed, batches consumed). The CLI saves it as
   * RUN/prior.safetensors, and openRun hands it back as `params.prior`.
   */
  fitPrior?(params: Params, data: { train: Iterable<Batch>; valid?: Iterable<Batch> }, key: Array,
    log?: (line: string) => void): { prior: Params; metrics: Record<string, number> };
  /** Stages the trainer runs, in order, before the main loop of a new run (stacked-ae's greedy
   * layer-wise pretraining); each trains a part of the parameters with its own objective. */
  pretrainStages?: PretrainStage[];
};

/**
 * One pretraining stage: `epochs` passes over the training data, each batch mapped by `input`
 * (with the parameters trained so far, outside the gradient), then a step on `loss`, which reads
 * only the parameters under the dotted prefixes `params` (a sub-tree of the model's, same nesting).
 */
export type PretrainStage = {
  name: string;
  epochs: number;
  params: string[];
  /** The stage's training input from a batch of images x (consumed); params borrowed. */
  input(params: Params, x: Array): Array;
  loss(params: Params, batch: Batch, key: Array, ctx: StepContext): LossOutput;
};

/**
 * A model family: its name, what it is, its options, its presets and how to build one. `options` is
 * its own zod schema, made of the shared groups it uses (options.ts: the code, the networks, the
 * likelihood, the ELBO's weight) and its own keys; a run's config.json keeps these and the training
 * keys, no other family's.
 */
export type ModelFamily<S extends z.ZodObject = z.ZodObject> = {
  name: string;
  description: string;
  /** Named partial configurations (architecture and, where the source fixes them, training). */
  presets: Record<string, Record<string, unknown>>;
  options: S;
  create(options: z.infer<S>, info: DataInfo): Model;
};
