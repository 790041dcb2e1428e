// The lab's training, in a Web Worker so that the page stays responsive: the library's own `train`
// (the browser entry) on the built-in sprites, with the engine on WebGPU where the browser has it and
// WebAssembly otherwise. It posts every step's metrics, and every VIEW_EVERY steps what the page
// draws (reconstructions, prior samples, KL per dimension, the codes of test sprites); at the end the
// test evaluation and the run folder as a zip (config.json, model.safetensors, metrics.jsonl).
import { zipSync, strToU8 } from "fflate";
import { train, loadDataset, type TrainedModel } from "../browser.js";
import { initDevice } from "../engine/index.js";
import { evaluate } from "../eval/evaluate.js";
import { makeSplit } from "../data/dataset.js";
import type { MetricsLine } from "../api/train.js";
import { familyOptionKeys, getModelFamily } from "../models/registry.js";

export type LabOptions = {
  model: string; latent: number; beta: number; klWarmupEpochs: number; steps: number; lr: number; batchSize: number; seed: number;
  /** The class a conditional model (cvae) draws its samples of. */
  label: number;
};
/** Images of the page's own (a dropped .npy): [N, C, H, W] in [0, 1]; the last tenth is held out. */
export type LabData = { name: string; images: Float32Array; shape: [number, number, number, number]; labels?: Int32Array };
export type LabView = {
  step: number;
  imageShape: [number, number, number];
  originals: Float32Array; // [8, C, H, W]
  reconstructions: Float32Array; // [8, C, H, W]
  samples: Float32Array | null; // [16, C, H, W], a model with a prior
  klPerDim: number[] | null;
  scatter: { x: Float32Array; y: Float32Array; labels: Int32Array | null; dims: [number, number] };
};
export type LabMessage =
  | { type: "started"; backend: string; stepsPerEpoch: number }
  | { type: "step"; step: number; epoch: number; metrics: Record<string, number>; paused: boolean }
  | { type: "view"; view: LabView }
  | { type: "done"; step: number; test: Record<string, number>; zip: Uint8Array; stopped: string | null }
  | { type: "parts"; config: Record<string, unknown>; weights: Uint8Array; test?: Record<string, number> }
  | { type: "error"; message: string };
export type LabOrder = { type: "start"; options: LabOptions; device?: string; data?: LabData } | { type: "pause" } | { type: "resume" } | { type: "stop" } | { type: "snapshot" };

const VIEW_EVERY = 40;
const SCATTER = 500;
const post = (m: LabMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let paused = false;
let snapshotWanted = false;
let finalParts: Extract<LabMessage, { type: "parts" }> | null = null;
let resumeTraining: (() => void) | null = null;
const stop = new AbortController();

self.onmessage = (e: MessageEvent<LabOrder>) => {
  const order = e.data;
  if (order.type === "start") run(order.options, order.device, order.data).catch((err) => post({ type: "error", message: (err as Error).message ?? String(err) }));
  else if (order.type === "pause") paused = true;
  else if (order.type === "resume") { paused = false; resumeTraining?.(); }
  else if (order.type === "stop") { paused = false; stop.abort(); resumeTraining?.(); }
  else if (order.type === "snapshot") { if (finalParts) post(finalParts); else snapshotWanted = true; }
};

/** The data: the built-in sprites (train and test splits, shape labels), or the page's images. */
async function labData(data?: LabData) {
  if (!data) {
    const sprites = await loadDataset("sprites");
    return { name: "sprites", train: sprites.train!.images, test: sprites.test!.images, testLabels: sprites.test!.labels ?? null };
  }
  const [n, c, h, w] = data.shape;
  const size = c * h * w, held = Math.max(1, Math.floor(n / 10));
  if (n - held < 2) throw new Error(`${data.name}: ${n} images are too few to train on`);
  return {
    name: data.name,
    train: { data: data.images.subarray(0, (n - held) * size), shape: [n - held, c, h, w] as [number, number, number, number] },
    test: { data: data.images.subarray((n - held) * size), shape: [held, c, h, w] as [number, number, number, number] },
    trainLabels: data.labels?.subarray(0, n - held),
    testLabels: data.labels ? data.labels.subarray(n - held) : null,
  };
}

/** Rows `rows` of images [N, C, H, W]. */
function rowsOf(images: { data: Float32Array; shape: [number, number, number, number] }, rows: number[]) {
  const [, c, h, w] = images.shape, size = c * h * w;
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, i) => out.set(images.data.subarray(r * size, (r + 1) * size), i * size));
  return { data: out, shape: [rows.length, c, h, w] as [number, number, number, number] };
}

