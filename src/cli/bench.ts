// latentkit bench: ms per training step (loss, gradient, Adam update, one jitted function) of the
// seeds' VAEs, against PyTorch on CPU measured in the same run. Speeds are reported as ratios:
// the machines are shared and noisy, so only a ratio measured side by side means something.
import type { Command } from "commander";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, np, keyFromSeed, splitKey, toNumber, disposeTree } from "../engine/index.js";
import { resolveConfig, createModel } from "../train/run.js";
import { makeTrainStep, makeOptimizer } from "../train/step.js";
import { findPreset } from "../models/registry.js";
import { LatentkitError } from "../io/errors.js";
import { printJson, say, intOption } from "./common.js";

type Case = { name: string; preset: string; batch: number; torchKind: "mlp" | "conv"; steps: number };

const CASES: Case[] = [
  { name: "seed-vae MLP 784-400-20", preset: "seed-vae", batch: 100, torchKind: "mlp", steps: 40 },
  { name: "keras-conv-vae", preset: "keras-conv-vae", batch: 128, torchKind: "conv", steps: 5 },
];

/** Median ms per step of latentkit's jitted training step, after warm-up (compilation) steps. */
async function latentkitStepMs(c: Case, rounds: number): Promise<number> {
  await init();
  const config = resolveConfig({ flags: { preset: c.preset } });
  const model = createModel(config, { imageShape: [1, 28, 28], numClasses: 10 });
  const optimizer = makeOptimizer(config);
  const step = makeTrainStep(model, optimizer, null);
  let params = model.init(keyFromSeed(0));
  let optState: unknown = optimizer.init(params);
  const data = new Float32Array(c.batch * 784).map((_, i) => ((i * 2654435761) % 1000 < 300 ? 1 : 0));
  let key = keyFromSeed(1);
  const run = () => {
    const [next, k] = splitKey(key);
    key = next;
    const x = np.array(data, { shape: [c.batch, 1, 28, 28] });
    const out = step(params, optState, x, np.zeros([c.batch], { dtype: np.int32 }), k,
      np.array(1e-3), np.array(1), np.array(1));
    params = out.params;
    optState = out.optState;
    toNumber(out.loss); // wait for the step to finish
    out.gradNorm.dispose();
    disposeTree(out.metrics);
  };
  for (let i = 0; i < 3; i++) run();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < c.steps; i++) run();
    times.push((performance.now() - start) / c.steps);
  }
  disposeTree(params);
  disposeTree(optState);
  key.dispose();
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** PyTorch's ms per step for the same model (bench/torch_reference.py), or why it could not run. */
function torchStepMs(c: Case, threads: number): { ms?: number; why?: string; version?: string } {
  const script = fileURLToPath(new URL("../../bench/torch_reference.py", import.meta.url));
  const r = spawnSync("/usr/bin/python3", [script, c.torchKind, String(c.batch), String(c.steps), String(threads)], {
    encoding: "utf8", timeout: 600_000,
  });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split("\n").pop() ?? "failed";
    return { why: /No module named 'torch'/.test(why) ? "PyTorch not installed (apt-get install python3-torch)" : why };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  return { ms: out.ms_per_step, version: out.torch };
}

export async function benchCommand(flags: { json?: boolean; compare?: string; rounds: number; threads: number }): Promise<void> {
  const compare = (flags.compare ?? "torch").split(",").map((s) => s.trim()).filter(Boolean);
  for (const c of compare) {
    if (c !== "torch" && c !== "tfjs") throw new LatentkitError(`--compare ${c}: allowed are torch, tfjs`);
  }
  const results = [];
  for (const c of CASES) {
    try {
      findPreset(c.preset);
    } catch {
      results.push({ case: c.name, skipped: `preset ${c.preset} is not available` });
      continue;
    }
    // latentkit, the reference, latentkit again: the two latentkit medians bracket the reference.
    const a = await latentkitStepMs(c, flags.rounds);
    const torch = compare.includes("torch") ? torchStepMs(c, flags.threads) : { why: "not requested" };
    const b = await latentkitStepMs(c, flags.rounds);
    const ms = Math.min(a, b);
    results.push({
      case: c.name, batch: c.batch, latentkit_ms_per_step: ms,
      torch_ms_per_step: torch.ms ?? null, torch_threads: flags.threads, torch_version: torch.version ?? null,
      ratio_to_torch: torch.ms ? ms / torch.ms : null,
      ...(torch.why ? { torch_skipped: torch.why } : {}),
      ...(compare.includes("tfjs") ? { tfjs_skipped: "the TF.js comparison is not implemented (DESIGN.md records 107 ms/step for the MLP VAE on tfjs-wasm)" } : {}),
    });
  }
  if (flags.json) return printJson(results);
  for (const r of results) {
    if ("skipped" in r) {
      say(`${r.case}: skipped (${r.skipped})`);
      continue;
    }
    const ratio = r.ratio_to_torch ? `  = ${r.ratio_to_torch.toFixed(2)}x PyTorch (${r.torch_ms_per_step!.toFixed(1)} ms, ${r.torch_threads} thread)` : `  (PyTorch: ${r.torch_skipped})`;
    say(`${r.case}, batch ${r.batch}: ${r.latentkit_ms_per_step.toFixed(1)} ms/step${ratio}`);
  }
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("ms per training step of the seeds' VAEs, as a ratio to PyTorch measured in the same run")
    .option("--json", "print one JSON document")
    .option("--compare <list>", "references to measure: torch (tfjs is recorded in DESIGN.md only)", "torch")
    .option("--rounds <n>", "timing rounds per measurement (median taken)", intOption("--rounds", 1), 3)
    .option("--threads <n>", "PyTorch threads (jax-js runs on one)", intOption("--threads", 1), 1)
    .action(benchCommand);
}
