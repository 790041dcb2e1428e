// The run configuration: every model and training option in one validated schema, resolved from
// defaults <- preset <- --config FILE.json <- flags <- --set key=value, in that order.
import { z } from "zod";
import { LatentkitError } from "../io/errors.js";
import { getModelFamily, findPreset, modelFamilies, modelOptionsSchema, familyOptionKeys } from "../models/registry.js";

const positiveInt = z.number().int().positive();

export const trainingOptionsSchema = z.object({
  model: z.string().default("vae").describe("model family (latentkit models)"),
  preset: z.string().nullable().default(null).describe("named preset of the model family"),
  dataset: z.string().default("sprites").describe("data set name or path (latentkit datasets)"),
  dataDir: z.string().nullable().default(null).describe("where named data sets are looked for"),
  trainOnValid: z.boolean().default(false)
    .describe("train on train + valid (the final fit of a chosen recipe); no validation is left, so the best checkpoint follows the training loss"),
  binarize: z.enum(["none", "static", "dynamic"]).default("none")
    .describe("binarise images: no, threshold 0.5, or resample Bernoulli(x) every epoch"),
  augmentShift: z.number().int().min(0).default(0)
    .describe("training augmentation: move each training image by a random whole number of pixels, up to N each way (zero-filled), redrawn each epoch; 0 is off"),
  epochs: positiveInt.default(10).describe("total epochs of the run (resume continues up to this)"),
  batchSize: positiveInt.default(100).describe("examples per training step"),
  lr: z.number().positive().default(1e-3).describe("peak learning rate"),
  optimizer: z.enum(["adam", "adamw", "sgd"]).default("adam").describe("optimizer: adam, adamw or sgd"),
  momentum: z.number().min(0).lt(1).default(0.9).describe("SGD momentum"),
  weightDecay: z.number().min(0).default(0).describe("weight decay (AdamW: decoupled; SGD: L2)"),
  clipNorm: z.number().positive().nullable().default(null).describe("global gradient-norm clip; null is off"),
  polyakDecay: z.number().min(0).lt(1).default(0)
    .describe("Polyak averaging: decay d of an exponential moving average of the parameters (e.g. 0.9995); validation, the best checkpoint and model.safetensors hold the average; 0 is off"),
  lrSchedule: z.enum(["constant", "step", "cosine"]).default("constant").describe("learning-rate schedule: constant, step (× lrGamma every lrStepEpochs) or cosine (to 0 at the last step)"),
  lrWarmupSteps: z.number().int().min(0).default(0).describe("linear learning-rate warm-up steps"),
  lrStepEpochs: positiveInt.default(30).describe("step schedule: epochs between decays"),
  lrGamma: z.number().positive().max(1).default(0.1).describe("step schedule: decay factor"),
  seed: z.number().int().min(0).default(0).describe("random seed (initialisation, data order, sampling)"),
  workers: z.number().int().min(0).max(256).default(0)
    .describe("data-parallel training: threads, each computing the gradient of its shard of every batch (Node); 0 is every core for a run long enough to gain, 1 is one thread. A run is determined by its seed and its worker count"),
  patience: z.number().int().min(0).default(0).describe("early stopping: epochs without validation improvement; 0 is off"),
  minDelta: z.number().min(0).default(0).describe("early stopping: the least decrease of the validation loss that counts as an improvement"),
  maxDivergences: z.number().int().min(0).default(5)
    .describe("non-finite steps tolerated (each rolls back and halves the learning rate) before stopping"),
  evalIsSamples: z.number().int().min(0).default(100)
    .describe("importance samples for the end-of-run test evaluation; 0 skips it"),
  evalLimit: z.number().int().min(0).default(0).describe("test examples of the end-of-run evaluation (the first N); 0 is all"),
  report: z.boolean().default(true).describe("write pictures and report.html at the end of the run"),
  excludeClasses: z.array(z.number().int().min(0)).default([])
    .describe("labels left out of the train and valid splits (anomaly detection: train on the rest, score the test set)"),
});

export const configSchema = z.strictObject({
  ...trainingOptionsSchema.shape,
  ...modelOptionsSchema.shape,
});

export type RunConfig = z.infer<typeof configSchema> & { version?: string };
export type ConfigSource = Record<string, unknown>;
/** What a caller may give for each configuration key (defaults filled in by validation). */
export type ConfigInput = z.input<typeof configSchema>;

/** The keys the schema knows, for `--set` and error messages. */
export const configKeys = Object.keys(configSchema.shape);

const trainingKeys = new Set(Object.keys(trainingOptionsSchema.shape));
const modelKeys = new Set(Object.keys(modelOptionsSchema.shape));

