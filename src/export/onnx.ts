// ONNX export by tracing: the model's own encode / decode / reconstruct is traced (engine/trace.ts)
// into jax-js primitives and each primitive becomes ONNX operators (opset 17), so every model family
// exports without a second description of its networks, and the graph computes what latentkit
// computes. Parameters become initializers under their dotted names.
//
// The batch size is symbolic ("batch"): the function is traced at two batch sizes, and a dimension
// that differs between the traces is d = m·batch + c. Reshapes, broadcasts and batch-sized constants
// get their target shapes at run time from the input's batch size.
import { traceFunction, type TracedAtom, type TracedDtype, type TracedGraph, type TracedOp, type TracedValue } from "../engine/trace.js";
import { fromData, np, type Array } from "../engine/index.js";
import { flattenParams, unflattenParams, type ParamTree } from "../nn/tree.js";
import type { Params } from "../models/types.js";
import { encodeOnnxModel, type OnnxNode, type OnnxTensor, type OnnxType, type OnnxValueInfo } from "../io/onnx-proto.js";

export const ONNX_OPSET = 17;
const TRACE_BATCHES = [3, 5] as const;
const INT64_MAX = 2n ** 63n - 1n;

/** A dimension: a size, or m·batch + c. */
type Dim = number | { m: number; c: number };
const isStatic = (d: Dim): d is number => typeof d === "number";

/** A graph input of the exported function: its name, per-example shape, dtype. */
export type ExportInput = { name: string; shape: number[]; dtype: "float32" | "int32" };

export type ExportSpec = {
  /** f(inputs..., params) -> one array whose first axis is the batch */
  fn: (params: Params, ...inputs: Array[]) => Array;
  inputs: ExportInput[];
  output: string;
  params: ParamTree;
  producerVersion: string;
  docString?: string;
};

export class UnsupportedExport extends Error {}

const onnxType = (t: TracedDtype): OnnxType => {
  if (t === "float32" || t === "int32" || t === "uint32" || t === "bool" || t === "float64" || t === "float16") return t;
  throw new UnsupportedExport(`dtype ${t as string}`);
};

function rawOf(type: OnnxType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const arr =
    type === "float32" ? Float32Array.from(values) :
    type === "float64" ? Float64Array.from(values) :
    type === "int32" ? Int32Array.from(values) :
    type === "uint32" ? Uint32Array.from(values) :
    type === "int64" ? BigInt64Array.from(globalThis.Array.from(values, (v) => BigInt(v))) :
    type === "bool" || type === "uint8" ? Uint8Array.from(values) : null;
  if (!arr) throw new UnsupportedExport(`constant of type ${type}`);
  if (arr.length !== n) throw new Error("rawOf: length");
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Builds the node list: names, constants, the run-time batch size. */
class GraphBuilder {
  nodes: OnnxNode[] = [];
  initializers: OnnxTensor[] = [];
  private count = 0;
  private batchName?: string;
  constructor(private readonly batchSource: string) {}

  fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }
  node(op: string, inputs: string[], attributes?: OnnxNode["attributes"], outputs = [this.fresh(op.toLowerCase())]): string {
    this.nodes.push({ op, inputs, outputs, attributes });
    return outputs[0];
  }
  constant(type: OnnxType, dims: number[], values: ArrayLike<number>, hint = "const"): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, type, dims, raw: rawOf(type, values) });
    return name;
  }
  int64s(values: (number | bigint)[]): string {
    const name = this.fresh("ints");
    const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, type: "int64", dims: [values.length], raw: new Uint8Array(arr.buffer) });
    return name;
  }
  /** The batch size at run time, int64 [1]: the first axis of the first input. */
  batch(): string {
    this.batchName ??= this.node("Slice", [this.node("Shape", [this.batchSource]), this.int64s([0]), this.int64s([1])]);
    return this.batchName;
  }
  /** A shape as an int64 [rank] tensor; symbolic dims computed from the batch size. */
  shape(dims: Dim[]): string {
    if (dims.every(isStatic)) return this.int64s(dims as number[]);
    const pieces = dims.map((d) => {
      if (isStatic(d)) return this.int64s([d]);
      let v = this.batch();
      if (d.m !== 1) v = this.node("Mul", [v, this.int64s([d.m])]);
      if (d.c !== 0) v = this.node("Add", [v, this.int64s([d.c])]);
      return v;
    });
    return this.node("Concat", pieces, { axis: 0 });
  }
}