async function run(o: LabOptions, device?: string, data?: LabData): Promise<void> {
  const backend = await initDevice(device === "wasm" ? ["wasm"] : ["webgpu", "wasm"]);
  const d = await labData(data);
  const test = d.test;
  const [nTest, c, h, w] = test.shape;
  const imageShape: [number, number, number] = [c, h, w];
  const spread = (k: number) => Array.from({ length: Math.min(k, nTest) }, (_, i) => Math.floor((i * nTest) / Math.min(k, nTest)));
  const fixedRows = spread(8);
  const fixed = rowsOf(test, fixedRows);
  const conditional = o.model === "cvae";
  if (conditional && !d.testLabels) throw new Error(`cvae is conditioned on labels: ${d.name} has none (the sprites have their shapes)`);
  const labelsAt = (rows: number[]) => (conditional ? Int32Array.from(rows, (r) => d.testLabels![r]) : undefined);
  // test images spread over the split (the sprites' is in grid order: shape first), for the scatter
  const scatterRows = spread(SCATTER);
  const scatterImages = rowsOf(test, scatterRows);
  const scatterLabels = d.testLabels ? Int32Array.from(scatterRows, (r) => d.testLabels![r]) : null;
  const stepsPerEpoch = Math.floor(d.train.shape[0] / o.batchSize);
  if (stepsPerEpoch < 1) throw new Error(`${d.name}: ${d.train.shape[0]} training images make no batch of ${o.batchSize}`);
  post({ type: "started", backend, stepsPerEpoch });
  const epochs: MetricsLine[] = [];
  let last = 0;

  const view = async (model: TrainedModel, step: number): Promise<void> => {
    const recon = await model.reconstruct(fixed, { labels: labelsAt(fixedRows) });
    const samples = model.probabilistic ? (await model.sample(16, { seed: 1, labels: conditional ? new Int32Array(16).fill(o.label) : undefined })).data : null;
    let klPerDim: number[] | null = null;
    if (model.probabilistic) {
      const { model: m, params } = model.internals;
      const rows = spread(200), part = rowsOf(test, rows), labels = labelsAt(rows);
      const r = evaluate(m, params, makeSplit(part.data, imageShape, labels ? { labels } : {}), { isSamples: 0, seed: 0 });
      klPerDim = r.kl_per_dim ?? null;
    }
    const codes = await model.encode(scatterImages, { labels: labelsAt(scatterRows) });
    const k = codes.shape[1], n = codes.shape[0];
    // the two dimensions with the most KL (or the first two)
    const order = klPerDim ? klPerDim.map((v, j) => [v, j]).sort((a, b) => b[0] - a[0]).map(([, j]) => j) : [0, 1];
    const dims: [number, number] = [order[0] ?? 0, order[1] ?? Math.min(1, k - 1)];
    const x = Float32Array.from({ length: n }, (_, i) => codes.data[i * k + dims[0]]);
    const y = Float32Array.from({ length: n }, (_, i) => codes.data[i * k + dims[1]]);
    post({ type: "view", view: { step, imageShape, originals: fixed.data, reconstructions: recon.data, samples, klPerDim, scatter: { x, y, labels: scatterLabels, dims } } });
  };

  // the page's settings that this family has (an AE has no β)
  const own = new Set(familyOptionKeys(getModelFamily(o.model)));
  const settings = Object.fromEntries(Object.entries({ latent: o.latent, beta: o.beta, klWarmupEpochs: o.klWarmupEpochs }).filter(([k]) => own.has(k)));
  const result = await train({
    dataset: data ? { train: d.train, valid: d.test, ...(d.trainLabels && d.testLabels ? { labels: d.trainLabels, validLabels: d.testLabels } : {}) } : "sprites", model: o.model, ...settings, lr: o.lr, batchSize: o.batchSize,
    seed: o.seed, epochs: Math.max(1, Math.ceil(o.steps / stepsPerEpoch)), signal: stop.signal,
    onEpoch: (e) => epochs.push(e.metrics),
    onStep: async (e) => {
      last = e.step;
      post({ type: "step", step: e.step, epoch: e.epoch, metrics: e.metrics, paused });
      if (e.step >= o.steps) stop.abort();
      if (e.step % VIEW_EVERY === 0 && e.step < o.steps) {
        const snapshot = e.snapshot();
        try { await view(snapshot, e.step); } finally { snapshot.dispose(); }
      }
      if (snapshotWanted) {
        snapshotWanted = false;
        const snapshot = e.snapshot();
        try { const p = snapshot.parts(); post({ type: "parts", config: p.config, weights: p.weights }); } finally { snapshot.dispose(); }
      }
      if (paused) await new Promise<void>((resolve) => { resumeTraining = resolve; });
      resumeTraining = null;
    },
  });
  using model = result.model;
  await view(model, last);
  // The test evaluation (the held-out tenth of dropped images), as `latentkit eval RUN --is-samples 0` computes it.
  const { model: m, params } = model.internals;
  const r = evaluate(m, params, makeSplit(test.data, imageShape, d.testLabels ? { labels: d.testLabels } : {}), { isSamples: 0, seed: 0, batchSize: 100 });
  const testMetrics = Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === "number")) as Record<string, number>;
  const parts = model.parts();
  finalParts = { type: "parts", config: parts.config, weights: parts.weights.slice(), test: testMetrics };
  if (snapshotWanted) post(finalParts);
  const folder = "latentkit-lab-run/";
  const zip = zipSync({
    [folder + "config.json"]: strToU8(JSON.stringify(parts.config, null, 2) + "\n"),
    [folder + "model.safetensors"]: parts.weights,
    [folder + "metrics.jsonl"]: strToU8(epochs.map((l) => JSON.stringify(l) + "\n").join("")),
  });
  post({ type: "done", step: last, test: testMetrics, zip, stopped: result.stopped }, [zip.buffer]);
}
