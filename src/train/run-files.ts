// The run folder's vocabulary, with no file system: the names of its files, the train state an exact
// resume needs, the optimizer file's packing, and the store interface the trainer writes through
// (a folder in Node: checkpoint.ts; nothing at all for an in-memory run, as in the browser).
import type { Tensors } from "../io/safetensors-bytes.js";

export const CONFIG_FILE = "config.json";
export const MODEL_FILE = "model.safetensors";
export const BEST_MODEL_FILE = "best.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const STATE_FILE = "state.json";
export const METRICS_FILE = "metrics.jsonl";
export const PRIOR_FILE = "prior.safetensors";
export const EVAL_FILE = "eval.json";
/** What `eval --sample-quality` / `--disentanglement` measured last, for the report: { sample_quality?, disentanglement? }. */
export const MEASURES_FILE = "measures.json";
export const PRETRAIN_FILE = "pretrain.json";
export const REPORT_FILE = "report.html";

/** Everything beyond the arrays that an exact resume needs. */
export type TrainState = {
  epoch: number; // epochs completed
  step: number; // optimizer steps taken
  key: number[]; // the run's random key (uint32 words) after `step` steps
  lrScale: number; // divergence guard's learning-rate multiplier
  divergences: number; // non-finite steps seen so far
  bestMetric: number | null; // best validation loss so far
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
  stopped: string | null; // why training ended early, if it did
  /** A checkpoint saved inside an epoch (an interrupted run): examples of epoch `epoch` consumed, and
   *  the running sums of its metrics. Absent at an epoch boundary. */
  partial?: { position: number; seen: number; sums: Record<string, number> };
};

/** A checkpoint: the model's and the optimizer's tensors and the train state, from one step. */
export type Checkpoint = { model: Tensors; optimizer: Tensors; state: TrainState };

/** One line of metrics.jsonl: epoch, step and the epoch's numbers. */
export type MetricsLine = Record<string, number | null>;

/**
 * Where a training writes: the run folder in Node (checkpoint.ts's folderStore), or nowhere. The
 * trainer calls these in this order: restore (a resume), writeConfig, then per epoch appendMetrics and
 * saveCheckpoint (metrics first: a resume drops lines past its checkpoint, so a kill between the two
 * loses nothing).
 */
export interface RunStore {
  /** The checkpoint to resume from, or null when the run has none yet (it starts at epoch 0). */
  restore(): Checkpoint | null;
  /** The metrics lines of a resumed run up to its checkpoint's epoch (later ones are dropped). */
  keepMetricsUpTo(epoch: number): void;
  /** A new run: no metrics yet. */
  resetMetrics(): void;
  writeConfig(config: Record<string, unknown>): void;
  appendMetrics(line: MetricsLine): void;
  saveCheckpoint(checkpoint: Checkpoint, best?: Tensors): void;
  /** Any other JSON record of the run (pretrain.json). */
  writeRecord(name: string, value: unknown): void;
}

// With Polyak averaging on, model.safetensors holds the average (the model that is evaluated) and
// the optimizer file holds the raw iterate beside the optimizer's state, under two prefixes.
const OPTIMIZER_PREFIX = "optimizer.";
const ITERATE_PREFIX = "iterate.";

/** The optimizer file's tensors: the optimizer state alone, or with the iterate (averaging on). */
export function packOptimizer(optimizer: Tensors, iterate?: Tensors): Tensors {
  if (!iterate) return optimizer;
  const prefixed = (t: Tensors, p: string) => Object.fromEntries(Object.entries(t).map(([k, v]) => [p + k, v]));
  return { ...prefixed(optimizer, OPTIMIZER_PREFIX), ...prefixed(iterate, ITERATE_PREFIX) };
}

/** The inverse of packOptimizer: an iterate is there only if the run was averaging. */
export function unpackOptimizer(tensors: Tensors): { optimizer: Tensors; iterate?: Tensors } {
  const names = Object.keys(tensors);
  if (!names.some((k) => k.startsWith(ITERATE_PREFIX))) return { optimizer: tensors };
  const part = (p: string) =>
    Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));
  return { optimizer: part(OPTIMIZER_PREFIX), iterate: part(ITERATE_PREFIX) };
}