/** Traces spec.fn at a batch size, params (borrowed) passed as a flat list in `names` order. */
function traceAt(spec: ExportSpec, names: string[], leaves: Array[], batch: number): TracedGraph {
  const examples = spec.inputs.map((i) =>
    i.dtype === "int32"
      ? np.zeros([batch, ...i.shape], { dtype: np.int32 })
      : fromData(new Float32Array(batch * i.shape.reduce((a, b) => a * b, 1)).fill(0.5), [batch, ...i.shape]));
  const f = (...args: Array[]) => {
    const inputs = args.slice(0, spec.inputs.length);
    const params = unflattenParams(Object.fromEntries(names.map((n, i) => [n, args[spec.inputs.length + i]]))) as Params;
    return spec.fn(params, ...inputs);
  };
  // makeJaxpr reads its arguments' shapes and leaves them alive (the parameters are borrowed)
  try {
    return traceFunction(f, [...examples, ...leaves]);
  } finally {
    for (const e of examples) e.dispose();
  }
}

/** A size or index seen at both trace batch sizes: the number, or m·batch + c. */
function symbolic(v1: number, v2: number): Dim {
  if (v1 === v2) return v1;
  const [B1, B2] = TRACE_BATCHES;
  const m = (v2 - v1) / (B2 - B1);
  const c = v1 - m * B1;
  if (!Number.isInteger(m) || !Number.isInteger(c)) throw new UnsupportedExport(`a size (${v1} at batch ${B1}, ${v2} at ${B2}) that is not linear in the batch size`);
  return { m, c };
}

/** Pairs the values of two traces at different batch sizes into symbolic shapes. */
function symbolicShapes(a: TracedGraph, b: TracedGraph): Map<number, Dim[]> {
  const shapes = new Map<number, Dim[]>();
  const pair = (u: TracedValue, v: TracedValue) => {
    if (u.shape.length !== v.shape.length) throw new UnsupportedExport("a value's rank depends on the batch size");
    shapes.set(u.id, u.shape.map((d1, i) => symbolic(d1, v.shape[i])));
  };
  if (a.ops.length !== b.ops.length || a.ops.some((op, i) => op.primitive !== b.ops[i].primitive)) {
    throw new UnsupportedExport("the operations differ between batch sizes");
  }
  a.inputs.forEach((v, i) => pair(v, b.inputs[i]));
  a.consts.forEach((v, i) => pair(v, b.consts[i]));
  a.ops.forEach((op, i) => op.outputs.forEach((v, j) => pair(v, b.ops[i].outputs[j])));
  return shapes;
}

const UNARY: Record<string, string> = {
  neg: "Neg", reciprocal: "Reciprocal", exp: "Exp", log: "Log", sqrt: "Sqrt", sin: "Sin", cos: "Cos",
  asin: "Asin", atan: "Atan", erf: "Erf", floor: "Floor", ceil: "Ceil", stop_gradient: "Identity",
};
const BINARY: Record<string, string> = { add: "Add", mul: "Mul", min: "Min", max: "Max", idiv: "Div" };
const COMPARE: Record<string, string> = { less: "Less", less_equal: "LessOrEqual", equal: "Equal" };
const REDUCE: Record<string, string> = { Add: "ReduceSum", Max: "ReduceMax", Min: "ReduceMin", Mul: "ReduceProd" };

