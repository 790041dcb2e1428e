// conv2d / convTranspose2d: PyTorch semantics (torch.nn.functional.conv2d / conv_transpose2d),
// checked against direct-loop float64 references written here, float64 central-difference
// gradients, agreement under jit, and clear errors for bad arguments.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, jit, grad, valueAndGrad, toData, type Array } from "../src/engine/index.js";
import {
  conv2d, convTranspose2d, conv2dOutputSize, convTranspose2dOutputSize,
  type Conv2dOptions, type ConvTranspose2dOptions, type IntPair,
} from "../src/engine/conv.js";
import { assertClose, checkGrad, f64, randn } from "./helpers/numeric.js";

await init();

// ---------------------------------------------------------------------------------------------
// References: the definitions, as loops.

type Shape4 = [number, number, number, number];

/** out[n,o,oh,ow] = b[o] + sum_{c,i,j} x[n,c,oh*s-pt+i*d, ow*s-pl+j*d] * w[o,c,i,j] (zero outside x). */
function refConv2d(
  x: Float64Array, [N, C, H, W]: Shape4, w: Float64Array, [O, , KH, KW]: Shape4, b: Float64Array | null,
  stride: IntPair, padBefore: IntPair, padAfter: IntPair, dil: IntPair,
) {
  const Ho = Math.floor((H + padBefore[0] + padAfter[0] - dil[0] * (KH - 1) - 1) / stride[0]) + 1;
  const Wo = Math.floor((W + padBefore[1] + padAfter[1] - dil[1] * (KW - 1) - 1) / stride[1]) + 1;
  const out = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
    let s = b ? b[o] : 0;
    for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const ih = oh * stride[0] - padBefore[0] + i * dil[0], iw = ow * stride[1] - padBefore[1] + j * dil[1];
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) s += x[((n * C + c) * H + ih) * W + iw] * w[((o * C + c) * KH + i) * KW + j];
    }
    out[((n * O + o) * Ho + oh) * Wo + ow] = s;
  }
  return { data: out, shape: [N, O, Ho, Wo] };
}

/**
 * The scatter definition: x[n,c,ih,iw] * w[c,o,i,j] lands on (ih*s - p + i*d, iw*s - p + j*d), p the
 * padding at the top (left); `padEnd` (default `pad`) is what is removed at the bottom (right).
 */
function refConvTranspose2d(
  x: Float64Array, [N, C, H, W]: Shape4, w: Float64Array, [, O, KH, KW]: Shape4, b: Float64Array | null,
  stride: IntPair, pad: IntPair, outPad: IntPair, dil: IntPair, padEnd: IntPair = pad,
) {
  const Ho = (H - 1) * stride[0] - pad[0] - padEnd[0] + dil[0] * (KH - 1) + outPad[0] + 1;
  const Wo = (W - 1) * stride[1] - pad[1] - padEnd[1] + dil[1] * (KW - 1) + outPad[1] + 1;
  const out = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) out.fill(b ? b[o] : 0, (n * O + o) * Ho * Wo, (n * O + o + 1) * Ho * Wo);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < W; iw++) {
    const xv = x[((n * C + c) * H + ih) * W + iw];
    for (let o = 0; o < O; o++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const oh = ih * stride[0] - pad[0] + i * dil[0], ow = iw * stride[1] - pad[1] + j * dil[1];
      if (oh >= 0 && oh < Ho && ow >= 0 && ow < Wo) out[((n * O + o) * Ho + oh) * Wo + ow] += xv * w[((c * O + o) * KH + i) * KW + j];
    }
  }
  return { data: out, shape: [N, O, Ho, Wo] };
}

const pairOf = (v: number | IntPair | undefined, d: number): IntPair => (v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v);
const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const f32 = (data: ArrayLike<number>, shape: number[]) => np.array(Float32Array.from(data)).reshape(shape);

