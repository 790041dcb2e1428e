// Disentanglement, measured where the generating factors are known (the sprites: shape, scale,
// rotation, x, y). Codes z [N, D] (a VAE's posterior means) against factor indices v [N, K]:
//
//   MIG (Chen et al. 2018)        (1/K) Σ_k ( I(z_(1); v_k) − I(z_(2); v_k) ) / H(v_k)
//                                 z_(1), z_(2): the two code dimensions with the most mutual information
//                                 with v_k; each z_j discretised into `bins` equal-width bins.
//   FactorVAE score (Kim & Mnih)  fix factor k, draw L examples, normalise the codes by their spread
//                                 over the data, take the dimension of least variance: a vote (d, k).
//                                 A majority-vote classifier d -> k is fitted on one set of votes; the
//                                 score is its accuracy on another. Collapsed dimensions are ignored.
//   DCI (Eastwood & Williams)     R_jk = |w_jk|, the weights of a lasso regression of each standardised
//                                 factor on the standardised codes. P_jk = R_jk / Σ_k R_jk:
//                                 disentanglement Σ_j ρ_j (1 − H_K(P_j·)), ρ_j = Σ_k R_jk / Σ R;
//                                 completeness (1/K) Σ_k (1 − H_D(P̃_·k)), P̃_jk = R_jk / Σ_j R_jk;
//                                 informativeness: the mean R² of those regressions on held-out codes.
//
// H_K is the entropy with logarithm base K (so each term is in [0, 1]). Every score is 1 for codes
// that are the factors and falls when they are mixed (test/disentanglement.test.ts).
import { LatentkitError } from "../io/errors.js";
import { Rng } from "../data/prng.js";

export type Disentanglement = {
  mig: number;
  factorvae: number;
  dci: { disentanglement: number; completeness: number; informativeness: number };
};

export type DisentanglementOptions = {
  bins?: number; // MIG: bins per code dimension (20, as Chen et al. and Locatello et al.)
  votes?: number; // FactorVAE: votes to fit and votes to score (800 each)
  batch?: number; // FactorVAE: examples per vote, L (100)
  lasso?: number; // DCI: the lasso's L1 weight α on standardised data (0.01)
  seed?: number;
};

/** Column j of a row-major [n, d] array. */
const column = (x: ArrayLike<number>, n: number, d: number, j: number) => Float64Array.from({ length: n }, (_, i) => x[i * d + j]);

/** Entropy (nats) of a discrete distribution given by counts. */
function entropy(counts: ArrayLike<number>, total: number): number {
  let h = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) h -= (counts[i] / total) * Math.log(counts[i] / total);
  return h;
}

/** Mutual information (nats) of two discrete variables with values in [0, a) and [0, b). */
function mutualInformation(x: Int32Array, a: number, y: Int32Array, b: number): number {
  const n = x.length;
  const joint = new Float64Array(a * b), px = new Float64Array(a), py = new Float64Array(b);
  for (let i = 0; i < n; i++) { joint[x[i] * b + y[i]]++; px[x[i]]++; py[y[i]]++; }
  let mi = 0;
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) {
    const p = joint[i * b + j] / n;
    if (p > 0) mi += p * Math.log(p / ((px[i] / n) * (py[j] / n)));
  }
  return Math.max(0, mi);
}

/** Equal-width bins of a column: indices in [0, bins). */
function discretise(v: Float64Array, bins: number): Int32Array {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  const width = (hi - lo) / bins || 1;
  return Int32Array.from(v, (x) => Math.min(bins - 1, Math.floor((x - lo) / width)));
}

/** The number of values of each factor (its largest index + 1). */
function factorSizes(factors: Int32Array, n: number, k: number): number[] {
  return Array.from({ length: k }, (_, j) => { let m = 0; for (let i = 0; i < n; i++) m = Math.max(m, factors[i * k + j]); return m + 1; });
}

/**
 * The mutual information between each code dimension (discretised in `bins` equal-width bins) and
 * each factor, divided by the factor's entropy: [d][k], 1 when a dimension determines a factor.
 * (A constant factor, entropy 0, gets 0.)
 */
