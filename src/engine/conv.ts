// 2-D convolution and transposed convolution on matrix products, with PyTorch's semantics
// (torch.nn.functional.conv2d / conv_transpose2d): NCHW activations (or NHWC with `layout`),
// weights [Cout, Cin, kh, kw] and [Cin, Cout, kh, kw], optional bias [Cout], stride / padding /
// dilation (and output padding) as a number or an [h, w] pair. Every array argument is consumed
// (jax-js convention).
//
// Why not lax.conv: on the wasm backend it compiles to one kernel that gathers the input through a
// strided, masked view for every multiply-add, 10-100x slower than a matmul of the same size.
//
// How (measured on jax-js 0.1.25's wasm backend, one thread; see bench/conv.ts):
// - The engine's matmul kernel is fast (about 20-25 GFLOP/s, SIMD) when the output's fastest axis
//   (a multiple of 4 wide) is read contiguously from one operand and both operands advance by a
//   constant stride along the contraction. Kernels that read through masked (padded) or
//   div/mod-heavy views run scalar at about 1-5 ns per element, and such a view fused into a
//   matmul's inner loop is ruinous. So every matmul here reads plain buffers or strided windows.
// - jax-js contracts the last axis of both matmul operands, so channels last is the natural
//   layout: each layer writes its zero-padded input once as channels-last planes [N, H', W', Cin]
//   (stride^2 space-to-depth phase planes for a strided conv2d, one buffer each), and computes
//   each kernel tap as a matmul of a shifted window of a plane, [N, Ho, Wo, Cin] @ [Cin, Cout],
//   summed in the matmuls' epilogues (`sumOfTaps`). The weights are shared across the batch, so
//   each weight gradient is one contraction over all rows. NCHW input and output cost a
//   transposition each (fused into the input pass; the output is a view the reader writes out).
// - Transposed convolution with stride s: s*s sub-pixel (phase) convolutions, each a stride-1 conv
//   of the padded input with the taps that land on that output phase; the phases are interleaved
//   by concatenations (`interleavePhases`). No zero insertion, no col2im scatter: the multiply count equals the
//   direct method's.
// - Narrowing layers (kh*kw*Cout < Cin, e.g. a decoder's last layer to 1 channel) compute all taps'
//   products in one matmul over the unpadded input and sum shifted views of them
//   (`narrowProducts`), which keeps the backward pass's masked sums small.
// - The backward pass is jax-js autodiff of the above: matmuls for the weight and input gradients
//   per tap, and one fused sum of shifted (padded) copies for the input gradient.
// - `materialize` marks where a buffer must be written out: the padded input planes (so matmuls
//   read plain buffers), the matmul outputs (so the backward pass writes the output gradient once
//   in the matmuls' layout), and outputs after a crop (see its comment: a jax-js jit bug).
import "./shims.js";
import { numpy as np } from "@jax-js/jax";
import type { Array } from "@jax-js/jax";

export type IntPair = [number, number];

/**
 * Memory layout of the input and output activations: "NCHW" (PyTorch's, the default) or "NHWC"
 * (channels last, TensorFlow's default). Weights keep PyTorch's layouts either way. NHWC is the
 * engine's native layout here: it skips a transposition of the input and of the output (and of
 * their gradients), worth it when consecutive layers all use it.
 */
export type ConvLayout = "NCHW" | "NHWC";

export interface Conv2dOptions {
  /** Stride of the sliding window: a number or [h, w]. Default 1. */
  stride?: number | IntPair;
  /** Zero padding on both sides: a number, [h, w], or "valid" (0) / "same" (stride 1 only). Default 0. */
  padding?: number | IntPair | "valid" | "same";
  /** Spacing between kernel taps: a number or [h, w]. Default 1. */
  dilation?: number | IntPair;
  /** Activation layout, "NCHW" (default) or "NHWC". */
  layout?: ConvLayout;
}

export interface ConvTranspose2dOptions {
  /** Stride of the corresponding forward convolution: a number or [h, w]. Default 1. */
  stride?: number | IntPair;
  /**
   * `dilation * (k - 1) - padding` zero padding is added to both sides of the input: a number or
   * [h, w] (PyTorch's), or [[top, bottom], [left, right]] to remove different amounts from the two
   * ends of the output (TensorFlow's 'same' for a stride-2, 3x3 kernel is [[0, 1], [0, 1]]: only
   * the kept rows and columns are computed). Default 0.
   */
  padding?: number | IntPair | [IntPair, IntPair];
  /** Extra size added to one side (bottom/right) of the output. Must be smaller than stride or dilation. Default 0. */
  outputPadding?: number | IntPair;
  /** Spacing between kernel taps: a number or [h, w]. Default 1. */
  dilation?: number | IntPair;
  /** Activation layout, "NCHW" (default) or "NHWC". */
  layout?: ConvLayout;
}

