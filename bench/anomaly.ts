// The anomaly-detection experiment of docs/results-ae.md: on Fashion-MNIST, for each class c, train
// an autoencoder and a VAE on the other nine classes (config excludeClasses=[c]: train and valid
// splits only), score the whole test set with `latentkit score`, and report the AUROC of each score
// for telling class c (the anomaly, positive) from the nine known classes:
//
//   AE recon error Σ(x − x̂)²,  VAE −ELBO,  VAE IS −log p(x) (K samples),  and VAE recon error.
//
//   npx tsx bench/anomaly.ts                                  # 10 classes, 5 epochs per model
//   npx tsx bench/anomaly.ts --epochs 5 --classes 0,1 --is-samples 100 --out /tmp/anomaly
//
// Both models are seed 000's MNIST VAE architecture, 784-400-20, LeakyReLU(0.2) encoder, ReLU
// decoder, Bernoulli (BCE) output: `vae --preset seed-vae`, and `ae` with the same layers (the code
// is the 20-d output of the encoder). Runs go to OUT/<model>-<c>; a run or score file already there
// is reused, so the script can be stopped and started again. Prints a markdown table; writes
// OUT/anomaly.json.
import { existsSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latentkit as cli } from "./cli.js";
import { auroc } from "../src/eval/auroc.js";
import { NAMED_DATASETS } from "../src/data/registry.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const EPOCHS = Number(opt("--epochs", "5"));
const CLASSES = opt("--classes", "0,1,2,3,4,5,6,7,8,9").split(",").map(Number);
const IS_SAMPLES = opt("--is-samples", "100");
const OUT = opt("--out", "/tmp/latentkit-anomaly");
const SEED = opt("--seed", "0");
const DATA_DIR = args.includes("--data-dir") ? ["--data-dir", opt("--data-dir", "")] : [];
const NAMES = NAMED_DATASETS["fashion-mnist"].labelNames!;

const MODELS = {
  ae: ["--model", "ae", "--set", "hidden=400", "--latent", "20", "--set", "encoderActivation=leakyRelu",
    "--set", "decoderActivation=relu", "--set", "likelihood=bernoulli"],
  vae: ["--preset", "seed-vae"],
} as const;

function trained(run: string): boolean {
  if (!existsSync(join(run, "state.json"))) return false;
  return (JSON.parse(readFileSync(join(run, "state.json"), "utf8")) as { epoch: number }).epoch >= EPOCHS;
}

function readScores(file: string): Record<string, number[]> {
  const [head, ...lines] = readFileSync(file, "utf8").trim().split("\n");
  const cols = head.split(",");
  const out: Record<string, number[]> = Object.fromEntries(cols.map((c) => [c, []]));
  for (const l of lines) l.split(",").forEach((v, i) => out[cols[i]].push(Number(v)));
  return out;
}

type Row = { class: number; name: string; ae_recon: number; vae_neg_elbo: number; vae_nll: number; vae_recon: number; time_s: number };

mkdirSync(OUT, { recursive: true });
const rows: Row[] = [];
for (const c of CLASSES) {
  const started = Date.now();
  const scores: Record<string, Record<string, number[]>> = {};
  for (const [model, flags] of Object.entries(MODELS)) {
    const run = join(OUT, `${model}-${c}`);
    if (!trained(run)) {
      const resume = existsSync(join(run, "state.json"));
      await cli(resume
        ? ["train", "--resume", run, "--epochs", String(EPOCHS), "--quiet", ...DATA_DIR]
        : ["train", ...flags, "--dataset", "fashion-mnist", "--epochs", String(EPOCHS), "--seed", SEED,
          "--set", `excludeClasses=${c}`, "--set", "report=false", "--set", "evalIsSamples=0", "--set", "evalLimit=1000",
          "--out", run, "--quiet", ...DATA_DIR]);
    }
    const csv = join(OUT, `${model}-${c}-scores.csv`);
    if (!existsSync(csv)) {
      await cli(["score", run, "--input", "fashion-mnist", "--split", "test", "--out", csv,
        "--is-samples", IS_SAMPLES, "--seed", SEED, ...DATA_DIR]);
    }
    scores[model] = readScores(csv);
  }
  const anomaly = scores.ae.label.map((l) => l === c);
  const row: Row = {
    class: c, name: NAMES[c],
    ae_recon: auroc(scores.ae.recon_error, anomaly),
    vae_neg_elbo: auroc(scores.vae.neg_elbo, anomaly),
    vae_nll: auroc(scores.vae.nll, anomaly),
    vae_recon: auroc(scores.vae.recon_error, anomaly),
    time_s: (Date.now() - started) / 1000,
  };
  rows.push(row);
  process.stderr.write(`class ${c} (${row.name}): ${JSON.stringify(row)}\n`);
}

const f = (v: number) => v.toFixed(3);
const mean = (k: keyof Row) => rows.reduce((s, r) => s + (r[k] as number), 0) / rows.length;
const table = [
  `| held-out class | AE recon error | VAE −ELBO | VAE IS −log p(x) (K=${IS_SAMPLES}) | VAE recon error |`,
  "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.class} ${r.name} | ${f(r.ae_recon)} | ${f(r.vae_neg_elbo)} | ${f(r.vae_nll)} | ${f(r.vae_recon)} |`),
  `| mean | ${f(mean("ae_recon"))} | ${f(mean("vae_neg_elbo"))} | ${f(mean("vae_nll"))} | ${f(mean("vae_recon"))} |`,
].join("\n");
writeFileSync(join(OUT, "anomaly.json"), JSON.stringify({ epochs: EPOCHS, is_samples: Number(IS_SAMPLES), seed: Number(SEED), rows }, null, 2) + "\n");
process.stdout.write(table + "\n");