/** Translates the traced graph into ONNX nodes, value names `v<id>`. */
function translate(g: GraphBuilder, trace: TracedGraph, other: TracedGraph, shapes: Map<number, Dim[]>): void {
  const types = new Map<number, TracedDtype>();
  for (const v of [...trace.inputs, ...trace.consts, ...trace.ops.flatMap((o) => o.outputs)]) types.set(v.id, v.dtype);
  const name = (id: number) => `v${id}`;
  const shapeOf = (a: TracedAtom): Dim[] => (a.kind === "var" ? shapes.get(a.id)! : []);
  /** An operand's name; a literal becomes a scalar constant of `type`. */
  const operand = (a: TracedAtom, type: TracedDtype): string =>
    a.kind === "var" ? name(a.id) : g.constant(onnxType(type), [], [a.value], "lit");
  const typeOf = (a: TracedAtom): TracedDtype => (a.kind === "var" ? types.get(a.id)! : a.dtype);
  /** The dtype binary operands share: a variable's over a literal's. */
  const common = (xs: TracedAtom[]): TracedDtype => typeOf(xs.find((x) => x.kind === "var") ?? xs[0]);

  for (const c of trace.consts) {
    const dims = shapes.get(c.id)!;
    if (dims.every(isStatic)) {
      g.initializers.push({ name: name(c.id), type: onnxType(c.dtype), dims: dims as number[], raw: rawOf(onnxType(c.dtype), c.data) });
      continue;
    }
    const first = c.data[0];
    for (let i = 1; i < c.data.length; i++) {
      if (c.data[i] !== first) throw new UnsupportedExport("a constant whose size depends on the batch is not a fill");
    }
    g.node("Expand", [g.constant(onnxType(c.dtype), [], [first]), g.shape(dims)], undefined, [name(c.id)]);
  }

  trace.ops.forEach((op, i) => translateOp(g, op, other.ops[i].params, { name, shapeOf, operand, common }));
}

type Ctx = {
  name: (id: number) => string;
  shapeOf: (a: TracedAtom) => Dim[];
  operand: (a: TracedAtom, type: TracedDtype) => string;
  common: (xs: TracedAtom[]) => TracedDtype;
};

