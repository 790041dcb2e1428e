// optim: torch.optim's Adam, AdamW and SGD as pure functions over trees (jit-able as a whole),
// gradient clipping and learning-rate schedules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, np, jit, valueAndGrad, keyFromSeed, refTree, disposeTree, toData, toNumber, type Array as Tensor } from "../src/engine/index.js";
import * as nn from "../src/nn/index.js";
import * as optim from "../src/optim/index.js";
import { averageDecayAt, makeAverageUpdate } from "../src/train/average.js";
import { assertClose, f64, randn } from "./helpers/numeric.js";

await init();

// ---------------------------------------------------------------- plain-JS references (torch's algorithms)

type Vec = number[];

/** torch.optim.Adam / AdamW step for one parameter vector, in doubles, as torch's _single_tensor_adam. */
function adamRef(
  params: Vec, gradsPerStep: Vec[], lrs: number[],
  { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, decoupled = false } = {},
): Vec {
  let p = [...params];
  let m = p.map(() => 0), v = p.map(() => 0);
  gradsPerStep.forEach((g0, i) => {
    const t = i + 1, lr = lrs[i];
    if (decoupled) p = p.map((pj) => pj * (1 - lr * weightDecay));
    const g = decoupled ? g0 : g0.map((gj, j) => gj + weightDecay * p[j]);
    m = m.map((mj, j) => mj + (g[j] - mj) * (1 - beta1)); // exp_avg.lerp_(grad, 1 - beta1)
    v = v.map((vj, j) => vj * beta2 + (1 - beta2) * g[j] * g[j]);
    const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
    const stepSize = lr / bc1;
    p = p.map((pj, j) => pj - stepSize * m[j] / (Math.sqrt(v[j]) / Math.sqrt(bc2) + eps));
  });
  return p;
}