// ---------------------------------------------------------------------------------------------
// Shapes and validation

/** Output spatial size [Ho, Wo] of conv2d (PyTorch's formula). Throws when it would be < 1. */
export function conv2dOutputSize(
  inputHW: IntPair, kernelHW: IntPair, opts: Conv2dOptions = {},
): IntPair {
  const o = resolveConv2d(opts, kernelHW, "conv2d");
  const out = [0, 1].map((a) => Math.floor(
    (inputHW[a] + o.padBefore[a] + o.padAfter[a] - o.dilation[a] * (kernelHW[a] - 1) - 1) / o.stride[a],
  ) + 1) as IntPair;
  if (out[0] < 1 || out[1] < 1) {
    throw new Error(
      `conv2d: output size would be ${out[0]}x${out[1]} (input ${inputHW[0]}x${inputHW[1]}, padded by ` +
      `${o.padBefore[0] + o.padAfter[0]}x${o.padBefore[1] + o.padAfter[1]}, kernel ${kernelHW[0]}x${kernelHW[1]}, ` +
      `dilation ${o.dilation[0]}x${o.dilation[1]}): the dilated kernel is larger than the padded input`,
    );
  }
  return out;
}

/** Output spatial size [Ho, Wo] of convTranspose2d (PyTorch's formula). Throws when it would be < 1. */
export function convTranspose2dOutputSize(
  inputHW: IntPair, kernelHW: IntPair, opts: ConvTranspose2dOptions = {},
): IntPair {
  const o = resolveConvTranspose2d(opts);
  const out = [0, 1].map((a) =>
    (inputHW[a] - 1) * o.stride[a] - o.padBefore[a] - o.padAfter[a] + o.dilation[a] * (kernelHW[a] - 1) + o.outputPadding[a] + 1,
  ) as IntPair;
  if (out[0] < 1 || out[1] < 1) {
    throw new Error(
      `convTranspose2d: output size would be ${out[0]}x${out[1]} (input ${inputHW[0]}x${inputHW[1]}, ` +
      `kernel ${kernelHW[0]}x${kernelHW[1]}, stride ${o.stride[0]}x${o.stride[1]}, padding ${o.padBefore[0] + o.padAfter[0]}x${o.padBefore[1] + o.padAfter[1]} in all): ` +
      `padding is too large`,
    );
  }
  return out;
}

function toPair(v: number | IntPair | undefined, dflt: number, name: string, fn: string, min: number): IntPair {
  const p: unknown[] = v === undefined ? [dflt, dflt] : globalThis.Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every((e) => typeof e === "number" && Number.isInteger(e) && e >= min)) {
    throw new Error(
      `${fn}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`,
    );
  }
  return p as IntPair;
}

interface ResolvedConv { stride: IntPair; dilation: IntPair; padBefore: IntPair; padAfter: IntPair }

function resolveConv2d(opts: Conv2dOptions, kernelHW: IntPair, fn: string): ResolvedConv {
  checkKeys(opts, ["stride", "padding", "dilation", "layout"], fn);
  const stride = toPair(opts.stride, 1, "stride", fn, 1);
  const dilation = toPair(opts.dilation, 1, "dilation", fn, 1);
  const pad = opts.padding;
  if (pad === "valid") return { stride, dilation, padBefore: [0, 0], padAfter: [0, 0] };
  if (pad === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new Error(`${fn}: padding "same" needs stride 1 (as in PyTorch), got stride [${stride}]`);
    }
    // PyTorch: total = dilation * (k - 1), the smaller half before, the larger after.
    const total = [0, 1].map((a) => dilation[a] * (kernelHW[a] - 1));
    const before = total.map((t) => Math.floor(t / 2)) as IntPair;
    return { stride, dilation, padBefore: before, padAfter: [total[0] - before[0], total[1] - before[1]] };
  }
  if (typeof pad === "string") {
    throw new Error(`${fn}: padding must be a number, a pair, "valid" or "same", got "${pad}"`);
  }
  const p = toPair(pad, 0, "padding", fn, 0);
  return { stride, dilation, padBefore: p, padAfter: p };
}