interface Case { x: Shape4; w: Shape4; bias: boolean; opts: Conv2dOptions & ConvTranspose2dOptions }

/** Runs `op` in float64 and float32 and compares with the reference. */
function checkAgainstReference(kind: "conv2d" | "convTranspose2d", c: Case, seed: number): void {
  const xd = randn(size(c.x), seed), wd = randn(size(c.w), seed + 1);
  const cout = kind === "conv2d" ? c.w[0] : c.w[1];
  const bd = c.bias ? randn(cout, seed + 2) : null;
  const s = pairOf(c.opts.stride, 1), d = pairOf(c.opts.dilation, 1);
  let ref;
  if (kind === "conv2d") {
    const p = pairOf(c.opts.padding as number | IntPair | undefined, 0);
    ref = refConv2d(xd, c.x, wd, c.w, bd, s, p, p, d);
  } else {
    const p = c.opts.padding;
    const perSide = Array.isArray(p) && Array.isArray(p[0]);
    const [top, bottom] = perSide
      ? [[(p as IntPair[])[0][0], (p as IntPair[])[1][0]], [(p as IntPair[])[0][1], (p as IntPair[])[1][1]]] as IntPair[]
      : [pairOf(p as number | IntPair, 0), pairOf(p as number | IntPair, 0)];
    ref = refConvTranspose2d(xd, c.x, wd, c.w, bd, s, top, pairOf(c.opts.outputPadding, 0), d, bottom);
  }
  const op = kind === "conv2d" ? conv2d : convTranspose2d;
  const what = `${kind} x[${c.x}] w[${c.w}] ${JSON.stringify(c.opts)} bias=${c.bias}`;
  const y64 = op(f64(xd, c.x), f64(wd, c.w), bd ? f64(bd, [cout]) : null, c.opts);
  assert.deepEqual(y64.shape, ref.shape, `${what}: shape`);
  assert.equal(y64.dtype, "float64");
  assertClose(toData(y64), ref.data, { rtol: 1e-12, atol: 1e-12 }, `${what} (float64)`);
  const y32 = op(f32(xd, c.x), f32(wd, c.w), bd ? f32(bd, [cout]) : null, c.opts);
  assert.equal(y32.dtype, "float32");
  assertClose(toData(y32), ref.data, { rtol: 1e-4, atol: 1e-4 }, `${what} (float32)`);
}

// ---------------------------------------------------------------------------------------------
// Values

const conv2dCases: Case[] = [
  { x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: true, opts: {} },
  { x: [2, 3, 7, 6], w: [2, 3, 3, 3], bias: true, opts: { padding: 1 } },
  { x: [3, 2, 6, 7], w: [3, 2, 2, 3], bias: false, opts: { padding: 2 } },
  { x: [2, 5, 9, 8], w: [3, 5, 3, 3], bias: true, opts: { stride: 2 } }, // per-tap path (5*9 > 32)
  { x: [2, 4, 8, 9], w: [6, 4, 3, 2], bias: true, opts: { stride: 2, padding: 1 } },
  { x: [2, 1, 28, 28], w: [4, 1, 3, 3], bias: true, opts: { stride: 2 } }, // the conv-VAE's first layer, small
  { x: [2, 2, 7, 5], w: [3, 2, 3, 1], bias: false, opts: { stride: [2, 1], padding: [0, 2] } },
  { x: [3, 2, 6, 6], w: [2, 2, 4, 4], bias: true, opts: { stride: 2, padding: 2 } },
  { x: [2, 6, 5, 6], w: [9, 6, 1, 1], bias: true, opts: {} }, // 1x1
  { x: [2, 3, 9, 9], w: [2, 3, 3, 3], bias: true, opts: { stride: 3, padding: 1 } },
  { x: [2, 2, 9, 8], w: [3, 2, 3, 2], bias: true, opts: { dilation: 2, padding: 1 } },
  { x: [1, 2, 10, 9], w: [2, 2, 3, 3], bias: false, opts: { dilation: [2, 3], stride: 2, padding: [2, 1] } },
  { x: [2, 9, 6, 7], w: [10, 9, 3, 3], bias: true, opts: { padding: 1 } }, // Cout >= 8
  { x: [2, 3, 3, 4], w: [2, 3, 3, 4], bias: true, opts: {} }, // kernel covers the input: 1x1 output
  // narrowing layers (kh*kw*Cout < Cin): products of all taps at once, then shifted sums
  { x: [2, 12, 8, 8], w: [1, 12, 3, 3], bias: true, opts: { padding: 1 } }, // NCHW path (h*w % 4 == 0)
  { x: [2, 20, 9, 8], w: [2, 20, 3, 2], bias: true, opts: { stride: 2, padding: 1, dilation: [1, 2] } },
  { x: [2, 12, 7, 6], w: [1, 12, 3, 3], bias: false, opts: { padding: 1 } }, // channels-last path (h*w % 4 != 0)
];

