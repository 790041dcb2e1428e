// Images between the model and the page: model images (flat [C, H, W] in [0, 1]) drawn on canvases,
// and a drawing canvas turned into a model input.

export type Shape = [number, number, number]; // [C, H, W]

/** One model image (at `offset` in `values`) as ImageData: gray for C = 1, RGB for C = 3. */
export function toImageData(values: Float32Array, [C, H, W]: Shape, offset = 0): ImageData {
  const img = new ImageData(W, H);
  const plane = H * W;
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) {
      const v = values[offset + (C === 1 ? 0 : Math.min(k, C - 1)) * plane + p];
      img.data[4 * p + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    img.data[4 * p + 3] = 255;
  }
  return img;
}

/** A canvas of the image's own size holding it (to be scaled by drawImage). */
function small(values: Float32Array, shape: Shape, offset: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = shape[2];
  c.height = shape[1];
  c.getContext("2d")!.putImageData(toImageData(values, shape, offset), 0, 0);
  return c;
}

/** Draws image `index` of `values` into the rectangle (x, y, w, h) of `ctx`, unsmoothed (pixels stay square). */
export function drawImageAt(ctx: CanvasRenderingContext2D, values: Float32Array, shape: Shape, index: number,
  x: number, y: number, w: number, h: number): void {
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small(values, shape, index * shape[0] * shape[1] * shape[2]), x, y, w, h);
}

/** Fills `canvas` with one image and counts the renders in data-renders (tests wait on it). */
export function paint(canvas: HTMLCanvasElement, values: Float32Array, shape: Shape, index = 0): void {
  drawImageAt(canvas.getContext("2d")!, values, shape, index, 0, 0, canvas.width, canvas.height);
  canvas.dataset.renders = String(Number(canvas.dataset.renders ?? 0) + 1);
}

/**
 * A drawing as a model input [C, H, W] in [0, 1]. With `frame`, framed like MNIST digits: the ink's
 * bounding box scaled so its longer side is 20/28 of the image, placed with its centre of mass at
 * the centre; without, the whole canvas scaled down (an opened image is framed like its data set
 * already). Without ink, all zeros.
 */
export function drawingToInput(src: HTMLCanvasElement, [C, H, W]: Shape, frame = true): Float32Array {
  const sw = src.width, sh = src.height;
  const rgba = src.getContext("2d")!.getImageData(0, 0, sw, sh).data;
  let mass = 0, mx = 0, my = 0, x0 = sw, y0 = sh, x1 = -1, y1 = -1;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const i = 4 * (y * sw + x);
      const v = (rgba[i] + rgba[i + 1] + rgba[i + 2]) / 765;
      if (v <= 0.05) continue;
      mass += v;
      mx += v * x;
      my += v * y;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  const out = new Float32Array(C * H * W);
  if (mass === 0) return out;
  const dst = document.createElement("canvas");
  dst.width = W;
  dst.height = H;
  const ctx = dst.getContext("2d")!;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, W, H);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  if (frame) {
    const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    const s = (20 / 28) * Math.min(H, W) / Math.max(bw, bh);
    ctx.drawImage(src, x0, y0, bw, bh, W / 2 - (mx / mass - x0) * s, H / 2 - (my / mass - y0) * s, bw * s, bh * s);
  } else {
    ctx.drawImage(src, 0, 0, sw, sh, 0, 0, W, H);
  }
  const px = ctx.getImageData(0, 0, W, H).data;
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < C; c++) {
      out[c * H * W + p] = C === 1 ? (px[4 * p] + px[4 * p + 1] + px[4 * p + 2]) / 765 : px[4 * p + Math.min(c, 2)] / 255;
    }
  }
  return out;
}
