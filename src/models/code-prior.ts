// Priors over the code indices k = (k_1..k_N) of a VQ-VAE, fitted after the autoencoder, so that
// sampling is x ~ p(x | e_k), k ~ p(k):
//
//   independent:     p(k) = Π_i Cat(k_i; π_i),  π_i = (c_i + 1) / (n + K)   (per-position counts, Laplace)
//   autoregressive:  p(k) = Π_i p(k_i | k_<i)  by one masked MLP (MADE, Germain et al. 2015): the
//                    one-hot inputs of position i have degree i, hidden units degrees in 1..N−1, and
//                    the logits of position i see only hidden units of degree < i.
//
// Trained by maximum likelihood (Adam, mean over the batch of −log p(k) in nats per example).
// Tree: { logits: [N, K] } (independent) or { made: { "0": {weight, bias}, "2": ... } }.
import { np, jnn, jit, random, splitKey, fromData, disposeTree, refTree, toNumber, type Array } from "../engine/index.js";
import { initMlp, type MlpParams } from "../nn/mlp.js";
import { linear } from "../nn/linear.js";
import { adam, lrArray, makeGradientStep } from "../optim/index.js";
import { permutation } from "../data/prng.js";
import type { Params } from "./types.js";

export type CodePriorConfig = {
  N: number; // positions
  K: number; // codes
  kind: "independent" | "autoregressive";
  hidden: number[]; // MADE hidden layer sizes
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number; // data order
};

/** MADE connectivity masks [out, in] per layer, as 0/1 numbers (row-major). */
export function madeMasks(N: number, K: number, hidden: number[]): Float32Array[] {
  const inDeg = globalThis.Array.from({ length: N * K }, (_, j) => Math.floor(j / K) + 1);
  const hidDeg = hidden.map((h) => globalThis.Array.from({ length: h }, (_, u) => (N > 1 ? (u % (N - 1)) + 1 : N)));
  const masks: Float32Array[] = [];
  let prev = inDeg;
  for (const deg of hidDeg) {
    masks.push(Float32Array.from({ length: deg.length * prev.length }, (_, i) => (deg[Math.floor(i / prev.length)] >= prev[i % prev.length] ? 1 : 0)));
    prev = deg;
  }
  const outDeg = inDeg; // logits of position i: strictly lower degrees only
  masks.push(Float32Array.from({ length: outDeg.length * prev.length }, (_, i) => (outDeg[Math.floor(i / prev.length)] > prev[i % prev.length] ? 1 : 0)));
  return masks;
}

/** The prior's model: init, logits of every position given the codes, sampling, log p. */
export function makeCodePrior(config: CodePriorConfig) {
  const { N, K, hidden } = config;
  const sizes = [N * K, ...hidden, N * K];
  const masks = config.kind === "autoregressive" ? madeMasks(N, K, hidden).map((m, i) => fromData(m, [sizes[i + 1], sizes[i]])) : [];

  // h_{l+1} = relu((W_l ⊙ M_l) h_l + b_l); logits [B, N, K] of onehot(k) [B, N, K] (consumed).
  const madeLogits = (made: MlpParams, onehot: Array): Array => {
    const B = onehot.shape[0];
    const ms = masks;
    let h = onehot.reshape([B, N * K]);
    ms.forEach((m, i) => {
      const layer = made[String(2 * i)];
      // linear borrows its parameters: the masked weight made here is disposed here (it leaked
      // 2 × N·K·hidden floats per call, and sampling calls it N times: out of memory at 1,000 samples)
      const masked = layer.weight.ref.mul(m.ref);
      h = linear({ weight: masked, bias: layer.bias }, h);
      masked.dispose();
      if (i < ms.length - 1) h = jnn.relu(h);
    });
    return h.reshape([B, N, K]);
  };

  /** Logits [B, N, K] of p(k_i | k_<i) (or of π_i) for codes [B, N] int32 (consumed); prior borrowed. */
  const logits = (prior: Params, codes: Array): Array => {
    if (prior.logits) {
      const B = codes.shape[0];
      codes.dispose();
      return np.broadcastTo((prior.logits as Array).ref.reshape([1, N, K]), [B, N, K]);
    }
    return madeLogits(prior.made as MlpParams, jnn.oneHot(codes, K).astype(np.float32));
  };

  // log p(k) = Σ_i log softmax(logits_i)[k_i]
  /** log p(k) [B] of codes [B, N] int32 (consumed). */
  const logProb = (prior: Params, codes: Array): Array => {
    const onehot = jnn.oneHot(codes.ref, K).astype(np.float32);
    return onehot.mul(jnn.logSoftmax(logits(prior, codes), -1)).sum([1, 2]);
  };

  /** n draws k ~ p(k) [n, N] int32, position by position (the key is consumed). */
  const sample = (prior: Params, key: Array, n: number): Array => {
    if (prior.logits) return random.categorical(key, (prior.logits as Array).ref, { axis: -1, shape: [n, N] }).astype(np.int32);
    const keys = splitKey(key, N);
    let onehot = np.zeros([n, N, K]);
    for (let i = 0; i < N; i++) {
      const li = madeLogits(prior.made as MlpParams, onehot.ref).slice([], [i, i + 1]); // [n, 1, K]
      const ki = random.categorical(keys[i], li.reshape([n, K]), { axis: -1 });
      const at = jnn.oneHot(np.full([n], i, { dtype: np.int32 }), N).astype(np.float32); // [n, N]
      onehot = onehot.add(at.reshape([n, N, 1]).mul(jnn.oneHot(ki, K).astype(np.float32).reshape([n, 1, K])));
    }
    return np.argmax(onehot, -1).astype(np.int32);
  };

  const dispose = () => masks.forEach((m) => m.dispose());
  return { logits, logProb, sample, dispose, init: (key: Array): Params => ({ made: initMlp(key, sizes) }) };
}

