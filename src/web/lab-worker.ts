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

export type LabOptions = { model: string; latent: number; beta: number; klWarmupEpochs: number; steps: number; lr: number; batchSize: number; seed: number };
export type LabView = {
  step: number;
  originals: Float32Array; // [8, 28, 28]
  reconstructions: Float32Array; // [8, 28, 28]
  samples: Float32Array | null; // [16, 28, 28], a model with a prior
  klPerDim: number[] | null;
  scatter: { x: Float32Array; y: Float32Array; labels: Int32Array; dims: [number, number] };
};
export type LabMessage =
  | { type: "started"; backend: string; stepsPerEpoch: number }
  | { type: "step"; step: number; epoch: number; metrics: Record<string, number>; paused: boolean }
  | { type: "view"; view: LabView }
  | { type: "done"; step: number; test: Record<string, number>; zip: Uint8Array; stopped: string | null }
  | { type: "error"; message: string };
export type LabOrder = { type: "start"; options: LabOptions; device?: string } | { type: "pause" } | { type: "resume" } | { type: "stop" };

const VIEW_EVERY = 40;
const SCATTER = 500;
const post = (m: LabMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let paused = false;
let resumeTraining: (() => void) | null = null;
const stop = new AbortController();

self.onmessage = (e: MessageEvent<LabOrder>) => {
  const order = e.data;
  if (order.type === "start") run(order.options, order.device).catch((err) => post({ type: "error", message: (err as Error).message ?? String(err) }));
  else if (order.type === "pause") paused = true;
  else if (order.type === "resume") { paused = false; resumeTraining?.(); }
  else if (order.type === "stop") { paused = false; stop.abort(); resumeTraining?.(); }
};

async function run(o: LabOptions, device?: string): Promise<void> {
  const backend = await initDevice(device === "wasm" ? ["wasm"] : ["webgpu", "wasm"]);
  const sprites = await loadDataset("sprites");
  const test = sprites.test!;
  const size = 28 * 28;
  const fixed = [0, 130, 260, 390, 520, 650, 780, 910];
  const originals = new Float32Array(fixed.length * size);
  fixed.forEach((r, i) => originals.set(test.images.data.subarray(r * size, (r + 1) * size), i * size));
  // test sprites spread over the split (it is in grid order: shape first), for the scatter
  const scatterRows = Array.from({ length: SCATTER }, (_, i) => Math.floor((i * test.images.shape[0]) / SCATTER));
  const scatterData = new Float32Array(SCATTER * size);
  scatterRows.forEach((r, i) => scatterData.set(test.images.data.subarray(r * size, (r + 1) * size), i * size));
  const scatterImages = { data: scatterData, shape: [SCATTER, 1, 28, 28] as [number, number, number, number] };
  const scatterLabels = Int32Array.from(scatterRows, (r) => test.labels![r]);
  const stepsPerEpoch = Math.floor(sprites.train!.images.shape[0] / o.batchSize);
  post({ type: "started", backend, stepsPerEpoch });
  const epochs: MetricsLine[] = [];
  let last = 0;

  const view = async (model: TrainedModel, step: number): Promise<void> => {
    const recon = await model.reconstruct({ data: originals, shape: [fixed.length, 1, 28, 28] });
    const samples = model.probabilistic ? (await model.sample(16, { seed: 1 })).data : null;
    let klPerDim: number[] | null = null;
    if (model.probabilistic) {
      const { model: m, params } = model.internals;
      const r = evaluate(m, params, makeSplit(test.images.data.subarray(0, 200 * size), [1, 28, 28]), { isSamples: 0, seed: 0 });
      klPerDim = r.kl_per_dim ?? null;
    }
    const codes = await model.encode(scatterImages);
    const d = codes.shape[1];
    // the two dimensions with the most KL (or the first two)
    const order = klPerDim ? klPerDim.map((v, j) => [v, j]).sort((a, b) => b[0] - a[0]).map(([, j]) => j) : [0, 1];
    const dims: [number, number] = [order[0] ?? 0, order[1] ?? Math.min(1, d - 1)];
    const x = Float32Array.from({ length: SCATTER }, (_, i) => codes.data[i * d + dims[0]]);
    const y = Float32Array.from({ length: SCATTER }, (_, i) => codes.data[i * d + dims[1]]);
    post({ type: "view", view: { step, originals, reconstructions: recon.data, samples, klPerDim, scatter: { x, y, labels: scatterLabels, dims } } });
  };

  const result = await train({
    dataset: "sprites", model: o.model, latent: o.latent, beta: o.beta, klWarmupEpochs: o.klWarmupEpochs, lr: o.lr, batchSize: o.batchSize,
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
      if (paused) await new Promise<void>((resolve) => { resumeTraining = resolve; });
      resumeTraining = null;
    },
  });
  using model = result.model;
  await view(model, last);
  // The test evaluation, as `latentkit eval RUN --is-samples 0` computes it.
  const { model: m, params } = model.internals;
  const r = evaluate(m, params, makeSplit(test.images.data, [1, 28, 28], { labels: test.labels }), { isSamples: 0, seed: 0, batchSize: 100 });
  const testMetrics = Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === "number")) as Record<string, number>;
  const parts = model.parts();
  const folder = "latentkit-lab-run/";
  const zip = zipSync({
    [folder + "config.json"]: strToU8(JSON.stringify(parts.config, null, 2) + "\n"),
    [folder + "model.safetensors"]: parts.weights,
    [folder + "metrics.jsonl"]: strToU8(epochs.map((l) => JSON.stringify(l) + "\n").join("")),
  });
  post({ type: "done", step: last, test: testMetrics, zip, stopped: result.stopped }, [zip.buffer]);
}