/** op is the operation traced at the first batch size, params2 its parameters at the second. */
function translateOp(g: GraphBuilder, op: TracedOp, params2: Record<string, unknown>, ctx: Ctx): void {
  const out = op.outputs.map((v) => ctx.name(v.id));
  const outShape = op.outputs.length ? ctx.shapeOf({ kind: "var", id: op.outputs[0].id }) : [];
  const type = op.outputs[0]?.dtype;
  const ins = (t: TracedDtype = ctx.common(op.inputs)) => op.inputs.map((a) => ctx.operand(a, t));
  const p = op.params as Record<string, any>;
  const emit = (onnxOp: string, inputs: string[], attributes?: OnnxNode["attributes"]) => g.node(onnxOp, inputs, attributes, out);

  if (op.primitive in UNARY) return void emit(UNARY[op.primitive], ins());
  if (op.primitive in BINARY) return void emit(BINARY[op.primitive], ins());
  switch (op.primitive) {
    case "compare": {
      if (p.op === "not_equal") return void g.node("Not", [g.node("Equal", ins())], undefined, out);
      if (!(p.op in COMPARE)) break;
      return void emit(COMPARE[p.op], ins());
    }
    case "where": {
      const [c, x, y] = op.inputs;
      return void emit("Where", [ctx.operand(c, "bool"), ctx.operand(x, type), ctx.operand(y, type)]);
    }
    case "cast":
      return void emit("Cast", ins(), { to: { float32: 1, int32: 6, bool: 9, float64: 11, uint32: 12, float16: 10 }[type as string] ?? 1 });
    case "reshape": {
      const dynamic = outShape.filter((d) => !isStatic(d)).length;
      const target = dynamic === 0 ? g.int64s(outShape as number[])
        : dynamic === 1 ? g.int64s(outShape.map((d) => (isStatic(d) ? d : -1))) : g.shape(outShape);
      return void emit("Reshape", [...ins(), target]);
    }
    case "transpose":
      return void emit("Transpose", ins(), { perm: p.perm });
    case "broadcast": {
      let x = ins()[0];
      if ((p.axis as number[]).length) x = g.node("Unsqueeze", [x, g.int64s(p.axis)]);
      return void emit("Expand", [x, g.shape(outShape)]);
    }
    case "shrink": {
      // [start, end) per axis; where they depend on the batch they are computed at run time
      const inShape = ctx.shapeOf(op.inputs[0]);
      const slice = p.slice as [number, number][], slice2 = params2.slice as [number, number][];
      const starts = slice.map(([s], i) => symbolic(s, slice2[i][0]));
      const ends = slice.map(([, e], i) => symbolic(e, slice2[i][1]));
      const whole = (i: number) => starts[i] === 0 && sameDim(ends[i], inShape[i]);
      const startsT = starts.every(isStatic) ? g.int64s(starts as number[]) : g.shape(starts);
      const endsT = ends.every(isStatic) ? g.int64s(ends as number[])
        : ends.every((e, i) => isStatic(e) || whole(i)) ? g.int64s(ends.map((e) => (isStatic(e) ? BigInt(e) : INT64_MAX))) : g.shape(ends);
      return void emit("Slice", [...ins(), startsT, endsT, g.int64s(slice.map((_, i) => i))]);
    }
    case "pad": {
      const width = p.width as [number, number][];
      if (width.some(([a, b]) => a < 0 || b < 0)) break;
      if (JSON.stringify(width) !== JSON.stringify(params2.width)) throw new UnsupportedExport("padding that depends on the batch size");
      return void emit("Pad", [...ins(), g.int64s([...width.map(([a]) => a), ...width.map(([, b]) => b)])]);
    }
    case "concatenate":
      return void emit("Concat", ins(), { axis: p.axis });
    case "split":
      return void emit("Split", [...ins(), g.int64s(p.sizes)], { axis: p.axis });
    case "flip": {
      const axes = p.axis as number[];
      return void emit("Slice", [...ins(), g.int64s(axes.map(() => -1)), g.int64s(axes.map(() => -INT64_MAX)), g.int64s(axes), g.int64s(axes.map(() => -1))]);
    }
    case "reduce": {
      const onnxOp = REDUCE[p.op as string];
      if (!onnxOp) break;
      const axes = p.axis as number[];
      if (!axes.length) return void emit("Identity", ins());
      return void (onnxOp === "ReduceSum" ? emit(onnxOp, [...ins(), g.int64s(axes)], { keepdims: 0 }) : emit(onnxOp, ins(), { axes, keepdims: 0 }));
    }
    case "gather": {
      // x[..., idx, ...]: one index array at axis a; jax-js puts the index axes at outDim of the
      // remaining axes, ONNX's Gather at a, so a transpose moves them where they belong
      const axes = p.axis as number[];
      if (axes.length !== 1) break;
      const [x, idx] = op.inputs;
      const a = axes[0], outDim = p.outDim as number;
      const index = ctx.shapeOf(idx).length ? g.node("Cast", [ctx.operand(idx, "int32")], { to: 7 }) : ctx.operand(idx, "int32");
      if (outDim === a) return void emit("Gather", [ctx.operand(x, type), index], { axis: a });
      const gathered = g.node("Gather", [ctx.operand(x, type), index], { axis: a });
      const k = ctx.shapeOf(idx).length, rank = outShape.length;
      const rest = [...globalThis.Array(rank).keys()].filter((i) => i < a || i >= a + k); // the operand's other axes, in order
      const perm = [...rest.slice(0, outDim), ...globalThis.Array.from({ length: k }, (_, j) => a + j), ...rest.slice(outDim)];
      return void emit("Transpose", [gathered], { perm });
    }
    case "dot":
      return void emit("Einsum", dotOperands(g, op, ctx), { equation: dotEquation(ctx.shapeOf(op.inputs[0]), ctx.shapeOf(op.inputs[1])) });
  }
  throw new UnsupportedExport(`the operation ${op.primitive}${p.op ? ` (${p.op})` : ""}`);
}

const sameDim = (a: Dim, b: Dim) => (isStatic(a) || isStatic(b) ? a === b : a.m === b.m && a.c === b.c);