interface ResolvedConvT { stride: IntPair; dilation: IntPair; padBefore: IntPair; padAfter: IntPair; outputPadding: IntPair }

function resolveConvTranspose2d(opts: ConvTranspose2dOptions): ResolvedConvT {
  const fn = "convTranspose2d";
  checkKeys(opts, ["stride", "padding", "outputPadding", "dilation", "layout"], fn);
  const stride = toPair(opts.stride, 1, "stride", fn, 1);
  const dilation = toPair(opts.dilation, 1, "dilation", fn, 1);
  const pad = opts.padding;
  const perSide = globalThis.Array.isArray(pad) && pad.some((p) => globalThis.Array.isArray(p));
  if (perSide && (pad.length !== 2 || !pad.every((p) => globalThis.Array.isArray(p)))) {
    throw new Error(`${fn}: padding per side must be [[top, bottom], [left, right]], got ${JSON.stringify(pad)}`);
  }
  const [padBefore, padAfter] = perSide
    ? (() => {
      const [ph, pw] = (pad as [IntPair, IntPair]).map((p) => toPair(p, 0, "padding", fn, 0));
      return [[ph[0], pw[0]], [ph[1], pw[1]]] as [IntPair, IntPair];
    })()
    : (() => {
      const p = toPair(pad as number | IntPair | undefined, 0, "padding", fn, 0);
      return [p, p];
    })();
  const outputPadding = toPair(opts.outputPadding, 0, "outputPadding", fn, 0);
  for (const a of [0, 1]) {
    if (outputPadding[a] >= stride[a] && outputPadding[a] >= dilation[a]) {
      throw new Error(
        `${fn}: outputPadding must be smaller than stride or dilation (as in PyTorch), ` +
        `got outputPadding [${outputPadding}] with stride [${stride}] and dilation [${dilation}]`,
      );
    }
  }
  return { stride, dilation, padBefore, padAfter, outputPadding };
}

function checkKeys(opts: object, allowed: string[], fn: string): void {
  if (opts === null || typeof opts !== "object") throw new Error(`${fn}: options must be an object`);
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k) && (opts as Record<string, unknown>)[k] !== undefined) {
      throw new Error(`${fn}: unknown option "${k}" (allowed: ${allowed.join(", ")})`);
    }
  }
}

/** Disposes the (consumed) arguments, then throws. */
function fail(arrays: (Array | null | undefined)[], message: string): never {
  for (const a of arrays) {
    try {
      a?.dispose();
    } catch {
      // already freed: nothing to release
    }
  }
  throw new Error(message);
}

