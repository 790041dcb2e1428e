// latentkit bench: ms per training step (loss, gradient, Adam update, one jitted function) of the
// seeds' VAEs, against PyTorch on CPU and TF.js on wasm measured in the same run (the reference
// scripts are bench/torch_reference.py and bench/tfjs_reference.mjs). Speeds are reported as ratios:
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

type Reference = { ms?: number; why?: string; version?: string };

/** Runs a reference script that prints one JSON line with ms_per_step; why it failed otherwise. */
function runReference(cmd: string, args: string[], version: (out: Record<string, unknown>) => string, missing: (err: string) => string | undefined): Reference {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
  if (r.error || r.status !== 0) {
    const why = (r.error?.message ?? r.stderr ?? "").trim().split("\n").pop() || `exit ${r.status}`;
    return { why: missing(r.stderr ?? "") ?? why };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  return { ms: out.ms_per_step as number, version: version(out) };
}

const script = (name: string) => fileURLToPath(new URL(`../../bench/${name}`, import.meta.url));

/** PyTorch's ms per step for the same model (bench/torch_reference.py), or why it could not run. */
function torchStepMs(c: Case, threads: number): Reference {
  return runReference("/usr/bin/python3", [script("torch_reference.py"), c.torchKind, String(c.batch), String(c.steps), String(threads)],
    (out) => String(out.torch), (err) => (/No module named 'torch'/.test(err) ? "PyTorch not installed (apt-get install python3-torch)" : undefined));
}

/** TF.js's ms per step on its wasm backend (bench/tfjs_reference.mjs), or why it could not run. */
function tfjsStepMs(c: Case): Reference {
  if (c.torchKind === "conv") return { why: "tfjs-backend-wasm cannot train a conv net (no Conv2DBackpropFilter kernel)" };
  return runReference(process.execPath, [script("tfjs_reference.mjs"), c.torchKind, String(c.batch), String(c.steps)],
    (out) => `${out.tfjs} ${out.backend}`, (err) => (/Cannot find (package|module) '@tensorflow/.test(err) ? "TF.js not installed (a development dependency: npm install in a checkout)" : undefined));
}

export async function benchCommand(flags: { json?: boolean; compare?: string; rounds: number; threads: number }): Promise<void> {
  const compare = (flags.compare ?? "torch,tfjs").split(",").map((s) => s.trim()).filter(Boolean);
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
    // latentkit, the references, latentkit again: the two latentkit medians bracket the references.
    const a = await latentkitStepMs(c, flags.rounds);
    const torch = compare.includes("torch") ? torchStepMs(c, flags.threads) : undefined;
    const tfjs = compare.includes("tfjs") ? tfjsStepMs(c) : undefined;
    const b = await latentkitStepMs(c, flags.rounds);
    const ms = Math.min(a, b);
    const versus = (name: string, ref: Reference | undefined, extra: Record<string, unknown> = {}) =>
      ref === undefined ? {} : ref.ms === undefined ? { [`${name}_skipped`]: ref.why }
        : { [`${name}_ms_per_step`]: ref.ms, [`${name}_version`]: ref.version, ...extra, [`ratio_to_${name}`]: ms / ref.ms };
    results.push({
      case: c.name, batch: c.batch, latentkit_ms_per_step: ms,
      ...versus("torch", torch, { torch_threads: flags.threads }),
      ...versus("tfjs", tfjs),
    });
  }
  if (flags.json) return printJson(results);
  for (const r of results) {
    if ("skipped" in r) {
      say(`${r.case}: skipped (${r.skipped})`);
      continue;
    }
    const row = r as Record<string, unknown>;
    const part = (name: string, label: string) =>
      typeof row[`ratio_to_${name}`] === "number"
        ? `${(row[`ratio_to_${name}`] as number).toFixed(2)}x ${label} (${(row[`${name}_ms_per_step`] as number).toFixed(1)} ms)`
        : row[`${name}_skipped`] ? `${label}: ${row[`${name}_skipped`]}` : undefined;
    const refs = [part("torch", `PyTorch, ${flags.threads} thread`), part("tfjs", "TF.js wasm")].filter(Boolean);
    say(`${r.case}, batch ${r.batch}: ${r.latentkit_ms_per_step.toFixed(1)} ms/step${refs.length ? `  = ${refs.join("; ")}` : ""}`);
  }
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("ms per training step of the seeds' VAEs, as ratios to PyTorch and TF.js measured in the same run")
    .option("--json", "print one JSON document")
    .option("--compare <list>", "references to measure, comma-separated: torch, tfjs", "torch,tfjs")
    .option("--rounds <n>", "timing rounds per measurement (median taken)", intOption("--rounds", 1), 3)
    .option("--threads <n>", "PyTorch threads (jax-js runs on one)", intOption("--threads", 1), 1)
    .action(benchCommand);
}
