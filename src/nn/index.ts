// Neural-network building blocks: layers as (init, apply) pairs over plain parameter trees, in
// PyTorch's layouts and names. Applies consume their input x and borrow the parameter tree p.
//
// Naming: `conv2d` / `convTranspose2d` are the engine's functional convs,
// (x, weight, bias | null, { stride, padding[, outputPadding] }), all arguments consumed. The layer
// applies over a parameter tree are `conv2dLayer(p, x, opts)` / `convTranspose2dLayer(p, x, opts)`.
export { conv2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from "../engine/conv.js";
export * from "./activations.js";
// Initialisers under their own namespace, like torch.nn.init: nn.init.glorotUniform(key, shape).
export * as init from "./init.js";
export type { Initializer, InitOpts, FloatDtype, Nonlinearity } from "./init.js";
export { initLinear, linear, type LinearParams, type LayerInitOpts } from "./linear.js";
export * from "./conv.js";
export * from "./shape.js";
export * from "./mlp.js";
export * from "./tree.js";
