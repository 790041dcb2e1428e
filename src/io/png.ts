// PNG images on fast-png, and folders of them as a data set. Pixels cross this module as 8-bit
// interleaved bytes (row-major, [H, W, C]); readPngFolder returns float32 [N, C, H, W] in [0, 1].
import * as fs from "node:fs";
import * as path from "node:path";
import { decode, encode, convertIndexedToRgb } from "fast-png";
import { LatentkitError, fileError } from "./errors.js";
import { checkLimit } from "./limits.js";
import { writeFileAtomic } from "./atomic.js";

/** An 8-bit image: `data` is [height, width, channels] interleaved. Channels: 1 grey, 2 grey+alpha,
 * 3 RGB, 4 RGBA. */
export interface Image { width: number; height: number; channels: 1 | 2 | 3 | 4; data: Uint8Array }

export interface PngFolder {
  /** [N, C, H, W] values in [0, 1]. */
  images: Float32Array;
  shape: [number, number, number, number];
  /** The image files in the order of `images`. */
  files: string[];
  /** When the folder has sub-folders: the index of each image's sub-folder in `labelNames`. */
  labels?: Int32Array;
  labelNames?: string[];
}

/** PNG bytes of an 8-bit image. */
export function encodePng(img: { width: number; height: number; channels: 1 | 2 | 3 | 4; data: Uint8Array }): Uint8Array {
  const { width, height, channels, data } = img;
  if (![1, 2, 3, 4].includes(channels)) throw new Error(`encodePng: ${channels} channels (1, 2, 3 or 4)`);
  if (data.length !== width * height * channels)
    throw new Error(`encodePng: ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`);
  return encode({ width, height, channels, depth: 8, data });
}

/** Decodes PNG bytes to 8 bits per channel (16-bit scaled down, palette and 1/2/4-bit grey expanded).
 * `name` (a file name) is what error messages call the bytes. */
export function decodePng(bytes: Uint8Array, name = "PNG data"): Image {
  // The size from the IHDR chunk (bytes 16-23), bounded before fast-png allocates anything.
  if (bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 24);
    const w = view.getUint32(16, false), h = view.getUint32(20, false);
    checkLimit("LATENTKIT_MAX_IMAGE_PIXELS", w * h, name, `a ${w}x${h} image (${w * h} pixels)`);
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new LatentkitError(`${name}: not a valid PNG image (${(e as Error).message})`);
  }
  const { width, height, depth } = png;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    return { width, height, channels: png.palette[0].length === 4 ? 4 : 3, data: rgb };
  }
  const channels = png.channels as Image["channels"];
  const n = width * height * channels;
  let data: Uint8Array;
  if (depth === 8) data = png.data as Uint8Array;
  else if (depth === 16) {
    data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.round(png.data[i] / 257);
  } else {
    // 1, 2 or 4-bit grey: rows packed most significant bits first, each row starting on a byte.
    data = new Uint8Array(n);
    const perByte = 8 / depth;
    const rowBytes = Math.ceil(width / perByte);
    const max = (1 << depth) - 1;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const byte = png.data[y * rowBytes + Math.floor(x / perByte)];
        const v = (byte >> (8 - depth * ((x % perByte) + 1))) & max;
        data[y * width + x] = Math.round((v * 255) / max);
      }
  }
  return { width, height, channels, data };
}

/** Writes an 8-bit image as a PNG file, atomically. */
export function writePng(file: string, img: Image): void {
  writeFileAtomic(file, encodePng(img));
}

/** Reads a PNG file (see decodePng). */
export function readPng(file: string): Image {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw fileError(file, e);
  }
  return decodePng(bytes, file);
}

/** A folder of PNG images as a data set. With sub-folders, each sub-folder is a label: names sorted
 * (by code point, like torchvision's ImageFolder) and numbered 0..L-1; images directly in `dir` are
 * then an error. Files are taken in sorted name order; names starting with "." and files that are
 * not .png are ignored. Greyscale images give C = 1; if any image has colour, all give C = 3 (grey
 * repeated). Alpha is composited over black (value * alpha), so transparent pixels are 0. All images
 * must have the same size. */
export function readPngFolder(dir: string): PngFolder {
  const { direct, subfolders } = listFolder(dir);
  let files: string[];
  let labels: Int32Array | undefined;
  let labelNames: string[] | undefined;
  if (subfolders.length > 0) {
    if (direct.length > 0)
      throw new LatentkitError(`${dir}: has both images (${path.basename(direct[0])}) and sub-folders (${subfolders[0]}); put every image in a label sub-folder, or remove the sub-folders`);
    labelNames = subfolders;
    const perLabel = subfolders.map((name) => {
      const sub = path.join(dir, name);
      const inner = listFolder(sub).direct;
      if (inner.length === 0) throw new LatentkitError(`${sub}: no PNG images (each sub-folder of ${dir} is a label and needs at least one)`);
      return inner;
    });
    files = perLabel.flat();
    labels = Int32Array.from(perLabel.flatMap((inner, label) => inner.map(() => label)));
  } else {
    files = direct;
    if (files.length === 0) throw new LatentkitError(`${dir}: no PNG images found`);
  }

  const decoded: { file: string; img: Image }[] = [];
  for (const file of files) {
    const img = readPng(file);
    const first = decoded[0];
    if (first && (img.width !== first.img.width || img.height !== first.img.height))
      throw new LatentkitError(`${file} is ${img.width}x${img.height} but ${first.file} is ${first.img.width}x${first.img.height}: all images in ${dir} must be the same size`);
    decoded.push({ file, img });
  }
  const { width: W, height: H } = decoded[0].img;
  const C = decoded.some(({ img }) => img.channels >= 3) ? 3 : 1;
  const N = decoded.length;
  const images = new Float32Array(N * C * H * W);
  decoded.forEach(({ img }, n) => toPlanar(img, C, images.subarray(n * C * H * W, (n + 1) * C * H * W)));
  return { images, shape: [N, C, H, W], files, ...(labels && { labels, labelNames }) };
}

/** An interleaved 8-bit image as C planes of floats in [0, 1], alpha composited over black. */
function toPlanar(img: Image, C: 1 | 3, out: Float32Array): void {
  const { channels: k, data } = img;
  const hw = img.width * img.height;
  const colour = k >= 3;
  const alpha = k === 2 || k === 4;
  for (let p = 0; p < hw; p++) {
    const a = alpha ? data[p * k + k - 1] / 255 : 1;
    for (let c = 0; c < C; c++) {
      // Grey repeated into colour images; colour images are never read into C = 1.
      const v = data[p * k + (colour ? c : 0)];
      out[c * hw + p] = (v / 255) * a;
    }
  }
}

function listFolder(dir: string): { direct: string[]; subfolders: string[] } {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fileError(dir, e);
  }
  const direct: string[] = [];
  const subfolders: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith(".")) continue;
    const full = path.join(dir, e.name);
    const isDir = e.isDirectory() || (e.isSymbolicLink() && statIsDir(full));
    if (isDir) subfolders.push(e.name);
    else if (/\.png$/i.test(e.name)) direct.push(full);
  }
  return { direct, subfolders };
}

function statIsDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
