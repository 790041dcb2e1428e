// Distributions: values against plain JS formulas, float64 gradient checks of every logProb, rsample
// and KL against central differences, each closed-form KL against a seeded Monte Carlo estimate, and
// the promised errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, grad, jit, valueAndGrad, keyFromSeed, toData, type Array } from "../src/engine/index.js";
import {
  Distribution, Normal, StandardNormal, gaussianLikelihood, Bernoulli, Categorical, RelaxedOneHotCategorical,
  kl, registerKl, klStandardNormal, klStandardNormalPerDim, softplus,
} from "../src/distributions/index.js";
import { checkGrad, f64, assertClose } from "./helpers/numeric.js";

await init();

const LOG_2PI = Math.log(2 * Math.PI);
// jax-js 0.1.25's wasm backend computes float64 exp/log/log1p in float32 (demote, float32 polynomial,
// promote), so float64 results carry ~1e-7 relative noise, and log errs by up to 1.2e-5 just below a
// power of two (log(0.499)). Hence: values against JS formulas to VALUE; gradient checks with a step
// of 3e-3 (noise ~1e-7 / 2h ≈ 2e-5, truncation ~h²/6 f''' ≈ 1.5e-6 f''') and parameters kept away
// from powers of two, where log's error jumps. A wrong derivative is off by far more than GRAD.
const VALUE = { rtol: 1e-5, atol: 3e-5 };
const GRAD = { h: 3e-3, rtol: 1e-3, atol: 1e-4 };
const data = (x: Array): number[] => [...toData(x)];
const int32 = (xs: number[], shape: number[]) => np.array(Int32Array.from(xs), { dtype: np.int32 }).reshape(shape);

/** f(d) summed to a scalar, then d disposed: the objective handed to checkGrad. */
function total<D extends Distribution>(d: D, f: (d: D) => Array): Array {
  const r = f(d).sum();
  d.dispose();
  return r;
}

// Reference formulas in plain JS (float64).
const normalLogPdf = (x: number, mu: number, s: number) => -0.5 * ((x - mu) / s) ** 2 - Math.log(s) - 0.5 * LOG_2PI;
const jsSoftplus = (l: number) => Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l)));
const jsLogSoftmax = (ls: number[]) => {
  const m = Math.max(...ls);
  const lse = m + Math.log(ls.reduce((s, l) => s + Math.exp(l - m), 0));
  return ls.map((l) => l - lse);
};

/**
 * Mean and standard error of log p(x) − log q(x) over `n` draws x ~ p (seeded), per batch element,
 * next to the closed form; asserts |MC − closed| <= 4 SE + 1e-6 (a 4σ band: a false failure has
 * probability ~6e-5 per element, and the seed is fixed anyway).
 */
function checkKlMonteCarlo(p: Distribution, q: Distribution, n: number, seed: number, what: string): void {
  const x = p.sample(keyFromSeed(seed), [n]);
  const diff = data(p.logProb(x.ref).sub(q.logProb(x))); // [n, ...batch]
  const closed = data(kl(p, q));
  const m = closed.length;
  for (let j = 0; j < m; j++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) s += diff[i * m + j];
    const mean = s / n;
    for (let i = 0; i < n; i++) s2 += (diff[i * m + j] - mean) ** 2;
    const se = Math.sqrt(s2 / (n - 1) / n);
    assert.ok(Math.abs(mean - closed[j]) <= 4 * se + 1e-6,
      `${what}[${j}]: closed form ${closed[j]}, Monte Carlo ${mean} ± ${se} (n = ${n})`);
  }
}

// ---------------------------------------------------------------- Normal

const MU = [0.3, -1.2, 0.8, 2.0, -0.5, 0.1];
const SIGMA = [0.55, 1.3, 0.9, 2.2, 0.7, 1.15];
const X = [0.1, -0.4, 1.9, 1.0, -0.5, -2.0];

test("Normal: batch vs event shape, and a bad eventDims is refused", () => {
  const d = new Normal(f64(MU, [2, 3]), 0.5);
  assert.deepEqual([d.batchShape, d.eventShape, d.eventDims], [[2], [3], 1]);
  d.dispose();
  const e = new Normal(f64(MU, [2, 3]), f64(SIGMA, [2, 3]), { eventDims: 2 });
  assert.deepEqual([e.batchShape, e.eventShape], [[], [2, 3]]);
  e.dispose();
  assert.throws(() => new Normal(f64(MU, [2, 3]), 1, { eventDims: 3 }), /eventDims must be an integer in \[0, 2\]/);
  assert.throws(() => new Normal(f64(MU, [2, 3]), -1), /scale must be > 0/);
});