export function normalisedMutualInformation(codes: ArrayLike<number>, factors: Int32Array, n: number, opts: { bins?: number } = {}): number[][] {
  const d = codes.length / n, k = factors.length / n;
  const bins = opts.bins ?? 20;
  const sizes = factorSizes(factors, n, k);
  const z = Array.from({ length: d }, (_, j) => discretise(column(codes, n, d, j), bins));
  const v = Array.from({ length: k }, (_, f) => Int32Array.from({ length: n }, (_, i) => factors[i * k + f]));
  const h = v.map((vf, f) => entropy(countsOf(vf, sizes[f]), n));
  return z.map((zj) => v.map((vf, f) => (h[f] === 0 ? 0 : mutualInformation(zj, bins, vf, sizes[f]) / h[f])));
}

/** MIG: the mean normalised gap in mutual information between the two most informative dimensions. */
export function mig(codes: ArrayLike<number>, factors: Int32Array, n: number, opts: { bins?: number } = {}): number {
  const k = factors.length / n;
  const nmi = normalisedMutualInformation(codes, factors, n, opts);
  const sizes = factorSizes(factors, n, k);
  let sum = 0, counted = 0;
  for (let f = 0; f < k; f++) {
    const h = entropy(countsOf(Int32Array.from({ length: n }, (_, i) => factors[i * k + f]), sizes[f]), n);
    if (h === 0) continue; // a constant factor carries nothing to capture
    const mis = nmi.map((row) => row[f]).sort((a, b) => b - a);
    sum += mis[0] - (mis[1] ?? 0);
    counted++;
  }
  return counted ? sum / counted : 0;
}

function countsOf(v: Int32Array, size: number): Float64Array {
  const c = new Float64Array(size);
  for (const x of v) c[x]++;
  return c;
}

/** The FactorVAE score: the held-out accuracy of the majority-vote classifier of least-variance dimensions. */
export function factorVaeScore(codes: ArrayLike<number>, factors: Int32Array, n: number, opts: { votes?: number; batch?: number; seed?: number } = {}): number {
  const d = codes.length / n, k = factors.length / n;
  const votes = opts.votes ?? 800, L = opts.batch ?? 100;
  const generator = new Rng(opts.seed ?? 0);
  const random = () => generator.uniform();
  // Spread of each dimension over the data; collapsed dimensions (std < 0.05 of the largest) never vote.
  const std = Array.from({ length: d }, (_, j) => { const c = column(codes, n, d, j); const m = mean(c); return Math.sqrt(mean(c.map((x) => (x - m) ** 2))); });
  const maxStd = Math.max(...std);
  const active = std.map((s) => s > 0.05 * maxStd && s > 0);
  const sizes = factorSizes(factors, n, k);
  // examples by (factor, value)
  const byValue = sizes.map((size, f) => Array.from({ length: size }, () => [] as number[]).map((list, v) => {
    for (let i = 0; i < n; i++) if (factors[i * k + f] === v) list.push(i);
    return list;
  }));
  const vote = (): [number, number] => {
    let f: number, group: number[];
    do {
      f = Math.floor(random() * k);
      group = byValue[f][Math.floor(random() * sizes[f])];
    } while (sizes[f] < 2 || group.length < 2);
    const variance = new Float64Array(d);
    const take = Array.from({ length: L }, () => group[Math.floor(random() * group.length)]);
    for (let j = 0; j < d; j++) {
      if (!active[j]) { variance[j] = Infinity; continue; }
      const c = take.map((i) => codes[i * d + j] / std[j]);
      const m = mean(c);
      variance[j] = mean(c.map((x) => (x - m) ** 2));
    }
    let best = 0;
    for (let j = 1; j < d; j++) if (variance[j] < variance[best]) best = j;
    return [best, f];
  };
  const table = Array.from({ length: d }, () => new Float64Array(k));
  for (let t = 0; t < votes; t++) { const [j, f] = vote(); table[j][f]++; }
  const predict = table.map((row) => row.indexOf(Math.max(...row)));
  let right = 0;
  for (let t = 0; t < votes; t++) { const [j, f] = vote(); if (predict[j] === f) right++; }
  return right / votes;
}

const mean = (a: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s / Math.max(1, a.length); };

/** Columns standardised to mean 0, variance 1 (constant columns to 0). */
function standardise(x: ArrayLike<number>, n: number, d: number): Float64Array[] {
  return Array.from({ length: d }, (_, j) => {
    const c = column(x, n, d, j);
    const m = mean(c);
    const s = Math.sqrt(mean(c.map((v) => (v - m) ** 2))) || 1;
    return c.map((v) => (v - m) / s);
  });
}

