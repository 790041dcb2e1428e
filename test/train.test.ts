// The trainer and the run folder: exact resume, crash safety, the divergence guard, and the
// one-line errors of the command line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync, readdirSync, cpSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./helpers/cli.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { tempDir } from "./helpers/tmp.js";

const tmp = tempDir("latentkit-train-");
// A small, quick VAE on the built-in sprites (about a second per epoch).
const small = ["--model", "vae", "--dataset", "sprites", "--latent", "4", "--set", "hidden=64", "--batch-size", "128",
  "--set", "report=false", "--set", "evalLimit=256", "--set", "evalIsSamples=10", "--quiet"];

const metricsWithoutTime = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
    const { time_s: _t, ...rest } = JSON.parse(l);
    return rest;
  });

function ok(r: { code: number; stderr: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
}

// One epoch of the small run, copied wherever a test needs a run to continue.
let oneEpoch: string | undefined;
function copyOfOneEpochRun(dir: string): string {
  if (!oneEpoch) {
    oneEpoch = join(tmp, "one-epoch");
    ok(runCli(["train", ...small, "--epochs", "1", "--out", oneEpoch]), "one epoch");
  }
  cpSync(oneEpoch, dir, { recursive: true });
  return dir;
}

test("training 2 epochs straight and 1 epoch + resume 1 epoch give the same parameters and metrics", () => {
  const straight = join(tmp, "straight"), resumed = join(tmp, "resumed");
  ok(runCli(["train", ...small, "--epochs", "2", "--out", straight]), "straight run");
  copyOfOneEpochRun(resumed);
  ok(runCli(["train", "--resume", resumed, "--epochs", "2", "--quiet"]), "resume");
  assert.ok(readFileSync(join(straight, "model.safetensors")).equals(readFileSync(join(resumed, "model.safetensors"))),
    "model.safetensors differs between the straight and the resumed run");
  assert.ok(readFileSync(join(straight, "optimizer.safetensors")).equals(readFileSync(join(resumed, "optimizer.safetensors"))));
  assert.deepEqual(metricsWithoutTime(resumed), metricsWithoutTime(straight));
  const state = JSON.parse(readFileSync(join(resumed, "state.json"), "utf8"));
  assert.equal(state.epoch, 2);
  // config.json records the configuration in force: the extended epoch count.
  assert.equal(JSON.parse(readFileSync(join(resumed, "config.json"), "utf8")).epochs, 2);
  for (const f of ["config.json", "model.safetensors", "optimizer.safetensors", "state.json", "metrics.jsonl", "best.safetensors", "eval.json"]) {
    assert.ok(existsSync(join(resumed, f)), `run folder lacks ${f}`);
  }
});

test("Polyak averaging (polyakDecay): model.safetensors is the average, the optimizer file keeps the iterate, resume stays exact", () => {
  const averaging = ["--set", "polyakDecay=0.99"];
  const straight = join(tmp, "avg-straight"), resumed = join(tmp, "avg-resumed");
  ok(runCli(["train", ...small, ...averaging, "--epochs", "2", "--out", straight]), "straight averaging run");
  ok(runCli(["train", ...small, ...averaging, "--epochs", "1", "--out", resumed]), "one epoch");
  ok(runCli(["train", "--resume", resumed, "--epochs", "2", "--quiet"]), "resume");
  for (const f of ["model.safetensors", "optimizer.safetensors", "best.safetensors"]) {
    assert.ok(readFileSync(join(straight, f)).equals(readFileSync(join(resumed, f))), `${f} differs after the resume`);
  }
  assert.deepEqual(metricsWithoutTime(resumed), metricsWithoutTime(straight));
  const model = readSafetensors(join(straight, "model.safetensors")).tensors;
  const optimizer = readSafetensors(join(straight, "optimizer.safetensors")).tensors;
  const names = Object.keys(model);
  assert.deepEqual(Object.keys(optimizer).filter((k) => k.startsWith("iterate.")).sort(), names.map((k) => `iterate.${k}`).sort());
  // After 2 epochs the average trails the iterate: the two differ everywhere that training moved.
  const w = names.find((k) => k.endsWith("weight"))!;
  const a = model[w].data as Float32Array, it = optimizer[`iterate.${w}`].data as Float32Array;
  assert.ok(a.some((v, i) => Math.abs(v - it[i]) > 1e-6), "the average equals the iterate");
  // The straight run without averaging takes the same steps: its final iterate is the averaging run's iterate.
  const plain = readSafetensors(join(tmp, "straight", "model.safetensors")).tensors;
  assert.ok(Buffer.from((plain[w].data as Float32Array).buffer).equals(Buffer.from(it.buffer)), "averaging changed the iterate");
});

test("Polyak averaging switched on, then off, at a resume: the average starts at the iterate; off again resumes the iterate", () => {
  const dir = copyOfOneEpochRun(join(tmp, "avg-switch"));
  ok(runCli(["train", "--resume", dir, "--epochs", "2", "--set", "polyakDecay=0.99", "--quiet"]), "switch on");
  assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).polyakDecay, 0.99);
  const on = readSafetensors(join(dir, "optimizer.safetensors")).tensors;
  assert.ok(Object.keys(on).some((k) => k.startsWith("iterate.")));
  // Resuming from epoch 1 walks the same iterates as the plain run's epoch 2.
  const plain = readSafetensors(join(tmp, "straight", "model.safetensors")).tensors;
  for (const [name, t] of Object.entries(plain)) {
    assert.ok(Buffer.from((t.data as Float32Array).buffer).equals(Buffer.from((on[`iterate.${name}`].data as Float32Array).buffer)), name);
  }
  ok(runCli(["train", "--resume", dir, "--epochs", "3", "--set", "polyakDecay=0", "--quiet"]), "switch off");
  const off = readSafetensors(join(dir, "optimizer.safetensors")).tensors;
  assert.ok(!Object.keys(off).some((k) => k.startsWith("iterate.")), "no iterate is kept without averaging");
});