for (const [k, c] of conv2dCases.entries()) {
  test(`conv2d matches the reference: x[${c.x}] w[${c.w}] ${JSON.stringify(c.opts)}${c.bias ? " +bias" : ""}`, () => {
    checkAgainstReference("conv2d", c, 100 + 10 * k);
  });
}

const convTCases: Case[] = [
  { x: [2, 3, 4, 5], w: [3, 2, 3, 3], bias: true, opts: {} },
  { x: [2, 3, 4, 5], w: [3, 4, 3, 3], bias: true, opts: { stride: 2 } },
  { x: [2, 3, 5, 4], w: [3, 2, 3, 3], bias: true, opts: { stride: 2, padding: 1, outputPadding: 1 } }, // "same", x2
  { x: [3, 5, 4, 4], w: [5, 3, 3, 3], bias: false, opts: { stride: 2, padding: 1, outputPadding: 1 } }, // per-tap path
  { x: [2, 2, 5, 6], w: [2, 3, 3, 2], bias: true, opts: { padding: [1, 0] } },
  { x: [2, 3, 4, 3], w: [3, 2, 2, 3], bias: false, opts: { stride: [2, 1], padding: [0, 1], outputPadding: [1, 0] } },
  { x: [2, 2, 3, 4], w: [2, 3, 4, 4], bias: true, opts: { stride: 2, padding: 2 } },
  { x: [2, 2, 3, 3], w: [2, 2, 3, 3], bias: true, opts: { stride: 3, padding: 1, outputPadding: 2 } },
  { x: [2, 2, 4, 4], w: [2, 2, 2, 2], bias: true, opts: { stride: 3 } }, // stride > kernel: empty phases
  { x: [2, 2, 4, 3], w: [2, 2, 3, 2], bias: true, opts: { dilation: 2, padding: 1 } },
  { x: [1, 2, 3, 4], w: [2, 3, 3, 3], bias: false, opts: { dilation: [2, 1], stride: 2, padding: [2, 1], outputPadding: [1, 0] } },
  { x: [2, 8, 3, 3], w: [8, 9, 3, 3], bias: true, opts: { stride: 2, padding: 1, outputPadding: 1 } },
  { x: [2, 4, 7, 7], w: [4, 1, 3, 3], bias: true, opts: { padding: 1 } }, // Cout = 1, "same"
  { x: [2, 3, 2, 2], w: [3, 2, 1, 1], bias: true, opts: { stride: 2, padding: 0, outputPadding: 1 } }, // 1x1 kernel
  // narrowing layers (kh*kw*Cout < Cin), like a decoder's last layer
  { x: [2, 12, 5, 4], w: [12, 1, 3, 3], bias: true, opts: { padding: 1 } }, // NCHW path
  { x: [2, 12, 5, 4], w: [12, 1, 3, 3], bias: false, opts: { stride: 2, padding: 1, outputPadding: 1 } },
  { x: [2, 30, 4, 4], w: [30, 3, 3, 3], bias: true, opts: { stride: 2 } },
  { x: [2, 12, 5, 5], w: [12, 1, 3, 3], bias: true, opts: { padding: 1 } }, // channels-last path
  // padding per side: TensorFlow's 'same' (stride 2, 3x3: nothing removed at the top, one row at the
  // bottom), and others, on the per-tap and narrowing paths
  { x: [2, 5, 4, 3], w: [5, 3, 3, 3], bias: true, opts: { stride: 2, padding: [[0, 1], [0, 1]] } },
  { x: [2, 3, 4, 5], w: [3, 2, 3, 3], bias: false, opts: { stride: 2, padding: [[2, 0], [1, 2]] } },
  { x: [1, 2, 3, 4], w: [2, 3, 3, 2], bias: true, opts: { stride: [2, 3], padding: [[1, 2], [0, 0]], outputPadding: [1, 2] } },
  { x: [2, 12, 5, 4], w: [12, 1, 3, 3], bias: true, opts: { stride: 2, padding: [[0, 1], [1, 0]] } }, // narrowing
];

