// The explorer's state and controls: the code z being decoded, the pad's two dimensions, sliders for
// all of them, sampling, the class of a conditional model, interpolation between two points and the
// drawing canvas. Every decode goes through a Latest queue, so a fast pointer never piles up work.
import type { Device } from "./backend.js";
import type { PageModel, RunFiles } from "./run.js";
import { LatentPad, type Point } from "./pad.js";
import { Sketch } from "./sketch.js";
import { paint, drawImageAt, drawingToInput } from "./pictures.js";
import { renderMetrics, renderPictures } from "./panels.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

export function showError(e: unknown): void {
  console.error(e);
  document.body.dataset.state = "error";
  const status = document.getElementById("status");
  if (status) status.textContent = `error: ${(e as Error)?.message ?? String(e)}`;
}

/** Runs one job at a time; while one runs, only the newest request waits (older ones are dropped). */
class Latest {
  private running?: Promise<void>;
  private next?: () => Promise<void>;

  request(job: () => Promise<void>): Promise<void> {
    this.next = job;
    this.running ??= this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const job = this.next;
      this.next = undefined;
      try {
        await job();
      } catch (e) {
        showError(e);
      }
    }
    this.running = undefined;
  }
}

/** Families whose codes are discrete (code indices, one-hots): there is no plane to move on. */
const DISCRETE = new Set(["vq-vae", "dvae"]);
const GRID = 10; // decoded images per side behind the pad
const STRIP = 9; // images along an interpolation

// z ~ N(0, I) by Box–Muller
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

export class Explorer {
  private readonly d: number;
  private z: Float32Array;
  private label = 0;
  private dims: [number, number]; // the pad's x and y dimensions (y = -1 for a 1-D latent)
  private readonly kl?: number[];
  private a?: Float32Array;
  private b?: Float32Array;
  private drawn?: Float32Array; // the code of the drawing
  private readonly explorable: boolean;
  /** The pad's half-width: ±3 prior standard deviations; codes of plain autoencoders have no scale. */
  private readonly defaultRange: number;
  private pad!: LatentPad;
  private sketch!: Sketch;
  private sliders: HTMLInputElement[] = [];
  private readonly main = new Latest();
  private readonly grid = new Latest();
  private readonly strip = new Latest();
  private readonly encoder = new Latest();
  private gridTimer?: ReturnType<typeof setTimeout>;

  constructor(private readonly model: PageModel, private readonly files: RunFiles, private readonly device: Device) {
    this.d = model.d;
    this.z = new Float32Array(this.d);
    const kl = files.evaluation?.kl_per_dim;
    this.kl = Array.isArray(kl) && kl.length === this.d ? (kl as number[]) : undefined;
    // the two dimensions with the most KL (the ones the encoder uses most), else the first two
    const order = [...Array(this.d).keys()].sort((i, j) => (this.kl ? this.kl[j] - this.kl[i] : i - j));
    this.dims = [order[0], this.d > 1 ? order[1] : -1];
    this.explorable = !DISCRETE.has(model.model.family);
    this.defaultRange = model.model.probabilistic ? 3 : 5;
  }

  async start(): Promise<void> {
    this.header();
    renderMetrics($("metrics"), this.files.evaluation, this.files.metrics);
    renderPictures($("pictures"), this.files.manifest.images);
    this.classes();
    this.sketch = new Sketch($<HTMLCanvasElement>("sketch"), () => this.encodeDrawing());
    $("clear").addEventListener("click", () => this.sketch.clear());
    const file = $<HTMLInputElement>("file");
    file.addEventListener("change", () => {
      const f = file.files?.[0];
      file.value = ""; // so that opening the same file again is a change too
      if (f) void this.sketch.drawFile(f).catch(showError);
    });
    if (!this.explorable) {
      for (const id of ["pad-panel", "decoded-panel"]) $(id).hidden = true;
      $("status").textContent = `${this.model.model.family} codes are discrete: draw to see reconstructions.`;
      return;
    }
    this.pad = new LatentPad($<HTMLCanvasElement>("pad"), (p) => this.moveTo(p));
    this.pad.range = this.defaultRange;
    this.controls();
    this.sync();
    await Promise.all([this.refresh(), this.refreshGrid()]);
  }

  private header(): void {
    const c = this.files.config;
    $("title").textContent = `${c.model}${c.preset ? ` (${c.preset})` : ""} on ${c.dataset ?? "?"}`;
    const epochs = this.files.metrics.length;
    $("facts").textContent = [
      `latent ${this.d}`, `images ${this.model.shape.join("×")}`, `${epochs} epoch${epochs === 1 ? "" : "s"}`,
      `decoder on ${this.device === "webgpu" ? "WebGPU" : "WebAssembly (CPU)"}`,
    ].join(" · ");
  }

