// PyTorch's state-dict file: what `torch.save(module.state_dict(), f)` writes since torch 1.6, so
// `module.load_state_dict(torch.load(f))` reads it. The file is a zip archive (entries stored,
// not compressed) holding
//   archive/data.pkl   a pickle (protocol 2) of an OrderedDict name -> tensor, each tensor rebuilt by
//                      torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
//                      backward_hooks) from a persistent id ("storage", torch.FloatStorage, key,
//                      "cpu", numel) that names the entry archive/data/<key>;
//   archive/data/<key> the tensor's values, little-endian float32, contiguous (row-major);
//   archive/version    the format version, "3".
// No Node imports: the browser can build the bytes too.
import { zipSync, unzipSync, type Zippable } from "fflate";
import { LatentkitError } from "./errors.js";

export type TorchTensor = { shape: number[]; data: Float32Array };

// ---- pickle opcodes (protocol 2) --------------------------------------------------------------
const PROTO = 0x80, GLOBAL = 0x63 /* c */, EMPTY_TUPLE = 0x29 /* ) */, REDUCE = 0x52 /* R */,
  MARK = 0x28 /* ( */, TUPLE = 0x74 /* t */, BINUNICODE = 0x58 /* X */, BININT = 0x4a /* J */,
  BINPERSID = 0x51 /* Q */, NEWFALSE = 0x89, SETITEMS = 0x75 /* u */, STOP = 0x2e /* . */;

/** A growing byte buffer that writes the pickle opcodes used here. */
class PickleWriter {
  private parts: number[] = [];
  private readonly utf8 = new TextEncoder();
  op(code: number): this {
    this.parts.push(code);
    return this;
  }
  /** GLOBAL: pushes module.name ("c" module "\n" name "\n"). */
  global(module: string, name: string): this {
    this.op(GLOBAL);
    for (const b of this.utf8.encode(`${module}\n${name}\n`)) this.parts.push(b);
    return this;
  }
  str(s: string): this {
    const bytes = this.utf8.encode(s);
    this.op(BINUNICODE).u32(bytes.length);
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  int(n: number): this {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new Error(`pickle: ${n} is not a 32-bit integer`);
    return this.op(BININT).u32(n >>> 0);
  }
  tuple(items: number[]): this {
    if (items.length === 0) return this.op(EMPTY_TUPLE);
    this.op(MARK);
    for (const n of items) this.int(n);
    return this.op(TUPLE);
  }
  /** collections.OrderedDict() */
  emptyOrderedDict(): this {
    return this.global("collections", "OrderedDict").op(EMPTY_TUPLE).op(REDUCE);
  }
  private u32(n: number): this {
    this.parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Row-major strides of a shape: stride[i] = Π_{j>i} shape[j]. */
export function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** The pickle of OrderedDict(name -> tensor) whose storages are archive/data/0, 1, ... in order. */
function statePickle(names: string[], tensors: TorchTensor[]): Uint8Array {
  const p = new PickleWriter().op(PROTO).op(2).emptyOrderedDict().op(MARK);
  tensors.forEach((t, key) => {
    p.str(names[key]);
    p.global("torch._utils", "_rebuild_tensor_v2").op(MARK);
    p.op(MARK).str("storage").global("torch", "FloatStorage").str(String(key)).str("cpu").int(t.data.length).op(TUPLE).op(BINPERSID);
    p.int(0).tuple(t.shape).tuple(contiguousStrides(t.shape)).op(NEWFALSE).emptyOrderedDict();
    p.op(TUPLE).op(REDUCE);
  });
  return p.op(SETITEMS).op(STOP).bytes();
}

/** The bytes of a torch.save'd state dict of `tensors` (in insertion order). */
export function encodeTorchStateDict(tensors: Record<string, TorchTensor>): Uint8Array {
  const names = Object.keys(tensors);
  const list = names.map((n) => tensors[n]);
  for (const [i, t] of list.entries()) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`"${names[i]}": ${t.data.length} values do not fill shape [${t.shape}]`);
  }
  const files: Zippable = {
    "archive/data.pkl": [statePickle(names, list), { level: 0 }],
    "archive/version": [new TextEncoder().encode("3\n"), { level: 0 }],
  };
  list.forEach((t, key) => {
    // little-endian on every platform this runs on; copy so a view into a larger buffer is cut out
    files[`archive/data/${key}`] = [new Uint8Array(Float32Array.from(t.data).buffer), { level: 0 }];
  });
  return zipSync(files);
}

// ---- reading ----------------------------------------------------------------------------------
// A reader for the same format as torch.save writes it (any root folder name, protocol 2 to 4
// pickles), limited to what a state dict holds: an OrderedDict (or dict) of name -> tensor, each a
// _rebuild_tensor_v2 (or a _rebuild_parameter of one) of a float32 or float64 storage, with any
// offset and strides. Anything else is refused with one line naming the file; nothing is executed.

/** A pickled value as the reader keeps it. */
type Value = null | boolean | number | string | Value[] | { global: string } | { dict: Map<string, Value> }
  | { storage: { dtype: "F32" | "F64"; key: string; numel: number } } | { tensor: RebuiltTensor } | { mark: true };
type RebuiltTensor = { storage: { dtype: "F32" | "F64"; key: string; numel: number }; offset: number; size: number[]; stride: number[] };

const STORAGES: Record<string, "F32" | "F64"> = { "torch.FloatStorage": "F32", "torch.DoubleStorage": "F64" };

/** The state dict in torch.save bytes: name -> float32 tensor (contiguous). `name` names the file in errors. */
export function decodeTorchStateDict(bytes: Uint8Array, name = "torch file"): Record<string, TorchTensor> {
  const fail = (why: string): never => { throw new LatentkitError(`${name}: not a PyTorch state dict the reader knows (${why})`); };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    return fail(`not a zip archive: ${(e as Error).message}; torch.save writes one since torch 1.6`);
  }
  const pkl = Object.keys(files).find((f) => /^[^/]+\/data\.pkl$/.test(f)) ?? fail("no <root>/data.pkl in the archive");
  const root = pkl.slice(0, -"data.pkl".length);
  const result = unpickle(files[pkl], fail);
  const entries = isDict(result) ? result.dict : fail("the pickle is not a dict of tensors");
  const out: Record<string, TorchTensor> = {};
  for (const [key, value] of entries) {
    const t = value && typeof value === "object" && "tensor" in value ? value.tensor : fail(`entry "${key}" is not a tensor`);
    const file = files[`${root}data/${t.storage.key}`] ?? fail(`no storage data/${t.storage.key} for "${key}"`);
    const width = t.storage.dtype === "F32" ? 4 : 8;
    if (file.length !== t.storage.numel * width) fail(`storage ${t.storage.key} holds ${file.length} bytes, not ${t.storage.numel} values`);
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const numel = t.size.reduce((a, b) => a * b, 1);
    if (!t.size.every((s) => Number.isInteger(s) && s >= 0) || t.size.length !== t.stride.length) fail(`"${key}": bad size or stride`);
    if (numel > 2 ** 28) fail(`"${key}": ${numel} values, more than a model here holds`);
    const data = new Float32Array(numel);
    const index = new Array<number>(t.size.length).fill(0);
    for (let i = 0; i < numel; i++) {
      let at = t.offset;
      for (let d = 0; d < index.length; d++) at += index[d] * t.stride[d];
      if (!(at >= 0 && at < t.storage.numel)) fail(`"${key}": offset and strides reach outside its storage`);
      data[i] = width === 4 ? view.getFloat32(at * 4, true) : view.getFloat64(at * 8, true);
      for (let d = index.length - 1; d >= 0; d--) { if (++index[d] < t.size[d]) break; index[d] = 0; }
    }
    out[key] = { shape: [...t.size], data };
  }
  return out;
}