/** Axes of each dot operand that are 1 where the other's is not (squeezed before the Einsum). */
function squeezedAxes(a: Dim[], b: Dim[]): [number[], number[]] {
  const sa: number[] = [], sb: number[] = [];
  for (let i = 0; i < a.length - 1; i++) {
    if (sameDim(a[i], b[i])) continue;
    if (a[i] === 1) sa.push(i);
    else if (b[i] === 1) sb.push(i);
    else throw new UnsupportedExport(`a dot of shapes that do not broadcast`);
  }
  return [sa, sb];
}

// dot(x, y) = Σ_k x[..., k] · y[..., k] with x and y broadcast against each other: an Einsum with a
// letter per output axis (in the operands that have it, size > 1 or shared) and one contracted letter.
function dotEquation(a: Dim[], b: Dim[]): string {
  if (a.length !== b.length) throw new UnsupportedExport("a dot of operands of different ranks");
  const [sa, sb] = squeezedAxes(a, b);
  const letters = "abcdefghijklmnopqrstuvwxy";
  const axes = a.length - 1;
  if (axes + 1 > letters.length) throw new UnsupportedExport("a dot of too many axes");
  const outL = letters.slice(0, axes);
  const aL = [...outL].filter((_, i) => !sa.includes(i)).join("") + "z";
  const bL = [...outL].filter((_, i) => !sb.includes(i)).join("") + "z";
  return `${aL},${bL}->${outL}`;
}

function dotOperands(g: GraphBuilder, op: TracedOp, ctx: Ctx): string[] {
  const [x, y] = op.inputs;
  const [sa, sb] = squeezedAxes(ctx.shapeOf(x), ctx.shapeOf(y));
  const t = ctx.common(op.inputs);
  const squeeze = (v: string, axes: number[]) => (axes.length ? g.node("Squeeze", [v, g.int64s(axes)]) : v);
  return [squeeze(ctx.operand(x, t), sa), squeeze(ctx.operand(y, t), sb)];
}

/** The .onnx bytes of spec.fn over a symbolic batch. spec.params is borrowed. */
export function exportOnnx(spec: ExportSpec): Uint8Array {
  const flat = flattenParams(spec.params);
  const names = Object.keys(flat);
  const leaves = names.map((n) => flat[n]);
  const [t1, t2] = TRACE_BATCHES.map((b) => traceAt(spec, names, leaves, b));
  const shapes = symbolicShapes(t1, t2);
  const g = new GraphBuilder(spec.inputs[0].name);
  // graph inputs keep their names; parameters are initializers named after them
  t1.inputs.slice(0, spec.inputs.length).forEach((v, i) => g.node("Identity", [spec.inputs[i].name], undefined, [`v${v.id}`]));
  t1.inputs.slice(spec.inputs.length).forEach((v, i) => {
    g.initializers.push({ name: names[i], type: onnxType(v.dtype), dims: v.shape, raw: rawOf(onnxType(v.dtype), leaves[i].ref.dataSync() as ArrayLike<number>) });
    g.node("Identity", [names[i]], undefined, [`v${v.id}`]);
  });
  translate(g, t1, t2, shapes);
  if (t1.outputs.length !== 1) throw new UnsupportedExport("a function with several outputs");
  const o = t1.outputs[0];
  if (o.kind !== "var") throw new UnsupportedExport("a constant output");
  g.node("Identity", [`v${o.id}`], undefined, [spec.output]);
  const outValue = t1.ops.flatMap((op) => op.outputs).find((v) => v.id === o.id)!;
  const dimsOf = (ds: Dim[]): (number | string)[] => ds.map((d) => (isStatic(d) ? d : d.m === 1 && d.c === 0 ? "batch" : `${d.m}*batch+${d.c}`));
  const inputs: OnnxValueInfo[] = spec.inputs.map((i) => ({ name: i.name, type: i.dtype, dims: ["batch", ...i.shape] }));
  const outputs: OnnxValueInfo[] = [{ name: spec.output, type: onnxType(outValue.dtype), dims: dimsOf(shapes.get(o.id)!) }];
  return encodeOnnxModel({
    graph: { name: "latentkit", nodes: g.nodes, initializers: g.initializers, inputs, outputs },
    opset: ONNX_OPSET, producer: "latentkit", producerVersion: spec.producerVersion, docString: spec.docString,
  });
}