test("Normal.logProb and entropy agree with the JS formulas (summed over the event dim)", () => {
  const d = new Normal(f64(MU, [2, 3]), f64(SIGMA, [2, 3]));
  const expected = [0, 1].map((b) => [0, 1, 2].reduce((s, i) => s + normalLogPdf(X[3 * b + i], MU[3 * b + i], SIGMA[3 * b + i]), 0));
  assertClose(data(d.logProb(f64(X, [2, 3]))), expected, VALUE, "logProb");
  const h = [0, 1].map((b) => [0, 1, 2].reduce((s, i) => s + 0.5 * (1 + LOG_2PI) + Math.log(SIGMA[3 * b + i]), 0));
  assertClose(data(d.entropy()), h, VALUE, "entropy");
  assertClose(data(d.mean), MU, { rtol: 0, atol: 0 }, "mean");
  assertClose(data(d.variance), SIGMA.map((s) => s * s), VALUE, "variance");
  // a leading sample dim: [4, 2, 3] -> [4, 2]
  assert.deepEqual(d.logProb(f64(new Float64Array(24), [4, 2, 3])).shape, [4, 2]);
  assert.throws(() => d.logProb(f64([1, 2], [1, 2])), /does not end in the event shape \[3\]/);
  d.dispose();
});

test("Normal.fromLogVar(μ, log σ²) is Normal(μ, σ); a scalar scale broadcasts", () => {
  const logVar = SIGMA.map((s) => Math.log(s * s));
  const a = Normal.fromLogVar(f64(MU, [2, 3]), f64(logVar, [2, 3]));
  const b = new Normal(f64(MU, [2, 3]), f64(SIGMA, [2, 3]));
  assertClose(data(a.logProb(f64(X, [2, 3]))), data(b.logProb(f64(X, [2, 3]))), VALUE, "logProb");
  assertClose(data(a.entropy()), data(b.entropy()), VALUE, "entropy");
  a.dispose(); b.dispose();
  const c = new Normal(f64(MU, [2, 3]), 0.5);
  assert.deepEqual(c.shape, [2, 3]);
  assertClose(data(c.entropy()), [0, 1].map(() => 3 * (0.5 * (1 + LOG_2PI) + Math.log(0.5))), VALUE, "entropy");
  c.dispose();
});

test("Normal.rsample is μ + σ ε with ε from the key; sample has the same value", () => {
  const d = new Normal(f64(MU, [2, 3]), f64(SIGMA, [2, 3]));
  const eps = data(StandardNormal.like(d).rsample(keyFromSeed(5), [4]));
  const z = d.rsample(keyFromSeed(5), [4]);
  assert.deepEqual(z.shape, [4, 2, 3]);
  assertClose(data(z), eps.map((e, i) => MU[i % 6] + SIGMA[i % 6] * e), { rtol: 1e-12, atol: 1e-12 }, "z");
  assertClose(data(d.sample(keyFromSeed(5), [4])), data(d.rsample(keyFromSeed(5), [4])), { rtol: 0, atol: 0 }, "sample");
  d.dispose();
});

test("Normal: float64 gradient checks of logProb wrt loc, scale, log σ², and of rsample wrt loc, scale", () => {
  const x = () => f64(X, [2, 3]);
  checkGrad((loc) => total(new Normal(loc, f64(SIGMA, [2, 3])), (d) => d.logProb(x())), MU, [2, 3], { ...GRAD, what: "dlogProb/dloc" });
  checkGrad((scale) => total(new Normal(f64(MU, [2, 3]), scale), (d) => d.logProb(x())), SIGMA, [2, 3], { ...GRAD, what: "dlogProb/dscale" });
  checkGrad((lv) => total(Normal.fromLogVar(f64(MU, [2, 3]), lv), (d) => d.logProb(x())), SIGMA.map((s) => 2 * Math.log(s)), [2, 3], { ...GRAD, what: "dlogProb/dlogVar" });
  checkGrad((scale) => total(new Normal(f64(MU, [2, 3]), scale), (d) => d.entropy()), SIGMA, [2, 3], { ...GRAD, what: "dentropy/dscale" });
  // a weighted sum so that every coordinate's gradient differs
  const w = () => f64(X, [2, 3]);
  checkGrad((loc) => total(new Normal(loc, f64(SIGMA, [2, 3])), (d) => d.rsample(keyFromSeed(9)).mul(w())), MU, [2, 3], { ...GRAD, what: "drsample/dloc" });
  checkGrad((scale) => total(new Normal(f64(MU, [2, 3]), scale), (d) => np.square(d.rsample(keyFromSeed(9), [3])).mul(w())), SIGMA, [2, 3], { ...GRAD, what: "drsample/dscale" });
});

