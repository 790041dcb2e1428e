// The lab page (`latentkit lab --out DIR`, or `latentkit serve` with no run): settings, Train /
// Pause / Stop, and live views of a model that trains in a Web Worker (lab-worker.ts). A query string
// starts a training at load (?model=vae&data=sprites&steps=N, also latent, beta, warmup, lr, device).
// window.latentkitLab tells automation where it is: { state, step, backend, metrics, test }.
import type { LabMessage, LabOptions, LabOrder, LabView } from "./lab-worker.js";

type LabState = {
  state: "idle" | "training" | "paused" | "done" | "error";
  step: number;
  backend: "webgpu" | "wasm" | null;
  metrics: { loss?: number; recon?: number; kl?: number };
  test?: Record<string, number>;
  stepsPerSecond?: number;
  error?: string;
};
declare global { interface Window { latentkitLab: LabState } }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const lab: LabState = { state: "idle", step: 0, backend: null, metrics: {} };
window.latentkitLab = lab;
const SHAPE_COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#d97706"];

let worker: Worker | null = null;
let history: { step: number; recon: number; kl: number }[] = [];
let started = 0;

function setState(state: LabState["state"]): void {
  lab.state = state;
  document.body.dataset.state = state;
  $<HTMLButtonElement>("train").disabled = state === "training" || state === "paused";
  $<HTMLButtonElement>("pause").disabled = !(state === "training" || state === "paused");
  $<HTMLButtonElement>("pause").textContent = state === "paused" ? "Resume" : "Pause";
  $<HTMLButtonElement>("stop").disabled = !(state === "training" || state === "paused");
}

function status(text: string): void {
  $("status").textContent = text;
}

function options(): LabOptions {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  return {
    model: $<HTMLSelectElement>("model").value, latent: num("latent"), beta: num("beta"), klWarmupEpochs: num("warmup"),
    steps: num("steps"), lr: num("lr"), batchSize: 100, seed: 0,
  };
}

function start(device?: string): void {
  worker?.terminate();
  history = [];
  lab.step = 0;
  lab.metrics = {};
  lab.test = undefined;
  $<HTMLAnchorElement>("download").hidden = true;
  worker = new Worker("lab-worker.js", { type: "module" });
  worker.onmessage = (e: MessageEvent<LabMessage>) => onMessage(e.data);
  worker.onerror = (e) => fail(e.message || "the training worker failed to start");
  const order: LabOrder = { type: "start", options: options(), device };
  worker.postMessage(order);
  started = performance.now();
  setState("training");
  status("starting the engine…");
}

function fail(message: string): void {
  lab.error = message;
  setState("error");
  status(`error: ${message}`);
}

function onMessage(m: LabMessage): void {
  if (m.type === "started") {
    lab.backend = m.backend as LabState["backend"];
    $("backend").textContent = m.backend === "webgpu" ? "WebGPU" : "WebAssembly (CPU)";
    started = performance.now();
  } else if (m.type === "step") {
    lab.step = m.step;
    lab.metrics = { loss: m.metrics.loss, recon: m.metrics.recon, kl: m.metrics.kl };
    lab.stepsPerSecond = m.step / ((performance.now() - started) / 1000);
    history.push({ step: m.step, recon: m.metrics.recon ?? m.metrics.loss, kl: m.metrics.kl ?? 0 });
    if (m.step % 5 === 0) drawCurves();
    const parts = Object.entries(m.metrics).map(([k, v]) => `${k} ${v.toFixed(2)}`).join("  ");
    status(`step ${m.step} (epoch ${m.epoch})  ${parts}  ${lab.stepsPerSecond.toFixed(1)} steps/s${m.paused ? "  (pausing)" : ""}`);
  } else if (m.type === "view") {
    drawView(m.view);
  } else if (m.type === "done") {
    lab.test = m.test;
    drawCurves();
    const blob = new Blob([m.zip as Uint8Array<ArrayBuffer>], { type: "application/zip" });
    const link = $<HTMLAnchorElement>("download");
    link.href = URL.createObjectURL(blob);
    link.download = `latentkit-lab-${$<HTMLSelectElement>("model").value}-${m.step}-steps.zip`;
    link.hidden = false;
    setState("done");
    const t = m.test;
    status(`done after ${m.step} steps${m.stopped && m.stopped !== "interrupted" ? ` (${m.stopped})` : ""}: test ` +
      (t.elbo !== undefined ? `ELBO ${t.elbo.toFixed(2)}  recon ${t.recon.toFixed(2)}  kl ${t.kl.toFixed(2)}` : `recon ${t.recon.toFixed(2)}`) +
      ` (1,024 sprites); download the run and open it with latentkit eval / serve / loadModel`);
  } else if (m.type === "error") {
    fail(m.message);
  }
}

// --- drawing ---

