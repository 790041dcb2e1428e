// Elementwise activations (each consumes x), and a lookup by name for configs:
// activation("leakyRelu") or activation({ name: "leakyRelu", slope: 0.2 }).
import { np, jnn, type Array } from "../engine/index.js";

/** relu(x) = max(x, 0) */
export function relu(x: Array): Array {
  return jnn.relu(x);
}

/** leakyRelu(x) = x if x ≥ 0 else slope · x   (torch default slope 0.01; the seeds use 0.2) */
export function leakyRelu(x: Array, slope = 0.01): Array {
  return jnn.leakyRelu(x, slope);
}

/** tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ) */
export function tanh(x: Array): Array {
  return np.tanh(x);
}

/** sigmoid(x) = 1 / (1 + e⁻ˣ) */
export function sigmoid(x: Array): Array {
  return jnn.sigmoid(x);
}

/**
 * softplus(x) = log(1 + eˣ), and x itself for x > 20 as torch does (the two differ by < e⁻²⁰).
 * jax-js's own softplus is log(eˣ + 1) unguarded: Infinity from x ≈ 89 on in float32.
 */
export function softplus(x: Array): Array {
  const big = x.ref.greater(20);
  return np.where(big, x.ref, np.log1p(np.exp(np.minimum(x, 20))));
}

/** elu(x) = x if x > 0 else alpha · (eˣ − 1)   (alpha = 1 as in torch) */
export function elu(x: Array, alpha = 1): Array {
  return jnn.elu(x, alpha);
}

/** gelu(x) = x · Φ(x) = x/2 · (1 + erf(x / √2))   (exact, torch's default approximate="none") */
export function gelu(x: Array): Array {
  return jnn.gelu(x, { approximate: false });
}

/** identity(x) = x */
export function identity(x: Array): Array {
  return x;
}

export const activationNames = [
  "relu", "leakyRelu", "tanh", "sigmoid", "softplus", "elu", "gelu", "identity",
] as const;
export type ActivationName = (typeof activationNames)[number];

/** A name, a name with its parameter (leakyRelu's slope, elu's alpha), or a function. */
export type ActivationSpec =
  | ActivationName
  | { name: ActivationName; slope?: number; alpha?: number }
  | ((x: Array) => Array);

const byName: Record<ActivationName, (x: Array, param?: number) => Array> = {
  relu, leakyRelu, tanh, sigmoid, softplus, elu, gelu, identity,
};

/** The activation function a spec names; throws naming the allowed values. */
export function activation(spec: ActivationSpec): (x: Array) => Array {
  if (typeof spec === "function") return spec;
  const name = typeof spec === "string" ? spec : spec?.name;
  if (typeof name !== "string" || !Object.hasOwn(byName, name)) {
    throw new Error(
      `unknown activation ${JSON.stringify(name)}; allowed: ${activationNames.join(", ")}`,
    );
  }
  const fn = byName[name as ActivationName];
  if (typeof spec === "string") return (x) => fn(x);
  const param = name === "leakyRelu" ? spec.slope : name === "elu" ? spec.alpha : undefined;
  const stray = (["slope", "alpha"] as const).find(
    (k) => spec[k] !== undefined && !(k === "slope" && name === "leakyRelu") && !(k === "alpha" && name === "elu"),
  );
  if (stray) throw new Error(`activation "${name}" takes no "${stray}" parameter`);
  if (param !== undefined && !Number.isFinite(param)) throw new Error(`activation "${name}": parameter must be a finite number, got ${param}`);
  return (x) => fn(x, param);
}