test("StandardNormal: the parameter-free N(0, I) agrees with Normal(0, 1)", () => {
  const p = new StandardNormal([2, 3], { dtype: np.float64 });
  const n = new Normal(f64(new Float64Array(6), [2, 3]), f64(new Float64Array(6).fill(1), [2, 3]));
  assertClose(data(p.logProb(f64(X, [2, 3]))), data(n.logProb(f64(X, [2, 3]))), { rtol: 1e-12 }, "logProb");
  assertClose(data(p.entropy()), data(n.entropy()), { rtol: 1e-12 }, "entropy");
  assert.deepEqual(data(p.mean), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(data(p.variance), [1, 1, 1, 1, 1, 1]);
  n.dispose();
  const like = StandardNormal.like(new Normal(f64(MU, [2, 3]), 1, { eventDims: 2 }));
  assert.deepEqual([like.shape, like.eventDims, like.dtype], [[2, 3], 2, "float64"]);
  checkGrad((x) => p.logProb(x).sum(), X, [2, 3], { ...GRAD, what: "dlogProb/dx" });
});

// ---------------------------------------------------------------- Gaussian likelihood

test("gaussianLikelihood: −½[(x−μ)²/σ² + log σ² + log 2π] summed over [C, H, W], fixed or learned σ²", () => {
  const ref = (x: number, mu: number, lv: number) => -0.5 * ((x - mu) ** 2 / Math.exp(lv) + lv + LOG_2PI);
  // [B=1, C=1, H=2, W=3] images
  const fixed = gaussianLikelihood(f64(MU, [1, 1, 2, 3]), { variance: 0.25 }, { eventDims: 3 });
  assertClose(data(fixed.logProb(f64(X, [1, 1, 2, 3]))), [X.reduce((s, x, i) => s + ref(x, MU[i], Math.log(0.25)), 0)], VALUE, "fixed");
  fixed.dispose();
  const lvPixel = SIGMA.map((s) => Math.log(s));
  const perPixel = gaussianLikelihood(f64(MU, [1, 1, 2, 3]), { logVar: f64(lvPixel, [1, 2, 3]) }, { eventDims: 3 });
  assertClose(data(perPixel.logProb(f64(X, [1, 1, 2, 3]))), [X.reduce((s, x, i) => s + ref(x, MU[i], lvPixel[i]), 0)], VALUE, "per pixel");
  perPixel.dispose();
  const scalar = gaussianLikelihood(f64(MU, [1, 1, 2, 3]), { logVar: f64([0.7], []) }, { eventDims: 3 });
  assertClose(data(scalar.logProb(f64(X, [1, 1, 2, 3]))), [X.reduce((s, x, i) => s + ref(x, MU[i], 0.7), 0)], VALUE, "scalar");
  scalar.dispose();
  assert.throws(() => gaussianLikelihood(f64(MU, [6]), { variance: 0 }), /variance must be > 0/);

  const x = () => f64(X, [1, 1, 2, 3]);
  checkGrad((mu) => total(gaussianLikelihood(mu, { variance: 0.25 }, { eventDims: 3 }), (d) => d.logProb(x())), MU, [1, 1, 2, 3], { ...GRAD, what: "dlogProb/dmean" });
  checkGrad((lv) => total(gaussianLikelihood(f64(MU, [1, 1, 2, 3]), { logVar: lv }, { eventDims: 3 }), (d) => d.logProb(x())), lvPixel, [1, 2, 3], { ...GRAD, what: "dlogProb/dlogVar (per pixel)" });
  checkGrad((lv) => total(gaussianLikelihood(f64(MU, [1, 1, 2, 3]), { logVar: lv }, { eventDims: 3 }), (d) => d.logProb(x())), [0.7], [], { ...GRAD, what: "dlogProb/dlogVar (scalar)" });
});

// ---------------------------------------------------------------- Bernoulli

const LOGITS = [-2.0, 0.5, 3.0, 0.0, -0.7, 1.4];
const BITS = [0, 1, 1, 0, 1, 0];

test("Bernoulli.logProb is x l − softplus(l) = x log p + (1−x) log(1−p), also for x in [0, 1]", () => {
  const d = new Bernoulli(f64(LOGITS, [2, 3]));
  const ref = (xs: number[]) => [0, 1].map((b) => [0, 1, 2].reduce((s, i) => {
    const l = LOGITS[3 * b + i], x = xs[3 * b + i], p = 1 / (1 + Math.exp(-l));
    return s + x * Math.log(p) + (1 - x) * Math.log(1 - p);
  }, 0));
  assertClose(data(d.logProb(f64(BITS, [2, 3]))), ref(BITS), VALUE, "binary x");
  const grey = [0.1, 0.9, 0.5, 0.3, 0.0, 1.0];
  assertClose(data(d.logProb(f64(grey, [2, 3]))), ref(grey), VALUE, "greyscale x");
  assertClose(data(d.probs), LOGITS.map((l) => 1 / (1 + Math.exp(-l))), VALUE, "probs");
  assertClose(data(d.mean), LOGITS.map((l) => 1 / (1 + Math.exp(-l))), VALUE, "mean");
  assertClose(data(d.variance), LOGITS.map((l) => { const p = 1 / (1 + Math.exp(-l)); return p * (1 - p); }), VALUE, "variance");
  const h = [0, 1].map((b) => [0, 1, 2].reduce((s, i) => {
    const p = 1 / (1 + Math.exp(-LOGITS[3 * b + i]));
    return s - p * Math.log(p) - (1 - p) * Math.log(1 - p);
  }, 0));
  assertClose(data(d.entropy()), h, VALUE, "entropy");
  d.dispose();
  checkGrad((l) => total(new Bernoulli(l), (d) => d.logProb(f64(grey, [2, 3]))), LOGITS, [2, 3], { ...GRAD, what: "dlogProb/dlogits" });
  checkGrad((l) => total(new Bernoulli(l), (d) => d.entropy()), LOGITS, [2, 3], { ...GRAD, what: "dentropy/dlogits" });
});

test("Bernoulli.logProb at logits ±100 (float32) is finite and exact, with finite gradients", () => {
  const l = [100, -100, 100, -100], x = [1, 0, 0, 1];
  // exact: x l − softplus(l), softplus(±100) = max(l, 0) + log1p(e^−100) (e^−100 ≈ 3.7e-44)
  const expected = l.map((li, i) => x[i] * li - jsSoftplus(li));
  const d = new Bernoulli(np.array(Float32Array.from(l)), { eventDims: 0 });
  const lp = data(d.logProb(np.array(Float32Array.from(x))));
  assert.ok(lp.every(Number.isFinite), `logProb ${lp}`);
  assertClose(lp, expected, { rtol: 0, atol: 1e-40 }, "logProb at ±100");
  d.dispose();
  // d/dl = x − σ(l)
  const g = data(grad((logits: Array) => total(new Bernoulli(logits, { eventDims: 0 }), (b) => b.logProb(np.array(Float32Array.from(x)))))(np.array(Float32Array.from(l))));
  assertClose(g, [0, 0, -1, 1], { rtol: 0, atol: 1e-30 }, "gradient at ±100");
  // the stable softplus itself: finite value and gradient σ(l) at ±100 and exactly ½ at 0
  assertClose(data(softplus(np.array([100, -100, 0]))), [100, 0, Math.LN2], { rtol: 1e-7, atol: 1e-40 }, "softplus");
  assertClose(data(grad((v: Array) => softplus(v).sum())(np.array([100, -100, 0]))), [1, 0, 0.5], { rtol: 0, atol: 1e-30 }, "softplus'");
});

test("Bernoulli.sample: 0/1 draws whose mean is p (2000 draws, within 0.05)", () => {
  const d = new Bernoulli(np.array([-1.5, 0, 2]), { eventDims: 0 });
  const s = d.sample(keyFromSeed(11), [2000]);
  assert.equal(s.dtype, "float32");
  const v = data(s);
  assert.ok(v.every((b) => b === 0 || b === 1));
  const freq = [0, 1, 2].map((j) => v.filter((b, i) => i % 3 === j && b === 1).length / 2000);
  assertClose(freq, [-1.5, 0, 2].map((l) => 1 / (1 + Math.exp(-l))), { rtol: 0, atol: 0.05 }, "frequency");
  d.dispose();
});

// ---------------------------------------------------------------- Categorical

const CAT_LOGITS = [1.0, -0.5, 0.2, 2.0, 0.3, -1.0, 0.0, 0.7]; // [2, 4]

test("Categorical: logProb of indices and of one-hot vectors, probs, entropy (JS log-softmax)", () => {
  const d = new Categorical(f64(CAT_LOGITS, [2, 4]));
  assert.deepEqual([d.batchShape, d.eventShape, d.numClasses], [[2], [], 4]);
  const ref = [jsLogSoftmax(CAT_LOGITS.slice(0, 4)), jsLogSoftmax(CAT_LOGITS.slice(4))];
  // indices [3, 2] (batch [2]) and, with a sample dim, [[0, 1], [2, 3]]
  assertClose(data(d.logProb(int32([3, 2], [2]))), [ref[0][3], ref[1][2]], VALUE, "logProb(index)");
  assertClose(data(d.logProb(int32([0, 1, 2, 3], [2, 2]))), [ref[0][0], ref[1][1], ref[0][2], ref[1][3]], VALUE, "logProb([S, B])");
  const oneHot = f64([0, 0, 0, 1, 0, 0, 1, 0], [2, 4]);
  assertClose(data(d.logProbOneHot(oneHot)), [ref[0][3], ref[1][2]], VALUE, "logProbOneHot");
  assertClose(data(d.probs), ref.flat().map(Math.exp), VALUE, "probs");
  assertClose(data(d.entropy()), ref.map((r) => -r.reduce((s, lp) => s + Math.exp(lp) * lp, 0)), VALUE, "entropy");
  assert.throws(() => d.logProb(f64([3, 2], [2])), /expects integer class indices, got float64/);
  d.dispose();
  // log-sum-exp stable at logits of ±1000
  const big = new Categorical(np.array([1000, 0, -1000]));
  assertClose(data(big.logProb(int32([0, 1, 2], [3]))), [0, -1000, -2000], { rtol: 1e-6, atol: 1e-6 }, "logits ±1000");
  big.dispose();

  checkGrad((l) => total(new Categorical(l), (c) => c.logProb(int32([3, 2, 0, 1], [2, 2]))), CAT_LOGITS, [2, 4], { ...GRAD, what: "dlogProb(index)/dlogits" });
  checkGrad((l) => total(new Categorical(l), (c) => c.logProbOneHot(f64([0, 0, 0, 1, 0, 0, 1, 0], [2, 4]))), CAT_LOGITS, [2, 4], { ...GRAD, what: "dlogProbOneHot/dlogits" });
  checkGrad((l) => total(new Categorical(l), (c) => c.entropy().mul(f64([1, -2], [2]))), CAT_LOGITS, [2, 4], { ...GRAD, what: "dentropy/dlogits" });
});

test("Categorical.sample: int32 indices with class frequencies p (8000 draws, within 0.03)", () => {
  const d = new Categorical(np.array([0.5, -1, 1, 0]));
  const s = d.sample(keyFromSeed(4), [8000]);
  assert.deepEqual([s.dtype, s.shape], ["int32", [8000]]);
  const v = data(s);
  const freq = [0, 1, 2, 3].map((k) => v.filter((i) => i === k).length / 8000);
  assertClose(freq, jsLogSoftmax([0.5, -1, 1, 0]).map(Math.exp), { rtol: 0, atol: 0.03 }, "frequency");
  d.dispose();
});

// ---------------------------------------------------------------- RelaxedOneHotCategorical

const REL_LOGITS = [0.5, -1.0, 1.2, 0.0]; // K = 4

test("Gumbel-softmax: samples lie on the simplex and tend to one-hot as τ falls", () => {
  const n = 2000;
  const meanMax = [10, 1, 0.1, 0.01].map((tau) => {
    const d = new RelaxedOneHotCategorical(np.array(REL_LOGITS), tau);
    const y = d.rsample(keyFromSeed(21), [n]); // [n, 4]
    assertClose(data(y.ref.sum(-1)), new Float64Array(n).fill(1), { rtol: 0, atol: 1e-5 }, `Σ y (τ = ${tau})`);
    d.dispose();
    return data(y.max(-1)).reduce((s, v) => s + v, 0) / n;
  });
  // E[max_k y_k] rises towards 1: observed ≈ [0.29, 0.64, 0.95, 0.996]
  for (let i = 1; i < meanMax.length; i++) assert.ok(meanMax[i] > meanMax[i - 1], `E[max y] ${meanMax}`);
  assert.ok(meanMax[3] > 0.99, `E[max y] at τ = 0.01 is ${meanMax[3]}`);
});

test("Gumbel-softmax straight-through: exactly one-hot, mean of 20000 hard samples = p within 0.015 (≈4σ)", () => {
  const d = new RelaxedOneHotCategorical(np.array(REL_LOGITS), 0.5);
  const n = 20000; // σ of a frequency ≤ √(¼ / n) ≈ 0.0035
  const y = data(d.rsampleHard(keyFromSeed(33), [n]));
  assert.ok(y.every((v) => v === 0 || v === 1), "hard samples are exactly 0/1");
  for (let i = 0; i < n; i++) assert.equal(y[4 * i] + y[4 * i + 1] + y[4 * i + 2] + y[4 * i + 3], 1);
  const freq = [0, 1, 2, 3].map((k) => { let s = 0; for (let i = 0; i < n; i++) s += y[4 * i + k]; return s / n; });
  assertClose(freq, data(d.probs), { rtol: 0, atol: 0.015 }, "frequency");
  d.dispose();
  // the backward pass is the soft sample's
  const w = () => f64([0.3, -1, 2, 0.5, 1, -0.2, 0.1, 0.4], [2, 4]);
  const gHard = data(grad((l: Array) => total(new RelaxedOneHotCategorical(l, 0.7), (r) => r.rsampleHard(keyFromSeed(8), [2]).mul(w())))(f64(REL_LOGITS, [4])));
  const gSoft = data(grad((l: Array) => total(new RelaxedOneHotCategorical(l, 0.7), (r) => r.rsample(keyFromSeed(8), [2]).mul(w())))(f64(REL_LOGITS, [4])));
  assertClose(gHard, gSoft, { rtol: 1e-12, atol: 1e-15 }, "straight-through gradient");
});

test("Concrete logProb: K = 2 matches the logistic density of logit(y₁); K = 3 integrates to 1", () => {
  // K = 2: logit(y₁) = (Δ + L)/τ with Δ = l₁ − l₂ and L ~ Logistic(0, 1), so
  // p(y₁) = τ f_L(τ logit(y₁) − Δ) / (y₁ (1 − y₁)),  f_L(t) = e^−t / (1 + e^−t)²
  const l = [0.4, -0.3], tau = 0.6, ys = [0.02, 0.2, 0.5, 0.77, 0.99];
  const d2 = new RelaxedOneHotCategorical(f64(l, [2]), tau);
  const y = f64(ys.flatMap((v) => [v, 1 - v]), [5, 2]);
  const ref = ys.map((v) => {
    const t = tau * Math.log(v / (1 - v)) - (l[0] - l[1]);
    return Math.log(tau) - t - 2 * Math.log1p(Math.exp(-t)) - Math.log(v * (1 - v));
  });
  assertClose(data(d2.logProb(y)), ref, VALUE, "K = 2");
  d2.dispose();
  // K = 3, τ = 1.5 (the density is bounded): midpoint rule on a 120 × 120 grid of the triangle y₁ + y₂ < 1
  const m = 120, pts: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    const a = (i + 0.5) / m, b = (j + 0.5) / m;
    if (a + b < 1 - 0.5 / m) pts.push(a, b, 1 - a - b);
  }
  const d3 = new RelaxedOneHotCategorical(f64([0.3, -0.2, 0.6], [3]), 1.5);
  const dens = data(d3.logProb(f64(pts, [pts.length / 3, 3]))).map(Math.exp);
  d3.dispose();
  const mass = dens.reduce((s, v) => s + v, 0) / (m * m);
  assert.ok(Math.abs(mass - 1) < 0.01, `∫ p = ${mass}`);
});

