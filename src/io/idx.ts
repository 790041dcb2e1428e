// The IDX format of MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian header
//   [0x00, 0x00, type, ndim][ndim x u32 sizes] then the values, C order,
// usually gzip-compressed. Images are 0x00000803 ([N, H, W] of uint8), labels 0x00000801 ([N]).
// Only the unsigned-byte type (0x08) is read; that is what every MNIST-family file uses.
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { LatentkitError, fileError } from "./errors.js";
import { checkLimit } from "./limits.js";
import { writeFileAtomic } from "./atomic.js";

export interface IdxArray { shape: number[]; data: Uint8Array }

const TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte", 0x09: "signed byte", 0x0b: "short", 0x0c: "int", 0x0d: "float", 0x0e: "double",
};

/** Parses IDX bytes, gzip-compressed or not (told apart by the gzip magic 1f 8b). */
export function decodeIdx(bytes: Uint8Array, name = "IDX data"): IdxArray {
  const raw = isGzip(bytes) ? gunzip(bytes, name) : bytes;
  if (raw.byteLength < 4) throw new LatentkitError(`${name}: truncated: ${raw.byteLength} bytes, too short for an IDX header`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0, false);
  const type = raw[2];
  const ndim = raw[3];
  if (raw[0] !== 0 || raw[1] !== 0 || !(type in TYPE_NAMES) || ndim === 0)
    throw new LatentkitError(`${name}: wrong magic number 0x${hex(magic)} (an IDX file starts with 0x000008NN, e.g. 0x00000803 for images, 0x00000801 for labels)`);
  if (type !== 0x08)
    throw new LatentkitError(`${name}: IDX values of type 0x${type.toString(16).padStart(2, "0")} (${TYPE_NAMES[type]}) are not supported; only unsigned bytes (0x08)`);
  const start = 4 + 4 * ndim;
  if (raw.byteLength < start)
    throw new LatentkitError(`${name}: truncated: the header of ${ndim} dimensions needs ${start} bytes, the file has ${raw.byteLength}`);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const have = raw.byteLength - start;
  if (count !== have) {
    const hint = have < count ? " (truncated file?)" : "";
    throw new LatentkitError(`${name}: dimensions ${shape.join(" x ")} make ${count} values but the file holds ${have}${hint}`);
  }
  return { shape, data: new Uint8Array(raw.buffer, raw.byteOffset + start, count) };
}

/** Reads an IDX file (.gz or not). */
export function readIdx(file: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw fileError(file, e);
  }
  return decodeIdx(bytes, file);
}

/** The IDX bytes of an unsigned-byte array; gzip-compressed when `gzip` is true. */
export function encodeIdx({ shape, data }: IdxArray, gzip = false): Uint8Array {
  if (shape.length < 1 || shape.length > 255 || !shape.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffffffff))
    throw new Error(`idx: shape [${shape}] cannot be written as IDX`);
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`idx: shape [${shape}] does not match ${data.length} values`);
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | shape.length, false);
  shape.forEach((s, i) => view.setUint32(4 + 4 * i, s, false));
  out.set(data, 4 + 4 * shape.length);
  return gzip ? new Uint8Array(zlib.gzipSync(out)) : out;
}

/** Writes an IDX file atomically; gzip-compressed when the name ends in .gz. */
export function writeIdx(file: string, array: IdxArray): void {
  writeFileAtomic(file, encodeIdx(array, file.endsWith(".gz")));
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzips IDX bytes header first: a prefix is inflated to read the header, whose dimensions say how
 * many bytes follow; that is checked against LATENTKIT_MAX_DATA_BYTES, and the whole is then inflated
 * with exactly that as its output bound (zlib collects the output as it comes, so a small file that
 * claims a huge array costs only what it really inflates to, and one that inflates past its claim is
 * stopped there). A header that is not IDX is left to decodeIdx to name.
 */
function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  const corrupt = (e: unknown) => new LatentkitError(`${name}: truncated or corrupt gzip data (${(e as Error).message})`);
  // 1 KiB of deflate inflates to at most ~1 MiB (the format's ratio is bounded by 1032:1).
  let head: Uint8Array;
  try {
    head = zlib.gunzipSync(bytes.subarray(0, 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 21 });
  } catch (e) {
    throw corrupt(e);
  }
  const ndim = head[3];
  if (!(head.length >= 4 && head[0] === 0 && head[1] === 0 && ndim > 0 && head.length >= 4 + 4 * ndim)) {
    // Not an IDX header: a corrupt gzip stream says so; otherwise decodeIdx names what is wrong.
    try {
      return zlib.gunzipSync(bytes, { maxOutputLength: 1 << 21 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return head;
      throw corrupt(e);
    }
  }
  const view = new DataView(head.buffer, head.byteOffset, 4 + 4 * ndim);
  let count = 1;
  for (let d = 0; d < ndim; d++) count *= view.getUint32(4 + 4 * d, false);
  checkLimit("LATENTKIT_MAX_DATA_BYTES", count, name, `the IDX header declares ${count} values, which`);
  const bound = 4 + 4 * ndim + count;
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: bound });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new LatentkitError(`${name}: decompresses to more than the ${bound} bytes its IDX header declares`);
    }
    throw corrupt(e);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