for (const [k, c] of convTCases.entries()) {
  test(`convTranspose2d matches the reference: x[${c.x}] w[${c.w}] ${JSON.stringify(c.opts)}${c.bias ? " +bias" : ""}`, () => {
    checkAgainstReference("convTranspose2d", c, 500 + 10 * k);
  });
}

test("conv2d and convTranspose2d on random shapes (float64, both internal paths)", () => {
  let state = 12345;
  const rand = (lo: number, hi: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return lo + (state % (hi - lo + 1));
  };
  let done = 0;
  for (let t = 0; done < 30 && t < 200; t++) {
    const n = rand(1, 3), cin = rand(1, 5), cout = rand(1, 4), kh = rand(1, 4), kw = rand(1, 4);
    const s: IntPair = [rand(1, 3), rand(1, 3)], d: IntPair = [rand(1, 2), rand(1, 2)], p: IntPair = [rand(0, 2), rand(0, 2)];
    const h = rand(1, 9), w = rand(1, 9), bias = rand(0, 1) === 1;
    if (t % 2 === 0) {
      if (h + 2 * p[0] < d[0] * (kh - 1) + 1 || w + 2 * p[1] < d[1] * (kw - 1) + 1) continue;
      checkAgainstReference("conv2d", { x: [n, cin, h, w], w: [cout, cin, kh, kw], bias, opts: { stride: s, padding: p, dilation: d } }, t);
    } else {
      const op: IntPair = [rand(0, Math.max(s[0], d[0]) - 1), rand(0, Math.max(s[1], d[1]) - 1)];
      if ((h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] < 0 || (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] < 0) continue;
      checkAgainstReference("convTranspose2d", { x: [n, cin, h, w], w: [cin, cout, kh, kw], bias, opts: { stride: s, padding: p, outputPadding: op, dilation: d } }, t);
    }
    done++;
  }
  assert.equal(done, 30);
});

