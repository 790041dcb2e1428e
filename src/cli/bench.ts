// latentkit bench: ms per training step (loss, gradient, Adam update, one jitted function) of the
// seeds' VAEs, against PyTorch on CPU and TF.js on wasm measured in the same run (the reference
// scripts are bench/torch_reference.py and bench/tfjs_reference.mjs). Speeds are reported as ratios:
// the machines are shared and noisy, so only a ratio measured side by side means something.
import type { Command } from "commander";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, keyFromSeed, splitKey, toNumber, disposeTree } from "../engine/index.js";
import { resolveConfig, createModel } from "../train/run.js";
import { makeOptimizer, singleThreadRunner, stepFlops } from "../train/step.js";
import { scalarsAt } from "../models/scheduled.js";
import { wasmBoundGflops } from "../engine/wasm-bound.js";
import { train } from "../api/node.js";
import { evaluateInWorkers } from "../api/evaluate.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDataParallel } from "../train/data-parallel.js";
import { machineCores } from "../train/worker-thread.js";
import { makeSplit } from "../data/dataset.js";
import type { HostBatch } from "../data/loader.js";
import { findPreset } from "../models/registry.js";
import { LatentkitError } from "../io/errors.js";
import { printJson, say, intOption } from "./common.js";

type Case = { name: string; preset: string; batch: number; torchKind: "mlp" | "conv"; steps: number };

const CASES: Case[] = [
  { name: "seed-vae MLP 784-400-20", preset: "seed-vae", batch: 100, torchKind: "mlp", steps: 40 },
  { name: "keras-conv-vae", preset: "keras-conv-vae", batch: 128, torchKind: "conv", steps: 5 },
];

/**
 * Median ms per step of latentkit's training step on `workers` threads (the trainer's runner: the
 * fused jitted step on one, data-parallel.ts on more), after warm-up (compilation) steps.
 */
async function latentkitStepMs(c: Case, rounds: number, workers: number): Promise<number> {
  await init();
  const config = { ...resolveConfig({ flags: { preset: c.preset } }), batchSize: c.batch, workers };
  const info = { imageShape: [1, 28, 28] as [number, number, number], numClasses: 10 };
  const model = createModel(config, info);
  const optimizer = makeOptimizer(config);
  let params = model.init(keyFromSeed(0));
  let optState: unknown = optimizer.init(params);
  const data = new Float32Array(c.batch * 784).map((_, i) => ((i * 2654435761) % 1000 < 300 ? 1 : 0));
  const split = makeSplit(data, info.imageShape);
  const runner = workers > 1
    ? await startDataParallel({ config, info, model, optimizer, params, split, workers })
    : singleThreadRunner(model, optimizer, null, split);
  const batch: HostBatch = { x: data, indices: Uint32Array.from({ length: c.batch }, (_, i) => i), epoch: 0, start: 0, end: c.batch };
  let key = keyFromSeed(1);
  const run = async () => {
    const [next, k] = splitKey(key);
    key = next;
    const out = await runner.run(params, optState, batch, k, 1e-3, scalarsAt(config, 0, 1));
    params = out.params;
    optState = out.optState;
    toNumber(out.loss); // wait for the step to finish
    out.gradNorm.dispose();
    disposeTree(out.metrics);
  };
  try {
    for (let i = 0; i < 3; i++) await run();
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = performance.now();
      for (let i = 0; i < c.steps; i++) await run();
      times.push((performance.now() - start) / c.steps);
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  } finally {
    await runner.close();
    disposeTree(params);
    disposeTree(optState);
    key.dispose();
  }
}

type Reference = { ms?: number; why?: string; version?: string; threads?: number };

