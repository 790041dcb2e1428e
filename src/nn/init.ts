// Weight initialisers, following torch.nn.init. Each takes an explicit random key (consumed: split
// before drawing twice) and returns a new array owned by the caller. The engine draws float32;
// `dtype: "float64"` casts the draw (for float64 gradient checks).
import { np, random, type Array } from "../engine/index.js";

export type FloatDtype = "float32" | "float64";
export type InitOpts = { dtype?: FloatDtype };
/** Anything that can fill a tensor of `shape`: the layers' `weightInit` option. */
export type Initializer = (key: Array, shape: number[], opts?: InitOpts) => Array;

function cast(x: Array, dtype: FloatDtype = "float32"): Array {
  return dtype === "float64" ? x.astype(np.float64) : x;
}

/**
 * torch's _calculate_fan_in_and_fan_out: receptive = prod(shape[2:]),
 * fanIn = shape[1] * receptive, fanOut = shape[0] * receptive. So Linear [out, in] has fanIn = in;
 * Conv2d [Cout, Cin, kh, kw] has fanIn = Cin kh kw; ConvTranspose2d [Cin, Cout, kh, kw] has
 * fanIn = Cout kh kw (torch reads dim 1 whatever the layer).
 */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan in and fan out need a tensor of at least 2 dims, got shape [${shape}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** x ~ U(low, high). */
export function uniform(key: Array, shape: number[], low: number, high: number, { dtype }: InitOpts = {}): Array {
  return cast(random.uniform(key, shape, { minval: low, maxval: high }), dtype);
}

/** x ~ N(0, std²). */
export function normal(key: Array, shape: number[], std: number, { dtype }: InitOpts = {}): Array {
  return cast(random.normal(key, shape).mul(std), dtype);
}

export type Nonlinearity = "linear" | "identity" | "sigmoid" | "tanh" | "relu" | "leakyRelu" | "selu";

/**
 * torch.nn.init.calculate_gain: 1 for linear/identity/sigmoid, 5/3 for tanh, √2 for relu,
 * √(2 / (1 + a²)) for leakyRelu with negative slope a (default 0.01), 3/4 for selu.
 */
export function gain(nonlinearity: Nonlinearity, a?: number): number {
  switch (nonlinearity) {
    case "linear": case "identity": case "sigmoid": return 1;
    case "tanh": return 5 / 3;
    case "relu": return Math.SQRT2;
    case "leakyRelu": { const s = a ?? 0.01; return Math.sqrt(2 / (1 + s * s)); }
    case "selu": return 3 / 4;
    default: throw new Error(`unknown nonlinearity "${nonlinearity}"`);
  }
}

type GainOpts = InitOpts & { gain?: number };

/** Glorot/Xavier uniform: U(-b, b), b = gain √(6 / (fanIn + fanOut)). */
export function glorotUniform(key: Array, shape: number[], { gain: g = 1, dtype }: GainOpts = {}): Array {
  const { fanIn, fanOut } = fans(shape);
  const b = g * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(key, shape, -b, b, { dtype });
}

/** Glorot/Xavier normal: N(0, σ²), σ = gain √(2 / (fanIn + fanOut)). */
export function glorotNormal(key: Array, shape: number[], { gain: g = 1, dtype }: GainOpts = {}): Array {
  const { fanIn, fanOut } = fans(shape);
  return normal(key, shape, g * Math.sqrt(2 / (fanIn + fanOut)), { dtype });
}

type KaimingOpts = InitOpts & { a?: number; mode?: "fanIn" | "fanOut"; nonlinearity?: Nonlinearity };

function kaimingStd(shape: number[], { a = 0, mode = "fanIn", nonlinearity = "leakyRelu" }: KaimingOpts): number {
  const f = fans(shape);
  return gain(nonlinearity, a) / Math.sqrt(mode === "fanIn" ? f.fanIn : f.fanOut);
}

/**
 * He/Kaiming uniform: U(-b, b), b = √3 σ with σ = gain / √fan (torch defaults: a = 0,
 * mode fanIn, nonlinearity leakyRelu, so gain = √2).
 */
export function kaimingUniform(key: Array, shape: number[], opts: KaimingOpts = {}): Array {
  const b = Math.sqrt(3) * kaimingStd(shape, opts);
  return uniform(key, shape, -b, b, { dtype: opts.dtype });
}

/** He/Kaiming normal: N(0, σ²), σ = gain / √fan (same defaults as kaimingUniform). */
export function kaimingNormal(key: Array, shape: number[], opts: KaimingOpts = {}): Array {
  return normal(key, shape, kaimingStd(shape, opts), { dtype: opts.dtype });
}

/**
 * PyTorch's default weight init for Linear/Conv*: kaiming_uniform(a = √5), i.e. gain = √(1/3)
 * and b = √3 gain / √fanIn = 1 / √fanIn: W ~ U(-1/√fanIn, 1/√fanIn).
 */
export function torchDefaultWeight(key: Array, shape: number[], { dtype }: InitOpts = {}): Array {
  return kaimingUniform(key, shape, { a: Math.sqrt(5), dtype });
}

/**
 * PyTorch's default bias init: b ~ U(-1/√fanIn, 1/√fanIn), with fanIn = fans(weight shape).fanIn of
 * the layer (so a ConvTranspose2d bias uses Cout kh kw, like torch).
 */
export function torchDefaultBias(key: Array, size: number, fanIn: number, { dtype }: InitOpts = {}): Array {
  const b = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform(key, [size], -b, b, { dtype });
}
