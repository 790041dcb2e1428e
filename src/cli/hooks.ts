// Extension points of the command line: work that runs after training (pictures, the report).
// Registered by the modules that do the work, so train does not import them directly.
import type { OpenRun } from "../train/run.js";
import type { Dataset } from "../data/dataset.js";

type Hook = (run: OpenRun, data: Dataset) => Promise<void> | void;
const hooks: Record<string, Hook[]> = {};

export function addHook(name: "afterTrain", hook: Hook): void {
  (hooks[name] ??= []).push(hook);
}

export async function runHooks(name: "afterTrain", run: OpenRun, data: Dataset): Promise<void> {
  for (const h of hooks[name] ?? []) await h(run, data);
}
