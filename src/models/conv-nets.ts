// Convolutional encoders and decoders for image models (conv-vae, conv-ae, vq-vae), laid out like
// torch nn.Sequential so parameter names read `encoder.0.weight` (a conv), `encoder.5.bias` (a dense):
//
//   encoder  x [C,H,W] -> (Conv2d(k, stride s) -> act) × n -> Flatten -> (Linear -> act)* -> Linear(out)
//   decoder  z -> (Linear -> act)* -> Linear(c0·h0·w0) -> act -> Unflatten(c0, h0, w0)
//              -> (ConvTranspose2d(k, s, 'same') -> act) × m -> ConvTranspose2d(k, 1, 'same') -> [C,H,W]
//
// Padding follows Keras (the seed 001 tutorial is Keras code): 'valid' is no padding, out =
// floor((n − k)/s) + 1 (28 -> 13 -> 6 for k = 3, s = 2); 'same' gives out = ceil(n/s) for a conv and
// n·s for a transposed conv, padding TensorFlow's way: total = max((ceil(n/s) − 1)·s + k − n, 0),
// floor(total/2) before and the rest after. For a stride-2, 3x3 transposed conv that is 0 before and 1
// after: torch's ConvTranspose2d(padding=0) followed by dropping the last row and column, which is
// what `convTranspose2dSame` computes (without computing the dropped ones). (The usual torch port, padding=1 with output_padding=1, drops
// the first row instead: the same shapes, but a one-pixel shift against Keras's weights.)
//
// Inside the stacks the activations are channels last (NHWC, the layout the engine's conv works in,
// which saves a transposition per layer; bench/conv.ts); the stacks take and return NCHW, and the
// weights keep PyTorch's layouts.
import { np, splitKey, type Array } from "../engine/index.js";
import { conv2dLayer, convTranspose2dLayer, initConv2d, initConvTranspose2d, type ConvParams } from "../nn/conv.js";
import { initLinear, linear, type LinearParams } from "../nn/linear.js";
import { activation, type ActivationSpec } from "../nn/activations.js";
import type { Params } from "./types.js";

export type Padding = "valid" | "same";
export type Shape3 = [number, number, number];

