// Benchmark: CPU ms of one jitted training step (loss, gradients, Adam) of the keras-conv-vae model
// as the library builds it (src/models/conv-nets.ts), batch 32, min and median of 25 steps after the
// first. CPU time of this process, so steadier than the wall clock on a shared machine.
//
//   npx tsx bench/model-step.ts [--preset keras-conv-vae] [--steps 25] [--batch 32] [--profile N]
//   (--profile N: one more step under jax-js's kernel tracer, its N costliest kernels)
//
// Measured 2026-11-21, jax-js 0.1.25, 2-core machine with 2 other jobs, alternating two trees twice:
// NCHW activations inside the conv stacks (commit f51717f) min 143.6 / 141.9 ms; channels-last
// (commit 9e6ec37) 128.8 / 128.4 ms. To repeat, run this file in a worktree at each commit.
import { init, np, keyFromSeed, splitKey, toNumber, disposeTree, fromData } from "../src/engine/index.js";
import { modelOptionsSchema } from "../src/models/registry.js";
import { findPreset } from "../src/models/registry.js";
import { makeTrainStep } from "../src/train/step.js";
import { adam } from "../src/optim/index.js";
import { printKernels, traceKernels } from "./lib/kernel-trace.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const STEPS = opt("--steps", 25), B = opt("--batch", 32), TOP = opt("--profile", 0);
const PRESET = args.includes("--preset") ? args[args.indexOf("--preset") + 1] : "keras-conv-vae";

await init();
const preset = findPreset(PRESET);
const model = preset.family.create(modelOptionsSchema.parse(preset.values), { imageShape: [1, 28, 28], numClasses: null });
const optimizer = adam();
const step = makeTrainStep(model, optimizer, null);
let params = model.init(keyFromSeed(0));
let state: unknown = optimizer.init(params);
let key = keyFromSeed(1);
const x = Float32Array.from({ length: B * 784 }, (_, i) => ((i * 2654435761) % 5 === 0 ? 1 : 0));
const times: number[] = [];
const runStep = () => {
  const [next, k] = splitKey(key);
  key = next;
  const out = step(params, state, { x: fromData(x, [B, 1, 28, 28]), labels: np.zeros([B], { dtype: np.int32 }) }, k, np.array(1e-3), { klWeight: np.array(1), temperature: np.array(1) });
  toNumber(out.loss);
  params = out.params;
  state = out.optState;
  disposeTree([out.gradNorm, out.metrics]);
};
for (let i = 0; i <= STEPS; i++) {
  const t0 = process.cpuUsage();
  runStep();
  const t = process.cpuUsage(t0);
  if (i > 0) times.push((t.user + t.system) / 1000); // the first step compiles
}
times.sort((a, b) => a - b);
console.log(`${PRESET} training step, batch ${B}: min ${times[0].toFixed(1)} ms, median ${times[times.length >> 1].toFixed(1)} ms CPU`);
if (TOP > 0) printKernels(`${PRESET} training step, batch ${B}`, await traceKernels(async () => runStep()), TOP, !!process.env.ONLY_ELEMENTWISE);