test("Gumbel-softmax: float64 gradient checks of logProb and rsample wrt the logits", () => {
  const y = () => f64([0.1, 0.2, 0.6, 0.1, 0.25, 0.25, 0.3, 0.2], [2, 4]);
  checkGrad((l) => total(new RelaxedOneHotCategorical(l, 0.8), (r) => r.logProb(y())), REL_LOGITS, [4], { ...GRAD, what: "dlogProb/dlogits" });
  const w = () => f64([0.3, -1, 2, 0.5, 1, -0.2, 0.1, 0.4], [2, 4]);
  checkGrad((l) => total(new RelaxedOneHotCategorical(l, 0.8), (r) => r.rsample(keyFromSeed(8), [2]).mul(w())), REL_LOGITS, [4], { ...GRAD, what: "drsample/dlogits" });
});

// ---------------------------------------------------------------- KL

const MU_Q = [0.0, -0.4, 1.0, 1.5, 0.3, -0.6];
const SIGMA_Q = [1.05, 0.8, 1.5, 1.1, 0.6, 1.8];
const normal = (mu: number[], s: number[]) => new Normal(f64(mu, [2, 3]), f64(s, [2, 3]));

test("KL closed forms against the JS formulas, and the per-dimension KL to N(0, I)", () => {
  const p = normal(MU, SIGMA), q = normal(MU_Q, SIGMA_Q);
  const klPq = (i: number) => Math.log(SIGMA_Q[i] / SIGMA[i]) + (SIGMA[i] ** 2 + (MU[i] - MU_Q[i]) ** 2) / (2 * SIGMA_Q[i] ** 2) - 0.5;
  assertClose(data(kl(p, q)), [0, 1].map((b) => klPq(3 * b) + klPq(3 * b + 1) + klPq(3 * b + 2)), VALUE, "Normal‖Normal");
  const perDim = MU.map((m, i) => 0.5 * (m * m + SIGMA[i] ** 2 - Math.log(SIGMA[i] ** 2) - 1));
  assertClose(data(klStandardNormalPerDim(p)), perDim, VALUE, "per dim");
  const summed = [perDim[0] + perDim[1] + perDim[2], perDim[3] + perDim[4] + perDim[5]];
  assertClose(data(klStandardNormal(p)), summed, VALUE, "klStandardNormal");
  const prior = StandardNormal.like(p);
  assertClose(data(kl(p, prior)), summed, VALUE, "kl(q, StandardNormal)");
  const unit = normal([0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]);
  assertClose(data(kl(p, unit)), summed, VALUE, "kl(q, Normal(0, 1))");
  assertClose(data(kl(prior, q)), data(kl(unit, q)), VALUE, "kl(StandardNormal, q)");
  assert.deepEqual(data(kl(prior, StandardNormal.like(q))), [0, 0]);
  assert.throws(() => kl(p, new StandardNormal([2, 3], { eventDims: 2 })), /event shapes differ, \[3\] vs \[2,3\]/);
  p.dispose(); q.dispose(); unit.dispose();
});

