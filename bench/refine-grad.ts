// Benchmark: the gradient with respect to the latent code alone, as eval's refined proposal takes it
// (src/eval/refine.ts), of the pythae-vae decoder's Bernoulli log-likelihood at batch 100, with and
// without `writeOut` on the logits (src/models/latent.ts). Without it jax-js's jit fuses the logits'
// matmul into the matmul of their cotangent with the weights and recomputes it there. For scale,
// the gradient with respect to the decoder's weights. Median ms of 5 calls after the first.
//
//   npx tsx bench/refine-grad.ts
//
// Measured 2026-12-02, jax-js 0.1.25, 2-core machine otherwise idle: with respect to z 479 ms without
// writeOut, 11.1 ms with it; with respect to the weights 15.7 ms (the same day with one other job on
// the cores, through the model's own code: about 1.0-1.5 s against 24-28 ms).
import { init, np, jit, grad, keyFromSeed, refTree, writeOut, type Array } from "../src/engine/index.js";
import { Bernoulli } from "../src/distributions/index.js";
import { modelOptionsSchema } from "../src/models/registry.js";
import { findPreset } from "../src/models/registry.js";
import { mlpLatentNets } from "../src/models/nets.js";
import type { Params } from "../src/models/types.js";

await init();
const options = modelOptionsSchema.parse(findPreset("pythae-vae").values);
const nets = mlpLatentNets(options, { imageShape: [1, 28, 28], numClasses: null }, false);
const params = nets.init(keyFromSeed(0));
const B = 100;
const x = np.zeros([B, 1, 28, 28]);
const z = np.zeros([B, options.latent]);
const logLik = (p: Params, zz: Array, xx: Array, written: boolean) => {
  const logits = nets.decode(p, zz);
  return new Bernoulli(written ? writeOut(logits) : logits, { eventDims: 3 }).logProb(xx).sum();
};
const cases: [string, (p: Params, zz: Array, xx: Array) => unknown][] = [
  ["d/dz, no writeOut", jit((p: Params, zz: Array, xx: Array) => grad((v: Array) => logLik(p, v, xx, false))(zz))],
  ["d/dz, writeOut on the logits", jit((p: Params, zz: Array, xx: Array) => grad((v: Array) => logLik(p, v, xx, true))(zz))],
  ["d/dweights (for scale)", jit((p: Params, zz: Array, xx: Array) => grad((q: Params) => logLik(q, zz, xx, false))(p))],
];
const firstLeaf = (t: any): Array => (t.dataSync ? t : firstLeaf(Object.values(t)[0]));
for (const [name, f] of cases) {
  const ms: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    firstLeaf(f(refTree(params), z.ref, x.ref)).dataSync();
    if (i > 0) ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`${name.padEnd(32)} ${ms[2].toFixed(1)} ms`);
}
