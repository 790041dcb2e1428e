// Evaluation sharded over worker threads (src/api/evaluate.ts, `eval --workers N`): each worker its
// own engine and shard; the shards' means combine weighted by size, active units from their moments.
// Shard i samples with seed + i, so --workers 2 equals two single-threaded evaluations of the halves.
import { test } from "node:test";
import assert from "node:assert/strict";


import { join } from "node:path";
import { train } from "../src/index.js";
import { evaluateInWorkers } from "../src/api/evaluate.js";
import { evaluate, combineEvalResults } from "../src/eval/evaluate.js";
import { openRun, loadRunData } from "../src/train/run.js";
import { sliceSplit } from "../src/data/dataset.js";
import { disposeTree } from "../src/engine/index.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const dir = tempDir("lk-parallel-");
const runDir = join(dir, "run");
(await train({ dataset: "sprites", epochs: 1, latent: 6, seed: 3, set: { evalIsSamples: 0, report: false }, out: runDir })).model.dispose();

test("two worker threads give exactly the two halves evaluated one after the other, combined", async () => {
  const opts = { isSamples: 20, seed: 7, batchSize: 100 };
  const sharded = await evaluateInWorkers({ runDir, which: "last", split: "test", offset: 100, n: 300 }, opts, 2);
  const run = await openRun(runDir);
  const test = (await loadRunData(run.config, ["test"])).splits.test!;
  const halves = [
    evaluate(run.model, run.params, sliceSplit(test, 100, 250), { ...opts, withMoments: true }),
    evaluate(run.model, run.params, sliceSplit(test, 250, 400), { ...opts, seed: 8, withMoments: true }),
  ];
  disposeTree(run.params);
  const combined = combineEvalResults(halves);
  assert.equal(sharded.n, 300);
  for (const key of ["recon", "kl", "elbo", "nll", "mse"] as const) {
    assert.ok(Math.abs(sharded[key]! - combined[key]!) < 1e-9 * Math.abs(combined[key]!) + 1e-12, `${key}: ${sharded[key]} vs ${combined[key]}`);
  }
  assert.equal(sharded.active_units, combined.active_units);
  assert.equal(sharded.moments, undefined);
});

test("eval --workers 2 agrees with --workers 1: the deterministic numbers exactly, the sampled ones within noise", async () => {
  const one = JSON.parse(runCli(["eval", runDir, "--workers", "1", "--is-samples", "50", "--json", "--quiet"]).stdout);
  const two = JSON.parse(runCli(["eval", runDir, "--workers", "2", "--is-samples", "50", "--json", "--quiet"]).stdout);
  assert.equal(two.workers, 2);
  assert.ok(Math.abs(one.mse - two.mse) < 1e-12, "the reconstruction error has no sampling");
  assert.ok(Math.abs(one.kl - two.kl) < 1e-9, "nor has the closed-form KL");
  assert.equal(one.active_units, two.active_units);
  assert.deepEqual(two.kl_per_dim.map((v: number) => v.toFixed(6)), one.kl_per_dim.map((v: number) => v.toFixed(6)));
  assert.ok(Math.abs(one.nll - two.nll) < 0.3, `nll ${one.nll} vs ${two.nll}`);
  assert.ok(Math.abs(one.elbo - two.elbo) < 0.5, `elbo ${one.elbo} vs ${two.elbo}`);
});
