// The latent pad: a square of the plane of two latent dimensions, [-R, R]², x to the right and y
// up. Moving the pointer over it (or dragging) picks the point to decode; behind the marks, a grid
// of decoded images maps the plane.

export type Point = [number, number];
export type Marks = { a?: Point; b?: Point; drawn?: Point };

export class LatentPad {
  range = 3;
  point: Point = [0, 0];
  marks: Marks = {};
  private background?: HTMLCanvasElement;

  constructor(readonly canvas: HTMLCanvasElement, private readonly onMove: (p: Point) => void) {
    const pick = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
      const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
      this.point = [(2 * x - 1) * this.range, (1 - 2 * y) * this.range];
      this.render();
      this.onMove(this.point);
    };
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      pick(e);
    });
    canvas.addEventListener("pointermove", pick);
  }

  /** The grid of decoded images behind the marks (cells in the pad's own orientation), or none. */
  setBackground(grid?: HTMLCanvasElement): void {
    this.background = grid;
    this.render();
  }

  /** Canvas pixels of a latent point. */
  private toCanvas([x, y]: Point): Point {
    const { width: w, height: h } = this.canvas;
    return [((x / this.range + 1) / 2) * w, ((1 - y / this.range) / 2) * h];
  }

  render(): void {
    const ctx = this.canvas.getContext("2d")!;
    const { width: w, height: h } = this.canvas;
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, w, h);
    if (this.background) {
      ctx.globalAlpha = 0.55;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.background, 0, 0, w, h);
      ctx.globalAlpha = 1;
    }
    // unit grid lines, axes brighter
    ctx.lineWidth = 1;
    for (let v = -Math.floor(this.range); v <= this.range; v++) {
      ctx.strokeStyle = v === 0 ? "rgba(255,255,255,0.5)" : "rgba(255,255,255,0.12)";
      const [gx, gy] = this.toCanvas([v, v]);
      line(ctx, [gx, 0], [gx, h]);
      line(ctx, [0, gy], [w, gy]);
    }
    const { a, b, drawn } = this.marks;
    if (a && b) {
      ctx.strokeStyle = "#f5c542";
      ctx.setLineDash([5, 4]);
      line(ctx, this.toCanvas(a), this.toCanvas(b));
      ctx.setLineDash([]);
    }
    if (a) label(ctx, this.toCanvas(a), "A", "#f5c542");
    if (b) label(ctx, this.toCanvas(b), "B", "#f5c542");
    if (drawn) {
      const [x, y] = this.toCanvas(drawn);
      ctx.strokeStyle = "#4fc3f7";
      ctx.lineWidth = 2;
      ctx.strokeRect(x - 6, y - 6, 12, 12);
    }
    const [x, y] = this.toCanvas(this.point);
    ctx.fillStyle = "#ff5252";
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 6, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
}

function line(ctx: CanvasRenderingContext2D, [x0, y0]: Point, [x1, y1]: Point): void {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

function label(ctx: CanvasRenderingContext2D, [x, y]: Point, text: string, color: string): void {
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(x, y, 4, 0, 2 * Math.PI);
  ctx.fill();
  ctx.font = "bold 13px system-ui, sans-serif";
  ctx.fillText(text, x + 6, y - 6);
}
