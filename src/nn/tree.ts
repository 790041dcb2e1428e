// Parameter trees: nested plain objects whose leaves are engine arrays, named like a PyTorch
// state_dict once flattened ({ encoder: { fc1: { weight } } } <-> "encoder.fc1.weight").
//
// Ownership: every helper here *borrows* its trees. flattenParams/unflattenParams/mapParams'
// plumbing shares the same array objects (no reference is added or dropped); toRecords copies the
// values out; fromRecords makes new arrays that the caller owns.
import { fromData, type Array } from "../engine/index.js";

export type ParamTree = { [name: string]: Array | ParamTree };

/** A tensor as plain data, for saving: the shape and the values in row-major order. */
export type ParamRecord = { shape: number[]; data: Float32Array };

/** A node is a plain object (jax-js's own rule for tree nodes); anything else is a leaf. */
function isNode(v: unknown): v is ParamTree {
  return typeof v === "object" && v !== null && (v as object).constructor === Object;
}

function joinName(prefix: string, key: string): string {
  if (key.includes(".")) throw new Error(`parameter name "${key}" (under "${prefix}") must not contain "."`);
  return prefix ? `${prefix}.${key}` : key;
}

/** The leaves with their dotted names, in insertion order: { "encoder.fc1.weight": Array }. */
export function flattenParams(tree: ParamTree, prefix = ""): Record<string, Array> {
  const out: Record<string, Array> = {};
  for (const [key, v] of Object.entries(tree)) {
    const name = joinName(prefix, key);
    if (isNode(v)) Object.assign(out, flattenParams(v, name));
    else out[name] = v;
  }
  return out;
}

/** The inverse of flattenParams: dotted names back to nested objects. */
export function unflattenParams<T = Array>(flat: Record<string, T>): { [name: string]: any } {
  const root: Record<string, any> = {};
  for (const [name, v] of Object.entries(flat)) {
    const parts = name.split(".");
    if (parts.some((p) => p === "")) throw new Error(`bad parameter name "${name}"`);
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (node[part] === undefined) node[part] = {};
      else if (!isNode(node[part])) throw new Error(`"${name}" nests under "${part}", which is a tensor`);
      node = node[part];
    }
    const last = parts[parts.length - 1];
    if (node[last] !== undefined) throw new Error(`parameter "${name}" is given twice or also holds tensors`);
    node[last] = v;
  }
  return root;
}

/** Total number of scalars in the tree (numel summed, like sum(p.numel() for p in m.parameters())). */
export function countParams(tree: ParamTree): number {
  return Object.values(flattenParams(tree)).reduce((n, x) => n + x.size, 0);
}

/**
 * Maps `fn` over the leaves of `tree` and of `others`, matched by name (not by position: jax-js's
 * tree.map zips by insertion order, which silently pairs the wrong leaves when two trees were built
 * in different orders). Throws naming the first path where the structures differ. The result
 * keeps `tree`'s order. Ownership is `fn`'s business: the leaves are passed as they are.
 */
export function mapParams<R>(
  fn: (x: Array, ...rest: Array[]) => R, tree: ParamTree, ...others: ParamTree[]
): { [name: string]: any } {
  const walk = (node: ParamTree, rest: ParamTree[], path: string): Record<string, any> => {
    const out: Record<string, any> = {};
    const keys = Object.keys(node);
    for (const [i, other] of rest.entries()) {
      if (!isNode(other)) throw new Error(`tree ${i + 1} has a tensor at "${path}" where tree 0 has an object`);
      const extra = Object.keys(other).filter((k) => !(k in node));
      if (extra.length > 0) throw new Error(`tree ${i + 1} has "${joinName(path, extra[0])}", which tree 0 lacks`);
    }
    for (const key of keys) {
      const name = joinName(path, key);
      const v = node[key];
      const vs = rest.map((other, i) => {
        if (!(key in other)) throw new Error(`tree ${i + 1} lacks "${name}"`);
        return other[key];
      });
      if (isNode(v)) {
        out[key] = walk(v, vs as ParamTree[], name);
      } else {
        vs.forEach((w, i) => {
          if (isNode(w)) throw new Error(`tree ${i + 1} has an object at "${name}" where tree 0 has a tensor`);
        });
        out[key] = fn(v, ...(vs as Array[]));
      }
    }
    return out;
  };
  return walk(tree, others, "");
}

/** The tree as plain records (values copied to float32), keyed by dotted name. `tree` is borrowed. */
export function toRecords(tree: ParamTree): Record<string, ParamRecord> {
  const out: Record<string, ParamRecord> = {};
  for (const [name, x] of Object.entries(flattenParams(tree))) {
    out[name] = { shape: [...x.shape], data: Float32Array.from(x.ref.dataSync() as ArrayLike<number>) };
  }
  return out;
}

const prod = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * A new tree (owned by the caller) from plain records. With `like` (a skeleton tree, borrowed),
 * the records must hold exactly its names and shapes, and each array takes the skeleton leaf's
 * dtype; the error names the path that differs. Without it, arrays are `dtype` (float32).
 */
export function fromRecords(
  records: Record<string, ParamRecord>,
  { like, dtype = "float32" }: { like?: ParamTree; dtype?: "float32" | "float64" } = {},
): ParamTree {
  for (const [name, r] of Object.entries(records)) {
    if (r.data.length !== prod(r.shape)) {
      throw new Error(`"${name}": ${r.data.length} values do not fill shape [${r.shape}]`);
    }
  }
  if (like) {
    const skeleton = flattenParams(like);
    for (const [name, x] of Object.entries(skeleton)) {
      const r = records[name];
      if (!r) throw new Error(`missing parameter "${name}" (shape [${x.shape}])`);
      if (!sameShape(r.shape, x.shape)) {
        throw new Error(`"${name}": shape [${r.shape}] where [${x.shape}] was expected`);
      }
    }
    const extra = Object.keys(records).find((name) => !(name in skeleton));
    if (extra) throw new Error(`unexpected parameter "${extra}"`);
    const flat: Record<string, Array> = {};
    for (const [name, x] of Object.entries(skeleton)) {
      flat[name] = fromData(records[name].data, records[name].shape, String(x.dtype) === "float64" ? "float64" : "float32");
    }
    return unflattenParams(flat) as ParamTree;
  }
  const flat: Record<string, Array> = {};
  for (const [name, r] of Object.entries(records)) flat[name] = fromData(r.data, r.shape, dtype);
  return unflattenParams(flat) as ParamTree;
}
