// Greedy layer-wise pretraining (stacked-ae) against random initialisation, at an equal budget of
// passes over the training data, on a deep MLP autoencoder (docs/results-ae.md):
//
//   stacked   L layers × P pretraining epochs, then F epochs end to end          (L·P + F passes)
//   random    the same network from random init, F + L·P epochs end to end       (the same passes)
//   random-F  the same network, F epochs (equal fine-tuning only)
//
//   npx tsx bench/stacked.ts                       # fashion-mnist, hidden 256,128, code 32, P=1, F=2
//   npx tsx bench/stacked.ts --pretrain 1 --finetune 2 --acts relu,sigmoid --seeds 0,1 --out /tmp/stacked
//
// Reports the test reconstruction error Σ(x − x̂)² per image and per pixel (`latentkit eval`), the
// training objective (BCE, nats per image) on the valid split after the last epoch, and the wall time
// of each run (a shared machine's wall time: indicative only). Runs go to
// OUT/<act>-<variant>-<seed> and are reused when already complete.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latentkit as cli } from "./cli.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const DATASET = opt("--dataset", "fashion-mnist");
const P = Number(opt("--pretrain", "1"));
const F = Number(opt("--finetune", "2"));
const HIDDEN = opt("--hidden", "256,128");
const LATENT = opt("--latent", "32");
const ACTS = opt("--acts", "relu,sigmoid").split(",");
const SEEDS = opt("--seeds", "0").split(",");
const OUT = opt("--out", "/tmp/latentkit-stacked");
const L = HIDDEN.split(",").length + 1;

type Row = { act: string; variant: string; seed: string; passes: number; recon: number; mse: number; valid_bce: number; wall_s: number };
const rows: Row[] = [];
mkdirSync(OUT, { recursive: true });
for (const act of ACTS) {
  for (const seed of SEEDS) {
    const variants: [string, string[], number][] = [
      ["stacked", ["--model", "stacked-ae", "--set", `pretrainEpochs=${P}`, "--epochs", String(F)], L * P + F],
      ["random", ["--model", "ae", "--epochs", String(F + L * P)], F + L * P],
      ["random-F", ["--model", "ae", "--epochs", String(F)], F],
    ];
    for (const [variant, flags, passes] of variants) {
      const run = join(OUT, `${act}-${variant}-${seed}`);
      const timing = join(run, "wall.json");
      if (!existsSync(timing)) {
        const t0 = Date.now();
        await cli(["train", ...flags, "--dataset", DATASET, "--seed", seed, "--set", `hidden=${HIDDEN}`, "--latent", LATENT,
          "--set", `encoderActivation=${act}`, "--set", `decoderActivation=${act}`, "--set", "likelihood=bernoulli",
          "--set", "report=false", "--set", "evalIsSamples=0", "--set", "evalLimit=1000", "--out", run, "--quiet"]);
        writeFileSync(timing, JSON.stringify({ wall_s: (Date.now() - t0) / 1000 }) + "\n");
      }
      const r = JSON.parse(await cli(["eval", run, "--split", "test", "--json"])) as { recon: number; mse: number };
      const { wall_s } = JSON.parse(readFileSync(timing, "utf8")) as { wall_s: number };
      const metrics = readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { valid_loss: number });
      rows.push({ act, variant, seed, passes, recon: r.recon, mse: r.mse, valid_bce: metrics[metrics.length - 1].valid_loss, wall_s });
      process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
  }
}
writeFileSync(join(OUT, "stacked.json"), JSON.stringify({ dataset: DATASET, hidden: HIDDEN, latent: LATENT, P, F, rows }, null, 2) + "\n");
const table = [
  `| activation | variant | passes over the data | test Σ(x − x̂)² per image | test MSE per pixel | valid BCE (nats/image) | wall time (s) |`,
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.act} | ${r.variant}${SEEDS.length > 1 ? ` (seed ${r.seed})` : ""} | ${r.passes} | ${r.recon.toFixed(2)} | ${r.mse.toFixed(5)} | ${r.valid_bce.toFixed(2)} | ${r.wall_s.toFixed(0)} |`),
].join("\n");
process.stdout.write(table + "\n");
