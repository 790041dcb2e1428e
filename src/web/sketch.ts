// The drawing canvas: white ink on black (like MNIST), drawn with the pointer or dropped in as an
// image file. Calls `onChange` while drawing (at most every 80 ms) and when a stroke ends.

export class Sketch {
  /** Whether the canvas holds an opened image (already framed like the data) rather than strokes. */
  fromImage = false;
  private last?: [number, number];
  private timer?: ReturnType<typeof setTimeout>;

  constructor(readonly canvas: HTMLCanvasElement, private readonly onChange: () => void) {
    this.clear(false);
    const at = (e: PointerEvent): [number, number] => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
    };
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = at(e);
      this.stroke(this.last, this.last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.last) return;
      const p = at(e);
      this.stroke(this.last, p);
      this.last = p;
      this.changedSoon();
    });
    const end = () => {
      if (!this.last) return;
      this.last = undefined;
      this.changed();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("dragover", (e) => e.preventDefault());
    canvas.addEventListener("drop", (e) => {
      e.preventDefault();
      const file = e.dataTransfer?.files[0];
      if (file) void this.drawFile(file);
    });
  }

  clear(notify = true): void {
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true })!;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.fromImage = false;
    if (notify) this.changed();
  }

  /** An image file, fitted into the canvas; a light background is inverted to white-on-black. */
  async drawFile(file: Blob): Promise<void> {
    const bitmap = await createImageBitmap(file);
    const { width: w, height: h } = this.canvas;
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true })!;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const s = Math.min(w / bitmap.width, h / bitmap.height);
    const [bw, bh] = [Math.max(1, Math.round(bitmap.width * s)), Math.max(1, Math.round(bitmap.height * s))];
    const [x, y] = [Math.floor((w - bw) / 2), Math.floor((h - bh) / 2)];
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(bitmap, x, y, bw, bh);
    bitmap.close();
    const img = ctx.getImageData(x, y, bw, bh);
    if (borderBrightness(img) > 0.5) {
      for (let i = 0; i < img.data.length; i += 4) for (let k = 0; k < 3; k++) img.data[i + k] = 255 - img.data[i + k];
      ctx.putImageData(img, x, y);
    }
    this.fromImage = true;
    this.changed();
  }

  private stroke([x0, y0]: [number, number], [x1, y1]: [number, number]): void {
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true })!;
    ctx.strokeStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = this.canvas.width / 13;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1 + 0.01, y1);
    ctx.stroke();
  }

  private changedSoon(): void {
    this.timer ??= setTimeout(() => this.changed(), 80);
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.onChange();
  }
}

/** Mean brightness in [0, 1] of the outermost pixels (to tell dark-on-light images). */
function borderBrightness(img: ImageData): number {
  const { width: w, height: h, data } = img;
  let sum = 0, n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (x > 0 && y > 0 && x < w - 1 && y < h - 1) continue;
      const i = 4 * (y * w + x);
      sum += (data[i] + data[i + 1] + data[i + 2]) / 765;
      n++;
    }
  }
  return sum / n;
}
