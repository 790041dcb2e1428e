// The one-class anomaly-detection protocol (Ruff et al. 2018; Golan & El-Yaniv 2018) with the
// library's runner, oneClassAnomaly (src/api/anomaly.ts): for each class c of a data set, train on
// the training images of c alone, score the 10,000 test images, and measure by AUROC how well each
// score tells the other nine classes (anomalies) from c. Models: ae, dae and vae, all seed 000's
// 784-400-20 MLP (LeakyReLU(0.2) encoder, ReLU decoder, Bernoulli output); scores: reconstruction
// error, −ELBO, IS −log p(x), and the code-space score (anomaly.ts). Mean over the ten classes, and
// its spread (standard deviation) over seeds.
//
//   LATENTKIT_DATA=../shared/data npx tsx bench/one-class.ts --dataset mnist|fashion-mnist [--protocol test-halves|train-test] [--epochs 60 for mnist, 5 otherwise] [--seeds 0,1,2] [--is-samples 20] [--out DIR]
//
// Each (model, class, seed) result is written to OUT/<dataset>/<model>-c<class>-s<seed>.json and
// reused when present, so the script can be stopped and started again. Prints a markdown table.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { oneClassAnomaly, type OneClassResult } from "../src/index.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const DATASET = opt("--dataset", "mnist");
// About 300 steps of 100 in either protocol: ~5,400 images of a Fashion-MNIST class, ~450 of an MNIST half.
const EPOCHS = Number(opt("--epochs", DATASET === "mnist" ? "60" : "5"));
const SEEDS = opt("--seeds", "0,1,2").split(",").map(Number);
const CLASSES = opt("--classes", "0,1,2,3,4,5,6,7,8,9").split(",").map(Number);
const IS_SAMPLES = Number(opt("--is-samples", "20"));
// The shared MNIST has test images only: there the class's images among the first 5,000 test images
// are trained on and the last 5,000 scored.
const PROTOCOL = opt("--protocol", DATASET === "mnist" ? "test-halves" : "train-test") as "test-halves" | "train-test";
const OUT = join(opt("--out", "/tmp/latentkit-one-class"), DATASET);
mkdirSync(OUT, { recursive: true });

const SEED_NETS = { hidden: [400], latent: 20, encoderActivation: "leakyRelu", leakySlope: 0.2, decoderActivation: "relu", likelihood: "bernoulli" } as const;
const MODELS = { ae: { model: "ae" }, dae: { model: "dae" }, vae: { model: "vae" } } as const;

const results: Record<string, OneClassResult[]> = {};
for (const [name, m] of Object.entries(MODELS)) {
  results[name] = [];
  for (const seed of SEEDS) {
    for (const c of CLASSES) {
      const file = join(OUT, `${name}-c${c}-s${seed}.json`);
      let r: OneClassResult;
      if (existsSync(file)) {
        r = JSON.parse(readFileSync(file, "utf8"));
      } else {
        const started = Date.now();
        r = await oneClassAnomaly({ dataset: DATASET, normalClass: c, model: m.model, set: { ...SEED_NETS }, epochs: EPOCHS, seed, isSamples: IS_SAMPLES, protocol: PROTOCOL });
        writeFileSync(file, JSON.stringify({ ...r, seconds: (Date.now() - started) / 1000 }));
      }
      results[name].push({ ...r, seed } as OneClassResult & { seed: number });
      console.error(`${DATASET} ${name} class ${c} seed ${seed}: ${Object.entries(r.auroc).map(([k, v]) => `${k} ${v!.toFixed(3)}`).join("  ")}`);
    }
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const SCORES = ["recon", "neg_elbo", "nll", "latent"] as const;
console.log(`\n${DATASET} (${PROTOCOL}), one-class AUROC (%), ${EPOCHS} epochs, seeds ${SEEDS.join(",")}, IS k = ${IS_SAMPLES}: per class the mean over seeds; last column the mean over classes ± its standard deviation over seeds\n`);
console.log(`| model | score | ${CLASSES.map((c) => `class ${c}`).join(" | ")} | mean |`);
console.log(`|---|---|${CLASSES.map(() => "---").join("|")}|---|`);
for (const [name, rs] of Object.entries(results)) {
  for (const score of SCORES) {
    if (rs[0].auroc[score] === undefined) continue;
    const perClass = CLASSES.map((c) => mean(rs.filter((r) => r.normalClass === c).map((r) => r.auroc[score]!)));
    const perSeedMeans = SEEDS.map((s) => mean(rs.filter((r) => (r as OneClassResult & { seed: number }).seed === s).map((r) => r.auroc[score]!)));
    console.log(`| ${name} | ${score} | ${perClass.map((v) => (100 * v).toFixed(1)).join(" | ")} | ${(100 * mean(perSeedMeans)).toFixed(1)} ± ${(100 * sd(perSeedMeans)).toFixed(1)} |`);
  }
}
