// The lab page (`latentkit lab --out DIR`, or `latentkit serve` with no run): settings, Train /
// Pause / Stop, and live views of a model that trains in a Web Worker (lab-worker.ts). A query string
// starts a training at load (?model=vae&data=sprites&steps=N, also latent, beta, warmup, lr, device).
// window.latentkitLab tells automation where it is: { state, step, backend, metrics, test }.
import type { LabData, LabMessage, LabOptions, LabOrder, LabView } from "./lab-worker.js";
import { decodeNpy } from "../io/npy-bytes.js";

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
let dropped: LabData | null = null;
let explorer: Window | null = null;
let history: { step: number; recon: number; kl: number }[] = [];
let started = 0;

function setState(state: LabState["state"]): void {
  lab.state = state;
  document.body.dataset.state = state;
  $<HTMLButtonElement>("train").disabled = state === "training" || state === "paused";
  $<HTMLButtonElement>("pause").disabled = !(state === "training" || state === "paused");
  $<HTMLButtonElement>("pause").textContent = state === "paused" ? "Resume" : "Pause";
  $<HTMLButtonElement>("stop").disabled = !(state === "training" || state === "paused");
  $<HTMLButtonElement>("explore").disabled = !(state === "training" || state === "paused" || state === "done");
}

function status(text: string): void {
  $("status").textContent = text;
}

function options(): LabOptions {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  return {
    model: $<HTMLSelectElement>("model").value, latent: num("latent"), beta: num("beta"), klWarmupEpochs: num("warmup"),
    steps: num("steps"), lr: num("lr"), batchSize: 100, seed: 0, label: Number($<HTMLSelectElement>("label").value),
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
  const order: LabOrder = { type: "start", options: options(), device, data: $<HTMLSelectElement>("data").value === "file" ? dropped ?? undefined : undefined };
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
  } else if (m.type === "parts") {
    explorer?.postMessage({ type: "lab-run", config: m.config, weights: m.weights, metrics: [], evaluation: m.test ? { split: "held-out", ...m.test } : undefined }, location.origin);
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

/** Images [n, C, H, W] in [0, 1] (grey, or RGB for C = 3) into a canvas as a grid of `cols`, 56 px a cell. */
function drawImages(canvas: HTMLCanvasElement, images: Float32Array, [c, h, w]: [number, number, number], n: number, cols: number, row = 0): void {
  const g = canvas.getContext("2d")!, side = 56, cell = side + 4;
  const img = g.createImageData(side, side);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let k = 0; k < n; k++) {
    const base = k * c * h * w;
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
      const p = Math.floor((y * h) / side) * w + Math.floor((x * w) / side);
      const o = (y * side + x) * 4;
      const r = images[base + p], gr = c === 3 ? images[base + h * w + p] : r, b = c === 3 ? images[base + 2 * h * w + p] : r;
      img.data[o] = byte(r); img.data[o + 1] = byte(gr); img.data[o + 2] = byte(b);
      img.data[o + 3] = 255;
    }
    g.putImageData(img, (k % cols) * cell, (row + Math.floor(k / cols)) * cell);
  }
}

function drawView(v: LabView): void {
  const recon = $<HTMLCanvasElement>("recon");
  recon.getContext("2d")!.clearRect(0, 0, recon.width, recon.height);
  const count = v.originals.length / v.imageShape.reduce((a, b) => a * b, 1);
  drawImages(recon, v.originals, v.imageShape, count, 8, 0);
  drawImages(recon, v.reconstructions, v.imageShape, count, 8, 1);
  const samples = $<HTMLCanvasElement>("samples");
  samples.getContext("2d")!.clearRect(0, 0, samples.width, samples.height);
  if (v.samples) drawImages(samples, v.samples, v.imageShape, 16, 8);
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
    s.fillStyle = labels ? SHAPE_COLOURS[labels[i]] ?? "#000" : "#6b7280";
    s.beginPath(); s.arc(px(x[i]), py(y[i]), 2.5, 0, 2 * Math.PI); s.fill();
  }
  s.fillStyle = "#6b7280";
  s.font = "11px system-ui";
  s.fillText(`z${dims[0]} →`, sc.width - 40, sc.height / 2 - 4);
  s.fillText(`↑ z${dims[1]}`, sc.width / 2 + 4, 12);
}

