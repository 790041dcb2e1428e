// sprites: the built-in data set, in the spirit of dSprites (Matthey et al. 2017). Binary 28x28 images of
// one white shape on black, one image per point of a grid of known factors
//   shape (4) x scale (4) x rotation (10) x x (8) x y (8) = 10,240 images,
// so disentanglement metrics can compare latents with the true factors. No download, ~0.1 s to draw.
//
// Drawing: a pixel is on iff its centre lies inside the shape (no anti-aliasing). A shape lives in unit
// coordinates inside the unit circle; it is rotated by theta (counter-clockwise), scaled to radius r
// pixels and centred at (x, y). Centres keep >= 0.5 px between the circle of the largest shape and the
// frame, so every rotation of every shape stays inside.
import { makeSplit, gatherSplit, type Dataset, type FactorInfo, type ImageShape } from "./dataset.js";
import { permutation } from "./prng.js";

export const SPRITE_SIZE = 28;
export const SPRITE_SHAPES = ["square", "ellipse", "heart", "triangle"] as const;

const R_MAX = 6.5; // radius of the largest shape's bounding circle, px
const LO = R_MAX + 0.5, HI = SPRITE_SIZE - R_MAX - 0.5; // centres in [7, 21]
const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

/** The factor grid: names, sizes and values (scale and x, y in pixels; rotation in radians). */
export const SPRITES_FACTORS: FactorInfo = {
  names: ["shape", "scale", "rotation", "x", "y"],
  sizes: [4, 4, 10, 8, 8],
  values: [
    [0, 1, 2, 3], // index into SPRITE_SHAPES
    linspace(3.5, R_MAX, 4), // bounding-circle radius, px
    Array.from({ length: 10 }, (_, i) => (2 * Math.PI * i) / 10),
    linspace(LO, HI, 8), // centre column (pixel edges at integers; 0 = left edge)
    linspace(LO, HI, 8), // centre row (0 = top edge)
  ],
};

/** Share of the grid in train / valid / test; the rest of the permutation order decides membership. */
export const SPRITES_SPLIT = { train: 0.8, valid: 0.1 } as const;
const SPLIT_SALT = 0x5b1735;

// Heart: two discs of radius 0.4 centred at (+-0.4, 0.4) (touching at the cleft, 0.4 deep) over a kite
// with its point at (0, -0.8) whose sides are tangent to the discs at (+-0.72, 0.16). Top 0.8, bottom -0.8,
// farthest point 0.97 from the centre.
const inHeart = (u: number, v: number): boolean => {
  const a = Math.abs(u);
  return (a - 0.4) ** 2 + (v - 0.4) ** 2 <= 0.16 || (4 * a <= 3 * v + 2.4 && 3 * v <= 1.2 - a);
};
const SQUARE_HALF = Math.SQRT1_2; // corners on the unit circle
const TRI_NORMALS = [270, 30, 150].map((deg) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]);

/** Whether the unit-coordinate point (u, v) (v up) lies inside shape s. */
function inside(s: number, u: number, v: number): boolean {
  switch (s) {
    case 0:
      return Math.abs(u) <= SQUARE_HALF && Math.abs(v) <= SQUARE_HALF;
    case 1:
      return u * u + 4 * v * v <= 1; // semi-axes 1 and 0.5
    case 2:
      return inHeart(u, v);
    default: // equilateral triangle inscribed in the unit circle, apex up: inradius 0.5
      return TRI_NORMALS.every(([nx, ny]) => u * nx + v * ny <= 0.5);
  }
}