test("trainOnValid: valid joins train (sprites: 8192 + 1024), no validation is left, the best checkpoint follows the training loss", () => {
  const dir = join(tmp, "train-on-valid");
  const r = runCli(["train", ...small, "--epochs", "2", "--set", "trainOnValid=true", "--out", dir]);
  ok(r, "train on train + valid");
  assert.match(r.stderr, /9216 train \/ 0 valid examples/);
  const lines = metricsWithoutTime(dir);
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => !("valid_loss" in l)), "a validation loss without a validation split");
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  assert.equal(state.bestMetric, Math.min(...lines.map((l) => l.train_loss)));
  // eval of the test split is unaffected by the option
  ok(runCli(["eval", dir, "--json", "--limit", "100", "--is-samples", "0"]), "eval");
});

test("eval --json prints one JSON document with the contract's keys", () => {
  const r = runCli(["eval", join(tmp, "straight"), "--json", "--limit", "200", "--is-samples", "50"]);
  ok(r, "eval");
  const out = JSON.parse(r.stdout);
  for (const k of ["split", "n", "elbo", "nll", "is_samples", "recon", "kl", "active_units"]) assert.ok(k in out, `missing ${k}`);
  assert.equal(out.split, "test");
  assert.equal(out.n, 200);
  assert.equal(out.is_samples, 50);
  // −log p(x) ≤ −ELBO (the IS estimate is a tighter bound), up to Monte Carlo noise
  assert.ok(out.nll <= -out.elbo + 1, `nll ${out.nll} > -elbo ${-out.elbo}`);
  assert.ok(Math.abs(out.recon + out.kl + out.elbo) < 1e-6 * Math.abs(out.elbo) + 1e-6);
});

test("eval shards: --offset N --limit M evaluates examples [N, N + M), and two halves average to the whole", () => {
  const dir = join(tmp, "straight");
  const evalJson = (...args: string[]) => {
    const r = runCli(["eval", dir, "--json", "--is-samples", "0", ...args]);
    ok(r, `eval ${args.join(" ")}`);
    return JSON.parse(r.stdout);
  };
  const whole = evalJson("--limit", "200");
  const first = evalJson("--limit", "100");
  const second = evalJson("--offset", "100", "--limit", "100");
  assert.equal(second.offset, 100);
  assert.equal(second.n, 100);
  // KL(q(z|x) ‖ p(z)) is closed-form per example, so shard means combine exactly
  assert.ok(Math.abs((first.kl + second.kl) / 2 - whole.kl) < 1e-4, `${first.kl}, ${second.kl} vs ${whole.kl}`);
  assert.ok(Math.abs(first.kl - second.kl) > 1e-3, "the two shards hold different examples");
});

for (const point of ["model", "optimizer", "state", "rename"]) {
  test(`a kill while saving (after the ${point} write) leaves a folder that eval loads and resume finishes`, () => {
    const dir = copyOfOneEpochRun(join(tmp, `kill-${point}`));
    const killed = runCli(["train", "--resume", dir, "--epochs", "2", "--quiet"], { LATENTKIT_FAULT: `save:${point}` });
    assert.notEqual(killed.code, 0, "the fault should have killed the run");
    const ev = runCli(["eval", dir, "--json", "--limit", "100", "--is-samples", "5"]);
    ok(ev, "eval after the kill");
    assert.ok(Number.isFinite(JSON.parse(ev.stdout).elbo));
    // The checkpoint is one consistent set: either epoch 1 (rolled back) or epoch 2 (rolled forward).
    const resumed = runCli(["train", "--resume", dir, "--epochs", "2", "--quiet"]);
    ok(resumed, "resume after the kill");
    assert.equal(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).epoch, 2);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".next") || f.includes(".tmp")), []);
    assert.deepEqual(metricsWithoutTime(dir).map((l) => l.epoch), [1, 2]);
  });
}

