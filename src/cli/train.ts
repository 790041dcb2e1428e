// latentkit train: resolve the configuration, load the data, train, evaluate, write pictures.
import type { Command } from "commander";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { resolveConfig, loadRunData, createModel, dataInfo, openRun, fitRunPrior } from "../train/run.js";
import { train } from "../train/trainer.js";
import { consoleProgress, silentProgress } from "../train/progress.js";
import { CONFIG_FILE, readJsonFile } from "../train/checkpoint.js";
import { validateConfig, parseSetting, type RunConfig } from "../train/config.js";
import { evaluate } from "../eval/evaluate.js";
import { disposeTree } from "../engine/index.js";
import { intOption, numberOption, collect, say, note, fmt } from "./common.js";
import { writeReport } from "../report/report.js";

/** Options that may change when resuming (the rest would make the run a different one). */
const RESUMABLE = new Set(["epochs", "lr", "lrSchedule", "polyakDecay", "patience", "minDelta", "maxDivergences", "evalIsSamples", "evalLimit", "report", "dataDir"]);

type TrainFlags = {
  model?: string; preset?: string; dataset?: string; epochs?: number; batchSize?: number; lr?: number;
  latent?: number; beta?: number; seed?: number; out?: string; config?: string; set?: string[];
  resume?: string; dataDir?: string; quiet?: boolean;
};

function defaultRunDir(config: RunConfig): string {
  const base = config.dataset.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(-40) || "data";
  const stem = join("runs", `${config.preset ?? config.model}-${base}`);
  let dir = stem;
  for (let i = 2; existsSync(dir); i++) dir = `${stem}-${i}`;
  return dir;
}

function resumeConfig(dir: string, flags: TrainFlags): RunConfig {
  const saved = readJsonFile<Record<string, unknown>>(join(dir, CONFIG_FILE));
  const { version: _v, data: _d, ...rest } = saved;
  const overrides: Record<string, unknown> = {};
  const given: Record<string, unknown> = {
    model: flags.model, preset: flags.preset, dataset: flags.dataset, epochs: flags.epochs,
    batchSize: flags.batchSize, lr: flags.lr, latent: flags.latent, beta: flags.beta, seed: flags.seed,
    dataDir: flags.dataDir,
  };
  for (const s of flags.set ?? []) {
    const [key, value] = parseSetting(s);
    given[key] = value;
  }
  if (flags.config) throw new LatentkitError("--config cannot be combined with --resume (the run keeps its configuration)");
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!RESUMABLE.has(k) && JSON.stringify(v) !== JSON.stringify(rest[k]) && String(v) !== String(rest[k])) {
      throw new LatentkitError(`cannot change ${k} when resuming (the run has ${k}=${JSON.stringify(rest[k])}); allowed: ${[...RESUMABLE].join(", ")}`);
    }
    if (RESUMABLE.has(k)) overrides[k] = v; // flags are typed and --set values parsed: validateConfig checks them
  }
  return validateConfig({ ...rest, ...overrides });
}

export async function trainCommand(flags: TrainFlags): Promise<void> {
  const resume = flags.resume !== undefined;
  let config: RunConfig;
  let runDir: string;
  if (resume) {
    runDir = flags.resume!;
    if (!existsSync(join(runDir, CONFIG_FILE))) throw new LatentkitError(`${runDir}: not a run folder (no ${CONFIG_FILE})`);
    config = resumeConfig(runDir, flags);
  } else {
    config = resolveConfig({
      flags: {
        model: flags.model, preset: flags.preset, dataset: flags.dataset, epochs: flags.epochs,
        batchSize: flags.batchSize, lr: flags.lr, latent: flags.latent, beta: flags.beta, seed: flags.seed,
        dataDir: flags.dataDir,
      },
      configFile: flags.config,
      sets: flags.set,
    });
    runDir = flags.out ?? defaultRunDir(config);
    if (existsSync(join(runDir, CONFIG_FILE))) {
      throw new LatentkitError(`${runDir}: already holds a run; continue it with --resume ${runDir} or choose another --out`);
    }
    if (existsSync(runDir) && readdirSync(runDir).length > 0 && flags.out) {
      throw new LatentkitError(`${runDir}: folder exists and is not empty; choose another --out`);
    }
  }
  const progress = flags.quiet ? silentProgress : consoleProgress();
  const data = await loadRunData(config);
  const model = createModel(config, dataInfo(data));
  note(`training ${config.model}${config.preset ? ` (${config.preset})` : ""} on ${data.name}: ` +
    `${data.splits.train?.n ?? 0} train / ${data.splits.valid?.n ?? 0} valid examples, ${config.epochs} epochs -> ${runDir}`);
  const result = await train({ config, runDir, model, data, resume, progress });
  if (model.fitPrior) {
    const m = fitRunPrior(runDir, model, result.params, data, config, (line) => progress.log(line));
    note(`prior fitted: ${Object.entries(m).map(([k, v]) => `${k} ${fmt(v)}`).join("  ")}`);
  }
  disposeTree(result.params);

  // The end of a run: its test evaluation and its pictures and report.
  const run = await openRun(runDir);
  const test = data.splits.test ?? data.splits.valid;
  if (test && config.evalIsSamples >= 0) {
    const r = evaluate(run.model, run.params, test, {
      isSamples: run.model.probabilistic ? config.evalIsSamples : 0, limit: config.evalLimit || undefined,
      seed: config.seed, binarize: config.binarize, batchSize: 100,
    });
    const split = data.splits.test ? "test" : "valid";
    writeJsonAtomic(join(runDir, "eval.json"), { split, ...r });
    note(`${split} (${r.n} examples): ` + (run.model.probabilistic
      ? `elbo ${fmt(r.elbo)}  recon ${fmt(r.recon)}  kl ${fmt(r.kl)}` + (r.nll !== undefined ? `  -log p(x) ${fmt(r.nll)} (IS, k=${r.is_samples})` : "") + `  active units ${r.active_units}`
      : `recon ${fmt(r.recon)}  mse ${fmt(r.mse, 5)}`));
  }
  if (config.report) writeReport(run, data, { log: note });
  disposeTree(run.params);
  say(runDir);
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train a model; writes a run folder (config, checkpoints, metrics, pictures, report)")
    .option("--model <name>", "model family (see `latentkit models`)")
    .option("--preset <name>", "named preset of a model family")
    .option("--dataset <name|path>", "data set name or path (see `latentkit datasets`)")
    .option("--epochs <n>", "total epochs of the run", intOption("--epochs", 1))
    .option("--batch-size <n>", "examples per step", intOption("--batch-size", 1))
    .option("--lr <x>", "learning rate", numberOption("--lr", { positive: true }))
    .option("--latent <n>", "latent dimensions", intOption("--latent", 1))
    .option("--beta <x>", "KL weight", numberOption("--beta"))
    .option("--seed <n>", "random seed", intOption("--seed", 0))
    .option("--out <dir>", "run folder to write (default runs/<model>-<dataset>)")
    .option("--config <file.json>", "configuration file (JSON object of configuration keys)")
    .option("--set <key=value>", "override any configuration key (repeatable)", collect)
    .option("--resume <dir>", "continue a run up to --epochs, with its saved configuration")
    .option("--data-dir <dir>", "where named data sets are looked for")
    .option("--quiet", "no progress output")
    .action(trainCommand);
}