test("layout 'NHWC' (channels last) gives the NCHW results transposed, on every internal path", () => {
  const cases: [ "conv2d" | "convTranspose2d", Shape4, Shape4, Case["opts"]][] = [
    ["conv2d", [2, 3, 7, 6], [4, 3, 3, 3], { stride: 2, padding: 1 }], // im2col path
    ["conv2d", [2, 5, 6, 7], [9, 5, 3, 2], { padding: [1, 0], dilation: [2, 1] }], // per-tap path
    ["conv2d", [2, 12, 7, 6], [1, 12, 3, 3], { stride: 2, padding: 1 }], // narrowing path
    ["convTranspose2d", [2, 3, 4, 5], [3, 2, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
    ["convTranspose2d", [2, 6, 4, 3], [6, 9, 3, 3], { stride: [1, 2], padding: 1 }],
    ["convTranspose2d", [2, 12, 5, 5], [12, 1, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }], // narrowing
  ];
  for (const [k, [kind, xs, ws, opts]] of cases.entries()) {
    const op = kind === "conv2d" ? conv2d : convTranspose2d;
    const cout = kind === "conv2d" ? ws[0] : ws[1];
    const xd = randn(size(xs), 40 + k), wd = randn(size(ws), 50 + k), bd = randn(cout, 60 + k);
    const ref = toData(op(f64(xd, xs), f64(wd, ws), f64(bd, [cout]), opts));
    const y = op(f64(xd, xs).transpose([0, 2, 3, 1]), f64(wd, ws), f64(bd, [cout]), { ...opts, layout: "NHWC" });
    assert.equal(y.shape[3], cout, `${kind} NHWC output channels last`);
    assertClose(toData(y.transpose([0, 3, 1, 2])), ref, { rtol: 1e-12, atol: 1e-12 }, `${kind} ${JSON.stringify(opts)} NHWC`);
  }
  // unbatched [H, W, C]
  const u = conv2d(f64(randn(5 * 5 * 2, 1), [5, 5, 2]), f64(randn(3 * 2 * 9, 2), [3, 2, 3, 3]), null, { padding: 1, layout: "NHWC" });
  assert.deepEqual(u.shape, [5, 5, 3]);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 9, 2), [4, 3, 3, 3]), null, { layout: "NHWC" }),
    /conv2d: input has 6 channels but weight expects 3/); // X() is [2, 3, 6, 6]: read as NHWC, C = 6
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 9, 2), [4, 3, 3, 3]), null, { layout: "nhwc" as never }),
    /conv2d: layout must be "NCHW" or "NHWC"/);
});

test("NHWC gradients match central differences (input, weight, bias)", () => {
  const xs: Shape4 = [1, 3, 4, 2], ws: Shape4 = [2, 3, 3, 3], opts = { stride: 2, padding: 1, outputPadding: 1, layout: "NHWC" as const };
  const xd = randn(size(xs), 70), wd = randn(size(ws), 71), bd = randn(3, 72);
  const r = randn(1 * 6 * 8 * 3, 73);
  const loss = (x: Array, w: Array, b: Array) => np.sum(convTranspose2d(x, w, b, opts).mul(f64(r, [1, 6, 8, 3])));
  checkGrad((x) => loss(x, f64(wd, ws), f64(bd, [3])), xd, xs, { what: "NHWC d/dx" });
  checkGrad((w) => loss(f64(xd, xs), w, f64(bd, [3])), wd, ws, { what: "NHWC d/dweight" });
  checkGrad((b) => loss(f64(xd, xs), f64(wd, ws), b), bd, [3], { what: "NHWC d/dbias" });
});

test("conv2d padding 'same' and 'valid' follow PyTorch (asymmetric 'same' for even kernels)", () => {
  const xd = randn(2 * 2 * 6 * 5, 1), wd = randn(3 * 2 * 4 * 3, 2), bd = randn(3, 3);
  const same = conv2d(f64(xd, [2, 2, 6, 5]), f64(wd, [3, 2, 4, 3]), f64(bd, [3]), { padding: "same" });
  // PyTorch: total padding d*(k-1) = [3, 2]; before = [1, 1], after = [2, 1]
  const ref = refConv2d(xd, [2, 2, 6, 5], wd, [3, 2, 4, 3], bd, [1, 1], [1, 1], [2, 1], [1, 1]);
  assert.deepEqual(same.shape, [2, 3, 6, 5]);
  assertClose(toData(same), ref.data, { rtol: 1e-12, atol: 1e-12 });
  const valid = conv2d(f64(xd, [2, 2, 6, 5]), f64(wd, [3, 2, 4, 3]), null, { padding: "valid" });
  const refValid = refConv2d(xd, [2, 2, 6, 5], wd, [3, 2, 4, 3], null, [1, 1], [0, 0], [0, 0], [1, 1]);
  assert.deepEqual(valid.shape, [2, 3, 3, 3]);
  assertClose(toData(valid), refValid.data, { rtol: 1e-12, atol: 1e-12 });
});