function drawCurves(): void {
  const c = $<HTMLCanvasElement>("curves"), g = c.getContext("2d")!;
  g.clearRect(0, 0, c.width, c.height);
  if (history.length < 2) return;
  const pad = 36, w = c.width - pad - 8, h = c.height - 24;
  const maxStep = history[history.length - 1].step;
  const series: [keyof (typeof history)[0], string][] = [["recon", "#2563eb"], ["kl", "#dc2626"]];
  const top = Math.max(...history.slice(Math.floor(history.length / 10)).map((p) => Math.max(p.recon, p.kl))) * 1.1 || 1;
  g.strokeStyle = "#9ca3af";
  g.fillStyle = "#6b7280";
  g.font = "11px system-ui";
  g.beginPath(); g.moveTo(pad, 4); g.lineTo(pad, h); g.lineTo(pad + w, h); g.stroke();
  g.fillText(top.toFixed(0), 2, 12);
  g.fillText("0", 20, h);
  g.fillText(`step ${maxStep}`, pad + w - 60, h + 16);
  for (const [key, colour] of series) {
    g.strokeStyle = colour;
    g.beginPath();
    history.forEach((p, i) => {
      const x = pad + (p.step / maxStep) * w, y = h - (Math.min(p[key] as number, top) / top) * (h - 4);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
}

/** Images [n, 28, 28] in [0, 1] into a canvas as a grid of `cols`, at 2x. */
function drawImages(canvas: HTMLCanvasElement, images: Float32Array, n: number, cols: number, row = 0): void {
  const g = canvas.getContext("2d")!, s = 2, cell = 28 * s + 4;
  const img = g.createImageData(28 * s, 28 * s);
  for (let k = 0; k < n; k++) {
    for (let y = 0; y < 28 * s; y++) for (let x = 0; x < 28 * s; x++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, images[k * 784 + Math.floor(y / s) * 28 + Math.floor(x / s)])));
      const o = (y * 28 * s + x) * 4;
      img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      img.data[o + 3] = 255;
    }
    g.putImageData(img, (k % cols) * cell, (row + Math.floor(k / cols)) * cell);
  }
}

function drawView(v: LabView): void {
  const recon = $<HTMLCanvasElement>("recon");
  recon.getContext("2d")!.clearRect(0, 0, recon.width, recon.height);
  drawImages(recon, v.originals, 8, 8, 0);
  drawImages(recon, v.reconstructions, 8, 8, 1);
  const samples = $<HTMLCanvasElement>("samples");
  samples.getContext("2d")!.clearRect(0, 0, samples.width, samples.height);
  if (v.samples) drawImages(samples, v.samples, 16, 8);
  const kl = $<HTMLCanvasElement>("kl"), g = kl.getContext("2d")!;
  g.clearRect(0, 0, kl.width, kl.height);
  if (v.klPerDim) {
    const top = Math.max(1, ...v.klPerDim), bw = Math.min(40, (kl.width - 20) / v.klPerDim.length);
    g.font = "11px system-ui";
    v.klPerDim.forEach((value, j) => {
      const h = (value / top) * (kl.height - 30);
      g.fillStyle = value < 0.01 ? "#d1d5db" : "#7c3aed";
      g.fillRect(10 + j * bw, kl.height - 18 - h, bw - 3, h);
      g.fillStyle = "#6b7280";
      g.fillText(String(j), 10 + j * bw, kl.height - 4);
    });
    g.fillText(`${top.toFixed(2)} nats`, kl.width - 70, 12);
  }
  const sc = $<HTMLCanvasElement>("scatter"), s = sc.getContext("2d")!;
  s.clearRect(0, 0, sc.width, sc.height);
  const { x, y, labels, dims } = v.scatter;
  const lim = Math.max(3, ...Array.from(x, Math.abs), ...Array.from(y, Math.abs));
  const px = (a: number) => sc.width / 2 + (a / lim) * (sc.width / 2 - 10), py = (b: number) => sc.height / 2 - (b / lim) * (sc.height / 2 - 10);
  s.strokeStyle = "#e5e7eb";
  s.beginPath(); s.moveTo(0, sc.height / 2); s.lineTo(sc.width, sc.height / 2); s.moveTo(sc.width / 2, 0); s.lineTo(sc.width / 2, sc.height); s.stroke();
  for (let i = 0; i < x.length; i++) {
    s.fillStyle = SHAPE_COLOURS[labels[i]] ?? "#000";
    s.beginPath(); s.arc(px(x[i]), py(y[i]), 2.5, 0, 2 * Math.PI); s.fill();
  }
  s.fillStyle = "#6b7280";
  s.font = "11px system-ui";
  s.fillText(`z${dims[0]} →`, sc.width - 40, sc.height / 2 - 4);
  s.fillText(`↑ z${dims[1]}`, sc.width / 2 + 4, 12);
}

// --- wiring ---

$("train").addEventListener("click", () => start(new URLSearchParams(location.search).get("device") ?? undefined));
$("pause").addEventListener("click", () => {
  if (!worker) return;
  const order: LabOrder = { type: lab.state === "paused" ? "resume" : "pause" };
  worker.postMessage(order);
  setState(lab.state === "paused" ? "training" : "paused");
});
$("stop").addEventListener("click", () => {
  const order: LabOrder = { type: "stop" };
  worker?.postMessage(order);
  status("stopping at the next step…");
});

const query = new URLSearchParams(location.search);
for (const [key, id] of [["model", "model"], ["latent", "latent"], ["beta", "beta"], ["warmup", "warmup"], ["steps", "steps"], ["lr", "lr"]] as const) {
  const v = query.get(key);
  if (v !== null) ($(id) as HTMLInputElement).value = v;
}
if (query.get("data") && query.get("data") !== "sprites") fail(`data=${query.get("data")}: the lab has the built-in sprites`);
else if (query.has("model") || query.has("steps")) start(query.get("device") ?? undefined);
