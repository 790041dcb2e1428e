// The sample-quality table of docs/results-sample-quality.md: FID and precision/recall of 10,000 prior
// samples against the 10,000 test images (`latentkit eval RUN --sample-quality`), for vae, beta-vae
// (β = 4), cvae with the class-mean prior, conv-vae, vq-vae (samples through its fitted code prior)
// and dvae, on fashion-mnist and binarized-mnist, the same budget for all: 5 epochs, batch 100,
// Adam at 1e-3, seed 0, one worker. Also the test −ELBO where the model has one. Runs go to
// OUT/<data>-<model> and are reused when their sq.json is there.
//   LATENTKIT_DATA=../shared/data npx tsx bench/sample-quality.ts [--out /tmp/sq] [--data fashion-mnist,binarized-mnist]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latentkit as cli } from "./cli.js";
import { init } from "../src/engine/index.js";
import { loadDatasetSync } from "../src/data/registry.js";
import { referenceQuality } from "../src/api/sample-quality.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const OUT = opt("--out", "/tmp/sq");
const DATA = opt("--data", "fashion-mnist,binarized-mnist").split(",");
const COMMON = ["--epochs", "5", "--batch-size", "100", "--lr", "1e-3", "--seed", "0", "--workers", "1", "--set", "evalIsSamples=0", "--set", "report=false", "--quiet"];
const MODELS: Record<string, string[]> = {
  "vae (seed-vae)": ["--preset", "seed-vae"],
  "beta-vae (β = 4)": ["--model", "beta-vae", "--preset", "beta4", "--latent", "20", "--set", "hidden=[400]", "--set", "encoderActivation=leakyRelu"],
  "cvae, class-mean prior": ["--preset", "class-prior-cvae"],
  "conv-vae (conv 32-64, latent 16)": ["--preset", "keras-conv-vae", "--latent", "16", "--set", "binarize=none"],
  "vq-vae (vqvae-conv-small, MADE prior)": ["--preset", "vqvae-conv-small"],
  "dvae (jang-dvae)": ["--preset", "jang-dvae"],
};
const folder = (data: string, name: string) => `${data}-${name.split(" ")[0].replace(/,$/, "")}`;

type Row = { fid: number; precision: number; recall: number; elbo?: number; seconds: number } | { skipped: string };
const rows: Record<string, Record<string, Row>> = {};
let features: Record<string, string> = {};
for (const data of DATA) {
  for (const [name, flags] of Object.entries(MODELS)) {
    rows[name] ??= {};
    if (name.startsWith("cvae") && data === "binarized-mnist") {
      rows[name][data] = { skipped: "no labels" };
      continue;
    }
    const dir = join(OUT, folder(data, name));
    const file = join(dir, "sq.json");
    if (!existsSync(file)) {
      const started = Date.now();
      // a finished run is evaluated again (its training time from metrics.jsonl); anything else trains afresh
      const trained = existsSync(join(dir, "eval.json"));
      if (!trained) await cli(["train", ...flags, ...COMMON, "--dataset", data, "--out", dir]);
      const seconds = trained
        ? readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").reduce((t, l) => t + JSON.parse(l).time_s, 0)
        : (Date.now() - started) / 1000;
      const r = JSON.parse(await cli(["eval", dir, "--sample-quality", "--samples", "10000", "--is-samples", "0", "--json", "--quiet"]));
      writeFileSync(file, JSON.stringify({ ...r, train_seconds: seconds }));
    }
    const r = JSON.parse(readFileSync(file, "utf8"));
    features = { ...features, [data]: r.sample_quality.features };
    rows[name][data] = { fid: r.sample_quality.fid, precision: r.sample_quality.precision, recall: r.sample_quality.recall, elbo: r.elbo, seconds: r.train_seconds };
  }
}
const cell = (r: Row) => ("skipped" in r
  ? `— (${r.skipped}) | — | — | — | —`
  : `${r.fid.toFixed(2)} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} | ${r.elbo == null ? "—" : (-r.elbo).toFixed(2)} | ${Math.round(r.seconds)} s`);
await init();
for (const data of DATA) {
  console.log(`\n${data}: ${features[data]}\n`);
  console.log(`| model | FID | precision | recall | test −ELBO | train time |`);
  console.log(`|---|---|---|---|---|---|`);
  // the floor: 10,000 real training images in place of samples
  const ds = loadDatasetSync(data, { carveValid: true });
  const ref = referenceQuality(ds, ds.splits.test!, 10_000);
  console.log(`| 10,000 training images (the reference) | ${ref.fid.toFixed(2)} | ${ref.precision.toFixed(3)} | ${ref.recall.toFixed(3)} | — | — |`);
  for (const [name, byData] of Object.entries(rows)) console.log(`| ${name} | ${cell(byData[data])} |`);
}