test("unbatched [C, H, W] input gives an unbatched output, as in PyTorch", () => {
  const xd = randn(2 * 5 * 5, 4), wd = randn(3 * 2 * 3 * 3, 5);
  const y = conv2d(f64(xd, [2, 5, 5]), f64(wd, [3, 2, 3, 3]), null, { padding: 1 });
  assert.deepEqual(y.shape, [3, 5, 5]);
  assertClose(toData(y), refConv2d(xd, [1, 2, 5, 5], wd, [3, 2, 3, 3], null, [1, 1], [1, 1], [1, 1], [1, 1]).data, { rtol: 1e-12, atol: 1e-12 });
  const t = convTranspose2d(f64(xd, [2, 5, 5]), f64(wd, [2, 3, 3, 3]), null, { stride: 2 });
  assert.deepEqual(t.shape, [3, 11, 11]);
});

test("output size helpers follow PyTorch's formulas", () => {
  assert.deepEqual(conv2dOutputSize([28, 28], [3, 3], { stride: 2 }), [13, 13]);
  assert.deepEqual(conv2dOutputSize([13, 13], [3, 3], { stride: 2 }), [6, 6]);
  assert.deepEqual(conv2dOutputSize([7, 9], [3, 2], { stride: [2, 3], padding: [1, 0], dilation: [1, 2] }), [4, 3]);
  assert.deepEqual(convTranspose2dOutputSize([7, 7], [3, 3], { stride: 2, padding: 1, outputPadding: 1 }), [14, 14]);
  assert.deepEqual(convTranspose2dOutputSize([28, 28], [3, 3], { padding: 1 }), [28, 28]);
});

// ---------------------------------------------------------------------------------------------
// Gradients: float64 central differences with respect to input, weight and bias.

function gradChecks(kind: "conv2d" | "convTranspose2d", xs: Shape4, ws: Shape4, opts: Case["opts"], seed: number): void {
  const op = kind === "conv2d" ? conv2d : convTranspose2d;
  const cout = kind === "conv2d" ? ws[0] : ws[1];
  const xd = randn(size(xs), seed), wd = randn(size(ws), seed + 1), bd = randn(cout, seed + 2);
  const yShape = op(f64(xd, xs), f64(wd, ws), f64(bd, [cout]), opts).shape;
  const r = randn(size(yShape), seed + 3); // a random linear functional of the output
  const loss = (x: Array, w: Array, b: Array) => np.sum(op(x, w, b, opts).mul(f64(r, yShape)));
  checkGrad((x) => loss(x, f64(wd, ws), f64(bd, [cout])), xd, xs, { what: `${kind} d/dx` });
  checkGrad((w) => loss(f64(xd, xs), w, f64(bd, [cout])), wd, ws, { what: `${kind} d/dweight` });
  checkGrad((b) => loss(f64(xd, xs), f64(wd, ws), b), bd, [cout], { what: `${kind} d/dbias` });
}

test("conv2d gradients (input, weight, bias) match central differences: stride 2, padding 1", () => {
  gradChecks("conv2d", [2, 2, 5, 4], [3, 2, 3, 2], { stride: 2, padding: 1 }, 1);
});

test("conv2d gradients match central differences: stride 1, padding [0, 2], dilation 2, per-tap path", () => {
  gradChecks("conv2d", [1, 4, 5, 3], [2, 4, 2, 3], { padding: [0, 2], dilation: [2, 1] }, 2);
});