/** Mean −log p(k) per example over all rows of `codes` (n × N, int32 on the host). */
export function meanNll(prior: Params, codes: Int32Array, config: CodePriorConfig): number {
  const p = makeCodePrior(config);
  const f = jit((pr: Params, c: Array) => p.logProb(pr, c).sum().neg());
  const n = codes.length / config.N;
  let total = 0;
  for (let s = 0; s < n; s += 500) {
    const e = Math.min(n, s + 500);
    total += toNumber(f(refTree(prior), np.array(codes.slice(s * config.N, e * config.N), { dtype: np.int32 }).reshape([e - s, config.N])));
  }
  f.dispose();
  p.dispose();
  return total / Math.max(1, n);
}

/** The per-position categorical with add-one smoothing, from codes (n × N) on the host. */
export function independentPrior(codes: Int32Array, N: number, K: number): Params {
  const n = codes.length / N;
  const logits = new Float32Array(N * K).fill(1);
  for (let r = 0; r < n; r++) for (let i = 0; i < N; i++) logits[i * K + codes[r * N + i]] += 1;
  for (let j = 0; j < logits.length; j++) logits[j] = Math.log(logits[j] / (n + K));
  return { logits: fromData(logits, [N, K]) };
}

/**
 * Fits the configured prior to training codes (n × N int32, host); `valid` codes give a held-out
 * −log p(k). Returns the prior tree and metrics in nats per example (the independent prior's too,
 * as the baseline). The key is consumed.
 */
export function fitCodePrior(
  codes: Int32Array, valid: Int32Array | undefined, config: CodePriorConfig, key: Array,
  log: (line: string) => void = () => {},
): { prior: Params; metrics: Record<string, number> } {
  const { N, K, batchSize } = config;
  const n = codes.length / N;
  const independent = independentPrior(codes, N, K);
  const metrics: Record<string, number> = { prior_nll_independent_train: meanNll(independent, codes, config) };
  if (valid) metrics.prior_nll_independent_valid = meanNll(independent, valid, config);
  if (config.kind === "independent") {
    key.dispose();
    metrics.prior_nll_train = metrics.prior_nll_independent_train;
    if (valid) metrics.prior_nll_valid = metrics.prior_nll_independent_valid;
    return { prior: independent, metrics };
  }
  disposeTree(independent);
  const model = makeCodePrior(config);
  const [initKey, rest] = splitKey(key);
  rest.dispose();
  let prior = model.init(initKey);
  const opt = adam();
  let state = opt.init(prior);
  // −log p(k) per example, averaged over the batch
  const step = makeGradientStep((pr: Params, c: Array) => ({ loss: model.logProb(pr, c).mean().neg(), aux: {} }), opt);
  const bs = Math.min(batchSize, n);
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const order = permutation(n, config.seed, epoch);
    let sum = 0, steps = 0;
    for (let s = 0; s + bs <= n; s += bs) {
      const batch = new Int32Array(bs * N);
      for (let r = 0; r < bs; r++) batch.set(codes.subarray(order[s + r] * N, order[s + r] * N + N), r * N);
      const out = step(prior, state, lrArray(config.lr), np.array(batch, { dtype: np.int32 }).reshape([bs, N]));
      out.gradNorm.dispose();
      prior = out.params;
      state = out.state as typeof state;
      sum += toNumber(out.loss);
      steps++;
    }
    log(`code prior epoch ${epoch + 1}/${config.epochs}: −log p(k) ${(sum / Math.max(1, steps)).toFixed(3)} nats`);
  }
  step.dispose();
  disposeTree(state);
  model.dispose();
  metrics.prior_nll_train = meanNll(prior, codes, config);
  if (valid) metrics.prior_nll_valid = meanNll(prior, valid, config);
  return { prior, metrics };
}