/**
 * What a run folder's config.json holds: the training keys, the options of the run's family (its
 * `options` list, no other family's) and what is not an option (version, data). Reading fills the
 * rest with the defaults (validateConfig), so an older config.json with every key loads as it is.
 */
export function savedConfig<T extends { model: string }>(config: T): Partial<T> {
  const own = new Set<string>(familyOptionKeys(getModelFamily(config.model)));
  return Object.fromEntries(Object.entries(config).filter(([k]) => trainingKeys.has(k) || own.has(k) || !modelKeys.has(k))) as Partial<T>;
}

/**
 * Reading a run folder's config.json: an older one held every family's options; only the run's
 * family's are kept (the others were never read), so it validates like a new one.
 */
export function ownOptions(values: ConfigSource): ConfigSource {
  const family = getModelFamily(typeof values.model === "string" ? values.model : "vae");
  const own = new Set<string>(familyOptionKeys(family));
  return Object.fromEntries(Object.entries(values).filter(([k]) => !modelKeys.has(k) || own.has(k)));
}

/**
 * A model option the user gave that the run's family does not have is refused in one line: it
 * would change nothing. A value equal to the default passes (a configuration written out in full).
 */
function refuseOtherFamiliesOptions(model: string, given: ConfigSource): void {
  const own = new Set<string>(familyOptionKeys(getModelFamily(model)));
  for (const [key, value] of Object.entries(given)) {
    if (!modelKeys.has(key) || own.has(key)) continue;
    const fallback = (modelOptionsSchema.shape as Record<string, z.ZodType>)[key].parse(undefined);
    if (JSON.stringify(value) === JSON.stringify(fallback)) continue;
    const owners = modelFamilies.filter((f) => key in f.options.shape).map((f) => f.name);
    const whose = owners.length <= 3 ? ` (it is one of ${owners.join(", ")}'s)` : "";
    throw new LatentkitError(`${key} is not an option of model ${model}${whose}; the options of ${model}: ${[...own].join(", ")}`);
  }
}

/** Describes a zod issue as "key: value is not allowed (allowed: ...)". */
function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown configuration key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  const key = issue.path.join(".");
  const value = issue.path.reduce<unknown>((v, p) => (v as Record<PropertyKey, unknown>)?.[p as PropertyKey], input);
  return `config value ${key}=${JSON.stringify(value)} is invalid: ${issue.message}`;
}

/** Validates a merged configuration, or throws one line naming the key, the value and what is allowed. */
export function validateConfig(merged: Record<string, unknown>): RunConfig {
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new LatentkitError(describeIssue(result.error.issues[0], merged));
  return result.data;
}

/** Parses a `--set key=value` string; values are JSON where they parse, lists split on commas. */
export function parseSetting(setting: string): [string, unknown] {
  const eq = setting.indexOf("=");
  if (eq <= 0) throw new LatentkitError(`--set ${setting}: expected key=value`);
  const key = setting.slice(0, eq).trim();
  const raw = setting.slice(eq + 1).trim();
  if (!configKeys.includes(key)) {
    throw new LatentkitError(`--set ${setting}: unknown configuration key "${key}"`);
  }
  const expectsList = configSchema.shape[key as keyof typeof configSchema.shape] instanceof z.ZodDefault &&
    Array.isArray(configSchema.shape[key as keyof typeof configSchema.shape].parse(undefined));
  const parseOne = (s: string): unknown => {
    try { return JSON.parse(s); } catch { return s; }
  };
  if (expectsList && !raw.startsWith("[")) return [key, raw.split(",").map((s) => parseOne(s.trim()))];
  return [key, parseOne(raw)];
}

/** Merges sources left to right (later wins), dropping undefined values. */
export function mergeSources(...sources: (ConfigSource | undefined)[]): ConfigSource {
  const out: ConfigSource = {};
  for (const s of sources) {
    for (const [k, v] of Object.entries(s ?? {})) if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * defaults <- preset <- file <- flags <- set values: the model comes from the later sources, else the
 * preset's family, else "vae". An unknown model or preset fails here, before any work.
 */
export function resolveConfigSources(file: ConfigSource, flags: ConfigSource, setValues: ConfigSource): RunConfig {
  const merged = mergeSources(file, flags, setValues);
  const preset = merged.preset as string | undefined | null;
  const model = merged.model as string | undefined;
  let presetValues: ConfigSource = {};
  let presetModel: string | undefined;
  if (preset) {
    const found = findPreset(preset, model);
    presetValues = found.values;
    presetModel = found.family.name;
  }
  const config = validateConfig(mergeSources({ model: presetModel }, presetValues, merged));
  refuseOtherFamiliesOptions(config.model, merged);
  return config;
}