function checkArgs(fn: string, x: Array, weight: Array, bias: Array | null, inAxis: 0 | 1, opts: object): {
  n: number; c: number; h: number; w: number; cout: number; kh: number; kw: number; unbatched: boolean; nhwc: boolean;
} {
  const all = [x, weight, bias];
  const isArray = (a: unknown) => a !== null && typeof a === "object" && typeof (a as Array).dispose === "function";
  if (!isArray(x) || !isArray(weight) || (bias !== null && bias !== undefined && !isArray(bias))) {
    fail(all, `${fn}: x and weight must be arrays and bias an array or null`);
  }
  const layout = (opts as { layout?: unknown } | null)?.layout ?? "NCHW";
  if (layout !== "NCHW" && layout !== "NHWC") {
    fail(all, `${fn}: layout must be "NCHW" or "NHWC", got ${JSON.stringify(layout)}`);
  }
  const nhwc = layout === "NHWC";
  if (x.ndim !== 4 && x.ndim !== 3) {
    fail(all, `${fn}: input must be ${nhwc ? "[N, H, W, C] (or unbatched [H, W, C])" : "[N, C, H, W] (or unbatched [C, H, W])"}, got shape [${x.shape}]`);
  }
  const wdesc = inAxis === 1 ? "[Cout, Cin, kh, kw]" : "[Cin, Cout, kh, kw]";
  if (weight.ndim !== 4) fail(all, `${fn}: weight must be ${wdesc}, got shape [${weight.shape}]`);
  const unbatched = x.ndim === 3;
  const s4 = unbatched ? [1, ...x.shape] : x.shape;
  const [n, c, h, w] = nhwc ? [s4[0], s4[3], s4[1], s4[2]] : s4;
  const [kh, kw] = weight.shape.slice(2);
  const wc = weight.shape[inAxis], cout = weight.shape[1 - inAxis];
  if (wc !== c) {
    fail(all, `${fn}: input has ${c} channels but weight expects ${wc} (weight ${wdesc} = [${weight.shape}])`);
  }
  if (bias) {
    if (bias.ndim !== 1 || bias.shape[0] !== cout) {
      fail(all, `${fn}: bias must have shape [${cout}] (one per output channel), got [${bias.shape}]`);
    }
  }
  const dt = x.dtype;
  if (weight.dtype !== dt || (bias && bias.dtype !== dt)) {
    fail(all, `${fn}: dtypes differ: input ${dt}, weight ${weight.dtype}${bias ? `, bias ${bias.dtype}` : ""}`);
  }
  if ([n, c, h, w, cout, kh, kw].some((d) => d === 0)) {
    fail(all, `${fn}: empty dimension in input [${x.shape}] or weight [${weight.shape}]`);
  }
  return { n, c, h, w, cout, kh, kw, unbatched, nhwc };
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/**
 * An identity that jit cannot see through: neg(neg(x)) survives the jaxpr simplifier, and jit
 * writes a non-view producer out whenever a matmul (or a pad) reads it through a view. Used
 * - on the padded input planes and the weights, so the matmuls read plain buffers;
 * - on the matmul output, so that in the backward pass the cotangent is written once, in the
 *   matmuls' layout, for all taps (in the forward pass it fuses into the matmul's epilogue);
 * - on outputs that were cropped (convTranspose2d's phase grid, the narrowing paths' windows),
 *   because jax-js 0.1.25's jit drops the mask of a pad (the transpose of a crop) applied to a
 *   constant: jit(grad(x => sum(x.slice([0, 2]))))(ones(3)) gives [1, 1, 1], not [1, 1, 0].
 *   With this, the cotangent reaching the pads is always a buffer.
 */
function materialize(x: Array): Array {
  return np.negative(np.negative(x));
}

/**
 * `materialize`, and written out even when the only reader is a view that jit would fuse into its
 * consumer: jit writes out whatever a pad reads, and the pad is sliced off again (a no-op view).
 * In a gradient, the cotangent of x is written out too (the transpose of the slice is a pad). Also
 * used where jit would otherwise fuse a matmul's output into the next matmul's inner loop and
 * recompute it there (eval's refined proposal: the decoder's logits, 1 s a step instead of 25 ms).
 */
export function writeOut(x: Array): Array {
  const n = x.shape[0];
  return np.pad(materialize(x), [[0, 1], ...x.shape.slice(1).map(() => [0, 0] as IntPair)]).slice([0, n]);
}

/** Pads (positive) or crops (negative) each axis: widths[a] = [before, after]. */
function padOrCrop(x: Array, widths: IntPair[]): Array {
  const shape = x.shape;
  if (widths.some(([b, a]) => b < 0 || a < 0)) {
    x = x.slice(...widths.map(([b, a], i) => [Math.max(0, -b), shape[i] - Math.max(0, -a)] as IntPair));
  }
  if (widths.some(([b, a]) => b > 0 || a > 0)) {
    x = np.pad(x, widths.map(([b, a]) => [Math.max(0, b), Math.max(0, a)] as IntPair));
  }
  return x;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

/** One kernel tap: weight tap (i, j) read from phase plane `plane` at row/column offset (dr, dc). */
interface Tap { i: number; j: number; plane: number; dr: number; dc: number }

/**
 * Sum over taps of (shifted input window) @ (weight tap), for an output grid rows x cols:
 * out[n, r, s, :] = sum_t planes[plane_t][n, r + dr_t, s + dc_t, :] @ wt[i_t, j_t].
 * `planes`: zero-padded input planes, each [N, H', W', Cin], borrowed (one buffer per
 * space-to-depth phase, so that the backward pass's masked sum for a plane only has that plane's
 * taps); `wt`: weights [kh, kw, Cin, Cout], contiguous, borrowed. Returns [N, rows, cols, Cout].
 * Every matmul vectorises over its output channels, reads its rows through a plain strided window
 * (no masks) and shares the weights across all rows. Three ways, by shape:
 * - shift the inputs (the default): one matmul per tap on a window of the input plane, the products
 *   summed in the matmuls' epilogues. The backward pass sums the taps' input gradients through
 *   masked (padded) reads: T terms per input element.
 * - shift the outputs, when T * Cout < Cin (a layer narrowing to few channels): one matmul per plane
 *   against all its taps' weights side by side ([.., Cin] @ [Cin, T * Cout]), then a sum of T
 *   shifted windows of that product (unmasked). The backward pass's masked sum then runs over the
 *   small product instead of the input, and the input gradient is a single matmul.
 * - gather the taps (im2col), when Cin * T <= 32 (a first layer on 1-3 channels): the taps' input
 *   windows concatenated along Cin, one matmul with contraction Cin * T instead of T matmuls with
 *   a contraction of 1-3.
 */
function sumOfTaps(planes: Array[], wt: Array, taps: Tap[], n: number, rows: number, cols: number): Array {
  const [, , cin, cout] = wt.shape;
  const dtype = wt.dtype;
  if (taps.length === 0) return np.zeros([n, rows, cols, cout], { dtype });
  const window = (x: Array, t: Tap) => x.slice([], [t.dr, t.dr + rows], [t.dc, t.dc + cols], []);
  const input = (t: Tap) => window(planes[t.plane].ref, t); // [N, rows, cols, Cin]
  const weight = (t: Tap) => wt.ref.slice(t.i, t.j); // [Cin, Cout]
  const product = (x: Array, w: Array) => np.matmul(x, w); // [.., K] @ [K, M] with a 2-D right operand
  let out: Array | null = null;
  const add = (y: Array) => {
    out = out ? out.add(y) : y;
  };
  if (taps.length > 1 && taps.length * cout < cin) {
    for (const plane of new Set(taps.map((t) => t.plane))) {
      const group = taps.filter((t) => t.plane === plane);
      // [Cin, |group| * Cout], zero columns up to a multiple of 4 (the matmul vectorises over them)
      const ws = group.map(weight), width = roundUp(group.length * cout, 4);
      if (width > group.length * cout) ws.push(np.zeros([cin, width - group.length * cout], { dtype }));
      const w = ws.length === 1 ? ws[0] : np.concatenate(ws, 1);
      const z = materialize(product(planes[plane].ref, w)); // [N, H', W', width]
      group.forEach((t, k) => add(window(z.ref, t).slice([], [], [], [k * cout, (k + 1) * cout])));
      z.dispose();
    }
  } else if (cin * taps.length <= 32 && taps.length > 1) {
    // contraction padded with zeros to a multiple of 4, so the weight gradient's matmul vectorises
    const k = cin * taps.length, kp = roundUp(k, 4);
    const xs = taps.map(input), ws = taps.map(weight);
    if (kp > k) {
      xs.push(np.zeros([n, rows, cols, kp - k], { dtype }));
      ws.push(np.zeros([kp - k, cout], { dtype }));
    }
    add(product(np.concatenate(xs, 3), np.concatenate(ws, 0)));
  } else {
    for (const t of taps) add(product(input(t), weight(t)));
  }
  return out!;
}

/**
 * Layers that narrow to few output channels (kh*kw*Cout < Cin, e.g. a decoder's last layer):
 * every tap's product at once, Z[n, p, (i, j, o)] = sum_c x[n, p, c] * w[c, o, i, j] (one matmul over
 * the unpadded channels-last input), then each output is a sum of shifted views of Z (zero
 * outside). The input gradient is then one matmul, and the backward pass's masked sum runs over
 * the small Z instead of the input. `wt` [kh, kw, Cin, Cout] borrowed, x [N, H, W, Cin] consumed.
 * Returns tap(i, j): Z's block for that tap as [N, H, W, Cout]; `done()` releases Z.
 */
function narrowProducts(x: Array, wt: Array): { tap: (i: number, j: number) => Array; done: () => void } {
  const [kh, kw, cin, cout] = wt.shape;
  const [n, h, w] = x.shape;
  const m = kh * kw * cout, width = roundUp(m, 4); // the matmul vectorises over its columns
  let wall = wt.ref.transpose([2, 0, 1, 3]).reshape([cin, m]); // columns (i, j, o)
  if (width > m) wall = np.concatenate([wall, np.zeros([cin, width - m], { dtype: wt.dtype })], 1);
  const z = materialize(np.matmul(x.reshape([n, h * w, cin]), wall));
  const zv = z.ref.slice([], [], [0, m]).reshape([n, h, w, kh, kw, cout]);
  z.dispose();
  return { tap: (i, j) => zv.ref.slice([], [], [], i, j, []), done: () => zv.dispose() };
}

function useNarrow(cin: number, cout: number, kh: number, kw: number): boolean {
  return kh * kw > 1 && kh * kw * cout < cin;
}

/**
 * The output of a transposed conv from its phases: y[n, sh*a + bh, sw*b + bw, :] = phases[bh*sw + bw]
 * [n, a, b, :], each phase [N, a, b, C] (consumed). First the columns of each row phase, then the
 * rows, each a concatenation along the last axis of a 2-D view (one contiguous block of C, then of
 * sw*b*C, values per input): jax-js compiles that to 4.2 ns a value on the keras-conv-vae's 64 -> 32
 * layer, against 6.9 for one stack of all phases read through a transposed 6-D view
 * (bench/interleave.ts).
 */
function interleavePhases(phases: Array[], sh: number, sw: number): Array {
  if (phases.length === 1) return phases[0];
  const [n, a, b, c] = phases[0].shape;
  const rows = globalThis.Array.from({ length: sh }, (_, bh) => {
    const row = phases.slice(bh * sw, (bh + 1) * sw);
    return sw === 1 ? row[0] : np.concatenate(row.map((p) => p.reshape([n * a * b, c])), 1); // [n·a·b, sw·c]
  });
  const y = sh === 1 ? rows[0] : np.concatenate(rows.map((r) => r.reshape([n * a, b * sw * c])), 1);
  return y.reshape([n, a * sh, b * sw, c]);
}

/** out[n, a, b, :] = z[n, a + dr, b + dc, :] (zero outside z), shape [N, rows, cols, C]. Consumes z. */
function shifted(z: Array, dr: number, dc: number, rows: number, cols: number): Array {
  const [, h, w] = z.shape;
  return padOrCrop(z, [[0, 0], [-dr, rows + dr - h], [-dc, cols + dc - w], [0, 0]]);
}

// ---------------------------------------------------------------------------------------------
// conv2d

/**
 * 2-D convolution (cross-correlation), exactly torch.nn.functional.conv2d:
 * `x` [N, Cin, H, W] (or [Cin, H, W]), `weight` [Cout, Cin, kh, kw], `bias` [Cout] or null
 * -> [N, Cout, Ho, Wo] with Ho = floor((H + 2*pad - dilation*(kh-1) - 1) / stride) + 1.
 * All array arguments are consumed. Differentiable (grad, vjp, jit).
 */
export function conv2d(x: Array, weight: Array, bias: Array | null = null, opts: Conv2dOptions = {}): Array {
  const fn = "conv2d";
  const { n, c, h, w, cout, kh, kw, unbatched, nhwc } = checkArgs(fn, x, weight, bias ?? null, 1, opts);
  let o: ResolvedConv, outHW: IntPair;
  try {
    o = resolveConv2d(opts, [kh, kw], fn);
    outHW = conv2dOutputSize([h, w], [kh, kw], opts);
  } catch (e) {
    fail([x, weight, bias], (e as Error).message);
  }
  const [ho, wo] = outHW;
  const [sh, sw] = o.stride, [dh, dw] = o.dilation;
  if (unbatched) x = x.reshape(nhwc ? [1, h, w, c] : [1, c, h, w]);

  if (useNarrow(c, cout, kh, kw)) {
    // out[n, oh, ow, o] = sum_ij Z[n, oh*sh + i*dh - pt, ow*sw + j*dw - pl, i, j, o] (channels last)
    const wt = materialize(weight.transpose([2, 3, 1, 0])); // [kh, kw, Cin, Cout]
    const z = narrowProducts(nhwc ? x : x.transpose([0, 2, 3, 1]), wt);
    wt.dispose();
    let y: Array | null = null;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        let t = shifted(z.tap(i, j), i * dh - o.padBefore[0], j * dw - o.padBefore[1], ho * sh, wo * sw);
        if (sh > 1 || sw > 1) t = t.reshape([n, ho, sh, wo, sw, cout]).slice([], [], 0, [], 0, []);
        y = y ? y.add(t) : t;
      }
    }
    z.done();
    if (bias) y = y!.add(bias);
    y = materialize(y!);
    if (!nhwc) y = y.transpose([0, 3, 1, 2]);
    return unbatched ? y.reshape(nhwc ? [ho, wo, cout] : [cout, ho, wo]) : y;
  }

  // Tap (i, j) reads padded row oh*sh + i*dh = (oh + di)*sh + ri: phase plane ri, row shift di.
  const rowTaps = globalThis.Array.from({ length: kh }, (_, i) => ({ d: Math.floor((i * dh) / sh), r: (i * dh) % sh }));
  const colTaps = globalThis.Array.from({ length: kw }, (_, j) => ({ d: Math.floor((j * dw) / sw), r: (j * dw) % sw }));
  const dRowMax = Math.max(...rowTaps.map((t) => t.d)), dColMax = Math.max(...colTaps.map((t) => t.d));
  const ha = ho + dRowMax, wa = wo + dColMax; // phase planes [ha, wa]
  const [pt, pl] = o.padBefore;
  // Padded input [N, ha*sh, wa*sw, C] -> phase planes [N, ha, wa, C] (space-to-depth, channels last),
  // written once.
  let xp: Array;
  if (nhwc) {
    xp = padOrCrop(x, [[0, 0], [pt, ha * sh - h - pt], [pl, wa * sw - w - pl], [0, 0]]);
    xp = xp.reshape([n, ha, sh, wa, sw, c]).transpose([2, 4, 0, 1, 3, 5]);
  } else {
    xp = padOrCrop(x, [[0, 0], [0, 0], [pt, ha * sh - h - pt], [pl, wa * sw - w - pl]]);
    xp = xp.reshape([n, c, ha, sh, wa, sw]).transpose([3, 5, 0, 2, 4, 1]);
  }
  const planes: Array[] = [];
  for (let ri = 0; ri < sh; ri++) {
    for (let rj = 0; rj < sw; rj++) planes.push(materialize(xp.ref.slice(ri, rj)));
  }
  xp.dispose();
  const wt = materialize(weight.transpose([2, 3, 1, 0])); // [kh, kw, Cin, Cout]
  const taps: Tap[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      taps.push({ i, j, plane: rowTaps[i].r * sw + colTaps[j].r, dr: rowTaps[i].d, dc: colTaps[j].d });
    }
  }
  let y = sumOfTaps(planes, wt, taps, n, ho, wo);
  for (const p of planes) p.dispose();
  wt.dispose();
  if (bias) y = y.add(bias);
  // Channels-last buffer (so that the backward pass writes the output gradient once, in the
  // matmuls' layout); NCHW is a view of it, written out by whoever reads it.
  y = materialize(y);
  if (!nhwc) y = y.transpose([0, 3, 1, 2]);
  return unbatched ? y.reshape(nhwc ? [ho, wo, cout] : [cout, ho, wo]) : y;
}