/** Runs a reference script that prints one JSON line with ms_per_step; why it failed otherwise. */
function runReference(cmd: string, args: string[], version: (out: Record<string, unknown>) => string, missing: (err: string) => string | undefined): Reference {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
  if (r.error || r.status !== 0) {
    const why = (r.error?.message ?? r.stderr ?? "").trim().split("\n").pop() || `exit ${r.status}`;
    return { why: missing(r.stderr ?? "") ?? why };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  return { ms: out.ms_per_step as number, version: version(out), threads: out.threads as number | undefined };
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

/** FLOPs of one training step of a case (matrix products and convolutions; engine/flops.ts). */
async function stepGflop(c: Case): Promise<number> {
  await init();
  const config = resolveConfig({ flags: { preset: c.preset } });
  const model = createModel(config, { imageShape: [1, 28, 28], numClasses: 10 });
  return stepFlops(model, makeOptimizer(config), c.batch) / 1e9;
}

/**
 * Importance-sampled evaluation speed (images × samples per second) of a seed-vae trained for one
 * epoch on the sprites, on 1 and on `workers` threads: `eval --is-samples` is compute-bound.
 */
async function isEvalRate(workers: number, images: number, samples: number): Promise<{ one: number; all: number }> {
  const dir = mkdtempSync(join(tmpdir(), "latentkit-bench-"));
  try {
    const run = await train({ dataset: "sprites", preset: "seed-vae", epochs: 1, workers: 1, out: join(dir, "run"), set: { evalIsSamples: 0, report: false } });
    run.model.dispose();
    const rate = async (n: number) => {
      const start = performance.now();
      await evaluateInWorkers({ runDir: join(dir, "run"), which: "last", split: "test", offset: 0, n: images }, { isSamples: samples, seed: 0, batchSize: 100 }, n);
      return (images * samples) / ((performance.now() - start) / 1000);
    };
    return { one: await rate(1), all: await rate(workers) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchCommand(flags: { json?: boolean; compare?: string; rounds: number; threads: number; workers?: number; isEval?: boolean; isImages: number; isSamples: number }): Promise<void> {
  const compare = (flags.compare ?? "torch,tfjs").split(",").map((s) => s.trim()).filter(Boolean);
  for (const c of compare) {
    if (c !== "torch" && c !== "tfjs") throw new LatentkitError(`--compare ${c}: allowed are torch, tfjs`);
  }
  const workers = flags.workers ?? machineCores();
  const bound = wasmBoundGflops();
  const results: Record<string, unknown>[] = [];
  for (const c of CASES) {
    try {
      findPreset(c.preset);
    } catch {
      results.push({ case: c.name, skipped: `preset ${c.preset} is not available` });
      continue;
    }
    // latentkit, the references, latentkit again: the two latentkit medians bracket the references.
    const a1 = await latentkitStepMs(c, flags.rounds, 1);
    const aN = workers > 1 ? await latentkitStepMs(c, flags.rounds, workers) : a1;
    const torch = compare.includes("torch") ? torchStepMs(c, flags.threads) : undefined;
    const torchDefault = compare.includes("torch") ? torchStepMs(c, 0) : undefined;
    const tfjs = compare.includes("tfjs") ? tfjsStepMs(c) : undefined;
    const ms1 = Math.min(a1, await latentkitStepMs(c, flags.rounds, 1));
    const ms = workers > 1 ? Math.min(aN, await latentkitStepMs(c, flags.rounds, workers)) : ms1;
    const gflop = await stepGflop(c);
    const versus = (name: string, ref: Reference | undefined, extra: Record<string, unknown> = {}) =>
      ref === undefined ? {} : ref.ms === undefined ? { [`${name}_skipped`]: ref.why }
        : { [`${name}_ms_per_step`]: ref.ms, [`${name}_version`]: ref.version, ...extra, [`ratio_to_${name}`]: ms / ref.ms };
    results.push({
      case: c.name, batch: c.batch, workers, latentkit_ms_per_step: ms, latentkit_ms_per_step_1: ms1, speedup_workers: ms1 / ms,
      gflop, wasm_bound_gflops_per_core: bound,
      fraction_of_wasm_bound: gflop / (ms / 1000) / (bound * workers), fraction_of_wasm_bound_1: gflop / (ms1 / 1000) / bound,
      ...versus("torch", torch, { torch_threads: flags.threads }),
      ...versus("torch_default", torchDefault, { torch_default_threads: torchDefault?.threads }),
      ...versus("tfjs", tfjs),
    });
  }
  if (flags.isEval !== false) {
    // the issue's example, `eval --is-samples 1000 --limit 1000`: long enough that the workers' start
    // (loading the run, compiling the step: about a second) does not decide the ratio
    const images = flags.isImages, samples = flags.isSamples;
    const r = await isEvalRate(workers, images, samples);
    results.push({ case: `IS evaluation, seed-vae, ${images} images x ${samples} samples`, workers, images_x_samples_per_s: r.all, images_x_samples_per_s_1: r.one, speedup_workers: r.all / r.one });
  }
  if (flags.json) return printJson(results);
  say(`WebAssembly bound: ${bound.toFixed(1)} GFLOP/s per core (f32x4 multiply-adds); ${workers} worker${workers > 1 ? "s" : ""}`);
  for (const row of results) {
    if ("skipped" in row) {
      say(`${row.case}: skipped (${row.skipped})`);
      continue;
    }
    if ("images_x_samples_per_s" in row) {
      say(`${row.case}: ${(row.images_x_samples_per_s_1 as number).toFixed(0)}/s on 1 worker, ${(row.images_x_samples_per_s as number).toFixed(0)}/s on ${workers} (${(row.speedup_workers as number).toFixed(2)}x)`);
      continue;
    }
    const part = (name: string, label: string) =>
      typeof row[`ratio_to_${name}`] === "number"
        ? `${(row[`ratio_to_${name}`] as number).toFixed(2)}x ${label}'s time (${(row[`${name}_ms_per_step`] as number).toFixed(1)} ms)`
        : row[`${name}_skipped`] ? `${label}: ${row[`${name}_skipped`]}` : undefined;
    const refs = [
      part("torch", `PyTorch at ${flags.threads} thread`), part("torch_default", `PyTorch at ${row.torch_default_threads ?? "its default"} threads`), part("tfjs", "TF.js wasm"),
    ].filter(Boolean);
    say(`${row.case}, batch ${row.batch}, ${(row.gflop as number).toFixed(2)} GFLOP/step: ` +
      `${(row.latentkit_ms_per_step_1 as number).toFixed(1)} ms on 1 worker (${pct(row.fraction_of_wasm_bound_1)} of the bound), ` +
      `${(row.latentkit_ms_per_step as number).toFixed(1)} ms on ${workers} (${(row.speedup_workers as number).toFixed(2)}x, ${pct(row.fraction_of_wasm_bound)} of ${workers} cores' bound)` +
      (refs.length ? `; latentkit on ${workers} takes ${refs.join("; ")}` : ""));
  }
}

const pct = (x: unknown) => `${((x as number) * 100).toFixed(0)}%`;

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("ms per training step of the seeds' VAEs on 1 and all workers, as ratios to PyTorch and TF.js measured in the same run and as a share of the WebAssembly bound")
    .option("--json", "print one JSON document")
    .option("--compare <list>", "references to measure, comma-separated: torch, tfjs", "torch,tfjs")
    .option("--rounds <n>", "timing rounds per measurement (median taken)", intOption("--rounds", 1), 3)
    .option("--threads <n>", "PyTorch threads of the first reference (the second runs at PyTorch's default)", intOption("--threads", 1), 1)
    .option("--workers <n>", "latentkit's worker threads for the all-workers columns (default: every core)", intOption("--workers", 1))
    .option("--no-is-eval", "skip the importance-sampled evaluation row")
    .option("--is-images <n>", "test images of the IS evaluation row", intOption("--is-images", 1), 1000)
    .option("--is-samples <n>", "importance samples per image of the IS evaluation row (eval --is-samples)", intOption("--is-samples", 1), 1000)
    .action(benchCommand);
}
