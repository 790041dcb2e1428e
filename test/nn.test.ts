// nn: layers as (init, apply) pairs over parameter trees, in PyTorch's layouts and names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, grad, keyFromSeed, splitKey, toData, type Array as Tensor } from "../src/engine/index.js";
import * as nn from "../src/nn/index.js";
import { assertClose, checkGrad, f64, randn } from "./helpers/numeric.js";

await init();

const key = (seed: number) => keyFromSeed(seed);
const f64Tree = { dtype: "float64" } as const;

/** y = x Wᵀ + b in plain JS, row-major. */
function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, n: number, nIn: number, nOut: number): number[] {
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < nOut; o++) {
      let s = b[o];
      for (let k = 0; k < nIn; k++) s += x[i * nIn + k] * w[o * nIn + k];
      y.push(s);
    }
  }
  return y;
}

// ---------------------------------------------------------------- Linear

test("initLinear gives torch's layout: weight [nOut, nIn], bias [nOut]", () => {
  const p = nn.initLinear(key(0), 3, 5);
  assert.deepEqual(p.weight.shape, [5, 3]);
  assert.deepEqual(p.bias!.shape, [5]);
  assert.equal(String(p.weight.dtype), "float32");
  const q = nn.initLinear(key(0), 3, 5, { bias: false, dtype: "float64" });
  assert.equal(q.bias, undefined);
  assert.equal(String(q.weight.dtype), "float64");
  assert.throws(() => nn.initLinear(key(0), 0, 5), /nIn must be a positive integer/);
});

test("linear computes x Wᵀ + b, consumes x and borrows the parameters", () => {
  const w = randn(12, 1), b = randn(4, 2), x = randn(6, 3);
  const p = { weight: f64(w, [4, 3]), bias: f64(b, [4]) };
  const xa = f64(x, [2, 3]);
  const y = nn.linear(p, xa);
  assertClose(toData(y), linearRef(x, w, b, 2, 3, 4), { rtol: 1e-12, atol: 1e-12 });
  assert.equal(xa.refCount, 0, "x is consumed");
  assert.equal(p.weight.refCount, 1, "weight still owned by the caller");
  assert.equal(p.bias.refCount, 1, "bias still owned by the caller");
});

test("linear maps the last axis of a batched [B, T, nIn] input", () => {
  const w = randn(6, 4), b = randn(2, 5), x = randn(2 * 4 * 3, 6);
  const p = { weight: f64(w, [2, 3]), bias: f64(b, [2]) };
  const y = nn.linear(p, f64(x, [2, 4, 3]));
  assert.deepEqual(y.shape, [2, 4, 2]);
  assertClose(toData(y), linearRef(x, w, b, 8, 3, 2), { rtol: 1e-12, atol: 1e-12 });
  assert.throws(() => nn.linear(p, f64(x, [2, 12])), /does not end in nIn = 3/);
});

test("linear without bias is x Wᵀ", () => {
  const w = randn(6, 7), x = randn(3, 8);
  const y = nn.linear({ weight: f64(w, [2, 3]) }, f64(x, [1, 3]));
  assertClose(toData(y), linearRef(x, w, [0, 0], 1, 3, 2), { rtol: 1e-12, atol: 1e-12 });
});

test("linear: float64 gradient wrt the input and wrt the weight match finite differences", () => {
  const w = randn(12, 9), b = randn(4, 10), x = randn(6, 11);
  const p = { weight: f64(w, [4, 3]), bias: f64(b, [4]) };
  // a non-linear scalar loss so that the gradient depends on everything
  checkGrad((xa) => np.sum(np.tanh(nn.linear(p, xa))), x, [2, 3], { what: "d/dx" });
  const xa = f64(x, [2, 3]);
  checkGrad((wa) => np.sum(np.tanh(nn.linear({ weight: wa, bias: p.bias }, xa.ref))), w, [4, 3], { what: "d/dW" });
  checkGrad((ba) => np.sum(np.tanh(nn.linear({ weight: p.weight, bias: ba }, xa.ref))), b, [4], { what: "d/db" });
});

// ---------------------------------------------------------------- activations