// --- the page's own images: a .npy dropped on the page or chosen ---

/** A .npy of images, [N, H, W] or [N, C, H, W], uint8 (0..255) or floats in [0, 1]. */
async function readImages(file: File): Promise<LabData> {
  const array = decodeNpy(new Uint8Array(await file.arrayBuffer()), file.name);
  const shape = array.shape.length === 3 ? [array.shape[0], 1, array.shape[1], array.shape[2]] : array.shape;
  if (shape.length !== 4 || !(shape[1] === 1 || shape[1] === 3)) throw new Error(`${file.name}: shape (${array.shape.join(", ")}) is not [N, H, W] or [N, C, H, W] with 1 or 3 channels`);
  const images = array.data instanceof Uint8Array ? Float32Array.from(array.data, (v) => v / 255) : Float32Array.from(array.data);
  for (let i = 0; i < images.length; i++) {
    if (!(images[i] >= 0 && images[i] <= 1)) throw new Error(`${file.name}: value ${images[i]} at index ${i} is outside [0, 1]`);
  }
  return { name: file.name, images, shape: shape as LabData["shape"] };
}

/** A folder of PNGs (the same size each): grey where every pixel's channels agree, else RGB. */
async function readPngs(files: File[]): Promise<LabData> {
  const pngs = files.filter((f) => f.name.toLowerCase().endsWith(".png")).sort((a, b) => a.name.localeCompare(b.name));
  if (pngs.length === 0) throw new Error("no .png files in what was given");
  const bitmaps = await Promise.all(pngs.map((f) => createImageBitmap(f)));
  const [w, h] = [bitmaps[0].width, bitmaps[0].height];
  const odd = bitmaps.findIndex((b) => b.width !== w || b.height !== h);
  if (odd >= 0) throw new Error(`${pngs[odd].name}: ${bitmaps[odd].width}x${bitmaps[odd].height}, not ${w}x${h} like ${pngs[0].name}`);
  const canvas = new OffscreenCanvas(w, h), g = canvas.getContext("2d")!;
  const rgba = bitmaps.map((b) => { g.clearRect(0, 0, w, h); g.drawImage(b, 0, 0); return g.getImageData(0, 0, w, h).data; });
  const grey = rgba.every((d) => { for (let i = 0; i < d.length; i += 4) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false; return true; });
  const c = grey ? 1 : 3, size = c * h * w;
  const images = new Float32Array(rgba.length * size);
  rgba.forEach((d, k) => {
    for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) images[k * size + ch * h * w + p] = d[p * 4 + ch] / 255;
  });
  return { name: `${pngs.length} PNGs`, images, shape: [rgba.length, c, h, w] };
}

async function useFile(file: File | undefined, folder?: File[]): Promise<void> {
  if (!file && !folder?.length) return;
  try {
    dropped = folder?.length ? await readPngs(folder) : await readImages(file!);
    const select = $<HTMLSelectElement>("data");
    const option = select.querySelector<HTMLOptionElement>("option[value=file]")!;
    option.disabled = false;
    option.textContent = `${dropped.name}: ${dropped.shape[0]} images ${dropped.shape.slice(1).join("×")} (the last tenth held out)`;
    select.value = "file";
    status(`${dropped.name}: ${dropped.shape[0]} images; press Train`);
  } catch (e) {
    status(`error: ${(e as Error).message}`);
  }
}

