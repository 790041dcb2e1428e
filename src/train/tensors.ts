// Parameter records (nn/tree.ts) <-> safetensors tensors (io/safetensors.ts): the bridge the run
// folder needs, kept out of both layers so that io/ stays engine-free.
import type { Tensors } from "../io/safetensors-bytes.js";
import { toFloat32 } from "../io/safetensors-bytes.js";
import type { ParamRecord } from "../nn/tree.js";

export function recordsToTensors(records: Record<string, ParamRecord>): Tensors {
  return Object.fromEntries(
    Object.entries(records).map(([name, r]) => [name, { dtype: "F32" as const, shape: r.shape, data: r.data }]),
  );
}

export function tensorsToRecords(tensors: Tensors): Record<string, ParamRecord> {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { shape: t.shape, data: toFloat32(t) }]));
}
