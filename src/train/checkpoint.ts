// The run folder on disk (Node): every file of a run is read and written here, under the names of
// run-files.ts. Its checkpoint (model.safetensors, optimizer.safetensors and state.json) is saved as
// one consistent set that survives a kill at any moment.
//
// Protocol (a tiny journal): every file is first written in full as NAME.next (fsynced, atomic);
// state.json.next is written last and marks the set complete. Then the .next files are renamed over
// the live ones, state.json last. On open, a complete set of .next files is rolled forward (renames
// finished); an incomplete one is discarded, and so are the temporary files of a write that a kill
// interrupted. A reader never sees a half-written file, and model/optimizer/state always come from the
// same step.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError, fileError } from "../io/errors.js";
import { readSafetensors, writeSafetensors, type Tensors } from "../io/safetensors.js";
import { appendJsonLine, readJsonLines, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import {
  CONFIG_FILE, MODEL_FILE, BEST_MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, METRICS_FILE,
  type Checkpoint, type RunStore, type TrainState,
} from "./run-files.js";

export * from "./run-files.js";

const SET = [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE] as const; // rename order: state last

/** A temporary file of writeFileAtomic (".NAME.PID.HEX.tmp") that a killed process left behind. */
const STALE_TEMPORARY = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;

/** Whether process `pid` is alive (a temporary file of a live writer is not stale). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

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
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    if (!STALE_TEMPORARY.test(name)) continue;
    const pid = Number(name.split(".").at(-3));
    if (!alive(pid)) rmSync(join(dir, name), { force: true });
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

/** Whether `dir` holds a run with at least one checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  if (!existsSync(join(dir, CONFIG_FILE))) return false;
  recoverCheckpoint(dir);
  return existsSync(join(dir, MODEL_FILE));
}

/** Throws a one-line error unless `dir` is a run folder (config.json and model.safetensors). */
export function assertRunFolder(dir: string): void {
  if (!existsSync(dir)) throw new LatentkitError(`${dir}: no such run folder`);
  if (!existsSync(join(dir, CONFIG_FILE))) {
    throw new LatentkitError(`${dir}: not a run folder (no ${CONFIG_FILE})`);
  }
  recoverCheckpoint(dir);
  if (!existsSync(join(dir, MODEL_FILE))) {
    throw new LatentkitError(`${dir}: the run has no checkpoint yet (no ${MODEL_FILE}); continue it with train --resume ${dir}`);
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

/** Everything needed to resume: model and optimizer arrays and the train state, from one step. */
export function loadCheckpoint(dir: string): Checkpoint {
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

/** The trainer's store over a run folder (created if needed). */
export function folderStore(dir: string): RunStore {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fileError(dir, e);
  }
  return {
    restore: () => (hasCheckpoint(dir) ? loadCheckpoint(dir) : null),
    keepMetricsUpTo(epoch) {
      // metrics.jsonl may hold lines past the checkpoint (a kill after the append): keep those up to it.
      const file = join(dir, METRICS_FILE);
      const lines = (existsSync(file) ? readJsonLines(file) : []) as { epoch: number }[];
      writeFileAtomic(join(dir, METRICS_FILE), lines.filter((l) => l.epoch <= epoch).map((l) => JSON.stringify(l) + "\n").join(""));
    },
    resetMetrics: () => rmSync(join(dir, METRICS_FILE), { force: true }),
    writeConfig: (config) => writeJsonAtomic(join(dir, CONFIG_FILE), config),
    appendMetrics: (line) => appendJsonLine(join(dir, METRICS_FILE), line),
    saveCheckpoint: (c, best) => saveCheckpoint(dir, c.model, c.optimizer, c.state, best),
    writeRecord: (name, value) => writeJsonAtomic(join(dir, name), value),
  };
}
