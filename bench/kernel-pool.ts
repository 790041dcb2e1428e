// Experiment: jax-js's own kernel thread pool (WasmWorkerPool in its wasm backend) in Node. The pool
// cuts each kernel into row ranges, one per "worker", posts them and awaits them all. Here the
// `Worker` global it looks for is a shim: every posted range becomes a task in a queue in shared
// memory, taken by whichever is free of the calling thread (in a microtask, after the pool has posted
// all ranges) and the helper threads (spinning, then Atomics.wait). The pool is told of
// `--chunks` workers, so that a kernel is cut finer than the threads there are and the queue evens
// out the load (the pool's chunks are aligned to tiles, and with 2 of them one is often twice the
// other). Timed: the seed-vae training step (batch 100), the whole step awaited (blockUntilReady), so
// its kernels take the pool's asynchronous path (dataSync runs them on the calling thread).
//   npx tsx bench/kernel-pool.ts [--threads 1] [--chunks 8] [--steps 30] [--preset seed-vae --batch 100]
//   (--threads 0: no pool; --profile: the calling thread runs every kernel alone, timed, and the
//   kernels taking the most time per step are listed with their output sizes)
import { Worker as NodeWorker, MessageChannel, type MessagePort } from "node:worker_threads";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const THREADS = opt("--threads", 1), CHUNKS = opt("--chunks", 8), STEPS = opt("--steps", 30), BATCH = opt("--batch", 100);
const PRESET = args.includes("--preset") ? args[args.indexOf("--preset") + 1] : "seed-vae";
const PROFILE = args.includes("--profile");
/** Per kernel id: calls, milliseconds on the calling thread, the largest range end (its output size). */
const profile = new Map<number, { calls: number; ms: number; size: number }>();

// The queue: header words, then SLOTS task records of TASK words each.
//   header: 0 posted (tasks ever posted), 1 taken (tasks ever claimed)
//   task:   0 state (0 free, 1 posted, 2 done), 1 kernel id, 2 begin, 3 end, 4 pointer count,
//           5 module on the port (1/0), 6.. pointers
const SLOTS = 64, TASK = 40, HEADER = 8;
const words = new Int32Array(new SharedArrayBuffer(4 * (HEADER + SLOTS * TASK)));

const HELPER = `
const { workerData, receiveMessageOnPort, parentPort } = require("node:worker_threads");
const q = new Int32Array(workerData.sab);
const port = workerData.port;
const modules = new Map(), kernels = new Map();
const HEADER = ${HEADER}, TASK = ${TASK}, SLOTS = ${SLOTS};
parentPort.once("message", ({ memory }) => {
  parentPort.postMessage("ready");
  for (;;) {
    let spins = 0, taken;
    for (;;) {
      taken = Atomics.load(q, 1);
      if (taken < Atomics.load(q, 0)) {
        if (Atomics.compareExchange(q, 1, taken, taken + 1) === taken) break;
        continue;
      }
      if (++spins > 20000) Atomics.wait(q, 0, Atomics.load(q, 0), 20);
    }
    const t = HEADER + (taken % SLOTS) * TASK, id = q[t + 1];
    if (!kernels.has(id)) {
      while (!modules.has(id)) {
        const m = receiveMessageOnPort(port);
        if (m) modules.set(m.message.id, m.message.module);
      }
      kernels.set(id, new WebAssembly.Instance(modules.get(id), { env: { memory } }).exports.kernel);
    }
    kernels.get(id)(...q.subarray(t + 6, t + 6 + q[t + 4]), q[t + 2], q[t + 3]);
    Atomics.store(q, t, 2);
    Atomics.notify(q, t);
  }
});
`;

type KernelMessage = { type: string; memory?: WebAssembly.Memory; kernelHash?: unknown; module?: WebAssembly.Module; ptrs?: number[]; begin?: number; end?: number };

const ports: MessagePort[] = [];
const shipped = new Map<unknown, number>(); // kernel hash -> id, once its module is on the helpers' ports
const callingKernels = new Map<number, (...a: number[]) => void>();
let memory: WebAssembly.Memory | undefined;

/** Runs posted tasks on the calling thread until none is left unclaimed. */
function helpOut(): void {
  for (;;) {
    const taken = Atomics.load(words, 1);
    if (taken >= Atomics.load(words, 0)) return;
    if (Atomics.compareExchange(words, 1, taken, taken + 1) !== taken) continue;
    const t = HEADER + (taken % SLOTS) * TASK, id = words[t + 1];
    const start = PROFILE ? performance.now() : 0;
    callingKernels.get(id)!(...words.subarray(t + 6, t + 6 + words[t + 4]), words[t + 2], words[t + 3]);
    if (PROFILE) {
      const p = profile.get(id) ?? { calls: 0, ms: 0, size: 0 };
      p.calls++;
      p.ms += performance.now() - start;
      p.size = Math.max(p.size, words[t + 3]);
      profile.set(id, p);
    }
    Atomics.store(words, t, 2);
  }
}

class QueueWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  postMessage(msg: KernelMessage): void {
    if (msg.type === "init") {
      memory = msg.memory;
      return void setImmediate(() => this.onmessage?.({ data: { type: "ready" } }));
    }
    if (msg.type !== "kernel") throw new Error(`kernel-pool shim: ${msg.type} messages are not handled`);
    let id = shipped.get(msg.kernelHash);
    if (id === undefined) {
      id = shipped.size + 1;
      shipped.set(msg.kernelHash, id);
      for (const p of ports) p.postMessage({ id, module: msg.module });
      callingKernels.set(id, new WebAssembly.Instance(msg.module!, { env: { memory: memory! } }).exports.kernel as (...a: number[]) => void);
    }
    const posted = Atomics.load(words, 0);
    const t = HEADER + (posted % SLOTS) * TASK;
    words[t] = 1;
    words[t + 1] = id;
    words[t + 2] = msg.begin!;
    words[t + 3] = msg.end!;
    words[t + 4] = msg.ptrs!.length;
    words.set(msg.ptrs!, t + 6);
    Atomics.store(words, 0, posted + 1);
    Atomics.notify(words, 0);
    queueMicrotask(() => {
      helpOut();
      while (Atomics.load(words, t) !== 2) Atomics.wait(words, t, 1, 20);
      this.onmessage?.({ data: { type: "done", ok: true } });
    });
  }
  terminate(): void {}
}

if (THREADS > 0) {
  const ready: Promise<unknown>[] = [];
  const helpers = Array.from({ length: THREADS }, () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const thread = new NodeWorker(HELPER, { eval: true, workerData: { sab: words.buffer, port: port2 }, transferList: [port2] });
    thread.unref();
    ready.push(new Promise((resolve) => thread.once("message", resolve)));
    return thread;
  });
  (globalThis as Record<string, unknown>).Worker = QueueWorker;
  Object.defineProperty(globalThis, "navigator", { value: { hardwareConcurrency: CHUNKS }, configurable: true });
  // the helpers get the memory once the engine has made it (after the first step, below)
  (globalThis as Record<string, unknown>).__helpers = { helpers, ready };
}

const { init, keyFromSeed, splitKey, toNumber, disposeTree } = await import("../src/engine/index.js");
const { blockUntilReady } = await import("@jax-js/jax");
const { resolveConfig, createModel } = await import("../src/train/run.js");
const { makeOptimizer, singleThreadRunner } = await import("../src/train/step.js");
const { scalarsAt } = await import("../src/models/scheduled.js");
const { makeSplit } = await import("../src/data/dataset.js");

await init();
const config = { ...resolveConfig({ flags: { preset: PRESET } }), batchSize: BATCH };
const model = createModel(config, { imageShape: [1, 28, 28], numClasses: 10 });
const optimizer = makeOptimizer(config);
const data = new Float32Array(BATCH * 784).map((_, i) => ((i * 2654435761) % 1000 < 300 ? 1 : 0));
const runner = singleThreadRunner(model, optimizer, null, makeSplit(data, [1, 28, 28]));
if (PROFILE && THREADS === 0) throw new Error("--profile times the pool's tasks: give --threads 1 or more");
const batch = { x: data, indices: Uint32Array.from({ length: BATCH }, (_, i) => i), epoch: 0, start: 0, end: BATCH };
let params = model.init(keyFromSeed(0));
let state: unknown = optimizer.init(params);
let key = keyFromSeed(1);
const losses: number[] = [];
const times: number[] = [];
for (let i = 0; i < STEPS + 3; i++) {
  if (i === 1 && THREADS > 0 && !PROFILE) {
    // the first step's asynchronous dispatches made the pool (and its memory); the calling thread ran
    // that step's tasks alone. Now the helpers join.
    const { helpers, ready } = (globalThis as Record<string, unknown>).__helpers as { helpers: NodeWorker[]; ready: Promise<unknown>[] };
    if (!memory) throw new Error("the pool was not made");
    for (const h of helpers) h.postMessage({ memory });
    await Promise.all(ready);
  }
  if (i === 3) profile.clear(); // the warm-up steps run the kernels' first, baseline-compiled code
  const start = performance.now();
  const [next, k] = splitKey(key);
  key = next;
  const out = await runner.run(params, state, batch, k, 1e-3, scalarsAt(config, 0, 1));
  await blockUntilReady(out);
  params = out.params;
  state = out.optState;
  losses.push(toNumber(out.loss));
  out.gradNorm.dispose();
  disposeTree(out.metrics);
  if (i >= 3) times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
if (PROFILE) {
  const rows = [...profile.values()].sort((a, b) => b.ms - a.ms), steps = STEPS;
  console.log(`${profile.size} kernels, ${(rows.reduce((a, r) => a + r.ms, 0) / steps).toFixed(2)} ms a step in kernels; the 15 longest:`);
  for (const r of rows.slice(0, 15)) console.log(`  ${(r.ms / steps).toFixed(3)} ms a step, ${(r.calls / steps).toFixed(1)} calls, output size ${r.size}`);
}
console.log(JSON.stringify({ preset: PRESET, batch: BATCH, threads: THREADS, chunks: CHUNKS, median_ms: +times[times.length >> 1].toFixed(2), min_ms: +times[0].toFixed(2), first_loss: losses[0], last_loss: losses.at(-1) }));
process.exit(0);