  private classes(): void {
    const select = $<HTMLSelectElement>("class");
    if (!this.model.model.conditional) {
      $("class-row").hidden = true;
      return;
    }
    for (let k = 0; k < this.model.numClasses; k++) select.add(new Option(`class ${k}`, String(k)));
    select.addEventListener("change", () => {
      this.label = Number(select.value);
      void this.refresh();
      this.scheduleGrid(0);
      void this.refreshStrip();
      this.encodeDrawing();
    });
  }

  private controls(): void {
    const [dx, dy] = [$<HTMLSelectElement>("dim-x"), $<HTMLSelectElement>("dim-y")];
    for (let k = 0; k < this.d; k++) {
      const name = `z${k}${this.kl ? ` (KL ${this.kl[k].toFixed(2)})` : ""}`;
      dx.add(new Option(name, String(k)));
      dy.add(new Option(name, String(k)));
    }
    dx.value = String(this.dims[0]);
    if (this.dims[1] < 0) $("dim-y-row").hidden = true;
    else dy.value = String(this.dims[1]);
    const onDims = () => {
      this.dims = [Number(dx.value), this.dims[1] < 0 ? -1 : Number(dy.value)];
      this.sync();
      this.scheduleGrid(0);
    };
    dx.addEventListener("change", onDims);
    dy.addEventListener("change", onDims);

    const range = $<HTMLInputElement>("range");
    range.value = String(this.pad.range);
    range.addEventListener("change", () => {
      const r = Number(range.value);
      if (Number.isFinite(r) && r > 0) this.setRange(r);
    });

    const box = $("sliders");
    for (let k = 0; k < this.d; k++) {
      const row = document.createElement("label");
      const name = document.createElement("span");
      name.textContent = `z${k}`;
      if (this.kl) name.title = `KL ${this.kl[k].toFixed(3)} nats`;
      const input = document.createElement("input");
      Object.assign(input, { type: "range", step: "0.01", value: "0" });
      input.dataset.dim = String(k);
      const out = document.createElement("output");
      input.addEventListener("input", () => {
        this.z[k] = Number(input.value);
        this.sync();
        if (!this.dims.includes(k)) this.scheduleGrid();
        void this.refresh();
      });
      row.append(name, input, out);
      box.append(row);
      this.sliders.push(input);
    }
    this.setRange(this.pad.range);

    const sample = $<HTMLButtonElement>("sample");
    if (!this.model.model.probabilistic) {
      sample.disabled = true;
      sample.title = "a deterministic autoencoder has no prior to sample from";
    }
    sample.addEventListener("click", () => this.setCode(this.samplePrior()));
    $("center").addEventListener("click", () => this.setCode(new Float32Array(this.d)));
    $("set-a").addEventListener("click", () => this.setEnd("a"));
    $("set-b").addEventListener("click", () => this.setEnd("b"));
    const t = $<HTMLInputElement>("interp-t");
    t.addEventListener("input", () => {
      if (!this.a || !this.b) return;
      const s = Number(t.value);
      this.setCode(this.a.map((v, k) => (1 - s) * v + s * this.b![k]));
    });
  }

  // z = ε + μ_c, ε ~ N(0, I): a draw from the prior (μ_c only for a learned class-mean prior)
  private samplePrior(): Float32Array {
    const z = new Float32Array(this.d).map(gaussian);
    const mean = this.model.priorMean;
    if (mean) for (let k = 0; k < this.d; k++) z[k] += mean[this.label * this.d + k];
    return z;
  }

  private setRange(r: number): void {
    this.pad.range = r;
    $<HTMLInputElement>("range").value = String(r);
    for (const s of this.sliders) Object.assign(s, { min: String(-r), max: String(r) });
    this.sync();
    this.scheduleGrid(0);
  }

  private moveTo([x, y]: Point): void {
    this.z[this.dims[0]] = x;
    if (this.dims[1] >= 0) this.z[this.dims[1]] = y;
    this.sync();
    void this.refresh();
  }

  /**
   * A new code for every dimension (a sample, an encoding, a point of an interpolation). The pad
   * grows to show it; with `fit` (an encoding) it also shrinks back, to no less than its default.
   */
  private setCode(z: Float32Array, fit = false): void {
    const held = this.z.some((v, k) => !this.dims.includes(k) && v !== z[k]);
    this.z = Float32Array.from(z);
    const far = Math.max(...this.dims.filter((k) => k >= 0).map((k) => Math.abs(z[k])));
    const range = far > this.pad.range || fit ? Math.max(this.defaultRange, Math.ceil(far) + 1) : this.pad.range;
    if (range !== this.pad.range) this.setRange(range);
    this.sync();
    if (held) this.scheduleGrid();
    void this.refresh();
  }

  private setEnd(which: "a" | "b"): void {
    this[which] = Float32Array.from(this.z);
    this.sync();
    void this.refreshStrip();
  }