/** torch.optim.SGD step for one parameter vector, in doubles. */
function sgdRef(
  params: Vec, gradsPerStep: Vec[], lr: number,
  { momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = {},
): Vec {
  let p = [...params];
  let buf: Vec | null = null;
  for (const g0 of gradsPerStep) {
    let g = g0.map((gj, j) => gj + weightDecay * p[j]);
    if (momentum !== 0) {
      buf = buf === null ? [...g] : buf.map((bj, j) => momentum * bj + (1 - dampening) * g[j]);
      g = nesterov ? g.map((gj, j) => gj + momentum * buf![j]) : buf;
    }
    p = p.map((pj, j) => pj - lr * g[j]);
  }
  return p;
}

// A two-leaf tree and a fixed sequence of gradients for it (gradients do not depend on the
// parameters, so the reference needs no autodiff).
const w0 = [0.5, -1.2, 2.0, 0.03, -0.7, 1.1], b0 = [0.1, -0.2];
const steps = 5;
const gw = Array.from({ length: steps }, (_, i) => Array.from(randn(6, 100 + i)));
// a zero gradient component exercises m = v = 0 (the update must stay finite)
const gb = Array.from({ length: steps }, (_, i) => [i % 2 === 0 ? 0.3 : -0.1, 0]);

type Tree = { layer: { weight: Tensor; bias: Tensor } };
const treeOf = (w: ArrayLike<number>, b: ArrayLike<number>, dtype: "float32" | "float64"): Tree =>
  dtype === "float64"
    ? { layer: { weight: f64(w, [2, 3]), bias: f64(b, [2]) } }
    : { layer: { weight: np.array(Float32Array.from(w)).reshape([2, 3]), bias: np.array(Float32Array.from(b)) } };

/** Runs `opt` for the fixed gradient sequence; returns the final flat weight and bias. */
function run(opt: optim.Optimizer<any>, lrs: number[], dtype: "float32" | "float64" = "float64") {
  let params = treeOf(w0, b0, dtype);
  let state = opt.init(params);
  for (let i = 0; i < steps; i++) {
    const grads = treeOf(gw[i], gb[i], dtype);
    ({ params, state } = opt.update(grads, state, params, optim.lrArray(lrs[i], dtype)));
  }
  const out = { w: toData(params.layer.weight), b: toData(params.layer.bias), step: toNumber(state.step.ref) };
  disposeTree(state);
  return out;
}

const lrs = [0.1, 0.05, 0.05, 0.02, 0.01];

// ---------------------------------------------------------------- Adam / AdamW / SGD

test("adam matches torch.optim.Adam's algorithm over 5 steps (float64, changing lr)", () => {
  const got = run(optim.adam(), lrs);
  assertClose(got.w, adamRef(w0, gw, lrs), { rtol: 1e-12, atol: 1e-14 }, "weight");
  assertClose(got.b, adamRef(b0, gb, lrs), { rtol: 1e-12, atol: 1e-14 }, "bias");
  assert.equal(got.step, steps, "state.step counts the updates");
});

test("adam with other betas, eps and L2 weight decay matches torch; float32 to float32 precision", () => {
  const opts = { beta1: 0.5, beta2: 0.99, eps: 1e-3, weightDecay: 0.1 };
  const got = run(optim.adam(opts), lrs);
  assertClose(got.w, adamRef(w0, gw, lrs, opts), { rtol: 1e-12, atol: 1e-14 }, "weight");
  const got32 = run(optim.adam(), lrs, "float32");
  assertClose(got32.w, adamRef(w0, gw, lrs), { rtol: 1e-6, atol: 1e-7 }, "float32 weight");
  assertClose(got32.b, adamRef(b0, gb, lrs), { rtol: 1e-6, atol: 1e-7 }, "float32 bias");
});

test("adamw decays the weights decoupled from the gradient: θ(1 − lr λ) before the Adam step", () => {
  const opts = { weightDecay: 0.3 };
  const got = run(optim.adamw(opts), lrs);
  assertClose(got.w, adamRef(w0, gw, lrs, { ...opts, decoupled: true }), { rtol: 1e-12, atol: 1e-14 }, "weight");
  // with zero gradients Adam's step is 0, so only the decay acts: θ ∏(1 − lr λ)
  const opt = optim.adamw(opts);
  let params = treeOf(w0, b0, "float64");
  let state = opt.init(params);
  for (const lr of lrs) {
    ({ params, state } = opt.update(treeOf(w0.map(() => 0), [0, 0], "float64"), state, params, lr));
  }
  const factor = lrs.reduce((f, lr) => f * (1 - lr * 0.3), 1);
  assertClose(toData(params.layer.weight), w0.map((w) => w * factor), { rtol: 1e-12 }, "decay only");
  // while Adam's L2 decay goes through the normalised step, so it moves by about lr, not lr·λ·θ
  const l2 = run(optim.adam(opts), lrs);
  assert.notDeepEqual(Array.from(l2.w), Array.from(got.w));
});

test("sgd with momentum (and nesterov, dampening, weight decay) matches torch.optim.SGD", () => {
  const cases = [
    {},
    { momentum: 0.9 },
    { momentum: 0.9, nesterov: true, weightDecay: 0.01 },
    { momentum: 0.8, dampening: 0.5 },
  ];
  for (const opts of cases) {
    const got = run(optim.sgd(opts), [0.1, 0.1, 0.1, 0.1, 0.1]);
    const what = JSON.stringify(opts);
    assertClose(got.w, sgdRef(w0, gw, 0.1, opts), { rtol: 1e-12, atol: 1e-14 }, `${what} weight`);
    assertClose(got.b, sgdRef(b0, gb, 0.1, opts), { rtol: 1e-12, atol: 1e-14 }, `${what} bias`);
  }
  assert.throws(() => optim.sgd({ nesterov: true }), /nesterov momentum needs momentum > 0/);
});

test("1 − βᵗ is exact to the dtype's precision inside jit too (np.power alone is off by ~1e-2 for β = 0.999)", () => {
  const ts = [1, 2, 3, 10, 1000, 1e5];
  const bc = jit((t: Tensor) => optim.biasCorrection(0.999, t));
  assertClose(toData(bc(f64(ts, [ts.length]))), ts.map((t) => 1 - 0.999 ** t), { rtol: 1e-12 }, "float64 traced");
  assertClose(toData(bc(np.array(ts))), ts.map((t) => 1 - 0.999 ** t), { rtol: 3e-7 }, "float32 traced");
  assertClose(toData(optim.biasCorrection(0.9, np.array(ts))), ts.map((t) => 1 - 0.9 ** t), { rtol: 1e-7 }, "eager");
});

test("update consumes grads, state, params and lr; init borrows params", () => {
  const opt = optim.adam();
  const params = treeOf(w0, b0, "float32");
  const state = opt.init(params);
  assert.equal(params.layer.weight.refCount, 1);
  const grads = treeOf(gw[0], gb[0], "float32");
  const lr = optim.lrArray(0.1);
  const out = opt.update(grads, state, params, lr);
  for (const x of [grads.layer.weight, state.step, (state.expAvg as Tree).layer.weight, params.layer.weight, lr]) {
    assert.equal(x.refCount, 0);
  }
  assert.equal(out.params.layer.weight.refCount, 1);
  assert.deepEqual(Object.keys(out.state), ["step", "expAvg", "expAvgSq"]);
  assert.deepEqual(Object.keys(nn.toRecords(out.state)), [
    "step", "expAvg.layer.weight", "expAvg.layer.bias", "expAvgSq.layer.weight", "expAvgSq.layer.bias",
  ], "the state is a plain tree that saves as records");
  disposeTree(out);
});

test("an optimizer step inside jit gives the same result as outside; a new lr does not retrace", () => {
  for (const opt of [optim.adam(), optim.sgd({ momentum: 0.9, nesterov: true }), optim.adamw()] as optim.Optimizer<any>[]) {
    let traces = 0;
    const step = jit((grads: Tree, state: any, params: Tree, lr: Tensor) => {
      traces++;
      return opt.update(grads, state, params, lr);
    });
    let pj = treeOf(w0, b0, "float32"), sj = opt.init(pj);
    let pe = treeOf(w0, b0, "float32"), se = opt.init(pe);
    for (let i = 0; i < steps; i++) {
      ({ params: pj, state: sj } = step(treeOf(gw[i], gb[i], "float32"), sj, pj, optim.lrArray(lrs[i])) as any);
      ({ params: pe, state: se } = opt.update(treeOf(gw[i], gb[i], "float32"), se, pe, optim.lrArray(lrs[i])));
    }
    assert.equal(traces, 1, "traced once for all learning rates");
    assertClose(toData(pj.layer.weight), toData(pe.layer.weight), { rtol: 1e-6, atol: 1e-7 }, "jit vs eager weight");
    assertClose(toData(pj.layer.bias), toData(pe.layer.bias), { rtol: 1e-6, atol: 1e-7 }, "jit vs eager bias");
    disposeTree([sj, se]);
    step.dispose();
  }
});

// ---------------------------------------------------------------- clipping

test("clipByGlobalNorm scales by min(1, maxNorm / ‖g‖) over all leaves and reports ‖g‖", () => {
  const g = { a: f64([3, 0], [2]), b: { c: f64([0, 4], [1, 2]) } }; // ‖g‖ = 5
  const { grads, norm } = optim.clipByGlobalNorm(g, 1);
  assert.equal(toNumber(norm), 5);
  assertClose(toData(grads.a), [0.6, 0], { rtol: 1e-12 });
  assertClose(toData(grads.b.c), [0, 0.8], { rtol: 1e-12 });
  const small = optim.clipByGlobalNorm({ a: f64([3, 0], [2]), b: { c: f64([0, 4], [1, 2]) } }, 10);
  assertClose(toData(small.grads.a), [3, 0], { rtol: 0 }, "below maxNorm: unchanged");
  const zero = optim.clipByGlobalNorm({ a: f64([0, 0], [2]) }, 1);
  assertClose(toData(zero.grads.a), [0, 0], { rtol: 0 }, "a zero gradient stays zero (no NaN)");
  assert.equal(toNumber(optim.globalNorm({ a: f64([1, 2, 2], [3]) })), 3);
  assert.throws(() => optim.clipByGlobalNorm({ a: f64([1], [1]) }, 0), /maxNorm must be > 0/);
});

// ---------------------------------------------------------------- schedules

test("schedules: constant, step decay, cosine, linear warm-up in front of another", () => {
  assert.equal(optim.constant(0.1)(1234), 0.1);
  const s = optim.stepDecay(0.1, { stepSize: 10, gamma: 0.5 });
  assert.deepEqual([0, 9, 10, 25].map(s), [0.1, 0.1, 0.05, 0.025]);
  const c = optim.cosineDecay(1, { totalSteps: 100, minLr: 0.1 });
  assertClose([0, 50, 100, 150].map(c), [1, 0.55, 0.1, 0.1], { rtol: 1e-12 });
  assertClose([25].map(c), [0.1 + 0.9 * (1 + Math.cos(Math.PI / 4)) / 2], { rtol: 1e-12 });
  const w = optim.linearWarmup(optim.cosineDecay(1, { totalSteps: 100 }), 4);
  assertClose([0, 1, 3, 4, 54, 104].map(w), [0.25, 0.5, 1, 1, 0.5, 0], { rtol: 1e-12, atol: 1e-15 });
  assert.throws(() => s(-1), /step must be an integer >= 0/);
  assert.throws(() => optim.stepDecay(0.1, { stepSize: 0 }), /stepSize must be a positive integer/);
});

// ---------------------------------------------------------------- Polyak averaging

test("Polyak averaging: θ̄ ← θ̄ + (1 − d_t)(θ − θ̄) leaf by leaf, matched by name; d_t ramps up to d", () => {
  // d_t = min(d, (1 + t) / (10 + t)): 0.1 at t = 0, 2/11 at t = 1, d once the ramp passes it
  assertClose([0, 1, 100, 1e6].map((t) => averageDecayAt(0.9995, t)), [0.1, 2 / 11, 101 / 110, 0.9995], { rtol: 1e-12 });
  const update = makeAverageUpdate();
  const average = { a: f64([1, 2], [2]), b: { c: f64([4], [1]) } };
  const params = { b: { c: f64([0], [1]) }, a: f64([5, 2], [2]) }; // another insertion order
  const out = update(average as any, params as any, np.array(0.25, { dtype: np.float64 })) as any;
  assertClose(toData(out.a), [2, 2], { rtol: 1e-12 });
  assertClose(toData(out.b.c), [3], { rtol: 1e-12 });
  assertClose(toData(params.a.ref), [5, 2], { rtol: 0 }); // params are borrowed
  disposeTree(params);
});

test("Polyak averaging of noisy gradient steps on a quadratic: the average sits far closer to the minimum than the iterate", () => {
  // θ ← θ − η(θ − θ* + ξ), ξ ~ N(0, I): the iterate's stationary spread is E|θ − θ*|²/n = η/(2 − η) ≈ 0.053
  // (η = 0.1); the average with d = 0.99 spreads about ten times less.
  const n = 1000, eta = 0.1, decay = 0.99, steps = 1000, target = 3;
  const theta = new Float64Array(n); // the iterate, stepped in plain JS
  let average: any = { theta: f64(Array.from(theta), [n]) };
  const update = makeAverageUpdate();
  for (let t = 1; t <= steps; t++) {
    const noise = randn(n, t);
    for (let i = 0; i < n; i++) theta[i] -= eta * (theta[i] - target + noise[i]);
    const iterate = { theta: f64(Array.from(theta), [n]) };
    average = update(average, iterate, np.array(1 - averageDecayAt(decay, t), { dtype: np.float64 }));
    disposeTree(iterate);
  }
  const iterateSpread = theta.reduce((s, v) => s + (v - target) ** 2, 0) / n;
  const averageSpread = toNumber(np.mean(np.square(average.theta.sub(target))));
  assert.ok(Math.abs(iterateSpread - eta / (2 - eta)) < 0.01, `iterate spread ${iterateSpread}`);
  assert.ok(averageSpread < iterateSpread / 5, `average ${averageSpread} vs iterate ${iterateSpread}`);
});

// ---------------------------------------------------------------- a whole training step

test("a jitted training step (loss, grad, clip, Adam) on a tiny MLP regression reduces the loss", () => {
  // y = sin(x₀) + x₁² / 2 on 64 points; MLP 2-16-1 with tanh
  const n = 64, xs = randn(2 * n, 7);
  const ys = Array.from({ length: n }, (_, i) => Math.sin(xs[2 * i]) + xs[2 * i + 1] ** 2 / 2);
  const x = np.array(Float32Array.from(xs)).reshape([n, 2]);
  const y = np.array(Float32Array.from(ys)).reshape([n, 1]);
  type P = nn.MlpParams;
  // the function given to valueAndGrad consumes its arguments (jax-js's rule); mlp only borrows p
  const lossFn = (p: P, xb: Tensor, yb: Tensor) => {
    const d = nn.mlp(p, xb, { activation: "tanh" }).sub(yb);
    disposeTree(p);
    return np.mean(np.square(d));
  };
  const opt = optim.adam();
  const step = jit((p: P, s: optim.AdamState, xb: Tensor, yb: Tensor, lr: Tensor) => {
    const [loss, grads] = valueAndGrad(lossFn)(refTree(p), xb, yb);
    const { grads: clipped, norm } = optim.clipByGlobalNorm(grads, 10);
    const out = opt.update(clipped, s, p, lr);
    return { loss, norm, params: out.params, state: out.state };
  });
  let params = nn.initMlp(keyFromSeed(1), [2, 16, 1]);
  let state = opt.init(params);
  const schedule = optim.linearWarmup(optim.constant(0.02), 5);
  const losses: number[] = [];
  for (let t = 0; t < 150; t++) {
    const out = step(params, state, x.ref, y.ref, optim.lrArray(schedule(t)));
    ({ params, state } = out);
    losses.push(toNumber(out.loss));
    out.norm.dispose();
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[149] < 0.2 * losses[0], `loss ${losses[0]} -> ${losses[149]}`);
  disposeTree([params, state, x, y]);
  step.dispose();
});

// ---------------------------------------------------------------- the gradient step every training loop is built from

test("makeGradientStep: one SGD step on ½‖θ − c‖² moves θ by lr·(θ − c), reports ‖θ − c‖, clips it, and returns aux", () => {
  const c = [1, -2, 3];
  const objective = (p: { theta: Tensor }, target: Tensor) => {
    const r = p.theta.sub(target);
    return { loss: np.square(r.ref).sum().mul(0.5), aux: { residual: r } };
  };
  const theta = [4, 2, -1]; // θ − c = [3, 4, −4], ‖θ − c‖ = √41
  for (const clipNorm of [null, 1]) {
    const step = optim.makeGradientStep(objective, optim.sgd({ momentum: 0 }), { clipNorm });
    const state = optim.sgd({ momentum: 0 }).init({ theta: np.array(theta) });
    const out = step({ theta: np.array(theta) }, state, np.array(0.1), np.array(c));
    const g = theta.map((t, i) => t - c[i]);
    const norm = Math.hypot(...g);
    const scale = clipNorm === null ? 1 : Math.min(1, clipNorm / norm);
    assertClose(toData(out.params.theta) as Float32Array, theta.map((t, i) => t - 0.1 * scale * g[i]), { atol: 1e-6 });
    assertClose([toNumber(out.gradNorm)], [norm], { atol: 1e-5 });
    assertClose([toNumber(out.loss)], [0.5 * norm * norm], { atol: 1e-4 });
    assertClose(toData(out.aux.residual) as Float32Array, g, { atol: 1e-6 });
    disposeTree(out.state);
    step.dispose();
  }
});
