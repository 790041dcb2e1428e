// latentkit export (src/cli/export.ts).
// - torch: PyTorch's state-dict file (src/io/torch-pt.ts) loads with torch.load into the equivalent
//   torch modules (strict names and shapes), and those modules compute what latentkit computes. This
//   half runs where /usr/bin/python3 has torch (Debian's python3-torch); elsewhere it is skipped.
// - onnx: the traced graph (src/export/onnx.ts), run by onnxruntime-node at two batch sizes, computes
//   what latentkit computes, for every kind of network: MLP, conv, conditional, quantised.
import { folderStore } from "../src/train/checkpoint.js";
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import * as ort from "onnxruntime-node";
import { init, fromData, toData, disposeTree, np } from "../src/engine/index.js";
import { runCliHere } from "./helpers/cli.js";
import { validateConfig } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { openRun, createModel, dataInfo } from "../src/train/run.js";
import { silentProgress } from "../src/train/progress.js";
import { spritesDataset } from "../src/data/sprites.js";
import { sliceSplit } from "../src/data/dataset.js";
import { writeNpy } from "../src/io/npy.js";
import { encodeTorchStateDict, contiguousStrides } from "../src/io/torch-pt.js";
import { exportOnnx } from "../src/export/onnx.js";
import { keyFromSeed } from "../src/engine/index.js";
import { modelOptionsSchema } from "../src/models/registry.js";
import { getModelFamily } from "../src/models/registry.js";
import type { ParamTree } from "../src/nn/tree.js";
import { randn } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

await init();

const dir = tempDir("lk-export-");
const sprites = spritesDataset({ seed: 0 });
const runs: Record<string, string> = {};
const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
const noTorch = hasTorch ? false : `${PYTHON} with torch is not available (apt-get install python3-torch)`;

const cli = runCliHere;

// Small trained runs: an MLP VAE (784-32-4), a conv VAE (convs 1->8->16, latent 2), a CVAE (labels
// in) and a conv VQ-VAE (nearest-code lookup).
const models = {
  vae: { model: "vae", hidden: [32], latent: 4 },
  "conv-vae": { model: "conv-vae", convChannels: [8, 16], latent: 2 },
  cvae: { model: "cvae", hidden: [32], latent: 3 },
  "vq-vae": { model: "vq-vae", convChannels: [8, 16], latent: 4, codebookSize: 16 },
} as const;

before(async () => {
  const data = { ...sprites, splits: { ...sprites.splits, train: sliceSplit(sprites.splits.train!, 0, 300) } };
  for (const [name, options] of Object.entries(models)) {
    const config = validateConfig({ ...options, dataset: "sprites", epochs: 1, batchSize: 100, report: false, evalIsSamples: 0 });
    runs[name] = join(dir, name);
    const r = await train({ config, store: folderStore(runs[name]), model: createModel(config, dataInfo(data)), data, resume: false, progress: silentProgress });
    disposeTree(r.params);
  }
});

