// latentkit eval RUN: ELBO, importance-sampled −log p(x), reconstruction, KL and active units.
import type { Command } from "commander";
import { LatentkitError } from "../io/errors.js";
import { openRun, loadRunData } from "../train/run.js";
import { evaluate, type EvalResult } from "../eval/evaluate.js";
import type { RefineObjective } from "../eval/refine.js";
import { disposeTree } from "../engine/index.js";
import { sliceSplit, type SplitName } from "../data/dataset.js";
import { loadModel } from "../api/node.js";
import { evaluateInWorkers, defaultWorkers, PARALLEL_EVAL_WORK } from "../api/evaluate.js";
import type { Disentanglement } from "../eval/disentanglement.js";
import { splitImages } from "./encode.js";
import { sampleQuality, type SampleQuality } from "../api/sample-quality.js";
import { intOption, printJson, say, note, fmt } from "./common.js";
import { examplesProgress } from "../train/progress.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { readJsonFile } from "../train/checkpoint.js";
import { MEASURES_FILE } from "../train/run-files.js";

type EvalFlags = {
  split: string; isSamples?: number; offset: number; limit?: number; json?: boolean; seed: number; best?: boolean; batchSize: number;
  refineSteps: number; refineSamples: number; refineObjective: string; quiet?: boolean; disentanglement?: boolean; workers?: number;
  sampleQuality?: boolean; samples?: number;
};

/** Below this many importance-sampled decodes (examples x samples) one worker is faster than starting more. */

export async function evalCommand(runDir: string, flags: EvalFlags): Promise<void> {
  if (!["train", "valid", "test"].includes(flags.split)) {
    throw new LatentkitError(`--split ${flags.split}: must be train, valid or test`);
  }
  const run = await openRun(runDir, flags.best ? "best" : "last");
  const split = flags.split as SplitName;
  const data = await loadRunData(run.config, [split]);
  const whole = data.splits[split];
  if (!whole) throw new LatentkitError(`data set ${data.name} has no ${split} split${data.missing?.length ? ` (missing: ${data.missing.join(", ")})` : ""}`);
  if (flags.offset >= whole.n) throw new LatentkitError(`--offset ${flags.offset}: the ${split} split has ${whole.n} examples`);
  // a shard [offset, offset + limit): shards evaluated in separate processes combine as means weighted by n
  const s = flags.offset > 0 ? sliceSplit(whole, flags.offset, whole.n) : whole;
  const isSamples = run.model.probabilistic ? flags.isSamples ?? 1000 : 0;
  if (!["elbo", "iwae"].includes(flags.refineObjective)) {
    throw new LatentkitError(`--refine-objective ${flags.refineObjective}: must be elbo or iwae`);
  }
  if (flags.refineSteps > 0 && !run.model.gaussianPosterior) {
    throw new LatentkitError(`--refine-steps: ${run.config.model} has no Gaussian q(z|x) to refine (vae, beta-vae, iwae, cvae, conv-vae do)`);
  }
  if (flags.disentanglement && !s.factors) {
    throw new LatentkitError(`--disentanglement: data set ${data.name} has no known generating factors (sprites has them)`);
  }
  const n = Math.min(s.n, flags.limit ?? s.n);
  const opts = {
    isSamples, seed: flags.seed, binarize: run.config.binarize, batchSize: flags.batchSize,
    refine: { steps: flags.refineSteps, samples: flags.refineSamples, objective: flags.refineObjective as RefineObjective },
    onProgress: examplesProgress("eval", { quiet: flags.quiet }),
  };
  // Shards over worker threads (each its own engine): --workers N, by default every core for long work.
  const workers = flags.workers ?? (n * Math.max(1, isSamples) * (1 + flags.refineSteps) >= PARALLEL_EVAL_WORK ? defaultWorkers() : 1);
  let r: EvalResult & { disentanglement?: Disentanglement; sample_quality?: SampleQuality };
  if (workers > 1) {
    disposeTree(run.params);
    r = await evaluateInWorkers({ runDir, which: flags.best ? "best" : "last", split, offset: flags.offset, n }, opts, workers);
  } else {
    r = evaluate(run.model, run.params, s, { ...opts, limit: n });
    disposeTree(run.params);
  }
  if (flags.disentanglement) {
    // the codes of the same examples (the first --limit), against their factors
    using model = await loadModel(runDir, { checkpoint: flags.best ? "best" : "last" });
    const part = sliceSplit(s, 0, n);
    r.disentanglement = await model.disentanglement(splitImages(part), part.factors!, { labels: part.labels, seed: flags.seed });
  }
  if (flags.sampleQuality) {
    using model = await loadModel(runDir, { checkpoint: flags.best ? "best" : "last" });
    const full = await loadRunData(run.config);
    r.sample_quality = await sampleQuality(model, sliceSplit(s, 0, n), full, { samples: flags.samples, seed: flags.seed, log: note, dataDir: run.config.dataDir ?? undefined });
  }
  if (r.sample_quality || r.disentanglement) {
    // Kept beside the run for its report (`latentkit report RUN`), with what they were measured on.
    const file = join(runDir, MEASURES_FILE);
    const kept = existsSync(file) ? readJsonFile<Record<string, unknown>>(file) : {};
    const on = { split, n, checkpoint: flags.best ? "best" : "last" };
    if (r.sample_quality) kept.sample_quality = { ...r.sample_quality, ...on };
    if (r.disentanglement) kept.disentanglement = { ...r.disentanglement, ...on };
    writeJsonAtomic(file, kept);
  }
  if (flags.json) {
    printJson({ split, ...(flags.offset > 0 ? { offset: flags.offset } : {}), ...r, ...(workers > 1 ? { workers } : {}) });
    return;
  }
  const shard = flags.offset > 0 ? ` from example ${flags.offset}` : "";
  say(`${run.config.model} on ${data.name} ${split} (${r.n} examples${shard}), nats per example:`);
  if (run.model.probabilistic) {
    say(`  elbo            ${fmt(r.elbo, 3)}`);
    say(`  recon           ${fmt(r.recon, 3)}`);
    say(`  kl              ${fmt(r.kl, 3)}`);
    if (r.nll !== undefined) {
      const proposal = r.refine_steps ? `, proposal refined by ${r.refine_steps} steps` : "";
      say(`  -log p(x)       ${fmt(r.nll, 3)}  (importance sampling, k=${r.is_samples}${proposal})`);
    }
    say(`  active units    ${r.active_units} of ${r.kl_per_dim?.length ?? "?"}`);
  } else {
    say(`  recon (sq. err) ${fmt(r.recon, 4)}`);
    say(`  mse per pixel   ${fmt(r.mse, 6)}`);
  }
  const q = r.sample_quality;
  if (q) say(`  sample quality of ${q.samples} prior samples: FID ${fmt(q.fid, 3)}  precision ${fmt(q.precision, 3)}  recall ${fmt(q.recall, 3)}  (${q.features})`);
  const d = r.disentanglement;
  if (d) {
    say(`  disentanglement against the known factors: MIG ${fmt(d.mig, 3)}  FactorVAE ${fmt(d.factorvae, 3)}  ` +
      `DCI disentanglement ${fmt(d.dci.disentanglement, 3)} completeness ${fmt(d.dci.completeness, 3)} informativeness ${fmt(d.dci.informativeness, 3)}`);
  }
}

