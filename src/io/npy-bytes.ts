// NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
//   "\x93NUMPY" major minor, header length (u16 LE in v1.0, u32 LE in v2.0/3.0), a Python dict
//   literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a
//   newline so the data starts on a 64-byte boundary, then the raw data.
// Only little-endian C-order arrays of the dtypes below; anything else fails naming the file.
// Files are written exactly as numpy.save writes them. Bytes only here (the page uses it too); the
// files are npy.ts's.
import { LatentkitError } from "./errors.js";

const DTYPES = {
  "<f4": Float32Array,
  "<f8": Float64Array,
  "|u1": Uint8Array,
  "<i4": Int32Array,
} as const;

export type NpyDtype = keyof typeof DTYPES;
export type NpyData = Float32Array | Float64Array | Uint8Array | Int32Array;
export interface NpyArray { shape: number[]; data: NpyData }

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The numpy dtype string of a typed array ('<f4', '<f8', '|u1', '<i4'). */
export function npyDtypeOf(data: NpyData): NpyDtype {
  for (const [descr, ctor] of Object.entries(DTYPES)) if (data instanceof ctor) return descr as NpyDtype;
  throw new Error(`npy: no .npy dtype for ${(data as object)?.constructor?.name}`);
}

/** The .npy bytes of an array (C order; the dtype follows the typed array). */
export function encodeNpy({ shape, data }: NpyArray): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("npy: big-endian hosts are not supported");
  const descr = npyDtypeOf(data);
  if (!shape.every((s) => Number.isSafeInteger(s) && s >= 0) || shape.reduce((a, b) => a * b, 1) !== data.length)
    throw new Error(`npy: shape [${shape}] does not match ${data.length} elements`);
  // numpy.save's header, character for character (numpy/lib/format.py: _write_array_header): a
  // tuple repr of the shape, room for the first axis to grow to 21 digits, padding to 64 bytes.
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) header += " ".repeat(Math.max(0, 21 - String(shape[0]).length));
  // Version 1.0 unless the header outgrows its u16 length; numpy pads 1..64 spaces (never 0).
  let version = 1;
  let prefix = 10;
  let pad = ALIGN - ((prefix + header.length + 1) % ALIGN);
  if (header.length + 1 + pad > 0xffff) {
    version = 2;
    prefix = 12;
    pad = ALIGN - ((prefix + header.length + 1) % ALIGN);
  }
  header += " ".repeat(pad) + "\n";
  const out = new Uint8Array(prefix + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + header.length);
  return out;
}

/** Parses .npy bytes; `name` (a file name) is what error messages call them. */
export function decodeNpy(bytes: Uint8Array, name = "npy data"): NpyArray {
  if (!LITTLE_ENDIAN) throw new Error("npy: big-endian hosts are not supported");
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b))
    throw new LatentkitError(`${name}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new LatentkitError(`${name}: unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.byteLength < prefix) throw new LatentkitError(`${name}: truncated .npy header`);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (prefix + hlen > bytes.byteLength)
    throw new LatentkitError(`${name}: truncated: the header claims ${hlen} bytes but the file has ${bytes.byteLength - prefix} after the prefix`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(prefix, prefix + hlen));
  const { descr, fortran, shape } = parseHeader(header, name);
  if (fortran) throw new LatentkitError(`${name}: fortran_order True (column-major) arrays are not supported; save a C-order array (np.ascontiguousarray)`);
  if (!Object.hasOwn(DTYPES, descr))
    throw new LatentkitError(`${name}: dtype '${descr}' is not supported (supported: ${Object.keys(DTYPES).join(", ")})`);
  const ctor = DTYPES[descr as NpyDtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const nbytes = count * ctor.BYTES_PER_ELEMENT;
  const have = bytes.byteLength - prefix - hlen;
  if (nbytes !== have)
    throw new LatentkitError(`${name}: shape (${shape.join(", ")}) of ${descr} needs ${nbytes} data bytes but the file has ${have}${have < nbytes ? " (truncated)" : ""}`);
  const data = new ctor(count);
  new Uint8Array(data.buffer).set(bytes.subarray(prefix + hlen));
  return { shape, data };
}

/** The three fields of the header dict. The dict is a Python literal; numpy itself writes it in one
 * form only, so a few patterns read it (any order of keys, either quote style). */
function parseHeader(header: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  const bad = (what: string) => new LatentkitError(`${name}: malformed .npy header (${what})`);
  const text = header.trim();
  if (!text.startsWith("{") || !text.endsWith("}")) throw bad("not a dict");
  const descrMatch = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  if (!descrMatch) {
    if (/['"]descr['"]\s*:\s*\[/.test(text))
      throw new LatentkitError(`${name}: dtype is a structured (record) dtype, which is not supported (supported: ${Object.keys(DTYPES).join(", ")})`);
    throw bad("no 'descr'");
  }
  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  if (!fortranMatch) throw bad("no 'fortran_order'");
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!shapeMatch) throw bad("no 'shape'");
  const parts = shapeMatch[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  const shape = parts.map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : NaN));
  if (!shape.every((s) => Number.isSafeInteger(s))) throw bad(`shape (${shapeMatch[1]})`);
  // '<u1' and '|u1' are the same dtype; numpy writes '|u1'.
  const descr = descrMatch[2] === "<u1" ? "|u1" : descrMatch[2];
  return { descr, fortran: fortranMatch[1] === "True", shape };
}