test("convTranspose2d gradients (input, weight, bias) match central differences: stride 2, 'same' x2", () => {
  gradChecks("convTranspose2d", [2, 2, 3, 4], [2, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }, 3);
});

test("convTranspose2d gradients match central differences: stride [1, 2], per-tap path", () => {
  gradChecks("convTranspose2d", [1, 4, 3, 3], [4, 2, 3, 3], { stride: [1, 2], padding: [1, 0] }, 4);
});

test("convTranspose2d gradients match central differences: padding per side (TensorFlow's 'same')", () => {
  gradChecks("convTranspose2d", [2, 3, 3, 2], [3, 2, 3, 3], { stride: 2, padding: [[0, 1], [0, 1]] }, 7);
});

test("gradients match central differences on the narrowing-layer paths (NCHW and channels-last)", () => {
  gradChecks("conv2d", [1, 5, 2, 4], [1, 5, 2, 2], { padding: 1 }, 5); // NCHW path
  gradChecks("convTranspose2d", [1, 5, 3, 1], [5, 1, 2, 2], { stride: 2, padding: [1, 0], outputPadding: 1 }, 6); // channels-last
});

test("under jit: values and gradients equal the un-jitted ones (float32)", () => {
  const xd = randn(2 * 3 * 9 * 9, 7), wd = randn(10 * 3 * 3 * 3, 8), bd = randn(10, 9);
  const wtd = randn(10 * 4 * 3 * 3, 10), btd = randn(4, 11);
  const net = (x: Array, w: Array, b: Array, wt: Array, bt: Array) => {
    const h = np.maximum(conv2d(x, w, b, { stride: 2 }), 0); // [2, 10, 4, 4]
    const y = convTranspose2d(h, wt, bt, { stride: 2, padding: 1, outputPadding: 1 }); // [2, 4, 8, 8]
    return np.sum(y.ref.mul(y));
  };
  const args = () => [f32(xd, [2, 3, 9, 9]), f32(wd, [10, 3, 3, 3]), f32(bd, [10]), f32(wtd, [10, 4, 3, 3]), f32(btd, [4])] as const;
  const vg = valueAndGrad(net, { argnums: [0, 1, 2, 3, 4] } as never) as unknown as (...a: Array[]) => [Array, Array[]];
  const [v0, g0] = vg(...args());
  const [v1, g1] = (jit(vg) as typeof vg)(...args());
  assertClose(toData(v1), toData(v0), { rtol: 1e-5, atol: 1e-4 }, "value");
  for (let i = 0; i < 5; i++) assertClose(toData(g1[i]), toData(g0[i]), { rtol: 1e-4, atol: 1e-3 }, `gradient ${i}`);
});

test("grad of a conv inside jit works twice (kernels cached, no use-after-free)", () => {
  const wd = randn(4 * 2 * 3 * 3, 12);
  const f = jit(grad((w: Array, x: Array) => np.sum(conv2d(x, w, null, { padding: 1 }))));
  for (let k = 0; k < 2; k++) {
    const g = toData(f(f32(wd, [4, 2, 3, 3]), np.ones([1, 2, 4, 4])) as Array);
    // d/dw[o,c,i,j] = sum over output positions of the input under tap (i, j): count of valid positions
    assert.equal(g[4], 16); // centre tap sees all 16 positions
    assert.equal(g[0], 9); // a corner tap sees 3x3
  }
});

test("array arguments are consumed (jax-js convention)", () => {
  const x = f64(randn(2 * 2 * 4 * 4, 1), [2, 2, 4, 4]), w = f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), b = f64([1, 2, 3], [3]);
  toData(conv2d(x, w, b, { padding: 1 }));
  for (const a of [x, w, b]) assert.throws(() => a.dataSync());
  const x2 = f64(randn(2 * 2 * 4 * 4, 1), [2, 2, 4, 4]), w2 = f64(randn(2 * 3 * 3 * 3, 2), [2, 3, 3, 3]);
  toData(convTranspose2d(x2.ref, w2, null, { stride: 2 }));
  assert.equal(x2.shape.length, 4); // kept by .ref
  toData(x2); // still usable once
  assert.throws(() => w2.dataSync());
});

