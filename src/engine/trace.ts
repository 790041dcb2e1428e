// A traced function as plain data: jax-js's makeJaxpr records the primitive operations a function
// performs on arrays of given shapes; this module hands them on without jax-js types (the ONNX
// exporter, src/export/onnx.ts, translates them). Nested jit calls are inlined.
import { makeJaxpr, type Array } from "@jax-js/jax";

export type TracedDtype = "float32" | "float64" | "int32" | "uint32" | "bool" | "float16";

/** An operand: a value by id, or a scalar literal. */
export type TracedAtom = { kind: "var"; id: number } | { kind: "lit"; value: number; dtype: TracedDtype };
export type TracedValue = { id: number; shape: number[]; dtype: TracedDtype };

export type TracedOp = {
  primitive: string;
  inputs: TracedAtom[];
  outputs: TracedValue[];
  params: Record<string, unknown>;
};

export type TracedGraph = {
  /** the function's array arguments, flattened in order */
  inputs: TracedValue[];
  /** arrays the function created from nothing (fills, masks), with their values */
  consts: (TracedValue & { data: ArrayLike<number> })[];
  ops: TracedOp[];
  outputs: TracedAtom[];
};

type JaxprLike = {
  inBinders: { id: number; aval: { shape: number[]; dtype: string } }[];
  eqns: { primitive: string; inputs: unknown[]; params: Record<string, unknown>; outBinders: { id: number; aval: { shape: number[]; dtype: string } }[] }[];
  outs: unknown[];
  flatten(): JaxprLike;
};

const value = (v: { id: number; aval: { shape: number[]; dtype: string } }): TracedValue =>
  ({ id: v.id, shape: [...v.aval.shape], dtype: v.aval.dtype as TracedDtype });

function atom(a: unknown): TracedAtom {
  const x = a as { id?: number; value?: number; aval: { dtype: string } };
  return "value" in x && typeof x.value === "number" && x.id === undefined
    ? { kind: "lit", value: x.value, dtype: x.aval.dtype as TracedDtype }
    : { kind: "var", id: x.id! };
}

/**
 * The operations `f` performs on `args` (arrays or trees of arrays; borrowed, their values unused).
 * Arrays `f` closes over become constants.
 */
export function traceFunction(f: (...args: any[]) => Array, args: unknown[]): TracedGraph {
  const { jaxpr: closed } = makeJaxpr(f)(...args);
  try {
    const jaxpr = (closed.jaxpr as unknown as JaxprLike).flatten();
    const nConsts = closed.consts.length;
    const consts = closed.consts.map((c, i) => ({ ...value(jaxpr.inBinders[i]), data: (c as unknown as Array).ref.dataSync() as ArrayLike<number> }));
    return {
      inputs: jaxpr.inBinders.slice(nConsts).map(value),
      consts,
      ops: jaxpr.eqns.map((e) => ({ primitive: e.primitive, inputs: e.inputs.map(atom), outputs: e.outBinders.map(value), params: e.params })),
      outputs: jaxpr.outs.map(atom),
    };
  } finally {
    closed.dispose();
  }
}
