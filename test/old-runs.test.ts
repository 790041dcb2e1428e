// Run folders written by an earlier latentkit still open, evaluate to the same numbers and resume.
// test/fixtures/run-0.2.0-cvae: a cvae with the class-mean prior (1 epoch on the sprites) trained by
// commit 5dcc97a, its config.json written out with every family's option (as versions before 0.2.0
// did: 45 model keys, codebookSize and noise among them); eval.json is that version's
// `eval --is-samples 10 --limit 200`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel, train } from "../src/index.js";
import { runCliHere } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/run-0.2.0-cvae", import.meta.url));

test("an older run folder (every family's keys in config.json) opens as its family with its options", async () => {
  using model = await loadModel(FIXTURE);
  assert.equal(model.family, "cvae");
  assert.equal(model.codeDim, 2);
  assert.equal(model.conditional, true);
});

test("it evaluates to the numbers the version that wrote it computed (the same model, the same math)", async () => {
  const then = JSON.parse(readFileSync(join(FIXTURE, "eval.json"), "utf8"));
  const r = await runCliHere("eval", FIXTURE, "--is-samples", "10", "--limit", "200", "--json");
  assert.equal(r.code, 0, r.stderr);
  const now = JSON.parse(r.stdout);
  for (const key of ["recon", "kl", "elbo", "nll", "mse"]) {
    assert.ok(Math.abs(now[key] - then[key]) <= 1e-4 * Math.abs(then[key]), `${key}: now ${now[key]}, then ${then[key]}`);
  }
});

test("it resumes: training continues to a later epoch and config.json then holds its family's keys only", async () => {
  const dir = join(tempDir("lk-old-run-"), "run");
  cpSync(FIXTURE, dir, { recursive: true });
  const before = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.ok("codebookSize" in before && "noise" in before, "the fixture is an old-style configuration");
  const r = await train({ out: dir, resume: true, epochs: 2, set: { evalIsSamples: 0, report: false } });
  r.model.dispose();
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.epoch), [1, 2]);
  const after = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.ok(!("codebookSize" in after) && !("noise" in after), "another family's keys are gone");
  assert.equal(after.conditionalPrior, "class-mean");
  assert.equal(after.epochs, 2);
});
