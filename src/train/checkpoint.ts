// The run folder's checkpoint: model.safetensors, optimizer.safetensors and state.json, saved as one
// consistent set that survives a kill at any moment.
//
// Protocol (a tiny journal): every file is first written in full as NAME.next (fsynced, atomic);
// state.json.next is written last and marks the set complete. Then the .next files are renamed over
// the live ones, state.json last. On open, a complete set of .next files is rolled forward (renames
// finished); an incomplete one is discarded. A reader never sees a half-written file, and
// model/optimizer/state always come from the same step.
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { readSafetensors, writeSafetensors, type Tensors } from "../io/safetensors.js";
import { writeJsonAtomic } from "../io/atomic.js";

export const MODEL_FILE = "model.safetensors";
export const BEST_MODEL_FILE = "best.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const STATE_FILE = "state.json";
export const CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.jsonl";

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
};

const SET = [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE] as const; // rename order: state last

/** Finishes or discards an interrupted save, so the folder holds one consistent set. */
export function recoverCheckpoint(dir: string): void {
  const stateNext = join(dir, STATE_FILE + ".next");
  if (existsSync(stateNext)) {
    for (const name of SET) {
      const next = join(dir, name + ".next");
      if (existsSync(next)) renameSync(next, join(dir, name));
    }
  } else {
    for (const name of SET) rmSync(join(dir, name + ".next"), { force: true });
  }
}

/**
 * Fault injection for the crash tests: LATENTKIT_FAULT=save:<point> kills the process (SIGKILL, no
 * cleanup) at that point of a save, where <point> is model, optimizer, state or rename.
 */
function crashPoint(point: string): void {
  if (process.env.LATENTKIT_FAULT === `save:${point}`) process.kill(process.pid, "SIGKILL");
}

/** Saves the model, optimizer state and train state as one set (see the protocol above). */
export function saveCheckpoint(
  dir: string, model: Tensors, optimizer: Tensors, state: TrainState, best?: Tensors,
): void {
  const meta = { step: String(state.step), epoch: String(state.epoch) };
  writeSafetensors(join(dir, MODEL_FILE + ".next"), model, meta);
  crashPoint("model");
  writeSafetensors(join(dir, OPTIMIZER_FILE + ".next"), optimizer, meta);
  crashPoint("optimizer");
  writeJsonAtomic(join(dir, STATE_FILE + ".next"), state);
  crashPoint("state");
  renameSync(join(dir, MODEL_FILE + ".next"), join(dir, MODEL_FILE));
  crashPoint("rename");
  recoverCheckpoint(dir);
  if (best) writeSafetensors(join(dir, BEST_MODEL_FILE), best, meta);
}

/** Throws a one-line error unless `dir` is a run folder (config.json and model.safetensors). */
export function assertRunFolder(dir: string): void {
  if (!existsSync(dir)) throw new LatentkitError(`${dir}: no such run folder`);
  if (!existsSync(join(dir, CONFIG_FILE))) {
    throw new LatentkitError(`${dir}: not a run folder (no ${CONFIG_FILE})`);
  }
  recoverCheckpoint(dir);
  if (!existsSync(join(dir, MODEL_FILE))) {
    throw new LatentkitError(`${dir}: the run has no checkpoint yet (no ${MODEL_FILE})`);
  }
}

export function readJsonFile<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `unreadable (${(e as Error).message})`;
    throw new LatentkitError(`${file}: ${why}`);
  }
}

/** The parameters of a run (the last checkpoint, or the best one). */
export function loadModelTensors(dir: string, which: "last" | "best" = "last"): Tensors {
  assertRunFolder(dir);
  const file = join(dir, which === "best" && existsSync(join(dir, BEST_MODEL_FILE)) ? BEST_MODEL_FILE : MODEL_FILE);
  return readSafetensors(file).tensors;
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

/** Everything needed to resume: model and optimizer arrays and the train state, from one step. */
export function loadCheckpoint(dir: string): { model: Tensors; optimizer: Tensors; state: TrainState } {
  assertRunFolder(dir);
  const model = readSafetensors(join(dir, MODEL_FILE));
  const optimizer = readSafetensors(join(dir, OPTIMIZER_FILE));
  const state = readJsonFile<TrainState>(join(dir, STATE_FILE));
  for (const [name, file] of [[MODEL_FILE, model], [OPTIMIZER_FILE, optimizer]] as const) {
    if (file.metadata.step !== String(state.step)) {
      throw new LatentkitError(
        `${join(dir, name)}: saved at step ${file.metadata.step} but ${STATE_FILE} is at step ${state.step}`,
      );
    }
  }
  return { model: model.tensors, optimizer: optimizer.tensors, state };
}