/** erf by its Maclaurin series (converges quickly for |x| ≤ 3). */
function erf(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const activationRefs: Record<nn.ActivationName, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  leakyRelu: (x) => (x >= 0 ? x : 0.01 * x),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => Math.log1p(Math.exp(x)),
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  identity: (x) => x,
};
// away from the kinks of relu, leakyRelu and elu at 0
const xs = [-2.5, -1.1, -0.35, 0.2, 0.9, 2.7];
// jax-js 0.1.25's wasm backend evaluates float64 exp/log/erf as float32 polynomials (demote, call,
// promote): log's error reaches ~1.2e-5 absolute for mantissas near 2, erf's ~1e-7. Values are
// held to that; the gradients are exact formulas, checked against differences of those values.
const valueAtol: Partial<Record<nn.ActivationName, number>> = { softplus: 2e-5, gelu: 2e-7 };

for (const name of nn.activationNames) {
  test(`activation "${name}": values match its formula, float64 gradient matches finite differences`, () => {
    const f = nn.activation(name);
    assertClose(toData(f(f64(xs, [6]))), xs.map(activationRefs[name]), { rtol: 1e-6, atol: valueAtol[name] ?? 1e-9 }, name);
    checkGrad((x) => np.sum(f(x)), xs, [6], { what: `d ${name}`, rtol: name === "softplus" ? 5e-4 : 1e-4 });
  });
}

test("softplus' gradient is exactly sigmoid, and softplus is x beyond 20 (torch's threshold)", () => {
  const g = grad((x: Tensor) => np.sum(nn.softplus(x)))(f64([...xs, 25], [7]));
  assertClose(toData(g), [...xs, 25].map(activationRefs.sigmoid), { rtol: 1e-7, atol: 1e-12 });
  assertClose(toData(nn.softplus(f64([25, 1000], [2]))), [25, 1000], { rtol: 0 });
});

test("leakyRelu takes its slope (the seeds use 0.2); elu its alpha", () => {
  const f = nn.activation({ name: "leakyRelu", slope: 0.2 });
  assertClose(toData(f(f64(xs, [6]))), xs.map((x) => (x >= 0 ? x : 0.2 * x)), { rtol: 1e-12 });
  checkGrad((x) => np.sum(f(x)), xs, [6], { what: "d leakyRelu(0.2)" });
  assertClose(toData(nn.leakyRelu(f64([-1], [1]), 0.3)), [-0.3], { rtol: 1e-12 });
  assertClose(toData(nn.activation({ name: "elu", alpha: 2 })(f64([-1], [1]))), [2 * Math.expm1(-1)], { rtol: 1e-6 });
});

test("activation() names the allowed values when given an unknown one", () => {
  assert.throws(() => nn.activation("swish" as nn.ActivationName),
    /unknown activation "swish"; allowed: relu, leakyRelu, tanh, sigmoid, softplus, elu, gelu, identity/);
  assert.throws(() => nn.activation({ name: "relu", slope: 0.2 }), /takes no "slope"/);
});

test("sigmoid and softplus stay finite far out in float32", () => {
  const x = np.array([-100, 100]);
  assertClose(toData(nn.sigmoid(x.ref)), [0, 1], { atol: 1e-7 });
  assertClose(toData(nn.softplus(x)), [0, 100], { rtol: 1e-6, atol: 1e-7 });
});

// ---------------------------------------------------------------- initialisers

/** Mean and variance of a flat sample. */
function moments(a: ArrayLike<number>): { mean: number; variance: number; min: number; max: number } {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    s += a[i]; s2 += a[i] * a[i];
    min = Math.min(min, a[i]); max = Math.max(max, a[i]);
  }
  const mean = s / a.length;
  return { mean, variance: s2 / a.length - mean * mean, min, max };
}

/** A U(-b, b) sample of n: inside the bounds, reaching near them, variance b²/3 to about 2%. */
function assertUniform(a: ArrayLike<number>, b: number, what: string): void {
  const m = moments(a);
  assert.ok(m.min >= -b && m.max <= b, `${what}: [${m.min}, ${m.max}] outside ±${b}`);
  assert.ok(m.min < -0.99 * b && m.max > 0.99 * b, `${what}: [${m.min}, ${m.max}] does not fill ±${b}`);
  assertClose([m.mean], [0], { atol: 0.02 * b }, `${what} mean`);
  assertClose([m.variance], [(b * b) / 3], { rtol: 0.03 }, `${what} variance`);
}

