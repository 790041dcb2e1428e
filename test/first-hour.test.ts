// What a new user hits in the first hour (issue "The first hour"): non-finite data refused at load,
// a closed pipe, an --out that is a file, flags that would ask the engine for more than it holds,
// Ctrl-C during training, a resume that has nothing to do, the shortest float text, and files of inputs
// reconstructed in full. Each was a stack trace, a silent NaN or a dead end before.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { runCli, spawnCli } from "./helpers/cli.js";
import { writeNpy, readNpy } from "../src/io/npy.js";
import { float32Text } from "../src/cli/encode.js";
import { loadModel } from "../src/index.js";
import { spritesDataset } from "../src/data/sprites.js";
import { assertClose, seededRandom } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

const dir = tempDir("lk-first-hour-");
const oneLine = (stderr: string, ...parts: (string | RegExp)[]) => {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got: ${stderr}`);
  assert.doesNotMatch(stderr, /internal error|    at /);
  for (const p of parts) typeof p === "string" ? assert.ok(stderr.includes(p), `"${p}" in: ${stderr}`) : assert.match(stderr, p);
};

// A small run the tests below share (1 epoch on 1,000 sprites: a few seconds).
const sprites = spritesDataset().splits.test!;
const images = Float32Array.from(sprites.pixels, (v) => v * sprites.scale);
const data = join(dir, "sprites.npy");
writeNpy(data, { shape: [1024, 1, 28, 28], data: images });
const run = join(dir, "run");
const trained = runCli(["train", "--dataset", data, "--epochs", "1", "--latent", "4", "--set", "hidden=[64]", "--set", "evalIsSamples=0", "--set", "report=false", "--out", run, "--quiet"]);
assert.equal(trained.code, 0, trained.stderr);

test("non-finite pixels are refused at load, naming the file and the first bad index", () => {
  const bad = images.slice(0, 200 * 784);
  bad[5 * 784 + 17] = NaN;
  const file = join(dir, "nan.npy");
  writeNpy(file, { shape: [200, 1, 28, 28], data: bad });
  const r = runCli(["train", "--dataset", file, "--epochs", "1", "--out", join(dir, "nan-run")]);
  assert.equal(r.code, 1);
  oneLine(r.stderr, file, `value NaN at index ${5 * 784 + 17} is not a finite number`);
  assert.ok(!existsSync(join(dir, "nan-run")), "no dead-end folder");
  const e = runCli(["encode", run, "--input", file, "--out", join(dir, "codes.csv")]);
  assert.equal(e.code, 1);
  oneLine(e.stderr, `value NaN at index ${5 * 784 + 17}`);
  const inf = images.slice(0, 784);
  inf[3] = -Infinity;
  writeNpy(file, { shape: [1, 1, 28, 28], data: inf });
  oneLine(runCli(["encode", run, "--input", file, "--out", join(dir, "codes.csv")]).stderr, "value -Infinity at index 3");
});

test("a reader that closes the pipe early ends the command quietly", async () => {
  const child = spawnCli(["models"]);
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.once("data", () => child.stdout!.destroy());
  const code = await new Promise<number | null>((ok) => child.on("exit", ok));
  assert.equal(code, 0);
  assert.equal(err, "");
});

test("--out naming a file, and flags that would exceed the engine's memory: one line naming them", () => {
  const file = join(dir, "a-file");
  writeFileSync(file, "x");
  oneLine(runCli(["train", "--out", file, "--epochs", "1"]).stderr, `${file}: exists and is not a folder`);
  oneLine(runCli(["train", "--set", "hidden=[1000000000]", "--out", join(dir, "big")]).stderr, "hidden.0=1000000000", "65536");
  oneLine(runCli(["train", "--latent", "50000000", "--out", join(dir, "big")]).stderr, "latent=50000000");
  oneLine(runCli(["sample", run, "--n", "1000000"]).stderr, "--n: 1000000 images is more than one PNG grid holds here (at most 10000)");
  oneLine(runCli(["sample", run, "--n", "1000000", "--out", join(dir, "s.npy")]).stderr, "at most 342392, 1 GiB of 1x28x28 float32");
  oneLine(runCli(["interpolate", run, "--pairs", "100000"]).stderr, "--pairs x --steps: 1000000 images");
  assert.ok(!existsSync(join(dir, "big")));
});

test("Ctrl-C stops at the next step with a checkpoint and says how to resume; the resume finishes", async () => {
  const out = join(dir, "interrupted");
  const child = spawnCli(["train", "--dataset", data, "--epochs", "3", "--batch-size", "20", "--set", "evalIsSamples=0", "--set", "report=false", "--out", out]);
  let err = "";
  let sent = false;
  child.stderr!.on("data", (d) => {
    err += d;
    if (!sent && /epoch 1\/3 step/.test(err)) { sent = true; child.kill("SIGINT"); }
  });
  const code = await new Promise<number | null>((ok) => child.on("exit", ok));
  assert.equal(code, 130, err);
  assert.match(err, /SIGINT: stopping at the next step and saving a checkpoint/);
  assert.match(err, new RegExp(`interrupted; the checkpoint is saved: continue with latentkit train --resume ${out}`));
  const state = JSON.parse(readFileSync(join(out, "state.json"), "utf8"));
  assert.ok(state.step > 0 && state.epoch === 0 && state.partial.position > 0, "a checkpoint inside epoch 1");
  assert.equal(runCli(["eval", out, "--split", "valid", "--is-samples", "0"]).code, 0, "eval loads the interrupted run");
  const resumed = runCli(["train", "--resume", out, "--quiet"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, "state.json"), "utf8")).epoch, 3);
  const again = runCli(["train", "--resume", out, "--epochs", "2"]);
  assert.equal(again.code, 1);
  oneLine(again.stderr, "already trained to epoch 3; nothing to do");
});

test("float32Text: the shortest decimal that reads back as the same float32, never more than 9 digits", () => {
  const rand = seededRandom(3);
  for (let i = 0; i < 20000; i++) {
    const v = Math.fround((rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 10));
    const s = float32Text(v);
    assert.equal(Math.fround(Number(s)), v, s);
    assert.ok(s.replace(/^-|e.*$|\./g, "").replace(/^0+/, "").length <= 9, s);
  }
  assert.equal(float32Text(Math.fround(0.1)), "0.1");
});

test("reconstruct --input FILE --out X.npy: every input, in order (as encode)", async () => {
  const file = join(dir, "thirteen.npy"), out = join(dir, "recon.npy");
  writeNpy(file, { shape: [13, 1, 28, 28], data: images.slice(100 * 784, 113 * 784) });
  const r = runCli(["reconstruct", run, "--input", file, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const got = readNpy(out);
  assert.deepEqual(got.shape, [13, 1, 28, 28]);
  using model = await loadModel(run);
  const want = await model.reconstruct(images.slice(100 * 784, 113 * 784));
  assertClose(got.data as Float32Array, want.data, { rtol: 0, atol: 1e-6 });
  assert.ok(!readdirSync(dir).some((f) => f.endsWith(".tmp")));
});

test("SIGKILL at random moments of a training: eval loads what is left and --resume finishes, every time", async () => {
  const rand = seededRandom(17);
  const small = join(dir, "small.npy");
  writeNpy(small, { shape: [400, 1, 28, 28], data: images.slice(0, 400 * 784) });
  const flags = ["--dataset", small, "--epochs", "12", "--batch-size", "10", "--latent", "3", "--set", "hidden=[32]", "--set", "evalIsSamples=0", "--set", "report=false", "--quiet"];
  let killed = 0;
  for (let trial = 0; trial < 6; trial++) {
    const out = join(dir, `killed-${trial}`);
    const child = spawnCli(["train", ...flags, "--out", out]);
    // Somewhere between the start of the process and the end of its training (about 2-6 s here).
    const at = 1500 + rand() * 4000;
    const timer = setTimeout(() => child.kill("SIGKILL"), at);
    const code = await new Promise<number | null>((ok) => child.on("exit", (c) => ok(c)));
    clearTimeout(timer);
    if (code === 0) continue; // it finished first: nothing to check
    killed++;
    if (existsSync(join(out, "model.safetensors"))) {
      const ev = runCli(["eval", out, "--split", "valid", "--is-samples", "0", "--json"]);
      assert.equal(ev.code, 0, `trial ${trial} (killed at ${at.toFixed(0)} ms): eval: ${ev.stderr}`);
    }
    const resumed = existsSync(join(out, "config.json"))
      ? runCli(["train", "--resume", out, "--quiet"])
      : runCli(["train", ...flags, "--out", out]); // killed before it wrote anything: start again
    // killed after its end was written (eval.json): the run is complete, and a resume says so
    const complete = /already trained to epoch 12; nothing to do/.test(resumed.stderr) && existsSync(join(out, "eval.json"));
    assert.ok(resumed.code === 0 || complete, `trial ${trial} (killed at ${at.toFixed(0)} ms): resume: ${resumed.stderr}`);
    assert.equal(JSON.parse(readFileSync(join(out, "state.json"), "utf8")).epoch, 12);
    assert.ok(!readdirSync(out).some((f) => f.endsWith(".tmp") || f.endsWith(".next")), "no temporary file left");
  }
  assert.ok(killed >= 3, `most trials were killed mid-run (${killed} of 6)`);
});

test("`latentkit train` with nothing named trains the Quickstart's VAE on the sprites (preset sprites-vae); naming anything else does not", () => {
  const quick = join(dir, "quick");
  const r = runCli(["train", "--epochs", "1", "--set", "evalIsSamples=0", "--set", "report=false", "--out", quick, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(quick, "config.json"), "utf8"));
  assert.deepEqual([config.model, config.preset, config.dataset, config.latent, config.batchSize, config.klWarmupEpochs, config.lr, config.lrSchedule, config.augmentShift],
    ["vae", "sprites-vae", "sprites", 16, 32, 10, 3e-3, "cosine", 1]);
  const plain = join(dir, "plain-vae");
  assert.equal(runCli(["train", "--model", "vae", "--epochs", "1", "--set", "evalIsSamples=0", "--set", "report=false", "--out", plain, "--quiet"]).code, 0);
  const c2 = JSON.parse(readFileSync(join(plain, "config.json"), "utf8"));
  assert.deepEqual([c2.preset, c2.latent, c2.batchSize, c2.augmentShift], [null, 10, 100, 0], "the schema's defaults");
});

test("npm in the project prints no configuration warning (the onnxruntime install flag is package.json's allowScripts, not an .npmrc key)", () => {
  const r = spawnSync("npm", ["config", "get", "registry"], { cwd: join(import.meta.dirname, ".."), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown (project|user|env) config/);
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
  assert.equal(pkg.allowScripts["onnxruntime-node"], false, "onnxruntime-node's postinstall (a CUDA download) stays off");
});

test("train --help lists every training key for --set with its default and what it does", async () => {
  const { trainingOptionsSchema } = await import("../src/train/config.js");
  const r = runCli(["train", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  const listed = r.stdout.slice(r.stdout.indexOf("Training options"));
  for (const key of Object.keys(trainingOptionsSchema.shape)) {
    assert.match(listed, new RegExp(`^  ${key}=\\S+ +\\S`, "m"), `${key} is listed with a default and a description`);
  }
  assert.match(listed, /augmentShift=0 +training augmentation: move each training image/);
});