test("KL closed forms against seeded Monte Carlo, mean of log p − log q over 100000 draws of p (within 4 SE)", () => {
  const n = 100000;
  const pairs: [string, () => [Distribution, Distribution]][] = [
    ["Normal‖Normal", () => [normal(MU, SIGMA), normal(MU_Q, SIGMA_Q)]],
    ["Normal‖StandardNormal", () => { const p = normal(MU, SIGMA); return [p, StandardNormal.like(p)]; }],
    ["StandardNormal‖Normal", () => [new StandardNormal([2, 3], { dtype: np.float64 }), normal(MU_Q, SIGMA_Q)]],
    ["Bernoulli‖Bernoulli", () => [new Bernoulli(f64(LOGITS, [2, 3])), new Bernoulli(f64(LOGITS.map((l) => 0.5 - l), [2, 3]))]],
    ["Categorical‖Categorical", () => [new Categorical(f64(CAT_LOGITS, [2, 4])), new Categorical(f64(CAT_LOGITS.map((l, i) => l * (i % 3 - 1)), [2, 4]))]],
  ];
  pairs.forEach(([what, make], i) => {
    const [p, q] = make();
    checkKlMonteCarlo(p, q, n, 100 + i, what);
    p.dispose(); q.dispose();
  });
});

test("KL: float64 gradient checks wrt every parameter of p and q", () => {
  const s = () => f64(SIGMA, [2, 3]), m = () => f64(MU, [2, 3]), sq = () => f64(SIGMA_Q, [2, 3]), mq = () => f64(MU_Q, [2, 3]);
  const klOf = (p: Distribution, q: Distribution) => { const r = kl(p, q).sum(); p.dispose(); q.dispose(); return r; };
  checkGrad((v) => klOf(new Normal(v, s()), new Normal(mq(), sq())), MU, [2, 3], { ...GRAD, what: "Normal‖Normal d/dμp" });
  checkGrad((v) => klOf(new Normal(m(), v), new Normal(mq(), sq())), SIGMA, [2, 3], { ...GRAD, what: "Normal‖Normal d/dσp" });
  checkGrad((v) => klOf(new Normal(m(), s()), new Normal(v, sq())), MU_Q, [2, 3], { ...GRAD, what: "Normal‖Normal d/dμq" });
  checkGrad((v) => klOf(new Normal(m(), s()), new Normal(mq(), v)), SIGMA_Q, [2, 3], { ...GRAD, what: "Normal‖Normal d/dσq" });
  const prior = new StandardNormal([2, 3], { dtype: np.float64 });
  checkGrad((v) => klOf(new Normal(v, s()), prior), MU, [2, 3], { ...GRAD, what: "Normal‖N(0,I) d/dμ" });
  checkGrad((v) => klOf(Normal.fromLogVar(m(), v), prior), SIGMA.map((x) => 2 * Math.log(x)), [2, 3], { ...GRAD, what: "Normal‖N(0,I) d/dlogVar" });
  checkGrad((v) => { const q = Normal.fromLogVar(m(), v); const r = klStandardNormalPerDim(q).mul(f64(X, [2, 3])).sum(); q.dispose(); return r; },
    SIGMA.map((x) => 2 * Math.log(x)), [2, 3], { ...GRAD, what: "per-dim KL d/dlogVar" });
  checkGrad((v) => klOf(prior, new Normal(v, sq())), MU_Q, [2, 3], { ...GRAD, what: "N(0,I)‖Normal d/dμ" });
  checkGrad((v) => klOf(prior, new Normal(mq(), v)), SIGMA_Q, [2, 3], { ...GRAD, what: "N(0,I)‖Normal d/dσ" });
  const lq = LOGITS.map((l) => 0.5 - l);
  checkGrad((v) => klOf(new Bernoulli(v), new Bernoulli(f64(lq, [2, 3]))), LOGITS, [2, 3], { ...GRAD, what: "Bernoulli d/dlp" });
  checkGrad((v) => klOf(new Bernoulli(f64(LOGITS, [2, 3])), new Bernoulli(v)), lq, [2, 3], { ...GRAD, what: "Bernoulli d/dlq" });
  const cq = CAT_LOGITS.map((l, i) => l * (i % 3 - 1));
  checkGrad((v) => klOf(new Categorical(v), new Categorical(f64(cq, [2, 4]))), CAT_LOGITS, [2, 4], { ...GRAD, what: "Categorical d/dlp" });
  checkGrad((v) => klOf(new Categorical(f64(CAT_LOGITS, [2, 4])), new Categorical(v)), cq, [2, 4], { ...GRAD, what: "Categorical d/dlq" });
});