function assertNormal(a: ArrayLike<number>, std: number, what: string): void {
  const m = moments(a);
  assertClose([m.mean], [0], { atol: 0.02 * std }, `${what} mean`);
  assertClose([m.variance], [std * std], { rtol: 0.03 }, `${what} variance`);
}

test("fans follow torch: fanIn = shape[1]·receptive field, fanOut = shape[0]·receptive field", () => {
  assert.deepEqual(nn.init.fans([5, 3]), { fanIn: 3, fanOut: 5 });
  assert.deepEqual(nn.init.fans([8, 4, 3, 3]), { fanIn: 36, fanOut: 72 });
  assert.throws(() => nn.init.fans([7]), /at least 2 dims/);
  assert.equal(nn.init.gain("leakyRelu", Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.equal(nn.init.gain("tanh"), 5 / 3);
});

test("Linear's default init is U(±1/√fanIn) for weight and bias (torch's kaiming_uniform(a=√5))", () => {
  const p = nn.initLinear(key(1), 250, 400);
  assertUniform(toData(p.weight), 1 / Math.sqrt(250), "weight");
  const q = nn.initLinear(key(2), 16, 20000);
  assertUniform(toData(q.bias!), 1 / Math.sqrt(16), "bias");
});

test("glorot uniform/normal and kaiming uniform/normal have the variance of their formula", () => {
  const shape = [300, 200], [fanOut, fanIn] = shape;
  const [k1, k2, k3, k4, k5] = splitKey(key(3), 5);
  assertUniform(toData(nn.init.glorotUniform(k1, shape)), Math.sqrt(6 / (fanIn + fanOut)), "glorotUniform");
  assertNormal(toData(nn.init.glorotNormal(k2, shape, { gain: 2 })), 2 * Math.sqrt(2 / (fanIn + fanOut)), "glorotNormal");
  assertUniform(toData(nn.init.kaimingUniform(k3, shape, { nonlinearity: "relu" })), Math.sqrt(6 / fanIn), "kaimingUniform");
  assertNormal(toData(nn.init.kaimingNormal(k4, shape, { nonlinearity: "relu" })), Math.sqrt(2 / fanIn), "kaimingNormal");
  assertNormal(toData(nn.init.kaimingNormal(k5, shape, { mode: "fanOut", nonlinearity: "relu" })), Math.sqrt(2 / fanOut), "kaimingNormal fanOut");
});

test("initialisers are functions of their key: same key same draw, split keys differ", () => {
  const a = toData(nn.initLinear(key(4), 3, 4).weight);
  const b = toData(nn.initLinear(key(4), 3, 4).weight);
  assert.deepEqual(a, b);
  const p = nn.initLinear(key(4), 3, 4);
  assert.notDeepEqual(Array.from(toData(p.weight)).slice(0, 4), Array.from(toData(p.bias!)), "weight and bias use different keys");
  const m = nn.initMlp(key(5), [4, 4, 4]);
  assert.notDeepEqual(toData(m["0"].weight), toData(m["2"].weight), "layers use different keys");
});

test("a custom weightInit and zero bias; float64 draws", () => {
  const p = nn.initLinear(key(6), 100, 300, { weightInit: nn.init.glorotUniform, biasInit: "zeros", dtype: "float64" });
  assert.equal(String(p.weight.dtype), "float64");
  assertUniform(toData(p.weight), Math.sqrt(6 / 400), "glorot weight");
  assert.deepEqual(Array.from(toData(p.bias!)), new Array(300).fill(0));
});

// ---------------------------------------------------------------- MLP

test("initMlp names its layers like nn.Sequential(Linear, act, Linear, act, Linear)", () => {
  const p = nn.initMlp(key(7), [784, 400, 20, 10]);
  assert.deepEqual(Object.keys(nn.flattenParams(p)), ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
  assert.deepEqual(p["2"].weight.shape, [20, 400]);
  assert.equal(nn.countParams(p), 784 * 400 + 400 + 400 * 20 + 20 + 20 * 10 + 10);
  assert.throws(() => nn.initMlp(key(7), [3]), /at least 2 sizes/);
});

test("mlp applies Linear, activation, ..., Linear, final activation", () => {
  const p = nn.initMlp(key(8), [3, 4, 2], f64Tree);
  const x = randn(6, 12);
  const w0 = toData(p["0"].weight.ref), b0 = toData(p["0"].bias!.ref), w2 = toData(p["2"].weight.ref), b2 = toData(p["2"].bias!.ref);
  const h = linearRef(x, w0, b0, 2, 3, 4).map((v) => (v >= 0 ? v : 0.2 * v));
  const expected = linearRef(h, w2, b2, 2, 4, 2).map((v) => 1 / (1 + Math.exp(-v)));
  const y = nn.mlp(p, f64(x, [2, 3]), { activation: { name: "leakyRelu", slope: 0.2 }, finalActivation: "sigmoid" });
  assertClose(toData(y), expected, { rtol: 1e-9 });
});

test("mlp: float64 gradient wrt the input and wrt a hidden weight match finite differences", () => {
  const x = randn(6, 13);
  // relu: piecewise linear, so differences are exact away from kinks and the tolerance is tight
  const p = nn.initMlp(key(9), [3, 5, 4, 2], f64Tree);
  checkGrad((xa) => np.sum(nn.mlp(p, xa).mul(f64([1, -2, 3, 0.5], [2, 2]))), x, [2, 3], { what: "relu d/dx", rtol: 1e-7, atol: 1e-9 });
  // tanh: jax-js's float64 tanh carries float32-level error (~4e-8), which the differences
  // amplify by 1/2h: atol 3e-5 against gradients of order 0.1
  const opts = { activation: "tanh", finalActivation: "sigmoid" } as const;
  const tol = { rtol: 1e-4, atol: 3e-5 };
  checkGrad((xa) => np.sum(nn.mlp(p, xa, opts)), x, [2, 3], { what: "tanh d/dx", ...tol });
  const w = toData(p["2"].weight.ref);
  const xa = f64(x, [2, 3]);
  checkGrad((wa) => np.sum(nn.mlp({ ...p, 2: { weight: wa, bias: p["2"].bias } }, xa.ref, opts)), w, [4, 5], { what: "tanh d/dW2", ...tol });
});

// ---------------------------------------------------------------- conv layers

/** torch's conv2d in plain JS loops: x [N, C, H, W], w [O, C, kh, kw], stride s, padding pd. */
function conv2dRef(x: ArrayLike<number>, [n, c, h, wd]: number[], w: ArrayLike<number>, [o, , kh, kw]: number[], b: ArrayLike<number>, s: number, pd: number) {
  const ho = Math.floor((h + 2 * pd - kh) / s) + 1, wo = Math.floor((wd + 2 * pd - kw) / s) + 1;
  const y: number[] = [];
  for (let ni = 0; ni < n; ni++) for (let oi = 0; oi < o; oi++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let acc = b[oi];
    for (let ci = 0; ci < c; ci++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const r = i * s - pd + u, q = j * s - pd + v;
      if (r >= 0 && r < h && q >= 0 && q < wd) acc += x[((ni * c + ci) * h + r) * wd + q] * w[((oi * c + ci) * kh + u) * kw + v];
    }
    y.push(acc);
  }
  return { y, shape: [n, o, ho, wo] };
}

test("initConv2d: weight [Cout, Cin, kh, kw], bias [Cout], both U(±1/√(Cin·kh·kw))", () => {
  const p = nn.initConv2d(key(11), 8, 512, 3);
  assert.deepEqual(p.weight.shape, [512, 8, 3, 3]);
  assert.deepEqual(p.bias!.shape, [512]);
  assertUniform(toData(p.weight), 1 / Math.sqrt(8 * 9), "conv weight");
  const q = nn.initConv2d(key(12), 4, 3, [2, 5], { bias: false });
  assert.deepEqual(q.weight.shape, [3, 4, 2, 5]);
  assert.equal(q.bias, undefined);
});

test("initConvTranspose2d: weight [Cin, Cout, kh, kw]; fanIn from weight dim 1 (Cout·kh·kw) as in torch", () => {
  const p = nn.initConvTranspose2d(key(13), 512, 8, 4);
  assert.deepEqual(p.weight.shape, [512, 8, 4, 4]);
  assert.deepEqual(p.bias!.shape, [8]);
  assertUniform(toData(p.weight), 1 / Math.sqrt(8 * 16), "convT weight");
  const big = nn.initConvTranspose2d(key(14), 1, 20000, 1);
  assertUniform(toData(big.bias!), 1 / Math.sqrt(20000), "convT bias (fanIn = Cout·1·1, not Cin = 1)");
});

test("conv2dLayer is torch's Conv2d: values against loops, and nn.conv2d is the engine's functional form", () => {
  const xs = randn(2 * 3 * 5 * 5, 15), ws = randn(4 * 3 * 3 * 3, 16), bs = randn(4, 17);
  const p = { weight: f64(ws, [4, 3, 3, 3]), bias: f64(bs, [4]) };
  const y = nn.conv2dLayer(p, f64(xs, [2, 3, 5, 5]), { stride: 2, padding: 1 });
  const ref = conv2dRef(xs, [2, 3, 5, 5], ws, [4, 3, 3, 3], bs, 2, 1);
  assert.deepEqual(y.shape, ref.shape);
  assertClose(toData(y), ref.y, { rtol: 1e-10, atol: 1e-12 });
  assert.equal(p.weight.refCount, 1, "p borrowed");
  const y2 = nn.conv2d(f64(xs, [2, 3, 5, 5]), p.weight.ref, p.bias.ref, { stride: 2, padding: 1 });
  assertClose(toData(y2), ref.y, { rtol: 1e-10, atol: 1e-12 });
});

test("convTranspose2dLayer inverts conv2d's shape (7 -> 14 with k4 s2 p1) and is its adjoint", () => {
  // <conv2d(x; W), y> = <x, convT(y; W)> for the same weight W [C, O, kh, kw] read as conv [O, C, ...]
  const xs = randn(1 * 2 * 6 * 6, 18), ys = randn(1 * 3 * 3 * 3, 19), ws = randn(3 * 2 * 4 * 4, 20);
  const w = f64(ws, [3, 2, 4, 4]);
  const cx = nn.conv2d(f64(xs, [1, 2, 6, 6]), w.ref, null, { stride: 2, padding: 1 }); // [1, 3, 3, 3]
  const ty = nn.convTranspose2dLayer({ weight: w }, f64(ys, [1, 3, 3, 3]), { stride: 2, padding: 1 }); // [1, 2, 6, 6]
  assert.deepEqual(ty.shape, [1, 2, 6, 6]);
  const lhs = Array.from(toData(cx)).reduce((s, v, i) => s + v * ys[i], 0);
  const rhs = Array.from(toData(ty)).reduce((s, v, i) => s + v * xs[i], 0);
  assertClose([lhs], [rhs], { rtol: 1e-10 });
  const up = nn.initConvTranspose2d(key(15), 4, 2, 4);
  assert.deepEqual(nn.convTranspose2dLayer(up, np.zeros([3, 4, 7, 7]), { stride: 2, padding: 1 }).shape, [3, 2, 14, 14]);
});

test("conv layers: float64 gradient wrt input and weight match finite differences", () => {
  const p = nn.initConv2d(key(16), 2, 3, 3, f64Tree);
  const xs = randn(1 * 2 * 4 * 4, 21);
  checkGrad((x) => np.sum(np.tanh(nn.conv2dLayer(p, x, { padding: 1 }))), xs, [1, 2, 4, 4], { what: "conv d/dx", rtol: 1e-4, atol: 3e-5 });
  const q = nn.initConvTranspose2d(key(17), 2, 3, 3, f64Tree);
  const xa = f64(xs, [1, 2, 4, 4]);
  const ws = toData(q.weight.ref);
  checkGrad((w) => np.sum(np.tanh(nn.convTranspose2dLayer({ weight: w, bias: q.bias }, xa.ref, { stride: 2, padding: 1, outputPadding: 1 }))),
    ws, [2, 3, 3, 3], { what: "convT d/dW", rtol: 1e-4, atol: 3e-5 });
});

// ---------------------------------------------------------------- shape layers

test("flatten and unflatten reshape like torch's nn.Flatten / nn.Unflatten", () => {
  const x = np.zeros([2, 3, 4, 5]);
  const y = nn.flatten(x);
  assert.deepEqual(y.shape, [2, 60]);
  const z = nn.unflatten(y, 1, [3, 4, 5]);
  assert.deepEqual(z.shape, [2, 3, 4, 5]);
  assert.deepEqual(nn.flatten(z, 0, 1).shape, [6, 4, 5]);
  assert.throws(() => nn.unflatten(np.zeros([2, 6]), 1, [4, 2]), /do not multiply/);
});

// ---------------------------------------------------------------- parameter trees

function tinyTree() {
  return {
    encoder: { fc1: { weight: f64([1, 2, 3, 4, 5, 6], [2, 3]), bias: f64([7, 8], [2]) }, fc2: { weight: f64([9], [1, 1]) } },
    decoder: nn.initMlp(key(10), [2, 3]),
  };
}

test("flattenParams gives dotted names; unflattenParams inverts it", () => {
  const t = tinyTree();
  const flat = nn.flattenParams(t);
  assert.deepEqual(Object.keys(flat), ["encoder.fc1.weight", "encoder.fc1.bias", "encoder.fc2.weight", "decoder.0.weight", "decoder.0.bias"]);
  assert.equal(flat["encoder.fc1.bias"], t.encoder.fc1.bias, "the same arrays, not copies");
  const back = nn.unflattenParams(flat);
  assert.deepEqual(nn.flattenParams(back), flat);
  assert.equal(back.encoder.fc2.weight, t.encoder.fc2.weight);
  assert.equal(nn.countParams(t), 6 + 2 + 1 + 6 + 3);
  assert.throws(() => nn.flattenParams({ "a.b": f64([1], [1]) }), /must not contain "."/);
  assert.throws(() => nn.unflattenParams({ a: 1, "a.b": 2 }), /nests under "a", which is a tensor/);
});

test("toRecords / fromRecords round-trip names, shapes and values; the skeleton check names the bad path", () => {
  const t = tinyTree();
  const records = nn.toRecords(t);
  assert.deepEqual(records["encoder.fc1.weight"], { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
  assert.equal(t.encoder.fc1.weight.refCount, 1, "the tree is borrowed");
  const back = nn.fromRecords(records, { like: t }) as typeof t;
  assert.equal(String(back.encoder.fc1.weight.dtype), "float64", "dtype from the skeleton");
  for (const [name, x] of Object.entries(nn.flattenParams(t))) {
    assertClose(toData(nn.flattenParams(back)[name]), toData(x.ref), { rtol: 1e-7 }, name);
  }
  const plain = nn.fromRecords(records);
  assert.equal(String((plain as any).encoder.fc1.bias.dtype), "float32");
  const bad = { ...records, "encoder.fc1.bias": { shape: [3], data: new Float32Array(3) } };
  assert.throws(() => nn.fromRecords(bad, { like: t }), /"encoder.fc1.bias": shape \[3\] where \[2\] was expected/);
  const { "decoder.0.bias": _, ...missing } = records;
  assert.throws(() => nn.fromRecords(missing, { like: t }), /missing parameter "decoder.0.bias"/);
  assert.throws(() => nn.fromRecords({ ...records, extra: { shape: [1], data: new Float32Array(1) } }, { like: t }), /unexpected parameter "extra"/);
});

test("mapParams pairs leaves by name, not by insertion order, and names a mismatch", () => {
  const a = { x: f64([1], [1]), y: f64([10], [1]) };
  const b = { y: f64([20], [1]), x: f64([2], [1]) };
  const sum = nn.mapParams((u: Tensor, v: Tensor) => u.add(v), a, b);
  assert.deepEqual([toData(sum.x)[0], toData(sum.y)[0]], [3, 30]);
  assert.throws(() => nn.mapParams((u: Tensor) => u, { x: f64([1], [1]) }, { z: f64([1], [1]) }), /"z", which tree 0 lacks/);
});