test("a diverging run (lr = 1e6) is caught: rolled back, then stopped with one line, the last good checkpoint intact", () => {
  const dir = copyOfOneEpochRun(join(tmp, "diverge"));
  const before = readFileSync(join(dir, "model.safetensors"));
  const r = runCli(["train", "--resume", dir, "--epochs", "3", "--lr", "1e6", "--set", "maxDivergences=3", "--quiet"]);
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  if (r.code === 0) {
    // Rolled back and recovered at a lower learning rate.
    assert.ok(state.divergences > 0, "lr = 1e6 should have produced a non-finite step");
  } else {
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.match(lines[lines.length - 1], /^latentkit: diverged: 4 non-finite steps .*checkpoint \(epoch \d\) is kept/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace without --debug");
    if (state.epoch === 1) assert.ok(readFileSync(join(dir, "model.safetensors")).equals(before));
  }
  // Whatever happened, the folder's checkpoint is finite and loads.
  const ev = runCli(["eval", dir, "--json", "--limit", "100", "--is-samples", "5"]);
  ok(ev, "eval after divergence");
  assert.ok(Number.isFinite(JSON.parse(ev.stdout).elbo));
});

test("early stopping ends the run after `patience` epochs without improvement, keeping the best checkpoint", () => {
  const dir = copyOfOneEpochRun(join(tmp, "early"));
  // minDelta is huge, so no epoch after the first can count as an improvement.
  const r = runCli(["train", "--resume", dir, "--epochs", "5", "--set", "patience=2", "--set", "minDelta=1e9", "--quiet"]);
  ok(r, "early-stopped run");
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  assert.equal(state.epoch, 3);
  assert.equal(state.bestEpoch, 1);
  assert.match(state.stopped, /^early stopping: no validation improvement for 2 epochs/);
  assert.deepEqual(metricsWithoutTime(dir).map((l) => l.epoch), [1, 2, 3]);
});

test("changing the architecture on resume is refused, naming the key", () => {
  const r = runCli(["train", "--resume", join(tmp, "straight"), "--epochs", "3", "--latent", "8"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^latentkit: cannot change latent when resuming/);
});

test("bad input fails with one line and the promised exit code", () => {
  const cases: [string[], number, RegExp][] = [
    [["train", "--epochs", "abc"], 2, /--epochs must be an integer/],
    [["train", "--no-such-flag"], 2, /unknown option '--no-such-flag'/],
    [["train", "--set", "beta=-1", "--out", join(tmp, "bad1")], 1, /config value beta=-1 is invalid/],
    [["train", "--set", "nonsense=1"], 1, /unknown configuration key "nonsense"/],
    [["train", "--set", "likelihood=poisson"], 1, /likelihood="poisson" is invalid.*bernoulli.*gaussian/],
    [["train", "--model", "nope"], 1, /unknown model "nope"; available: .*vae/],
    [["train", "--model", "conv-vae", "--set", "convChannels=[]"], 1, /convChannels=\[\] is invalid: a conv model needs at least one conv layer/],
    [["train", "--config", join(tmp, "missing.json")], 1, /missing\.json: cannot read config file/],
    [["eval", join(tmp, "no-such-run")], 1, /no-such-run: no such run folder/],
    [["eval", tmp], 1, /not a run folder/],
    [["eval", join(tmp, "straight"), "--offset", "99999999"], 1, /--offset 99999999: the test split has \d+ examples/],
    [["eval", join(tmp, "straight"), "--refine-steps", "5", "--refine-objective", "kl"], 1, /--refine-objective kl: must be elbo or iwae/],
    [["eval", join(tmp, "straight"), "--refine-steps", "-1"], 2, /--refine-steps must be an integer >= 0/],
    [["train", "--dataset", join(tmp, "nothing.csv")], 1, /nothing\.csv: unknown data set and no such file/],
  ];
  for (const [args, code, message] of cases) {
    const r = runCli(args);
    assert.equal(r.code, code, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: expected one line, got:\n${r.stderr}`);
    assert.match(lines[0], message, args.join(" "));
  }
  // The run that failed validation wrote nothing.
  assert.ok(!existsSync(join(tmp, "bad1")));
});

test("an existing run folder is never overwritten by a new run", () => {
  const r = runCli(["train", ...small, "--epochs", "1", "--out", join(tmp, "straight")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already holds a run; continue it with --resume/);
});
