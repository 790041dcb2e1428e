// The ONNX file format (onnx.proto, protobuf encoding) for the subset an exported model uses: a
// ModelProto with one GraphProto of NodeProtos, initializer TensorProtos (raw little-endian data) and
// typed inputs and outputs. Field numbers are onnx.proto's. No Node imports.

export const ONNX_TYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, uint32: 12 } as const;
export type OnnxType = keyof typeof ONNX_TYPE;

export type OnnxTensor = { name: string; type: OnnxType; dims: number[]; raw: Uint8Array };
export type OnnxAttribute = number | number[] | string | { float: number } | { floats: number[] };
export type OnnxNode = { op: string; inputs: string[]; outputs: string[]; name?: string; attributes?: Record<string, OnnxAttribute> };
/** A graph input or output: a dimension is a size or the name of a symbolic one ("batch"). */
export type OnnxValueInfo = { name: string; type: OnnxType; dims: (number | string)[] };
export type OnnxGraph = { name: string; nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] };
export type OnnxModel = { graph: OnnxGraph; opset: number; producer: string; producerVersion: string; docString?: string };

// ---- protobuf wire format ------------------------------------------------------------------------

/** Appends protobuf fields: varints (wire type 0), length-delimited (2), 32-bit (5). */
class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }
  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v); // negative int64s are ten bytes, as protobuf writes them
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, v: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(v.length));
    this.push(v);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// ---- onnx.proto messages -------------------------------------------------------------------------

function tensorProto(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d); // dims
  return w.int(2, ONNX_TYPE[t.type]).string(8, t.name).bytes(9, t.raw); // data_type, name, raw_data
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_FLOATS = 6, ATTR_INTS = 7;

function attributeProto(name: string, a: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof a === "number") {
    if (!Number.isInteger(a)) throw new Error(`onnx attribute ${name}: ${a} is not an integer (write { float: ${a} })`);
    return w.int(3, a).int(20, ATTR_INT);
  }
  if (typeof a === "string") return w.string(4, a).int(20, ATTR_STRING);
  if (globalThis.Array.isArray(a)) {
    for (const v of a) w.int(8, v);
    return w.int(20, ATTR_INTS);
  }
  if ("float" in a) return w.float(2, a.float).int(20, ATTR_FLOAT);
  for (const v of a.floats) w.float(7, v);
  return w.int(20, ATTR_FLOATS);
}

function nodeProto(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, attributeProto(k, v));
  return w;
}

function valueInfoProto(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, typeof d === "number" ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, ONNX_TYPE[v.type]).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function graphProto(g: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, nodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensorProto(t));
  for (const i of g.inputs) w.message(11, valueInfoProto(i));
  for (const o of g.outputs) w.message(12, valueInfoProto(o));
  return w;
}

/** The bytes of an .onnx file (IR version 8, the default domain at `opset`). */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter().int(1, 8).string(2, m.producer).string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, graphProto(m.graph));
  w.message(8, new ProtoWriter().string(1, "").int(2, m.opset));
  return w.finish();
}
