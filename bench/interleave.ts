// Benchmark: ways to interleave the four phase outputs of a stride-2 transposed conv into one
// channels-last output, as jax-js compiles them (the largest non-product kernel of the conv step;
// docs/speed.md). The phases are [128, 14, 14, 32] (the keras-conv-vae decoder's 64 -> 32 layer),
// the output [128, 28, 28, 32] plus a bias, written out. Baselines: a copy of an array of the
// output's size, and concatenations of two halves.
//
//   npx tsx bench/interleave.ts [--repeats 8]
//
// Measured 2026-12-04 (load 0.2, jax-js as pinned): every interleave 20-22 ms (6-7 ns a value:
// masked reads behind div/mod index arithmetic), whatever its form; a plain copy with the bias
// 1-2 ms; a concatenation of two [1792, 448] halves along the last axis 3.6 ms for 1.6 M values.
import { blockUntilReady } from "@jax-js/jax";
import { init, np, jit, random, type Array } from "../src/engine/index.js";
import { writeOut } from "../src/engine/conv.js";

const args = process.argv.slice(2);
const REPEATS = args.includes("--repeats") ? Number(args[args.indexOf("--repeats") + 1]) : 8;
await init();
const [N, A, B, C] = [128, 14, 14, 32];
const keys = random.split(random.key(0), 6);
const phases = [0, 1, 2, 3].map((i) => random.normal(keys.ref.slice(i), [N, A, B, C]));
const bias = random.normal(keys.ref.slice(4), [C]);
const whole = random.normal(keys.slice(5), [N, 2 * A, 2 * B, C]);
const out = [N, 2 * A, 2 * B, C];
const dropAll = (p: Array[]) => p.forEach((x) => x.dispose());

/** Each variant gets the phases (row phase bh, column phase bw at index 2 bh + bw) and the bias. */
const variants: [string, (p: Array[], b: Array) => Array][] = [
  ["copy of an output-sized array, + bias (baseline)", (p, b) => (dropAll(p), writeOut(whole.ref.add(b)))],
  ["concat of two halves, last axis (1.6 M values)", (p, b) => (dropAll(p.slice(2)), b.dispose(),
    writeOut(np.concatenate([p[0].reshape([N * A, B * C]), p[1].reshape([N * A, B * C])], 1)))],
  ["stack on a new first axis, transposed view (conv.ts)", (p, b) =>
    writeOut(np.stack(p, 0).reshape([2, 2, N, A, B, C]).transpose([2, 3, 0, 4, 1, 5]).reshape(out).add(b))],
  ["nested stacks on the phase axes", (p, b) => {
    const rows = [0, 1].map((bh) => np.stack([p[2 * bh], p[2 * bh + 1]], 3)); // [N, A, B, 2, C]
    return writeOut(np.stack(rows, 2).reshape(out).add(b));
  }],
  ["concat on the channel axis, then a transposed copy", (p, b) => {
    const z = writeOut(np.concatenate(p, 3)); // [N, A, B, 4C]
    return writeOut(z.reshape([N, A, B, 2, 2, C]).transpose([0, 1, 3, 2, 4, 5]).reshape(out).add(b));
  }],
  ["sum of four zero-padded phases", (p, b) => {
    const padded = p.map((x, k) => {
      const bh = k >> 1, bw = k & 1;
      return np.pad(x.reshape([N, A, 1, B, 1, C]), [[0, 0], [0, 0], [bh, 1 - bh], [0, 0], [bw, 1 - bw], [0, 0]]);
    });
    return writeOut(padded.reduce((s, t) => s.add(t)).reshape(out).add(b));
  }],
  ["columns, then rows (two concatenations of two)", (p, b) => {
    const rows = [0, 1].map((bh) => writeOut(np.concatenate([p[2 * bh].reshape([N * A * B, C]), p[2 * bh + 1].reshape([N * A * B, C])], 1)));
    return writeOut(np.concatenate(rows.map((r) => r.reshape([N * A, 2 * B * C])), 1).reshape(out).add(b));
  }],
  ["columns, then rows, not written out between", (p, b) => {
    const rows = [0, 1].map((bh) => np.concatenate([p[2 * bh].reshape([N * A * B, C]), p[2 * bh + 1].reshape([N * A * B, C])], 1));
    return writeOut(np.concatenate(rows.map((r) => r.reshape([N * A, 2 * B * C])), 1).reshape(out).add(b));
  }],
  ["columns, then rows, materialized between", (p, b) => {
    const rows = [0, 1].map((bh) => np.negative(np.negative(np.concatenate([p[2 * bh].reshape([N * A * B, C]), p[2 * bh + 1].reshape([N * A * B, C])], 1))));
    return writeOut(np.concatenate(rows.map((r) => r.reshape([N * A, 2 * B * C])), 1).reshape(out).add(b));
  }],
];

let reference: Float32Array | null = null;
for (const [name, f] of variants) {
  const run = jit((...xs: Array[]) => f(xs.slice(0, 4), xs[4]));
  const times: number[] = [];
  let y: Array | null = null;
  for (let r = 0; r <= REPEATS; r++) {
    y?.dispose();
    const t0 = performance.now();
    y = run(...phases.map((x) => x.ref), bias.ref);
    await blockUntilReady(y);
    if (r > 0) times.push(performance.now() - t0); // the first call compiles
  }
  const data = y!.dataSync() as Float32Array;
  const isInterleave = !name.includes("baseline") && !name.includes("halves");
  if (isInterleave) {
    reference ??= data;
    if (!data.every((v, i) => v === reference![i])) throw new Error(`${name}: differs from the first interleave`);
  }
  const values = y!.shape.reduce((a, d) => a * d, 1);
  const ms = Math.min(...times);
  console.log(`${ms.toFixed(1).padStart(6)} ms  ${(ms * 1e6 / values).toFixed(1).padStart(5)} ns a value  ${name}`);
}
