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
import { zipSync, type Zippable } from "fflate";

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