  /** The pad, its marks and the sliders from the state. */
  private sync(): void {
    if (!this.pad) return;
    const [i, j] = this.dims;
    const pt = (z?: Float32Array): Point | undefined => (z ? [z[i], j >= 0 ? z[j] : 0] : undefined);
    this.pad.point = pt(this.z)!;
    this.pad.marks = { a: pt(this.a), b: pt(this.b), drawn: pt(this.drawn) };
    this.pad.render();
    this.sliders.forEach((s, k) => {
      s.value = String(this.z[k]);
      (s.nextElementSibling as HTMLOutputElement).value = this.z[k].toFixed(2);
    });
    const text = $("z-text");
    text.textContent = `z = [${[...this.z].map((v) => v.toFixed(2)).join(", ")}]`;
    text.dataset.z = JSON.stringify([...this.z]);
  }

  private refresh(): Promise<void> {
    return this.main.request(async () => {
      const z = Float32Array.from(this.z);
      const canvas = $<HTMLCanvasElement>("decoded");
      paint(canvas, await this.model.decode(z, 1, this.label), this.model.shape);
      canvas.dataset.z = JSON.stringify([...z]); // what it shows (tests compare it with Node's decoder)
      canvas.dataset.label = String(this.label);
    });
  }

  private scheduleGrid(delay = 150): void {
    clearTimeout(this.gridTimer);
    this.gridTimer = setTimeout(() => void this.refreshGrid(), delay);
  }

  /** Decodes a GRID × GRID lattice of the pad's plane (cell centres), the other dimensions held. */
  private refreshGrid(): Promise<void> {
    return this.grid.request(async () => {
      const [i, j] = this.dims;
      const r = this.pad.range;
      const n = j >= 0 ? GRID * GRID : GRID;
      const zs = new Float32Array(n * this.d);
      for (let q = 0; q < n; q++) {
        zs.set(this.z, q * this.d);
        zs[q * this.d + i] = -r + ((q % GRID) + 0.5) * (2 * r / GRID);
        if (j >= 0) zs[q * this.d + j] = r - (Math.floor(q / GRID) + 0.5) * (2 * r / GRID);
      }
      const imgs = await this.model.decode(zs, n, this.label);
      const [, H, W] = this.model.shape;
      const rows = j >= 0 ? GRID : 1;
      const canvas = document.createElement("canvas");
      canvas.width = GRID * W;
      canvas.height = rows * H;
      const ctx = canvas.getContext("2d")!;
      for (let q = 0; q < n; q++) drawImageAt(ctx, imgs, this.model.shape, q, (q % GRID) * W, Math.floor(q / GRID) * H, W, H);
      this.pad.setBackground(canvas);
    });
  }

  /** STRIP decoded points on the segment from A to B. */
  private refreshStrip(): Promise<void> {
    const { a, b } = this;
    if (!a || !b) return Promise.resolve();
    return this.strip.request(async () => {
      const zs = new Float32Array(STRIP * this.d);
      for (let q = 0; q < STRIP; q++) {
        const t = q / (STRIP - 1);
        for (let k = 0; k < this.d; k++) zs[q * this.d + k] = (1 - t) * a[k] + t * b[k];
      }
      const imgs = await this.model.decode(zs, STRIP, this.label);
      const canvas = $<HTMLCanvasElement>("strip");
      const ctx = canvas.getContext("2d")!;
      const w = canvas.width / STRIP;
      for (let q = 0; q < STRIP; q++) drawImageAt(ctx, imgs, this.model.shape, q, q * w, 0, w, canvas.height);
      canvas.dataset.renders = String(Number(canvas.dataset.renders ?? 0) + 1);
    });
  }

  /**
   * The drawing as the model sees it, its code (a point on the pad) and its reconstruction. #reconstruction
   * counts requests and finished ones in data-requested / data-done (the last request finishes last).
   */
  private encodeDrawing(): void {
    if (!this.sketch) return;
    const x = drawingToInput(this.sketch.canvas, this.model.shape, !this.sketch.fromImage);
    paint($<HTMLCanvasElement>("input-view"), x, this.model.shape);
    const recon = $<HTMLCanvasElement>("reconstruction");
    const ticket = String(Number(recon.dataset.requested ?? 0) + 1);
    recon.dataset.requested = ticket;
    void this.encoder.request(async () => {
      if (!x.some((v) => v > 0)) {
        recon.getContext("2d")!.clearRect(0, 0, recon.width, recon.height);
        this.drawn = undefined;
        this.sync();
      } else if (!this.explorable) {
        paint(recon, await this.model.reconstruct(x, this.label), this.model.shape);
      } else {
        const code = await this.model.encode(x, this.label);
        paint(recon, await this.model.decode(code, 1, this.label), this.model.shape);
        this.drawn = code;
        this.setCode(code, true);
      }
      recon.dataset.done = ticket;
    });
  }
}