test("KL registry: a clear error for an unregistered pair; registerKl; subclasses dispatch to their base's form", () => {
  const b = new Bernoulli(f64(LOGITS, [2, 3])), n = normal(MU, SIGMA);
  assert.throws(() => kl(b, n), { message: "no closed-form KL registered for Bernoulli‖Normal" });
  const r = new RelaxedOneHotCategorical(f64(REL_LOGITS, [4]), 0.5);
  assert.throws(() => kl(r, r), { message: "no closed-form KL registered for RelaxedOneHotCategorical‖RelaxedOneHotCategorical" });
  class Tagged extends Normal {}
  const t = new Tagged(f64(MU_Q, [2, 3]), f64(SIGMA_Q, [2, 3]));
  assertClose(data(kl(n, t)), data(kl(n, normal(MU_Q, SIGMA_Q))), { rtol: 1e-12 }, "subclass dispatch");
  // registrations on local classes, so the module's registry stays as shipped for other tests
  class Coin extends Bernoulli {}
  const c = new Coin(f64(LOGITS, [2, 3]));
  registerKl(Coin, Normal, () => np.zeros([2]));
  assert.deepEqual(data(kl(c, n)), [0, 0]);
  assert.deepEqual(data(kl(c, new Bernoulli(f64(LOGITS, [2, 3])))), [0, 0], "Coin‖Bernoulli uses Bernoulli‖Bernoulli");
  registerKl(Tagged, Normal, () => np.ones([2]));
  assert.deepEqual(data(kl(t, n)), [1, 1], "the most specific pair wins");
  b.dispose(); c.dispose(); n.dispose(); r.dispose(); t.dispose();
});

