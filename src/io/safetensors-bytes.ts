// The safetensors format (https://github.com/huggingface/safetensors), byte-compatible with the
// Python library:
//   [8 bytes: header length N, little-endian u64][N bytes: JSON header][data buffer]
//   header = {"__metadata__"?: {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}
// Offsets are relative to the data buffer; tensors are little-endian, C order, packed without gaps.
// Written like the Python library writes it: tensors sorted by dtype (widest first) then name,
// compact JSON padded with spaces to a multiple of 8 bytes, so every tensor is aligned.
// Read defensively: every length and offset is checked against the file before anything is
// allocated, so a truncated or hostile file fails with one line naming it.
//
// This module is the format itself, on bytes, with no Node imports (the web explorer bundles it);
// safetensors.ts adds the file reader and writer and re-exports everything here.
import { LatentkitError } from "./errors.js";

/** The Python library's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

// Bytes per element and the typed array that holds each dtype. F16/BF16 are held as their raw
// 16-bit patterns (Uint16Array); toFloat32 decodes them. Listed narrowest first: this is the order
// of the Python library's Dtype enum, which sets the order of tensors in a written file.
const DTYPES = {
  BOOL: { size: 1, array: Uint8Array },
  U8: { size: 1, array: Uint8Array },
  I8: { size: 1, array: Int8Array },
  I16: { size: 2, array: Int16Array },
  U16: { size: 2, array: Uint16Array },
  F16: { size: 2, array: Uint16Array },
  BF16: { size: 2, array: Uint16Array },
  I32: { size: 4, array: Int32Array },
  U32: { size: 4, array: Uint32Array },
  F32: { size: 4, array: Float32Array },
  F64: { size: 8, array: Float64Array },
  I64: { size: 8, array: BigInt64Array },
  U64: { size: 8, array: BigUint64Array },
} as const;

export type Dtype = keyof typeof DTYPES;
export type TensorData =
  | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
/** One tensor: `data` is flat, C order, of the typed array that matches `dtype`. */
export interface Tensor { dtype: Dtype; shape: number[]; data: TensorData }
export type Tensors = Record<string, Tensor>;
export interface Safetensors { tensors: Tensors; metadata: Record<string, string> }

const DTYPE_ORDER = Object.keys(DTYPES) as Dtype[];
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The file as bytes: header, then the tensors in the Python library's order. */
export function encodeSafetensors(tensors: Tensors, metadata?: Record<string, string>): Uint8Array {
  const { header, order } = layout(tensors, metadata);
  const out = new Uint8Array(header.byteLength + order.reduce((n, [, t]) => n + t.data.byteLength, 0));
  out.set(header, 0);
  let at = header.byteLength;
  for (const [, t] of order) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; `name` (a file name) is what error messages call them. Tensors are
 * copied out, so they do not share memory with `bytes`. */
export function decodeSafetensors(bytes: Uint8Array, name = "safetensors data"): Safetensors {
  const n = headerLength(bytes.subarray(0, 8), bytes.byteLength, name);
  const { entries, metadata } = parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, name);
  const start = 8 + n;
  const tensors: [string, Tensor][] = entries.map((e) => {
    const data = allocate(e.dtype, e.end - e.begin);
    bytesOf(data).set(bytes.subarray(start + e.begin, start + e.end));
    return [e.name, { dtype: e.dtype, shape: e.shape, data }];
  });
  return { tensors: Object.fromEntries(tensors), metadata };
}

/** The values of a tensor of any dtype as float32 (F16 and BF16 decoded from their bit patterns;
 * an F32 tensor's own array is returned, not a copy). */
export function toFloat32(t: Tensor): Float32Array {
  const d = t.data;
  if (t.dtype === "F32") return d as Float32Array;
  if (t.dtype === "BF16") {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(d.length);
    for (let i = 0; i < d.length; i++) bits[i] = (d as Uint16Array)[i] << 16;
    return new Float32Array(bits.buffer);
  }
  const out = new Float32Array(d.length);
  if (t.dtype === "F16") for (let i = 0; i < d.length; i++) out[i] = halfToFloat((d as Uint16Array)[i]);
  else for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

// ---- layout and validation -------------------------------------------------------------------

/** The header bytes and the tensors in the order they are written (for writeSafetensors too). */
export function layout(tensors: Tensors, metadata: Record<string, string> | undefined, file = "safetensors") {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: big-endian hosts are not supported");
  const order = Object.entries(tensors);
  for (const [name, t] of order) checkTensor(name, t, file);
  // The Python library's order: dtype descending (widest first), then name by bytes.
  order.sort(([a, ta], [b, tb]) =>
    DTYPE_ORDER.indexOf(tb.dtype) - DTYPE_ORDER.indexOf(ta.dtype) || compareBytes(UTF8.encode(a), UTF8.encode(b)));
  // (The Python library writes metadata in hash order; sorted keys make ours reproducible.)
  const json: [string, unknown][] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== "string") throw new LatentkitError(`${file}: metadata "${k}" must be a string`);
    json.push(["__metadata__", Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]);
  }
  let offset = 0;
  for (const [name, t] of order) {
    json.push([name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] }]);
    offset += t.data.byteLength;
  }
  const body = UTF8.encode(JSON.stringify(Object.fromEntries(json)));
  const header = new Uint8Array(8 + Math.ceil(body.byteLength / 8) * 8).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(header.byteLength - 8), true);
  header.set(body, 8);
  return { header, order };
}

