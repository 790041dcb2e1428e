// Worker threads (Node) for the parts of latentkit that use every core: data-parallel training
// (data-parallel.ts) and sharded evaluation (api/evaluate.ts). Each worker runs its own engine.
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";

/** The machine's cores: the worker count when none is given. */
export const machineCores = (): number => Math.max(1, availableParallelism());

/**
 * A worker running `script` (a module URL next to the caller: `new URL("./x.js", import.meta.url)`).
 * From the TypeScript sources (tests and scripts under tsx) the caller's URL ends in .ts: the worker
 * then loads `x.ts` after registering tsx's loader, since a worker does not inherit it.
 */
export function startWorker(script: URL, workerData: unknown, opts: { transferList?: any[] } = {}): Worker {
  const fromSources = script.pathname.endsWith(".ts");
  return fromSources
    ? new Worker(`import("tsx/esm/api").then((t) => { t.register(); return import(${JSON.stringify(script.href)}); });`, { eval: true, workerData, ...opts })
    : new Worker(script, { workerData, ...opts });
}

/** `./name.ts` or `./name.js`, whichever kind of file the calling module (its import.meta.url) is. */
export function siblingModule(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith(".ts") ? ".ts" : ".js"}`, callerUrl);
}