/** Output size of a Keras conv along one axis: valid floor((n − k)/s) + 1, same ceil(n/s). */
export function convOutSize(n: number, k: number, s: number, padding: Padding): number {
  return padding === "same" ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

/** TensorFlow's 'same' padding [before, after] of a conv with input size n (total split floor/ceil). */
export function samePadding(n: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Activations inside the conv stacks are channels-last (the engine's conv is fastest that way). */
const layout = "NHWC" as const;
const toNHWC = (x: Array) => np.transpose(x, [0, 2, 3, 1]);
const toNCHW = (x: Array) => np.transpose(x, [0, 3, 1, 2]);

/**
 * A Keras Conv2D: torch conv2d on the input, zero-padded TF's way for 'same'. x [N, H, W, C]
 * (channels last) consumed, p borrowed.
 */
export function conv2dKeras(p: ConvParams, x: Array, stride: number, padding: Padding): Array {
  if (padding === "valid") return conv2dLayer(p, x, { stride, padding: 0, layout });
  const [, H, W] = x.shape;
  const k = p.weight.shape[2];
  const [hb, ha] = samePadding(H, k, stride), [wb, wa] = samePadding(W, k, stride);
  if (hb === ha && wb === wa && hb === wb) return conv2dLayer(p, x, { stride, padding: hb, layout });
  return conv2dLayer(p, np.pad(x, [[0, 0], [hb, ha], [wb, wa], [0, 0]]), { stride, padding: 0, layout });
}

/**
 * A Keras Conv2DTranspose with padding 'same': output n·s. Torch's conv_transpose2d with `before`
 * rows and columns removed at the start and `after` at the end (the engine's per-side padding, so
 * the dropped ones are never computed), and output_padding s − k when the kernel is shorter than
 * the stride. x [N, h, w, Cin] (channels last) consumed, p borrowed.
 */
export function convTranspose2dSame(p: ConvParams, x: Array, stride: number): Array {
  const k = p.weight.shape[2];
  const total = Math.max(k - stride, 0);
  const before = Math.floor(total / 2), after = total - before;
  const outputPadding = Math.max(stride - k, 0);
  return convTranspose2dLayer(p, x, { stride, padding: [[before, after], [before, after]], outputPadding, layout });
}

// ---------------------------------------------------------------- encoder

export type ConvEncoderSpec = {
  inputShape: Shape3; // [C, H, W]
  channels: number[]; // output channels of the strided conv layers
  kernel: number;
  stride?: number; // default 2 (each conv downsamples)
  padding?: Padding; // default "valid" (Keras's default, the tutorial's)
  activation?: ActivationSpec; // after every conv and hidden dense layer; default relu
  dense?: number[]; // hidden dense layers after Flatten (default none)
  out?: number; // size of the final dense layer; 0 or absent: no dense layers, the output is the feature map (channels last)
};

export type ConvEncoder = {
  /** [c, h, w] after the conv stack. */
  featureShape: Shape3;
  init(key: Array): Params;
  /** x [B, C, H, W] (consumed) -> [B, out], or the channels-last feature map [B, h, w, c] when out is 0. p borrowed. */
  apply(p: Params, x: Array): Array;
};

export function convEncoder(spec: ConvEncoderSpec): ConvEncoder {
  const { inputShape, channels, kernel, stride = 2, padding = "valid", dense = [], out = 0 } = spec;
  const act = activation(spec.activation ?? "relu");
  let [c, h, w] = inputShape;
  const convs: { index: string; cIn: number; cOut: number }[] = [];
  channels.forEach((cOut, i) => {
    const [h2, w2] = [convOutSize(h, kernel, stride, padding), convOutSize(w, kernel, stride, padding)];
    if (h2 < 1 || w2 < 1) {
      throw new Error(`conv encoder: layer ${i + 1} (kernel ${kernel}, stride ${stride}, ${padding}) turns ${h}x${w} into ${h2}x${w2}; use fewer convChannels or a larger image`);
    }
    convs.push({ index: String(2 * i), cIn: c, cOut });
    [c, h, w] = [cOut, h2, w2];
  });
  const featureShape: Shape3 = [c, h, w];
  // Sequential indices: conv 0, act 1, ..., Flatten 2n, then Linear 2n+1, act 2n+2, Linear 2n+3, ...
  const sizes = out > 0 ? [c * h * w, ...dense, out] : [];
  const denses = sizes.slice(1).map((nOut, j) => ({ index: String(2 * convs.length + 1 + 2 * j), nIn: sizes[j], nOut }));
  return {
    featureShape,
    init(key) {
      const keys = splitKey(key, convs.length + denses.length + 1);
      const p: Params = {};
      convs.forEach((l, i) => { p[l.index] = initConv2d(keys[i], l.cIn, l.cOut, kernel) as Params; });
      denses.forEach((l, j) => { p[l.index] = initLinear(keys[convs.length + j], l.nIn, l.nOut) as Params; });
      keys[keys.length - 1].dispose();
      return p;
    },
    apply(p, x) {
      let y = toNHWC(x);
      for (const l of convs) y = act(conv2dKeras(p[l.index] as ConvParams, y, stride, padding));
      if (!denses.length) return y;
      y = toNCHW(y).reshape([y.shape[0], -1]); // torch's Flatten order [c, h, w], so dense weights match PyTorch's
      denses.forEach((l, j) => {
        y = linear(p[l.index] as LinearParams, y);
        if (j < denses.length - 1) y = act(y);
      });
      return y;
    },
  };
}

// ---------------------------------------------------------------- decoder

export type ConvDecoderSpec = {
  outputShape: Shape3; // [C, H, W] of the images
  channels: number[]; // output channels of the upsampling transposed convs, in order (tutorial: [64, 32])
  startChannels: number; // channels of the map the dense layer is reshaped to (tutorial: 32)
  kernel: number;
  stride?: number; // default 2 (each transposed conv upsamples)
  activation?: ActivationSpec; // default relu
  inputDim?: number; // size of z; 0 or absent: the input is already a channels-last map [N, h0, w0, startChannels]
  dense?: number[]; // hidden dense layers before the reshaping one (default none)
};

export type ConvDecoder = {
  /** [c0, h0, w0], the map the transposed convs start from: h0 = ceil(H / s^m). */
  startShape: Shape3;
  /** Floats of the largest intermediate per decoded example: a transposed conv's taps, cIn·k²·h·w. */
  rowFloats: number;
  init(key: Array): Params;
  /** z [N, inputDim] (or a channels-last map [N, h0, w0, c0]), consumed -> [N, C, H, W] before the output link. */
  apply(p: Params, z: Array): Array;
};

export function convDecoder(spec: ConvDecoderSpec): ConvDecoder {
  const { outputShape, channels, startChannels, kernel, stride = 2, inputDim = 0, dense = [] } = spec;
  const act = activation(spec.activation ?? "relu");
  const [C, H, W] = outputShape;
  const up = stride ** channels.length;
  const startShape: Shape3 = [startChannels, Math.ceil(H / up), Math.ceil(W / up)];
  // Sequential indices: Linear 0, act 1, ..., Linear, act, Unflatten, then ConvT, act, ..., ConvT.
  const sizes = inputDim > 0 ? [inputDim, ...dense, startShape[0] * startShape[1] * startShape[2]] : [];
  const denses = sizes.slice(1).map((nOut, j) => ({ index: String(2 * j), nIn: sizes[j], nOut }));
  const first = denses.length ? 2 * denses.length + 1 : 0;
  const cIns = [startChannels, ...channels];
  const cOuts = [...channels, C];
  const convs = cOuts.map((cOut, i) => ({ index: String(first + 2 * i), cIn: cIns[i], cOut, stride: i < channels.length ? stride : 1 }));
  let [h, w] = [startShape[1], startShape[2]];
  let rowFloats = 0;
  for (const l of convs) {
    [h, w] = [h * l.stride, w * l.stride];
    rowFloats = Math.max(rowFloats, l.cIn * kernel * kernel * h * w, l.cOut * h * w);
  }
  return {
    startShape,
    rowFloats,
    init(key) {
      const keys = splitKey(key, convs.length + denses.length + 1);
      const p: Params = {};
      denses.forEach((l, j) => { p[l.index] = initLinear(keys[j], l.nIn, l.nOut) as Params; });
      convs.forEach((l, i) => { p[l.index] = initConvTranspose2d(keys[denses.length + i], l.cIn, l.cOut, kernel) as Params; });
      keys[keys.length - 1].dispose();
      return p;
    },
    apply(p, z) {
      let y = z;
      if (denses.length) {
        for (const l of denses) y = act(linear(p[l.index] as LinearParams, y));
        y = toNHWC(y.reshape([y.shape[0], ...startShape])); // torch's Unflatten order [c, h, w]
      }
      convs.forEach((l, i) => {
        y = convTranspose2dSame(p[l.index] as ConvParams, y, l.stride);
        if (i < convs.length - 1) y = act(y);
      });
      if (y.shape[1] !== H || y.shape[2] !== W) y = y.slice([], [0, H], [0, W], []);
      return toNCHW(y);
    },
  };
}

/** Encoder and decoder with a grid of code vectors: x [B, C, H, W] <-> z [B, N, D], N = h·w. */
export type CodeGridNets = {
  positions: number; // N
  init(key: Array): Params;
  /** z [B, N, D] of images x (consumed). */
  encode(params: Params, x: Array): Array;
  /** Decoder output before the link, [B, C, H, W], from z [B, N, D] (consumed). */
  decode(params: Params, z: Array): Array;
};

export type CodeGridSpec = {
  inputShape: Shape3;
  channels: number[];
  kernel: number;
  /** D: channels of the code grid */
  codeDim: number;
  encoderActivation: ActivationSpec;
  decoderActivation: ActivationSpec;
};

/**
 * The VQ-VAE's conv nets (and conv-ae's grid code): stride-2 'same' convs, then a 1×1 projection to
 * D channels, give the h × w grid of code vectors (28 -> 14 -> 7 for two layers); the decoder mirrors
 * it with transposed convs from the D-channel grid.
 */
export function convGridNets(spec: CodeGridSpec): CodeGridNets {
  const D = spec.codeDim;
  const encoder = convEncoder({ inputShape: spec.inputShape, channels: spec.channels, kernel: spec.kernel, padding: "same", activation: spec.encoderActivation });
  const [c, h, w] = encoder.featureShape;
  const N = h * w;
  const decoder = convDecoder({
    outputShape: spec.inputShape, channels: [...spec.channels].reverse(), startChannels: D, kernel: spec.kernel,
    activation: spec.decoderActivation,
  });
  return {
    positions: N,
    init(key) {
      const [ke, kp, kd] = splitKey(key, 3);
      return { encoder: encoder.init(ke), project: initLinear(kp, c, D), decoder: decoder.init(kd) };
    },
    encode(params, x) {
      const B = x.shape[0];
      const f = encoder.apply(params.encoder as Params, x); // [B, h, w, c]: position-major already
      return linear(params.project as LinearParams, f.reshape([B * N, c])).reshape([B, N, D]);
    },
    decode(params, z) {
      return decoder.apply(params.decoder as Params, z.reshape([z.shape[0], h, w, D]));
    },
  };
}