export function registerEval(program: Command): void {
  program
    .command("eval <run>")
    .description("evaluate a run on a split: ELBO, IS log-likelihood, reconstruction, KL, active units")
    .option("--split <name>", "train, valid or test", "test")
    .option("--is-samples <k>", "importance samples for -log p(x) (default 1000; 0 skips it)", intOption("--is-samples", 0))
    .option("--limit <n>", "evaluate the first N examples (after --offset)", intOption("--limit", 1))
    .option("--offset <n>", "skip the first N examples (a shard: run shards side by side, average by n)", intOption("--offset", 0), 0)
    .option("--batch-size <n>", "examples per batch", intOption("--batch-size", 1), 100)
    .option("--seed <n>", "random seed of the estimates", intOption("--seed", 0), 0)
    .option("--refine-steps <n>", "refine the IS proposal per example by N Adam steps from q(z|x) (a tighter estimate of the same log p(x); 0 is off)", intOption("--refine-steps", 0), 0)
    .option("--refine-samples <s>", "samples per refining step", intOption("--refine-samples", 1), 16)
    .option("--refine-objective <bound>", "what the refined proposal maximises: iwae (the s-sample bound, wider proposals) or elbo", "iwae")
    .option("--best", "use the best checkpoint instead of the last")
    .option("--json", "print one JSON document")
    .option("--disentanglement", "MIG, FactorVAE score and DCI of the codes against the data set's known factors (sprites)")
    .option("--sample-quality", "FID and precision/recall of prior samples against the split, in the features of a classifier latentkit trains once per data set")
    .option("--samples <n>", "prior samples of --sample-quality (default 10000)", intOption("--samples", 10))
    .option("--workers <n>", "worker threads, one shard of the examples each (default: every core when the work is long)", intOption("--workers", 1))
    .option("--quiet", "no progress lines on stderr")
    .action(evalCommand);
}