const isDict = (v: Value): v is { dict: Map<string, Value> } => !!v && typeof v === "object" && "dict" in v;

/** A pickle VM for the opcodes a state dict uses; globals are names, never imports. */
function unpickle(bytes: Uint8Array, fail: (why: string) => never): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let at = 0;
  const need = (n: number) => { if (at + n > bytes.length) fail("the pickle ends early"); };
  const u8 = () => { need(1); return bytes[at++]; };
  const u16 = () => { need(2); const v = view.getUint16(at, true); at += 2; return v; };
  const u32 = () => { need(4); const v = view.getUint32(at, true); at += 4; return v; };
  const i32 = () => { need(4); const v = view.getInt32(at, true); at += 4; return v; };
  const text = (n: number) => { need(n); try { return utf8.decode(bytes.subarray(at, (at += n))); } catch { return fail("a string is not UTF-8"); } };
  const line = () => { const end = bytes.indexOf(0x0a, at); if (end < 0) fail("a GLOBAL without its newline"); return text(end - at + 1).slice(0, -1); };
  const pop = () => (stack.length ? stack.pop()! : fail("the pickle's stack runs empty"));
  const popMark = (): Value[] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const v = stack[i];
      if (v && typeof v === "object" && "mark" in v) return stack.splice(i).slice(1);
    }
    return fail("no MARK on the pickle's stack");
  };
  const num = (v: Value, what: string) => (typeof v === "number" ? v : fail(`${what} is not a number`));
  const ints = (v: Value, what: string) => (Array.isArray(v) ? v.map((x) => num(x, what)) : fail(`${what} is not a tuple`));
  const call = (f: Value, args: Value): Value => {
    const fn = f && typeof f === "object" && "global" in f ? f.global : fail("REDUCE of something that is not a GLOBAL");
    const a = Array.isArray(args) ? args : fail(`${fn}: arguments are not a tuple`);
    if (fn === "collections.OrderedDict" || fn === "builtins.dict") return { dict: new Map() };
    if (fn === "torch._utils._rebuild_tensor_v2" || fn === "torch._utils._rebuild_tensor") {
      const s = a[0] && typeof a[0] === "object" && "storage" in a[0] ? a[0].storage : fail(`${fn}: the first argument is not a storage`);
      return { tensor: { storage: s, offset: num(a[1], "the storage offset"), size: ints(a[2], "the size"), stride: ints(a[3], "the stride") } };
    }
    if (fn === "torch._utils._rebuild_parameter") {
      return a[0] && typeof a[0] === "object" && "tensor" in a[0] ? a[0] : fail("_rebuild_parameter of something that is not a tensor");
    }
    return fail(`it calls ${fn}, which a state dict does not`);
  };
  for (let steps = 0; steps < 50_000_000; steps++) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); at += 8; break; // FRAME
      case 0x2e: { const v = pop(); if (stack.length) fail("values left after STOP"); return v; } // STOP
      case 0x28: stack.push({ mark: true }); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push({ dict: new Map() }); break; // EMPTY_DICT
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: a little-endian two's complement integer of n bytes
        const n = u8(); need(n);
        if (n > 6) fail("an integer too large");
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
        if (n && bytes[at + n - 1] & 0x80) v -= 2 ** (8 * n);
        at += n; stack.push(v); break;
      }
      case 0x47: { need(8); stack.push(view.getFloat64(at, false)); at += 8; break; } // BINFLOAT
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x63: { const module = line(); stack.push({ global: `${module}.${line()}` }); break; } // GLOBAL
      case 0x93: { const n = pop(), m = pop(); if (typeof m !== "string" || typeof n !== "string") fail("STACK_GLOBAL of non-strings"); stack.push({ global: `${m}.${n}` }); break; }
      case 0x51: { // BINPERSID: ("storage", storage type, key, location, numel)
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== "storage") fail("a persistent id that is not a storage");
        const type = (pid as Value[])[1];
        const dtype = type && typeof type === "object" && "global" in type ? STORAGES[type.global] : undefined;
        if (!dtype) fail(`a storage of type ${JSON.stringify(type)}: only float32 and float64 are read`);
        stack.push({ storage: { dtype: dtype!, key: String((pid as Value[])[2]), numel: num((pid as Value[])[4], "the storage size") } });
        break;
      }
      case 0x52: { const args = pop(), f = pop(); stack.push(call(f, args)); break; } // REDUCE
      case 0x62: pop(); break; // BUILD: the state of an OrderedDict (its _metadata) is not needed
      case 0x73: { const v = pop(), k = pop(), d = stack[stack.length - 1]; if (!d || !isDict(d) || typeof k !== "string") fail("SETITEM outside a dict"); (d as { dict: Map<string, Value> }).dict.set(k as string, v); break; }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = stack[stack.length - 1];
        if (!d || !isDict(d) || items.length % 2) fail("SETITEMS outside a dict");
        for (let i = 0; i < items.length; i += 2) {
          if (typeof items[i] !== "string") fail("a dict key that is not a string");
          (d as { dict: Map<string, Value> }).dict.set(items[i] as string, items[i + 1]);
        }
        break;
      }
      case 0x61: { const v = pop(); const l = stack[stack.length - 1]; if (!Array.isArray(l)) fail("APPEND outside a list"); (l as Value[]).push(v); break; }
      case 0x65: { const items = popMark(); const l = stack[stack.length - 1]; if (!Array.isArray(l)) fail("APPENDS outside a list"); (l as Value[]).push(...items); break; }
      case 0x71: memo.set(u8(), stack[stack.length - 1] ?? fail("BINPUT on an empty stack")); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1] ?? fail("LONG_BINPUT on an empty stack")); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1] ?? fail("MEMOIZE on an empty stack")); break; // MEMOIZE
      case 0x68: { const k = u8(); stack.push(memo.has(k) ? memo.get(k)! : fail(`BINGET of an unset memo ${k}`)); break; }
      case 0x6a: { const k = u32(); stack.push(memo.has(k) ? memo.get(k)! : fail(`LONG_BINGET of an unset memo ${k}`)); break; }
      default: fail(`pickle opcode 0x${op.toString(16)} at byte ${at - 1}`);
    }
  }
  return fail("the pickle does not stop");
}