// ---------------------------------------------------------------------------------------------
// Bad arguments

const X = () => f64(randn(2 * 3 * 6 * 6, 1), [2, 3, 6, 6]);

test("bad arguments throw clear messages", () => {
  assert.throws(() => conv2d(X(), f64(randn(4 * 1 * 3 * 3, 2), [4, 1, 3, 3]), null),
    /conv2d: input has 3 channels but weight expects 1/);
  assert.throws(() => convTranspose2d(X(), f64(randn(2 * 4 * 3 * 3, 2), [2, 4, 3, 3]), null),
    /convTranspose2d: input has 3 channels but weight expects 2/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), f64([1, 2], [2])),
    /conv2d: bias must have shape \[4\]/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 7 * 3, 2), [4, 3, 7, 3]), null),
    /conv2d: output size would be 0x4/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null, { dilation: 4 }),
    /conv2d: output size would be -2x-2/);
  assert.throws(() => convTranspose2d(X(), f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), null, { padding: 7 }),
    /convTranspose2d: output size would be -6x-6/);
  assert.throws(() => convTranspose2d(X(), f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 }),
    /convTranspose2d: outputPadding must be smaller than stride or dilation/);
  assert.throws(() => convTranspose2d(X(), f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), null, { outputPadding: 1 }),
    /outputPadding must be smaller than stride or dilation/);
  assert.throws(() => convTranspose2d(X(), f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), null, { padding: [[0, 1]] as never }),
    /convTranspose2d: padding per side must be \[\[top, bottom\], \[left, right\]\], got \[\[0,1\]\]/);
  assert.throws(() => convTranspose2d(X(), f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), null, { padding: [[0, -1], [0, 0]] }),
    /convTranspose2d: padding must be an integer >= 0/);
  assert.throws(() => convTranspose2d(X(), f64(randn(3 * 2 * 3 * 3, 2), [3, 2, 3, 3]), null, { padding: [[5, 4], [0, 0]] }),
    /convTranspose2d: output size would be -1x8/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null, { stride: 0 }),
    /conv2d: stride must be an integer >= 1/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null, { padding: -1 }),
    /conv2d: padding must be an integer >= 0/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null, { stride: [1, 2, 3] as never }),
    /conv2d: stride must be/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null, { padding: "same", stride: 2 }),
    /padding "same" needs stride 1/);
  assert.throws(() => conv2d(X(), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null, { groups: 3 } as never),
    /conv2d: unknown option "groups"/);
  assert.throws(() => conv2d(f64(randn(6, 1), [6]), f64(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null),
    /conv2d: input must be \[N, C, H, W\]/);
  assert.throws(() => conv2d(X(), f64(randn(27, 2), [3, 3, 3]), null), /conv2d: weight must be \[Cout, Cin, kh, kw\]/);
  assert.throws(() => conv2d(X(), f32(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]), null), /conv2d: dtypes differ/);
});

// The upstream bug behind conv.ts's last `materialize`. When this test fails, jax-js's jit keeps the
// mask of a pad applied to a constant cotangent; the guard (one pass over the output gradient) can go.
test("upstream: jax-js jit drops the pad mask in jit(grad(x => sum(x.slice(...))))", () => {
  const f = (x: Array) => np.sum(x.slice([0, 2]));
  assert.deepEqual(globalThis.Array.from(toData(grad(f)(np.ones([3])))), [1, 1, 0]);
  const jitted = globalThis.Array.from(toData(jit(grad(f))(np.ones([3])) as Array));
  assert.notDeepEqual(jitted, [1, 1, 0],
    "jax-js fixed the pad mask under jit: conv.ts's final materialize (crop guard) can go");
});