// Beside a served run (`latentkit serve RUN`, the lab at /lab/): the run's own training data.
async function offerRunData(): Promise<void> {
  if (!location.pathname.endsWith("/lab/")) return; // the lab alone (serve with no run, a static host)
  const r = await fetch("../run/manifest.json", { cache: "no-store" }).catch(() => null);
  if (!r?.ok) return;
  const config = await (await fetch("../run/config.json", { cache: "no-store" })).json() as { dataset?: string };
  const option = document.createElement("option");
  option.value = "run";
  option.textContent = `the run's data (${config.dataset ?? "?"}, up to 20,000 training images)`;
  $<HTMLSelectElement>("data").append(option);
}

$<HTMLSelectElement>("data").addEventListener("change", async (e) => {
  if ((e.target as HTMLSelectElement).value !== "run") return;
  status("loading the run's data…");
  try {
    const images = decodeNpy(new Uint8Array(await (await fetch("../run/data.npy")).arrayBuffer()), "data.npy");
    const labelsResponse = await fetch("../run/labels.npy");
    const labels = labelsResponse.ok ? Int32Array.from(decodeNpy(new Uint8Array(await labelsResponse.arrayBuffer()), "labels.npy").data) : undefined;
    const shape = images.shape as LabData["shape"];
    const data = images.data instanceof Uint8Array ? Float32Array.from(images.data, (v) => v / 255) : Float32Array.from(images.data);
    dropped = { name: "the run's data", images: data, shape, labels };
    const select = $<HTMLSelectElement>("data");
    const file = select.querySelector<HTMLOptionElement>("option[value=file]")!;
    file.disabled = false;
    file.textContent = `the run's data: ${shape[0]} images ${shape.slice(1).join("×")}${labels ? ", labelled" : ""} (the last tenth held out)`;
    select.value = "file";
    status(`the run's data: ${shape[0]} images; press Train`);
  } catch (err) {
    status(`error: ${(err as Error).message}`);
  }
});
void offerRunData();

$<HTMLInputElement>("file").addEventListener("change", (e) => useFile((e.target as HTMLInputElement).files?.[0]));
$<HTMLInputElement>("folder").addEventListener("change", (e) => useFile(undefined, [...((e.target as HTMLInputElement).files ?? [])]));
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => {
  e.preventDefault();
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.length > 1 || files[0]?.name.toLowerCase().endsWith(".png")) useFile(undefined, files);
  else useFile(files[0]);
});

// --- wiring ---

$("train").addEventListener("click", () => start(new URLSearchParams(location.search).get("device") ?? undefined));
$("pause").addEventListener("click", () => {
  if (!worker) return;
  const order: LabOrder = { type: lab.state === "paused" ? "resume" : "pause" };
  worker.postMessage(order);
  setState(lab.state === "paused" ? "training" : "paused");
});
// The explorer's views (pad, sliders, interpolation, drawing) on the model as it is: explorer.html
// opens, says it is ready, and gets the worker's current parameters.
$("explore").addEventListener("click", () => {
  if (!worker) return;
  explorer = window.open("explorer.html#from-lab", "_blank");
});
window.addEventListener("message", (e: MessageEvent) => {
  if (e.origin !== location.origin || e.data?.type !== "explorer-ready" || !worker) return;
  const order: LabOrder = { type: "snapshot" };
  worker.postMessage(order);
});
$("stop").addEventListener("click", () => {
  const order: LabOrder = { type: "stop" };
  worker?.postMessage(order);
  status("stopping at the next step…");
});

const query = new URLSearchParams(location.search);
for (const [key, id] of [["model", "model"], ["label", "label"], ["latent", "latent"], ["beta", "beta"], ["warmup", "warmup"], ["steps", "steps"], ["lr", "lr"]] as const) {
  const v = query.get(key);
  if (v !== null) ($(id) as HTMLInputElement).value = v;
}
if (query.get("data") && query.get("data") !== "sprites") fail(`data=${query.get("data")}: the lab has the built-in sprites`);
else if (query.has("model") || query.has("steps")) start(query.get("device") ?? undefined);
