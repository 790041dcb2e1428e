// A multilayer perceptron laid out like torch's nn.Sequential(Linear, act, Linear, act, ..., Linear):
// the Linear layers sit at indices 0, 2, 4, ..., so state_dict names read "0.weight", "2.bias".
import type { Array } from "../engine/index.js";
import { splitKey } from "../engine/index.js";
import { activation, type ActivationSpec } from "./activations.js";
import { initLinear, linear, type LayerInitOpts, type LinearParams } from "./linear.js";

export type MlpParams = { [index: string]: LinearParams };
export type MlpOpts = {
  /** between layers; default "relu" */
  activation?: ActivationSpec;
  /** after the last layer; default "identity" */
  finalActivation?: ActivationSpec;
};

/** Linear layers sizes[0] -> sizes[1] -> ... -> sizes[n]; `key` is consumed. */
export function initMlp(key: Array, sizes: number[], opts: LayerInitOpts = {}): MlpParams {
  if (!globalThis.Array.isArray(sizes) || sizes.length < 2) {
    key.dispose();
    throw new Error(`an MLP needs at least 2 sizes (input and output), got [${sizes}]`);
  }
  const keys = splitKey(key, sizes.length - 1);
  const p: MlpParams = {};
  keys.forEach((k, i) => { p[String(2 * i)] = initLinear(k, sizes[i], sizes[i + 1], opts); });
  return p;
}

/** The Linear layers of p in Sequential order. */
function layers(p: MlpParams): LinearParams[] {
  const idx = Object.keys(p).map(Number).sort((a, b) => a - b);
  idx.forEach((k, i) => {
    if (k !== 2 * i) throw new Error(`MLP parameters must be keyed "0", "2", "4", ...; got [${Object.keys(p)}]`);
  });
  return idx.map((k) => p[String(k)]);
}

/** h₀ = x; hᵢ₊₁ = act(hᵢ Wᵢᵀ + bᵢ); the last layer uses finalActivation. x consumed, p borrowed. */
export function mlp(p: MlpParams, x: Array, opts: MlpOpts = {}): Array {
  const act = activation(opts.activation ?? "relu");
  const finalAct = activation(opts.finalActivation ?? "identity");
  const ls = layers(p);
  let h = x;
  ls.forEach((l, i) => {
    h = linear(l, h);
    h = i < ls.length - 1 ? act(h) : finalAct(h);
  });
  return h;
}
