// Sample quality in a feature space φ (a classifier's penultimate layer, features.ts), between
// generated samples G and real images R:
//
//   FID(G, R) = ‖μ_G − μ_R‖² + tr(Σ_G + Σ_R − 2 (Σ_R^{1/2} Σ_G Σ_R^{1/2})^{1/2})      (Heusel et al. 2017)
//
// the Fréchet distance between Gaussians fitted to φ(G) and φ(R) (the middle form is tr((Σ_G Σ_R)^{1/2})
// written with symmetric matrices only, so one symmetric eigendecomposition does each root); and
//
//   precision = (1/|G|) Σ_g [ ∃ r ∈ R: ‖φ(g) − φ(r)‖ ≤ ρ_k(r) ]    (Kynkäänniemi et al. 2019)
//   recall    = (1/|R|) Σ_r [ ∃ g ∈ G: ‖φ(r) − φ(g)‖ ≤ ρ_k(g) ]
//
// ρ_k(x): the distance from x to its k-th nearest neighbour in its own set (k = 3): the real
// manifold is the union of those balls. Moments and roots in float64; the distances by the engine's
// matmul (float32), in blocks.
import { np, fromData, toData } from "../engine/index.js";

/** Mean [d] and covariance [d, d] (divided by n − 1) of n feature rows of size d. */
export function meanAndCovariance(features: ArrayLike<number>, n: number): { mean: Float64Array; cov: Float64Array; d: number } {
  const d = features.length / n;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j] / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) {
    const v = cov[a * d + b] / Math.max(1, n - 1);
    cov[a * d + b] = v;
    cov[b * d + a] = v;
  }
  return { mean, cov, d };
}

/**
 * Eigenvalues and eigenvectors of a symmetric d x d matrix by cyclic Jacobi rotations: A = V diag(λ) Vᵀ,
 * V's columns the eigenvectors (row-major [d, d]).
 */
export function symmetricEigen(a: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < d; p++) {
      diag += m[p * d + p] ** 2;
      for (let q = p + 1; q < d; q++) off += m[p * d + q] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) {
      const apq = m[p * d + q];
      if (Math.abs(apq) < 1e-300) continue;
      // the rotation that zeroes m[p][q]: tan 2θ = 2 a_pq / (a_qq − a_pp)
      const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < d; k++) { // columns p, q
        const mkp = m[k * d + p], mkq = m[k * d + q];
        m[k * d + p] = c * mkp - s * mkq;
        m[k * d + q] = s * mkp + c * mkq;
      }
      for (let k = 0; k < d; k++) { // rows p, q
        const mpk = m[p * d + k], mqk = m[q * d + k];
        m[p * d + k] = c * mpk - s * mqk;
        m[q * d + k] = s * mpk + c * mqk;
      }
      for (let k = 0; k < d; k++) {
        const vkp = v[k * d + p], vkq = v[k * d + q];
        v[k * d + p] = c * vkp - s * vkq;
        v[k * d + q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => m[i * d + i]), vectors: v };
}

/** The symmetric square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues as 0). */
export function sqrtmSymmetric(a: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(0, values[k]));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k] * r;
      if (vik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += vik * vectors[j * d + k];
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
    const aik = a[i * d + k];
    if (aik === 0) continue;
    for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
  }
  return out;
}

/** The Fréchet distance between the Gaussians of two feature sets (rows of the same size). */
export function frechetDistance(a: ArrayLike<number>, nA: number, b: ArrayLike<number>, nB: number): number {
  const A = meanAndCovariance(a, nA), B = meanAndCovariance(b, nB);
  const d = A.d;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (A.mean[j] - B.mean[j]) ** 2;
  const rootB = sqrtmSymmetric(B.cov, d);
  const middle = sqrtmSymmetric(matmul(matmul(rootB, A.cov, d), rootB, d), d);
  let trace = 0;
  for (let j = 0; j < d; j++) trace += A.cov[j * d + j] + B.cov[j * d + j] - 2 * middle[j * d + j];
  return Math.max(0, meanTerm + trace);
}

/**
 * Calls `visit(i, row)` with the squared distances from row i of a [nA, d] to every row of b [nB, d],
 * ‖a_i‖² + ‖b_j‖² − 2 a_i·b_j, computed by the engine's matmul in blocks of rows (bounded memory).
 */
function forEachDistanceRow(a: Float32Array, nA: number, b: Float32Array, nB: number, visit: (i: number, row: Float32Array) => void): void {
  const d = a.length / nA;
  const norms = (x: Float32Array, n: number) => Float64Array.from({ length: n }, (_, i) => { let s = 0; for (let k = 0; k < d; k++) s += x[i * d + k] ** 2; return s; });
  const normA = norms(a, nA), normB = norms(b, nB);
  const bT = np.transpose(fromData(b, [nB, d]));
  const block = Math.max(1, Math.floor(4_000_000 / Math.max(nB, 1)));
  for (let start = 0; start < nA; start += block) {
    const m = Math.min(block, nA - start);
    const dots = toData(np.matmul(fromData(a.subarray(start * d, (start + m) * d), [m, d]), bT.ref)) as Float32Array;
    for (let r = 0; r < m; r++) {
      const row = dots.subarray(r * nB, (r + 1) * nB);
      const i = start + r;
      for (let j = 0; j < nB; j++) row[j] = Math.max(0, normA[i] + normB[j] - 2 * row[j]);
      visit(i, row);
    }
  }
  bT.dispose();
}

/** The squared distance from each row to its k-th nearest other row of the same set. */
function kthNeighbour(x: Float32Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  forEachDistanceRow(x, n, x, n, (i, row) => {
    row[i] = Infinity; // not its own neighbour
    const smallest = new Float64Array(k).fill(Infinity); // ascending
    for (let j = 0; j < n; j++) {
      const v = row[j];
      if (v >= smallest[k - 1]) continue;
      let at = k - 1;
      while (at > 0 && smallest[at - 1] > v) { smallest[at] = smallest[at - 1]; at--; }
      smallest[at] = v;
    }
    out[i] = smallest[Math.min(k, n - 1) - 1];
  });
  return out;
}

/** Improved precision and recall (Kynkäänniemi et al. 2019) of generated features against real ones. */
export function precisionRecall(gen: Float32Array, nG: number, real: Float32Array, nR: number, k = 3): { precision: number; recall: number } {
  const radiusReal = kthNeighbour(real, nR, k), radiusGen = kthNeighbour(gen, nG, k);
  let inReal = 0;
  const covered = new Uint8Array(nR); // real r inside some generated ball
  forEachDistanceRow(gen, nG, real, nR, (g, row) => {
    let hit = false;
    for (let r = 0; r < nR; r++) {
      if (row[r] <= radiusReal[r]) hit = true;
      if (row[r] <= radiusGen[g]) covered[r] = 1;
    }
    if (hit) inReal++;
  });
  return { precision: inReal / nG, recall: covered.reduce((a, b) => a + b, 0) / nR };
}
