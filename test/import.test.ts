// latentkit import (src/api/node.ts importRun, src/io/torch-pt.ts decodeTorchStateDict): a PyTorch
// state dict or a safetensors file becomes a run folder. The round trip export --format torch ->
// import is bitwise; files that torch itself wrote (another root folder, a non-contiguous tensor, a
// float64 one) read the same, when Debian's python3-torch is here; every mismatch is one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { train } from "../src/index.js";
import { readSafetensors, toFloat32, encodeSafetensors } from "../src/io/safetensors.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const dir = tempDir("lk-import-");
const run = join(dir, "run");
(await train({ model: "vae", dataset: "sprites", epochs: 1, latent: 4, set: { hidden: [32], evalIsSamples: 0, report: false }, out: run })).model.dispose();
const params = (folder: string) => Object.fromEntries(Object.entries(readSafetensors(join(folder, "model.safetensors")).tensors).map(([k, t]) => [k, { shape: t.shape, data: Array.from(toFloat32(t)) }]));
const config = join(run, "config.json");
const torchHere = spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;

test("export --format torch, then import: the same parameters, bit for bit; the run evaluates", () => {
  const pt = join(dir, "model.pt");
  assert.equal(runCli(["export", run, "--format", "torch", "--out", pt]).code, 0);
  const r = runCli(["import", pt, "--config", config, "--out", join(dir, "back")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /back: 8 tensors, \d+ parameters from/);
  assert.deepEqual(params(join(dir, "back")), params(run));
  const ev = runCli(["eval", join(dir, "back"), "--is-samples", "0", "--limit", "100", "--json"]);
  assert.equal(ev.code, 0, ev.stderr);
  // a safetensors file imports too
  assert.equal(runCli(["import", join(run, "model.safetensors"), "--config", config, "--out", join(dir, "from-st")]).code, 0);
  assert.deepEqual(params(join(dir, "from-st")), params(run));
});

test("a state dict torch.save wrote (another root folder, a non-contiguous and a float64 tensor) reads the same", { skip: torchHere ? false : "/usr/bin/python3 cannot import torch (Debian's python3-torch): skipped" }, () => {
  const pt = join(dir, "model.pt"), theirs = join(dir, "theirs.pth");
  const py = `
import torch
sd = torch.load(${JSON.stringify(pt)})
w = sd["encoder.0.weight"]
sd["encoder.0.weight"] = torch.empty(w.shape[::-1]).copy_(w.t()).t()   # strides (1, rows): not contiguous
assert not sd["encoder.0.weight"].is_contiguous()
sd["decoder.0.bias"] = sd["decoder.0.bias"].double()
torch.save(sd, ${JSON.stringify(theirs)})
`;
  const p = spawnSync("/usr/bin/python3", ["-c", py], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  const r = runCli(["import", theirs, "--config", config, "--out", join(dir, "theirs")]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(params(join(dir, "theirs")), params(run));
});

test("a name or shape that does not fit, a file that is not a state dict, an occupied --out: one line each", () => {
  const pt = join(dir, "model.pt");
  const wrong = join(dir, "wrong.json");
  writeFileSync(wrong, JSON.stringify({ ...JSON.parse(readFileSync(config, "utf8")), latent: 5 }));
  const shape = runCli(["import", pt, "--config", wrong, "--out", join(dir, "x1")]);
  assert.equal(shape.code, 1);
  assert.match(shape.stderr, /model\.pt: "encoder\.\d\.(weight|bias)" has shape \[\d+(, \d+)?\] where the model has \[\d+(, \d+)?\]/);
  const { "decoder.2.bias": _dropped, ...fewer } = readSafetensors(join(run, "model.safetensors")).tensors;
  const partial = join(dir, "partial.safetensors");
  writeFileSync(partial, encodeSafetensors(fewer));
  assert.match(runCli(["import", partial, "--config", config, "--out", join(dir, "x2")]).stderr, /partial\.safetensors: no tensor "decoder\.2\.bias" \(shape \[784\]\) that the vae model of .* needs/);
  const more = join(dir, "more.safetensors");
  writeFileSync(more, encodeSafetensors({ ...fewer, "decoder.2.bias": { dtype: "F32", shape: [784], data: new Float32Array(784) }, extra: { dtype: "F32", shape: [1], data: new Float32Array(1) } }));
  assert.match(runCli(["import", more, "--config", config, "--out", join(dir, "x4")]).stderr, /more\.safetensors: "extra" is not a parameter of the vae model/);
  const junk = join(dir, "junk.pt");
  writeFileSync(junk, "not a zip");
  const j = runCli(["import", junk, "--config", config, "--out", join(dir, "x3")]);
  assert.equal(j.code, 1);
  assert.match(j.stderr, /junk\.pt: not a PyTorch state dict the reader knows \(not a zip archive/);
  mkdirSync(join(dir, "full"));
  writeFileSync(join(dir, "full", "x"), "");
  assert.match(runCli(["import", pt, "--config", config, "--out", join(dir, "full")]).stderr, /full: exists and is not an empty folder/);
  for (const line of [shape.stderr, j.stderr]) assert.equal(line.trim().split("\n").length, 1);
});