// ---------------------------------------------------------------- transforms and ownership

test("works under jit(valueAndGrad): a VAE-style negative ELBO gives the eager value and gradients", () => {
  // −ELBO = −log p(x | z) + KL(q‖N(0, I)), z = μ + σ ε, decoder logits = 2z (one sample)
  const negElbo = (mu: Array, logVar: Array, key: Array) => {
    const q = Normal.fromLogVar(mu, logVar);
    const lik = new Bernoulli(q.rsample(key).mul(2));
    const prior = StandardNormal.like(q);
    const loss = lik.logProb(f64(BITS, [2, 3])).neg().add(kl(q, prior)).sum();
    q.dispose(); lik.dispose();
    return loss;
  };
  const lv = SIGMA.map((s) => 2 * Math.log(s));
  const run = (f: typeof negElbo) => {
    const [v, [gMu, gLv]] = valueAndGrad(f, { argnums: [0, 1] })(f64(MU, [2, 3]), f64(lv, [2, 3]), keyFromSeed(3));
    return [data(v), data(gMu), data(gLv)];
  };
  const eager = run(negElbo);
  const jitted = jit(negElbo);
  const compiled = run(jitted);
  jitted.dispose();
  eager.forEach((e, i) => assertClose(compiled[i], e, { rtol: 1e-9, atol: 1e-12 }, ["value", "d/dμ", "d/dlogVar"][i]));
});


test("methods borrow the parameters (reference counts unchanged); dispose frees them", () => {
  const loc = f64(MU, [2, 3]), scale = f64(SIGMA, [2, 3]);
  const d = new Normal(loc.ref, scale.ref); // keep our own references to watch the counts
  const before = [loc.refCount, scale.refCount];
  for (const out of [d.logProb(f64(X, [2, 3])), d.rsample(keyFromSeed(1)), d.sample(keyFromSeed(1)), d.entropy(), d.mean, d.variance, d.stddev,
    kl(d, d), klStandardNormalPerDim(d)]) out.dispose();
  assert.deepEqual([loc.refCount, scale.refCount], before);
  d.dispose();
  assert.deepEqual([loc.refCount, scale.refCount], [before[0] - 1, before[1] - 1]);
  loc.dispose(); scale.dispose();
});