/**
 * Lasso by coordinate descent: w = argmin (1/2n)‖y − Xw‖² + α‖w‖₁ on standardised columns X
 * (each Σ x² = n), y centred. Soft-thresholding: w_j = S(x_jᵀ r_j / n, α).
 */
export function lasso(x: Float64Array[], y: Float64Array, alpha: number, sweeps = 200): Float64Array {
  const d = x.length, n = y.length;
  const w = new Float64Array(d);
  const r = Float64Array.from(y);
  for (let s = 0; s < sweeps; s++) {
    let change = 0;
    for (let j = 0; j < d; j++) {
      const xj = x[j];
      let rho = 0, norm = 0;
      for (let i = 0; i < n; i++) { rho += xj[i] * (r[i] + xj[i] * w[j]); norm += xj[i] * xj[i]; }
      if (norm === 0) continue;
      const z = rho / n, a = norm / n;
      const next = Math.sign(z) * Math.max(Math.abs(z) - alpha, 0) / a;
      const delta = next - w[j];
      if (delta !== 0) { for (let i = 0; i < n; i++) r[i] -= xj[i] * delta; w[j] = next; change = Math.max(change, Math.abs(delta)); }
    }
    if (change < 1e-8) break;
  }
  return w;
}

/** DCI with lasso importances, fitted on the first 80% of the examples, R² on the rest. */
export function dci(codes: ArrayLike<number>, factors: Int32Array, n: number, opts: { lasso?: number } = {}): Disentanglement["dci"] {
  const d = codes.length / n, k = factors.length / n;
  const alpha = opts.lasso ?? 0.01;
  const z = standardise(codes, n, d), v = standardise(factors, n, k);
  const nFit = Math.floor(0.8 * n);
  const fit = (c: Float64Array) => c.subarray(0, nFit);
  const R = Array.from({ length: d }, () => new Float64Array(k));
  let r2Sum = 0;
  for (let f = 0; f < k; f++) {
    const yFit = fit(v[f]);
    const m = mean(yFit);
    const w = lasso(z.map(fit), yFit.map((x) => x - m), alpha);
    for (let j = 0; j < d; j++) R[j][f] = Math.abs(w[j]);
    // R² on held-out examples
    let sse = 0, sst = 0;
    const yMean = mean(v[f].subarray(nFit));
    for (let i = nFit; i < n; i++) {
      let p = m;
      for (let j = 0; j < d; j++) p += w[j] * z[j][i];
      sse += (v[f][i] - p) ** 2;
      sst += (v[f][i] - yMean) ** 2;
    }
    r2Sum += sst > 0 ? Math.max(0, 1 - sse / sst) : 0;
  }
  const total = R.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  if (total === 0) return { disentanglement: 0, completeness: 0, informativeness: r2Sum / k };
  let disentanglement = 0;
  for (const row of R) {
    const sum = row.reduce((a, b) => a + b, 0);
    if (sum === 0) continue;
    const h = k > 1 ? entropy(row, sum) / Math.log(k) : 0;
    disentanglement += (sum / total) * (1 - h);
  }
  let completeness = 0;
  for (let f = 0; f < k; f++) {
    const col = R.map((row) => row[f]);
    const sum = col.reduce((a, b) => a + b, 0);
    completeness += sum === 0 ? 0 : 1 - (d > 1 ? entropy(col, sum) / Math.log(d) : 0);
  }
  return { disentanglement, completeness: completeness / k, informativeness: r2Sum / k };
}

/** MIG, the FactorVAE score and DCI of codes [n, D] against factor indices [n, K]. */
export function disentanglement(codes: ArrayLike<number>, factors: Int32Array, n: number, opts: DisentanglementOptions = {}): Disentanglement {
  if (n < 10 || codes.length % n !== 0 || factors.length % n !== 0) {
    throw new LatentkitError(`disentanglement: needs codes [n, D] and factors [n, K] for n >= 10 examples (got ${codes.length} and ${factors.length} values for n = ${n})`);
  }
  return {
    mig: mig(codes, factors, n, opts),
    factorvae: factorVaeScore(codes, factors, n, { votes: opts.votes, batch: opts.batch, seed: opts.seed }),
    dci: dci(codes, factors, n, opts),
  };
}
