// Principal components of a small point cloud, in plain float64 JS (the scatter plot of latent
// means projects d > 2 dimensions onto the top two):
//
//   S = (1/n) Σ_i (x_i − x̄)(x_i − x̄)ᵀ                     the d x d covariance
//   v ← S v / ‖S v‖  until v stops turning                 power iteration: the top eigenvector
//   S ← S − λ v vᵀ,  λ = vᵀ S v                            deflation, then the next one
//
// Each component's sign is fixed so that its largest entry is positive (a deterministic picture).

export type Pca = {
  components: Float64Array[]; // k unit vectors of length d
  variances: number[]; // eigenvalues λ_1 ≥ λ_2 ≥ ...
  mean: Float64Array; // x̄
  projections: Float64Array; // [n, k] row-major: (x_i − x̄)·v_j
};

/** The top `k` principal components of `x` ([n, d] row-major). */
export function pca(x: ArrayLike<number>, n: number, d: number, k = 2, { iterations = 1000, tol = 1e-12 } = {}): Pca {
  if (x.length !== n * d) throw new Error(`pca: ${x.length} values are not [${n}, ${d}]`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  const S = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const xa = x[i * d + a] - mean[a];
      if (xa === 0) continue;
      for (let b = a; b < d; b++) S[a * d + b] += (xa * (x[i * d + b] - mean[b])) / n;
    }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) S[a * d + b] = S[b * d + a];

  const components: Float64Array[] = [];
  const variances: number[] = [];
  const Sv = new Float64Array(d);
  const times = (v: Float64Array) => {
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += S[a * d + b] * v[b];
      Sv[a] = s;
    }
    return Math.hypot(...Sv);
  };
  for (let c = 0; c < Math.min(k, d); c++) {
    // A start that no eigenvector is orthogonal to except by bad luck: 1, 1.1, 1.2, ...
    let v = Float64Array.from({ length: d }, (_, j) => 1 + j / 10);
    v = v.map((e) => e / Math.hypot(...v));
    for (let it = 0; it < iterations; it++) {
      const norm = times(v);
      if (norm === 0) break;
      let change = 0;
      for (let a = 0; a < d; a++) {
        const next = Sv[a] / norm;
        change = Math.max(change, Math.abs(next - v[a]));
        v[a] = next;
      }
      if (change < tol) break;
    }
    times(v);
    const lambda = v.reduce((s, e, a) => s + e * Sv[a], 0);
    let big = 0;
    for (let a = 0; a < d; a++) if (Math.abs(v[a]) > Math.abs(v[big])) big = a;
    if (v[big] < 0) v = v.map((e) => -e);
    components.push(v);
    variances.push(Math.max(0, lambda));
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) S[a * d + b] -= lambda * v[a] * v[b];
  }

  const kk = components.length;
  const projections = new Float64Array(n * kk);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < kk; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[i * d + j] - mean[j]) * components[c][j];
      projections[i * kk + c] = s;
    }
  return { components, variances, mean, projections };
}
