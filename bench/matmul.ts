// Benchmark: the engine's own matrix product against the WebAssembly bound, for the products of the
// seed-vae training step (784-400-20 MLP, batch 100): the forward product x·W, the input gradient
// dY·Wᵀ and the weight gradient Xᵀ·dY, as jax-js 0.1.25 compiles them (one jitted product each), in
// GFLOP/s and as a share of one core's f32x4 multiply-add rate measured in the same run
// (src/engine/wasm-bound.ts). What the step can reach is bounded by these: the products are 0.31 of
// its 0.33 GFLOP.
//
//   npx tsx bench/matmul.ts [--rounds 50]
import { init, np, jit, fromData, type Array } from "../src/engine/index.js";
import { wasmBoundGflops } from "../src/engine/wasm-bound.js";

const args = process.argv.slice(2);
const ROUNDS = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 50;

await init();
const random = (shape: number[]) => fromData(Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5), shape);
const t = (a: Array) => a.transpose([1, 0]);
// [name, shape of a, shape of b, product, multiply-adds]
const cases: [string, number[], number[], (a: Array, b: Array) => Array, number][] = [
  ["forward x·W [100,784]·[784,400]", [100, 784], [784, 400], (a, b) => np.matmul(a, b), 100 * 784 * 400],
  ["forward h·W [100,400]·[400,784]", [100, 400], [400, 784], (a, b) => np.matmul(a, b), 100 * 400 * 784],
  ["input gradient dY·Wᵀ [100,784]·[400,784]ᵀ", [100, 784], [400, 784], (a, b) => np.matmul(a, t(b)), 100 * 784 * 400],
  ["weight gradient Xᵀ·dY [100,784]ᵀ·[100,400]", [100, 784], [100, 400], (a, b) => np.matmul(t(a), b), 784 * 100 * 400],
];
const bound = wasmBoundGflops();
console.log(`WebAssembly bound: ${bound.toFixed(1)} GFLOP/s on one core`);
for (const [name, sa, sb, product, madds] of cases) {
  const f = jit(product);
  const a = random(sa), b = random(sb);
  const once = async () => {
    const r = f(a.ref, b.ref);
    await r.blockUntilReady();
    r.dispose();
  };
  for (let i = 0; i < 5; i++) await once();
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await once();
  const ms = (performance.now() - start) / ROUNDS;
  const gflops = (2 * madds) / ms / 1e6;
  console.log(`${name}: ${ms.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s, ${((100 * gflops) / bound).toFixed(0)}% of the bound`);
  a.dispose();
  b.dispose();
}
