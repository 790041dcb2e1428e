// Image grids: N images [N, C, H, W] in [0, 1] tiled into rows x cols cells separated (and framed) by
// a thin border, as 8-bit pixels; and the writer every picture command shares (.png grid, or the raw
// images as .npy float32 [N, C, H, W]).
import { extname } from "node:path";
import { LatentkitError } from "../io/errors.js";
import { encodePng, type Image } from "../io/png.js";
import { writeFileAtomic } from "../io/atomic.js";
import { writeNpy } from "../io/npy.js";

/** Images laid out for a picture: cell k sits at row floor(k / cols), column k % cols. */
export type Grid = {
  images: Float32Array; // [N, C, H, W] in [0, 1]
  shape: [n: number, c: number, h: number, w: number];
  rows: number;
  cols: number;
};

export type TileOptions = {
  border?: number; // pixels between cells and around the grid (default 1)
  borderValue?: number; // grey level of the border and of empty cells, in [0, 1] (default 0.5)
};

/** A grid of `images` with `cols` columns (rows as many as needed). */
export function makeGrid(images: Float32Array, shape: Grid["shape"], cols: number, rows?: number): Grid {
  const [n, c, h, w] = shape;
  if (images.length !== n * c * h * w) throw new Error(`makeGrid: ${images.length} values for shape [${shape}]`);
  const cc = Math.max(1, Math.min(cols, Math.max(n, 1)));
  return { images, shape, cols: cc, rows: rows ?? Math.max(1, Math.ceil(n / cc)) };
}

/** The size in pixels of a tiled grid: cells plus (cells + 1) borders each way. */
export function gridSize(grid: Grid, border = 1): { width: number; height: number } {
  const [, , h, w] = grid.shape;
  return { width: grid.cols * w + (grid.cols + 1) * border, height: grid.rows * h + (grid.rows + 1) * border };
}

/** v in [0, 1] -> round(255 v), clamped; NaN shows as 0. */
const toByte = (v: number) => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0);

/** The grid as one 8-bit image: grey (C = 1) or RGB (C = 3). */
export function tileGrid(grid: Grid, { border = 1, borderValue = 0.5 }: TileOptions = {}): Image {
  const [n, c, h, w] = grid.shape;
  if (c !== 1 && c !== 3) throw new LatentkitError(`cannot draw images with ${c} channels (1 grey or 3 RGB)`);
  const { width, height } = gridSize(grid, border);
  const data = new Uint8Array(width * height * c).fill(toByte(borderValue));
  const hw = h * w;
  for (let k = 0; k < Math.min(n, grid.rows * grid.cols); k++) {
    const top = border + Math.floor(k / grid.cols) * (h + border);
    const left = border + (k % grid.cols) * (w + border);
    const src = k * c * hw;
    for (let y = 0; y < h; y++) {
      const row = ((top + y) * width + left) * c;
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) data[row + x * c + ch] = toByte(grid.images[src + ch * hw + y * w + x]);
    }
  }
  return { width, height, channels: c as 1 | 3, data };
}

/** The PNG bytes of a grid. */
export function gridPng(grid: Grid, opts?: TileOptions): Uint8Array {
  return encodePng(tileGrid(grid, opts));
}

/** Writes a grid to `file`: a .png picture, or with .npy the images as float32 [N, C, H, W]. */
export function writeGrid(file: string, grid: Grid): void {
  const ext = extname(file).toLowerCase();
  if (ext === ".png") writeFileAtomic(file, gridPng(grid));
  else if (ext === ".npy") writeNpy(file, { shape: [...grid.shape], data: grid.images });
  else throw new LatentkitError(`--out ${file}: expected a .png or .npy file name`);
}