// ---------------------------------------------------------------------------------------------
// convTranspose2d

/**
 * 2-D transposed convolution, exactly torch.nn.functional.conv_transpose2d (groups = 1):
 * `x` [N, Cin, H, W] (or [Cin, H, W]), `weight` [Cin, Cout, kh, kw], `bias` [Cout] or null
 * -> [N, Cout, Ho, Wo] with Ho = (H-1)*stride - 2*padding + dilation*(kh-1) + outputPadding + 1
 * (with padding per side, - top - bottom instead of - 2*padding). All array arguments are
 * consumed. Differentiable (grad, vjp, jit).
 */
export function convTranspose2d(
  x: Array, weight: Array, bias: Array | null = null, opts: ConvTranspose2dOptions = {},
): Array {
  const fn = "convTranspose2d";
  const { n, c, h, w, cout, kh, kw, unbatched, nhwc } = checkArgs(fn, x, weight, bias ?? null, 0, opts);
  let o: ResolvedConvT, outHW: IntPair;
  try {
    o = resolveConvTranspose2d(opts);
    outHW = convTranspose2dOutputSize([h, w], [kh, kw], opts);
  } catch (e) {
    fail([x, weight, bias], (e as Error).message);
  }
  const [ho, wo] = outHW;
  const [sh, sw] = o.stride, [dh, dw] = o.dilation, [ph, pw] = o.padBefore;
  if (unbatched) x = x.reshape(nhwc ? [1, h, w, c] : [1, c, h, w]);
  const dtype = x.dtype;

  // Output row oh = s*a + beta receives x[ih] * w[i] where ih*s + i*d = oh + p, i.e.
  // ih = a - e with e = (i*d - beta - p) / s an integer. Phase beta's taps are those i.
  const phases = (k: number, s: number, d: number, p: number) =>
    globalThis.Array.from({ length: s }, (_, beta) => {
      const taps: { i: number; e: number }[] = [];
      for (let i = 0; i < k; i++) {
        const num = i * d - beta - p;
        if (((num % s) + s) % s === 0) taps.push({ i, e: num / s });
      }
      return taps;
    });
  const rowPh = phases(kh, sh, dh, ph), colPh = phases(kw, sw, dw, pw);
  const a = Math.ceil(ho / sh), b = Math.ceil(wo / sw); // per-phase output grid (cropped at the end)
  if (useNarrow(c, cout, kh, kw)) {
    // phase (bh, bw): y[n, a, b, o] = sum over its taps of Z[n, a - e_i, b - e_j, i, j, o] (channels last)
    const wt = materialize(weight.transpose([2, 3, 0, 1])); // [kh, kw, Cin, Cout]
    const z = narrowProducts(nhwc ? x : x.transpose([0, 2, 3, 1]), wt);
    wt.dispose();
    const outs: Array[] = [];
    for (let bh = 0; bh < sh; bh++) {
      for (let bw = 0; bw < sw; bw++) {
        let yp: Array | null = null;
        for (const ti of rowPh[bh]) {
          for (const tj of colPh[bw]) {
            const t = shifted(z.tap(ti.i, tj.i), -ti.e, -tj.e, a, b);
            yp = yp ? yp.add(t) : t;
          }
        }
        outs.push(yp ?? np.zeros([n, a, b, cout], { dtype }));
      }
    }
    z.done();
    let y = interleavePhases(outs, sh, sw);
    if (a * sh !== ho || b * sw !== wo) y = y.slice([], [0, ho], [0, wo], []);
    if (bias) y = y.add(bias);
    y = materialize(y);
    if (!nhwc) y = y.transpose([0, 3, 1, 2]);
    return unbatched ? y.reshape(nhwc ? [ho, wo, cout] : [cout, ho, wo]) : y;
  }
  const eMax = (ph_: { e: number }[][]) => Math.max(0, ...ph_.flat().map((t) => t.e));
  const eMin = (ph_: { e: number }[][]) => Math.min(0, ...ph_.flat().map((t) => t.e));
  const padTop = eMax(rowPh), padLeft = eMax(colPh);
  // Input plane [hx, wx] = input rows [-padTop, hx - padTop); tap offsets d = pad - e >= 0.
  const hx = a + padTop - eMin(rowPh), wx = b + padLeft - eMin(colPh);
  let xp = nhwc
    ? padOrCrop(x, [[0, 0], [padTop, hx - h - padTop], [padLeft, wx - w - padLeft], [0, 0]])
    : padOrCrop(x, [[0, 0], [0, 0], [padTop, hx - h - padTop], [padLeft, wx - w - padLeft]]).transpose([0, 2, 3, 1]);
  xp = materialize(xp); // [N, hx, wx, Cin]
  const wt = materialize(weight.transpose([2, 3, 0, 1])); // [kh, kw, Cin, Cout]

  // Each output phase [N, a, b, Cout], interleaved by `interleavePhases`. The backward pass reads
  // each phase's gradient back as a strided view of the output gradient.
  const outs: Array[] = [];
  for (let bh = 0; bh < sh; bh++) {
    for (let bw = 0; bw < sw; bw++) {
      const taps: Tap[] = [];
      for (const ti of rowPh[bh]) {
        for (const tj of colPh[bw]) taps.push({ i: ti.i, j: tj.i, plane: 0, dr: padTop - ti.e, dc: padLeft - tj.e });
      }
      outs.push(taps.length ? materialize(sumOfTaps([xp], wt, taps, n, a, b)) : np.zeros([n, a, b, cout], { dtype }));
    }
  }
  wt.dispose();
  xp.dispose();
  let y = interleavePhases(outs, sh, sw);
  const crop = a * sh !== ho || b * sw !== wo;
  if (crop) y = y.slice([], [0, ho], [0, wo], []);
  if (bias) y = y.add(bias);
  // The interleave is written out channels last (its masked reads and the NCHW transpose are
  // cheaper apart than together); after a crop this also guards its pad (see `materialize`).
  if (outs.length > 1) y = writeOut(y);
  else if (crop) y = materialize(y);
  if (!nhwc) y = y.transpose([0, 3, 1, 2]);
  return unbatched ? y.reshape(nhwc ? [ho, wo, cout] : [cout, ho, wo]) : y;
}