/** Draws one sprite into `out` (28*28 values, 0 or 1) at the given offset. */
export function drawSprite(out: Uint8Array, offset: number, shape: number, r: number, theta: number, cx: number, cy: number): void {
  const c = Math.cos(theta), s = Math.sin(theta);
  const i0 = Math.max(0, Math.floor(cy - r)), i1 = Math.min(SPRITE_SIZE - 1, Math.ceil(cy + r));
  const j0 = Math.max(0, Math.floor(cx - r)), j1 = Math.min(SPRITE_SIZE - 1, Math.ceil(cx + r));
  for (let i = i0; i <= i1; i++) {
    const dy = cy - (i + 0.5); // up is positive
    for (let j = j0; j <= j1; j++) {
      const dx = j + 0.5 - cx;
      // rotate the pixel by -theta into the shape's frame, then unscale
      const u = (dx * c + dy * s) / r, v = (-dx * s + dy * c) / r;
      if (inside(shape, u, v)) out[offset + i * SPRITE_SIZE + j] = 1;
    }
  }
}

export interface SpritesGrid {
  /** [N, 28*28] in grid order, values 0 or 1. */
  images: Uint8Array;
  /** [N, 5] factor indices (shape, scale, rotation, x, y). */
  factors: Int32Array;
  n: number;
}

/** Every grid point, in row-major factor order (shape slowest, y fastest). Deterministic. */
export function generateSpritesGrid(): SpritesGrid {
  const [S, K, R, X, Y] = SPRITES_FACTORS.sizes;
  const [, scales, rots, xs, ys] = SPRITES_FACTORS.values;
  const n = S * K * R * X * Y, d = SPRITE_SIZE * SPRITE_SIZE;
  const images = new Uint8Array(n * d);
  const factors = new Int32Array(n * 5);
  let idx = 0;
  for (let sh = 0; sh < S; sh++)
    for (let k = 0; k < K; k++)
      for (let ro = 0; ro < R; ro++)
        for (let xi = 0; xi < X; xi++)
          for (let yi = 0; yi < Y; yi++, idx++) {
            drawSprite(images, idx * d, sh, scales[k], rots[ro], xs[xi], ys[yi]);
            factors.set([sh, k, ro, xi, yi], idx * 5);
          }
  return { images, factors, n };
}

/**
 * The sprites Dataset. Splits: a permutation of the grid drawn from `seed` (default 0, so every run sees
 * the same test set) gives train its first 80% (8,192), valid the next 10% (1,024), test the rest (1,024).
 * Labels are the shape index (labelNames = SPRITE_SHAPES); `factors` holds all five factor indices.
 */
export function spritesDataset(opts: { seed?: number } = {}): Dataset {
  const seed = opts.seed ?? 0;
  const grid = generateSpritesGrid();
  const imageShape: ImageShape = [1, SPRITE_SIZE, SPRITE_SIZE];
  const labels = new Int32Array(grid.n);
  for (let i = 0; i < grid.n; i++) labels[i] = grid.factors[i * 5];
  const all = makeSplit(grid.images, imageShape, { labels, factors: grid.factors });
  const order = permutation(grid.n, seed, SPLIT_SALT);
  const nTrain = Math.round(grid.n * SPRITES_SPLIT.train), nValid = Math.round(grid.n * SPRITES_SPLIT.valid);
  // keep each split in grid order, so its rows read as a factor sweep
  const part = (a: number, b: number) => gatherSplit(all, order.slice(a, b).sort());
  return {
    name: "sprites",
    source: "(built-in)",
    imageShape,
    numClasses: SPRITE_SHAPES.length,
    labelNames: [...SPRITE_SHAPES],
    factors: SPRITES_FACTORS,
    binary: true,
    splits: { train: part(0, nTrain), valid: part(nTrain, nTrain + nValid), test: part(nTrain + nValid, grid.n) },
  };
}

/** Split sizes without drawing anything (for `datasets --json`). */
export function spritesSplitSizes(): { train: number; valid: number; test: number } {
  const n = SPRITES_FACTORS.sizes.reduce((a, b) => a * b, 1);
  const train = Math.round(n * SPRITES_SPLIT.train), valid = Math.round(n * SPRITES_SPLIT.valid);
  return { train, valid, test: n - train - valid };
}