function checkTensor(name: string, t: Tensor, file: string): void {
  if (name === "__metadata__") throw new LatentkitError(`${file}: "__metadata__" cannot be a tensor name`);
  const spec = DTYPES[t.dtype as Dtype];
  if (!spec) throw new LatentkitError(`${file}: tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}`);
  if (!(t.data instanceof spec.array))
    throw new LatentkitError(`${file}: tensor "${name}": dtype ${t.dtype} needs a ${spec.array.name}, got ${t.data?.constructor?.name}`);
  if (!Array.isArray(t.shape) || !t.shape.every((s) => Number.isSafeInteger(s) && s >= 0))
    throw new LatentkitError(`${file}: tensor "${name}": shape ${JSON.stringify(t.shape)} is not a list of sizes`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count !== t.data.length)
    throw new LatentkitError(`${file}: tensor "${name}": shape [${t.shape}] has ${count} elements but the data has ${t.data.length}`);
}

/** The header's length from the file's first 8 bytes, checked against the file's `size`. */
export function headerLength(first8: Uint8Array, size: number, name: string): number {
  if (size < 8) throw new LatentkitError(`${name}: truncated: ${size} bytes, too short to be a safetensors file`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    throw new LatentkitError(`${name}: header length ${n} is over the limit of ${MAX_HEADER_BYTES} bytes (not a safetensors file?)`);
  if (n > BigInt(size - 8))
    throw new LatentkitError(`${name}: header length ${n} is larger than the file (${size} bytes): truncated or not a safetensors file`);
  if (n < 2n) throw new LatentkitError(`${name}: header length ${n} is too small for a JSON header`);
  return Number(n);
}

export interface Entry { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }

/** The header's tensors (validated: they tile the data buffer of `dataLength` bytes) and metadata. */
export function parseHeader(bytes: Uint8Array, dataLength: number, file: string): { entries: Entry[]; metadata: Record<string, string> } {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: big-endian hosts are not supported");
  let json: unknown;
  try {
    if (bytes[0] !== 0x7b) throw new Error("no '{'");
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new LatentkitError(`${file}: the header is not a JSON object (not a safetensors file?)`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new LatentkitError(`${file}: the header is not a JSON object (not a safetensors file?)`);
  const metadata: [string, string][] = [];
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    const where = `${file}: tensor "${name}"`;
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object" || Array.isArray(info))
        throw new LatentkitError(`${file}: "__metadata__" is not an object of strings`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") throw new LatentkitError(`${file}: "__metadata__" value "${k}" is not a string`);
        metadata.push([k, v]);
      }
      continue;
    }
    if (info === null || typeof info !== "object") throw new LatentkitError(`${where}: the header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype))
      throw new LatentkitError(`${where}: unknown or unsupported dtype ${JSON.stringify(dtype)} (supported: ${DTYPE_ORDER.join(", ")})`);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw new LatentkitError(`${where}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      throw new LatentkitError(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of byte offsets`);
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength)
      throw new LatentkitError(`${where}: data_offsets [${begin}, ${end}] are outside the data buffer (${dataLength} bytes): truncated or corrupt file`);
    // The product may overflow 2^53 only for shapes far larger than any file; it then cannot match.
    const nbytes = shape.reduce((a: number, b: number) => a * b, 1) * DTYPES[dtype as Dtype].size;
    if (nbytes !== end - begin)
      throw new LatentkitError(`${where}: shape [${shape}] of ${dtype} needs ${nbytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    entries.push({ name, dtype: dtype as Dtype, shape: shape as number[], begin, end });
  }
  // Like the Python library: the tensors tile the data buffer exactly, no overlaps and no gaps.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of byOffset) {
    if (e.begin < at)
      throw new LatentkitError(`${file}: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap another tensor's`);
    if (e.begin > at)
      throw new LatentkitError(`${file}: bytes ${at}..${e.begin} of the data buffer belong to no tensor: corrupt file`);
    at = e.end;
  }
  if (at !== dataLength)
    throw new LatentkitError(`${file}: the data buffer has ${dataLength} bytes but the tensors use ${at}: corrupt file`);
  return { entries, metadata: Object.fromEntries(metadata) };
}

// ---- bytes -----------------------------------------------------------------------------------

const UTF8 = new TextEncoder();

/** Byte-wise order of two byte strings (Buffer.compare without Node). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function allocate(dtype: Dtype, nbytes: number): TensorData {
  const { size, array } = DTYPES[dtype];
  return new array(nbytes / size);
}

export function bytesOf(d: TensorData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** IEEE 754 half precision bits -> number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
