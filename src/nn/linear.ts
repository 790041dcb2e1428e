// Linear layer (torch.nn.Linear): weight [nOut, nIn], bias [nOut].
import { np, splitKey, type Array } from "../engine/index.js";
import { fans, torchDefaultBias, torchDefaultWeight, type FloatDtype, type Initializer } from "./init.js";

export type LinearParams = { weight: Array; bias?: Array };

/** Init options shared by the layers: torch's defaults unless told otherwise. */
export type LayerInitOpts = {
  /** fills the weight; default torchDefaultWeight, U(±1/√fanIn) */
  weightInit?: Initializer;
  /** false: no bias; default true */
  bias?: boolean;
  /** "torch" (default): U(±1/√fanIn) with the weight's fanIn; "zeros"; or any initializer */
  biasInit?: "torch" | "zeros" | Initializer;
  /** float64 for gradient checks; default float32 */
  dtype?: FloatDtype;
};

export function checkSize(what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${n}`);
}

/**
 * Draws { weight, bias? } for a layer whose weight has `weightShape` and whose bias has `nBias`
 * entries. The key is consumed (split in two).
 */
export function initWeightAndBias(key: Array, weightShape: number[], nBias: number, opts: LayerInitOpts): { weight: Array; bias?: Array } {
  const { weightInit = torchDefaultWeight, bias = true, biasInit = "torch", dtype } = opts;
  const [kw, kb] = splitKey(key, 2);
  const weight = weightInit(kw, weightShape, { dtype });
  if (!bias) {
    kb.dispose();
    return { weight };
  }
  let b: Array;
  if (biasInit === "torch") b = torchDefaultBias(kb, nBias, fans(weightShape).fanIn, { dtype });
  else if (biasInit === "zeros") {
    kb.dispose();
    b = np.zeros([nBias], { dtype: dtype === "float64" ? np.float64 : np.float32 });
  } else b = biasInit(kb, [nBias], { dtype });
  return { weight, bias: b };
}

/** Parameters of a Linear(nIn, nOut); `key` is consumed. */
export function initLinear(key: Array, nIn: number, nOut: number, opts: LayerInitOpts = {}): LinearParams {
  checkSize("nIn", nIn);
  checkSize("nOut", nOut);
  return initWeightAndBias(key, [nOut, nIn], nOut, opts);
}

/**
 * y = x Wᵀ + b.   x: [..., nIn] -> y: [..., nOut]. x is consumed, p borrowed.
 * Inputs of more than 2 dims are folded to 2-D first (jax-js 0.1.25's batched 2-D/3-D matmul is
 * wrong in one broadcasting direction; a 2-D matmul is always right).
 */
export function linear(p: LinearParams, x: Array): Array {
  const [nOut, nIn] = p.weight.shape;
  const shape = x.shape;
  if (shape.length < 1 || shape[shape.length - 1] !== nIn) {
    x.dispose();
    throw new Error(`linear: input shape [${shape}] does not end in nIn = ${nIn}`);
  }
  const lead = shape.slice(0, -1);
  const x2 = shape.length === 2 ? x : x.reshape([lead.reduce((a, b) => a * b, 1), nIn]);
  let y = np.matmul(x2, p.weight.ref.transpose());
  if (p.bias) y = y.add(p.bias.ref);
  return shape.length === 2 ? y : y.reshape([...lead, nOut]);
}