test("the state-dict file: a zip with the pickle, one raw float32 entry per tensor, and the version", () => {
  const bytes = encodeTorchStateDict({
    "encoder.0.weight": { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    "encoder.0.bias": { shape: [2], data: Float32Array.from([-1, 0.5]) },
  });
  const files = unzipSync(bytes);
  assert.deepEqual(Object.keys(files).sort(), ["archive/data.pkl", "archive/data/0", "archive/data/1", "archive/version"]);
  assert.deepEqual([...new Float32Array(files["archive/data/1"].slice().buffer)], [-1, 0.5]);
  assert.equal(new TextDecoder().decode(files["archive/version"]), "3\n");
  const pickle = new TextDecoder("latin1").decode(files["archive/data.pkl"]);
  assert.ok(pickle.indexOf("encoder.0.weight") < pickle.indexOf("encoder.0.bias"), "names in insertion order");
  assert.ok(pickle.includes("torch._utils\n_rebuild_tensor_v2\n") && pickle.includes("torch\nFloatStorage\n"));
  assert.deepEqual(contiguousStrides([4, 3, 2]), [6, 2, 1]);
  assert.deepEqual(contiguousStrides([]), []);
  assert.throws(() => encodeTorchStateDict({ w: { shape: [2, 2], data: new Float32Array(3) } }), /3 values do not fill shape \[2,2\]/);
});

test("export: bad format, bad part, bad file name: one line naming it, exit 1, nothing written", async () => {
  const out = join(dir, "kept.pt");
  writeFileSync(out, "previous contents");
  const cases: [string[], RegExp][] = [
    [["--format", "keras", "--out", out], /--format keras: must be torch, onnx, torch-project/],
    [["--format", "torch", "--out", join(dir, "w.txt")], /--out .*w\.txt: must end in \.pt or \.pth/],
    [["--format", "onnx", "--out", out], /--out .*kept\.pt: must end in \.onnx/],
    [["--format", "onnx", "--out", join(dir, "w.onnx"), "--part", "prior"], /--part prior: an ONNX export is the whole autoencoder, its encoder or its decoder/],
    [["--format", "torch", "--out", out, "--part", "prior"], /--part prior: the model has no such part \(its parts: encoder, decoder\)/],
  ];
  for (const [args, message] of cases) {
    const r = await cli("export", runs.vae, ...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  assert.equal(readFileSync(out, "utf8"), "previous contents");
  const missing = await cli("export", join(dir, "no-such-run"), "--format", "torch", "--out", out);
  assert.equal(missing.code, 1);
});

test("export --part keeps one part, with names relative to it", async () => {
  const out = join(dir, "vae-decoder.pt");
  const r = await cli("export", runs.vae, "--format", "torch", "--out", out, "--part", "decoder");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /4 tensors, 26032 parameters of the decoder of vae/); // (4·32 + 32) + (32·784 + 784)
  const pickle = new TextDecoder("latin1").decode(unzipSync(readFileSync(out))["archive/data.pkl"]);
  assert.ok(pickle.includes("0.weight") && !pickle.includes("decoder.0.weight") && !pickle.includes("encoder"));
});

// The torch side: loads the files with strict names and shapes into modules written the PyTorch way,
// and prints the largest difference from latentkit's posterior means and decoded images.
const TORCH_CHECK = String.raw`
import json, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
kind, d, full, enc, dec, x, z, mu, img = sys.argv[1:]
d = int(d)
x, z = torch.from_numpy(np.load(x)), torch.from_numpy(np.load(z))
with torch.no_grad():
    if kind == "vae":
        class VAE(nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 2 * d))
                self.decoder = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 784))
        m = VAE()
        m.load_state_dict(torch.load(full))
        m_mu = m.encoder(x.flatten(1))[:, :d]
        m_img = torch.sigmoid(m.decoder(z)).reshape(-1, 1, 28, 28)
    else:
        encoder = nn.Sequential(nn.Conv2d(1, 8, 3, 2), nn.ReLU(), nn.Conv2d(8, 16, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 6 * 6, 2 * d))
        encoder.load_state_dict(torch.load(enc))
        decoder = nn.ModuleDict({"0": nn.Linear(d, 8 * 7 * 7), "3": nn.ConvTranspose2d(8, 16, 3, 2),
                                 "5": nn.ConvTranspose2d(16, 8, 3, 2), "7": nn.ConvTranspose2d(8, 1, 3, 1, padding=1)})
        decoder.load_state_dict(torch.load(dec))
        m_mu = encoder(x)[:, :d]
        y = F.relu(decoder["0"](z)).reshape(-1, 8, 7, 7)
        y = F.relu(decoder["3"](y)[..., :14, :14])  # Keras 'same': the extra last row and column dropped
        y = F.relu(decoder["5"](y)[..., :28, :28])
        m_img = torch.sigmoid(decoder["7"](y))
    print(json.dumps({"mu": float((m_mu - torch.from_numpy(np.load(mu))).abs().max()),
                      "img": float((m_img - torch.from_numpy(np.load(img))).abs().max()),
                      "mu_scale": float(m_mu.abs().max())}))
`;

for (const kind of ["vae", "conv-vae"] as const) {
  test(`export --format torch: ${kind} loads into the PyTorch modules and computes latentkit's codes and images`, { skip: noTorch }, async () => {
    const files = Object.fromEntries(["full", "encoder", "decoder"].map((p) => [p, join(dir, `${kind}-${p}.pt`)]));
    for (const part of ["full", "encoder", "decoder"]) {
      const r = await cli("export", runs[kind], "--format", "torch", "--out", files[part], ...(part === "full" ? [] : ["--part", part]));
      assert.equal(r.code, 0, r.stderr);
    }
    // 20 sprites and 20 draws of z, through latentkit ...
    const d = models[kind].latent;
    const xs = sprites.splits.test!.batch(Array.from({ length: 20 }, (_, i) => i));
    const zs = Float32Array.from(randn(20 * d, 5));
    const run = await openRun(runs[kind]);
    const mu = toData(run.model.encode(run.params, { x: fromData(xs, [20, 1, 28, 28]) })) as Float32Array;
    const img = toData(run.model.decode(run.params, fromData(zs, [20, d]))) as Float32Array;
    disposeTree(run.params);
    const npy = (name: string, shape: number[], data: Float32Array) => (writeNpy(join(dir, name), { shape, data }), join(dir, name));
    const args = [String(d), files.full, files.encoder, files.decoder,
      npy(`${kind}-x.npy`, [20, 1, 28, 28], xs), npy(`${kind}-z.npy`, [20, d], zs),
      npy(`${kind}-mu.npy`, [20, d], mu), npy(`${kind}-img.npy`, [20, 1, 28, 28], img)];
    // ... and through torch
    const py = spawnSync(PYTHON, ["-c", TORCH_CHECK, kind, ...args], { encoding: "utf8" });
    assert.equal(py.status, 0, py.stderr);
    const diff = JSON.parse(py.stdout.trim().split("\n").pop()!);
    assert.ok(diff.mu_scale > 1e-3, "the codes are not all zero");
    assert.ok(diff.mu < 1e-4, `posterior means differ by ${diff.mu}`);
    assert.ok(diff.img < 1e-5, `decoded images differ by ${diff.img}`);
  });
}

/** latentkit's own encode / decode / reconstruct of a batch, as plain numbers. */
async function latentkitOutputs(run: string, part: string | undefined, input: Float32Array, shape: number[], labels?: Int32Array): Promise<Float32Array> {
  const r = await openRun(run);
  const y = labels && fromData(labels, [labels.length]).astype(np.int32);
  const x = fromData(input, shape);
  const out = part === "encoder" ? r.model.encode(r.params, { x, labels: y })
    : part === "decoder" ? r.model.decode(r.params, x, y) : r.model.reconstruct(r.params, { x, labels: y });
  const data = toData(out) as Float32Array;
  disposeTree(r.params);
  return data;
}

for (const kind of Object.keys(models) as (keyof typeof models)[]) {
  test(`export --format onnx: ${kind}'s graphs (whole, encoder, decoder) compute latentkit's outputs at any batch size`, async () => {
    const run = await openRun(runs[kind]);
    const { codeDim, conditional } = run.model;
    const numClasses = run.config.data.numClasses ?? 1;
    disposeTree(run.params);
    for (const part of [undefined, "encoder", "decoder"]) {
      const file = join(dir, `${kind}-${part ?? "whole"}.onnx`);
      const r = await cli("export", runs[kind], "--format", "onnx", "--out", file, ...(part ? ["--part", part] : []));
      assert.equal(r.code, 0, r.stderr);
      const session = await ort.InferenceSession.create(readFileSync(file));
      const inputName = part === "decoder" ? "z" : "x";
      assert.deepEqual(session.inputNames, conditional ? [inputName, "labels"] : [inputName]);
      assert.deepEqual(session.outputNames, [part === "encoder" ? "code" : part === "decoder" ? "images" : "reconstruction"]);
      for (const batch of [1, 6]) { // neither is a batch size the graph was traced at
        const shape = part === "decoder" ? [batch, codeDim] : [batch, 1, 28, 28];
        const n = shape.reduce((a, b) => a * b, 1);
        // a decoder's input: z ~ N(0, I), or for the VQ-VAE code indices (as floats) in [0, K)
        const z = kind === "vq-vae" ? Array.from(randn(n, batch), (v) => Math.floor(Math.abs(v) * 7) % models["vq-vae"].codebookSize) : randn(n, batch);
        const input = part === "decoder" ? Float32Array.from(z) : sprites.splits.test!.batch(Array.from({ length: batch }, (_, i) => 3 * i));
        const labels = conditional ? Int32Array.from({ length: batch }, (_, i) => i % numClasses) : undefined;
        const feeds: Record<string, ort.Tensor> = { [inputName]: new ort.Tensor("float32", input, shape) };
        if (labels) feeds.labels = new ort.Tensor("int32", labels, [batch]);
        const got = (await session.run(feeds))[session.outputNames[0]];
        const want = await latentkitOutputs(runs[kind], part, input, shape, labels);
        assert.equal(got.dims[0], batch);
        assert.equal(got.data.length, want.length);
        let diff = 0;
        for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs((got.data as Float32Array)[i] - want[i]));
        assert.ok(diff < 2e-5, `${kind} ${part ?? "whole"} at batch ${batch}: differs by ${diff}`);
      }
    }
  });
}

test("exportOnnx borrows the parameters: the model still runs on them afterwards", () => {
  const model = getModelFamily("vae").create(modelOptionsSchema.parse({ hidden: [8], latent: 2 }), { imageShape: [1, 4, 4], numClasses: null });
  const params = model.init(keyFromSeed(0));
  const bytes = exportOnnx({ fn: (p, x) => model.reconstruct(p, { x }), inputs: [{ name: "x", shape: [1, 4, 4], dtype: "float32" }], output: "r", params: params as ParamTree, producerVersion: "test" });
  assert.ok(bytes.length > 4 * (16 * 8 + 8 + 8 * 4 + 4 + 2 * 8 + 8 + 8 * 16 + 16), "the graph holds every parameter");
  const codes = toData(model.encode(params, { x: fromData(new Float32Array(32).fill(0.5), [2, 1, 4, 4]) }));
  assert.equal(codes.length, 4);
  disposeTree(params);
});
