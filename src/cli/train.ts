// latentkit train: flags to the library's train (api/node.ts), which trains, evaluates and writes the
// run folder; this prints what happened. Ctrl-C stops at the next step with a checkpoint to resume.
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { resolveConfig } from "../train/run.js";
import { parseSetting, type RunConfig } from "../train/config.js";
import { CONFIG_FILE } from "../train/checkpoint.js";
import { consoleProgress, silentProgress } from "../train/progress.js";
import { train } from "../api/node.js";
import { listTrainingOptions } from "../api/train.js";
import { readConfigFile } from "../train/run.js";
import { intOption, numberOption, collect, say, note, fmt, ExitCode } from "./common.js";

type TrainFlags = {
  model?: string; preset?: string; dataset?: string; epochs?: number; batchSize?: number; lr?: number;
  latent?: number; beta?: number; seed?: number; workers?: number; out?: string; config?: string; set?: string[];
  resume?: string; dataDir?: string; quiet?: boolean;
};

/** What `latentkit train` trains when nothing is named (a vae preset: docs/results-quickstart.md). */
export const QUICKSTART_PRESET = "sprites-vae";

function defaultRunDir(config: RunConfig): string {
  const base = config.dataset.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(-40) || "data";
  const stem = join("runs", `${config.preset ?? config.model}-${base}`);
  let dir = stem;
  for (let i = 2; existsSync(dir); i++) dir = `${stem}-${i}`;
  return dir;
}

/** Stops the training at the next step on the first Ctrl-C (SIGINT/SIGTERM); a second one exits at once. */
function interruptOnSignals(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    note(`${name}: stopping at the next step and saving a checkpoint (again to quit at once)`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return { signal: controller.signal, release: () => { process.off("SIGINT", onSignal); process.off("SIGTERM", onSignal); } };
}

export async function trainCommand(flags: TrainFlags): Promise<void> {
  const given: Record<string, unknown> = {
    model: flags.model, preset: flags.preset, dataset: flags.dataset, epochs: flags.epochs, batchSize: flags.batchSize,
    lr: flags.lr, latent: flags.latent, beta: flags.beta, seed: flags.seed, dataDir: flags.dataDir, workers: flags.workers,
  };
  const set = Object.fromEntries((flags.set ?? []).map(parseSetting));
  const resume = flags.resume !== undefined;
  // The main job: with no model, preset or configuration named, the Quickstart's VAE on the sprites.
  if (!resume && !flags.model && !flags.preset && !flags.config && (flags.dataset ?? "sprites") === "sprites" && !("model" in set) && !("preset" in set)) {
    given.preset = QUICKSTART_PRESET;
  }
  let out: string;
  let options: Record<string, unknown>;
  if (resume) {
    if (flags.config) throw new LatentkitError("--config cannot be combined with --resume (the run keeps its configuration)");
    out = flags.resume!;
    if (!existsSync(join(out, CONFIG_FILE))) throw new LatentkitError(`${out}: not a run folder (no ${CONFIG_FILE})`);
    options = { ...given, set };
  } else {
    // The configuration is resolved here first to name the default run folder.
    const config = resolveConfig({ flags: given, configFile: flags.config, sets: flags.set });
    out = flags.out ?? defaultRunDir(config);
    options = { ...(flags.config ? readConfigFile(flags.config) : {}), ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)), set };
  }
  const progress = flags.quiet ? silentProgress : consoleProgress();
  const { signal, release } = interruptOnSignals();
  try {
    const run = await train({
      ...options, out, resume, signal, progress, log: note,
    } as never);
    if (run.stopped === "interrupted") {
      note(`interrupted; the checkpoint is saved: continue with latentkit train --resume ${out}`);
      run.model.dispose();
      throw new ExitCode(130);
    }
    const r = run.evaluation as Record<string, number> | undefined;
    if (r) {
      note(`${r.split ?? "test"} (${r.n} examples): ` + (run.model.probabilistic
        ? `elbo ${fmt(r.elbo)}  recon ${fmt(r.recon)}  kl ${fmt(r.kl)}` + (r.nll !== undefined ? `  -log p(x) ${fmt(r.nll)} (IS, k=${r.is_samples})` : "") + `  active units ${r.active_units}`
        : `recon ${fmt(r.recon)}  mse ${fmt(r.mse, 5)}`));
    }
    run.model.dispose();
    say(out);
  } finally {
    release();
  }
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
    .option("--workers <n>", "threads computing shards of each batch (data-parallel; default: every core for a long run, 1 for a short one)", intOption("--workers", 1))
    .option("--out <dir>", "run folder to write (default runs/<model>-<dataset>)")
    .option("--config <file.json>", "configuration file (JSON object of configuration keys)")
    .option("--set <key=value>", "override any configuration key (repeatable)", collect)
    .option("--resume <dir>", "continue a run up to --epochs, with its saved configuration (a run without a checkpoint starts at epoch 0)")
    .option("--data-dir <dir>", "where named data sets are looked for")
    .option("--quiet", "no progress output")
    .addHelpText("after", trainingOptionsHelp)
    .action(trainCommand);
}

/** `train --help`'s list of the training keys for --set (the model families' own: `latentkit models`). */
function trainingOptionsHelp(): string {
  const options = Object.entries(listTrainingOptions());
  const width = Math.max(...options.map(([k, o]) => `${k}=${JSON.stringify(o.default)}`.length)) + 2;
  return "\nTraining options (--set key=value; defaults shown; each model family's own: latentkit models):\n" +
    options.map(([k, o]) => `  ${`${k}=${JSON.stringify(o.default)}`.padEnd(width)}${o.description}`).join("\n");
}
