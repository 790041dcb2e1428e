// Convolution layers over the engine's torch-semantics convs (NCHW):
// Conv2d weight [Cout, Cin, kh, kw], ConvTranspose2d weight [Cin, Cout, kh, kw], bias [Cout].
import { conv2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from "../engine/conv.js";
import type { Array } from "../engine/index.js";
import { checkSize, initWeightAndBias, type LayerInitOpts } from "./linear.js";

export type ConvParams = { weight: Array; bias?: Array };
export type KernelSize = number | [number, number];

function kernel(k: KernelSize): [number, number] {
  const [kh, kw] = typeof k === "number" ? [k, k] : k;
  checkSize("kernel height", kh);
  checkSize("kernel width", kw);
  return [kh, kw];
}

/** Parameters of Conv2d(cIn, cOut, k): weight [cOut, cIn, kh, kw], bias [cOut]; fanIn = cIn kh kw. */
export function initConv2d(key: Array, cIn: number, cOut: number, kernelSize: KernelSize, opts: LayerInitOpts = {}): ConvParams {
  checkSize("cIn", cIn);
  checkSize("cOut", cOut);
  return initWeightAndBias(key, [cOut, cIn, ...kernel(kernelSize)], cOut, opts);
}

/**
 * Parameters of ConvTranspose2d(cIn, cOut, k): weight [cIn, cOut, kh, kw], bias [cOut]; torch
 * computes fanIn from weight dim 1, so fanIn = cOut kh kw for both weight and bias bounds.
 */
export function initConvTranspose2d(key: Array, cIn: number, cOut: number, kernelSize: KernelSize, opts: LayerInitOpts = {}): ConvParams {
  checkSize("cIn", cIn);
  checkSize("cOut", cOut);
  return initWeightAndBias(key, [cIn, cOut, ...kernel(kernelSize)], cOut, opts);
}

/**
 * y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]   (cross-correlation, torch's Conv2d). x [N, Cin, H, W]
 * consumed, p borrowed; opts (stride, padding, dilation) go to the engine's conv2d as they are.
 */
export function conv2dLayer(p: ConvParams, x: Array, opts: Conv2dOptions = {}): Array {
  return conv2d(x, p.weight.ref, p.bias ? p.bias.ref : null, opts);
}

/**
 * The transpose (input gradient) of conv2d, plus bias: out size
 * (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1 (padding per side
 * [[top, bottom], [left, right]]: − top − bottom). x [N, Cin, H, W] consumed, p borrowed; opts go to
 * the engine's convTranspose2d as they are.
 */
export function convTranspose2dLayer(p: ConvParams, x: Array, opts: ConvTranspose2dOptions = {}): Array {
  return convTranspose2d(x, p.weight.ref, p.bias ? p.bias.ref : null, opts);
}
