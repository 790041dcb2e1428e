// The disentanglement table of docs/results-disentanglement.md: vae, beta-vae (β = 4), beta-tcvae
// (β = 6 on the total correlation), factor-vae (γ = 35) and dip-vae (DIP-VAE-I) on the sprites, the same MLP (784-400-10)
// and budget (20 epochs, batch 64, lr 1e-3), 3 seeds each; MIG, the FactorVAE score and DCI of the
// test codes against the true factors (`latentkit eval --disentanglement`), with the reconstruction
// error. Runs go to OUT/<model>-s<seed> and are reused when their dis.json is there.
//   npx tsx bench/disentanglement.ts [--out /tmp/dis] [--seeds 0,1,2]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latentkit as cli } from "./cli.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const OUT = opt("--out", "/tmp/dis");
const SEEDS = opt("--seeds", "0,1,2").split(",");
const COMMON = ["--dataset", "sprites", "--epochs", "20", "--batch-size", "64", "--latent", "10", "--set", "hidden=[400]", "--set", "evalIsSamples=0", "--set", "report=false", "--workers", "1", "--quiet"];
const MODELS: Record<string, string[]> = {
  vae: ["--model", "vae"],
  "beta-vae (β = 4)": ["--model", "beta-vae", "--beta", "4"],
  "beta-tcvae (β = 6)": ["--model", "beta-tcvae", "--set", "tcBeta=6"],
  "factor-vae (γ = 35)": ["--model", "factor-vae", "--set", "factorGamma=35"],
  "dip-vae (I, λ_od = 10, λ_d = 100)": ["--model", "dip-vae", "--set", "dipLambdaOd=10", "--set", "dipLambdaD=100"],
};
const folder = (name: string) => name.split(" ")[0];

type Row = { mig: number; factorvae: number; d: number; c: number; i: number; recon: number; kl: number };
const rows: Record<string, Row[]> = {};
for (const [name, flags] of Object.entries(MODELS)) {
  rows[name] = [];
  for (const seed of SEEDS) {
    const dir = join(OUT, `${folder(name)}-s${seed}`);
    const file = join(dir, "dis.json");
    if (!existsSync(file)) {
      await cli(["train", ...flags, ...COMMON, "--seed", seed, "--out", dir]);
      writeFileSync(file, await cli(["eval", dir, "--disentanglement", "--is-samples", "0", "--json", "--quiet"]));
    }
    const r = JSON.parse(readFileSync(file, "utf8"));
    rows[name].push({ mig: r.disentanglement.mig, factorvae: r.disentanglement.factorvae, d: r.disentanglement.dci.disentanglement, c: r.disentanglement.dci.completeness, i: r.disentanglement.dci.informativeness, recon: r.recon, kl: r.kl });
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
const cell = (xs: number[], digits = 3) => `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`;
console.log(`| model | MIG | FactorVAE score | DCI disentanglement | DCI completeness | DCI informativeness | recon (nats) | KL (nats) |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const [name, rs] of Object.entries(rows)) {
  const col = (k: keyof Row) => rs.map((r) => r[k]);
  console.log(`| ${name} | ${cell(col("mig"))} | ${cell(col("factorvae"))} | ${cell(col("d"))} | ${cell(col("c"))} | ${cell(col("i"))} | ${cell(col("recon"), 1)} | ${cell(col("kl"), 1)} |`);
}
