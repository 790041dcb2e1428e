// Benchmark: the exported ONNX graph (src/export/onnx.ts) run by onnxruntime-node against latentkit's
// own jitted function, same inputs, same process: ms per call of reconstruct (x -> x̂) at batch 100,
// median of 20 calls after 3 warm-up calls, for the pythae-vae MLP and the keras-conv-vae conv net.
// Reported as the ratio latentkit / onnxruntime (the machine is shared; a ratio is steadier).
//
//   npx tsx bench/onnx-export.ts [--calls 20] [--batch 100]
import * as ort from "onnxruntime-node";
import { init, jit, keyFromSeed, fromData, disposeTree, refTree, type Array } from "../src/engine/index.js";
import { modelOptionsSchema } from "../src/models/registry.js";
import { findPreset, getModelFamily } from "../src/models/registry.js";
import { exportOnnx } from "../src/export/onnx.js";
import type { Params } from "../src/models/types.js";
import type { ParamTree } from "../src/nn/tree.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const CALLS = opt("--calls", 20), B = opt("--batch", 100);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await init();
for (const [family, preset] of [["vae", "pythae-vae"], ["conv-vae", "keras-conv-vae"]]) {
  const model = getModelFamily(family).create(modelOptionsSchema.parse(findPreset(preset).values), { imageShape: [1, 28, 28], numClasses: null });
  const params = model.init(keyFromSeed(0));
  const x = Float32Array.from({ length: B * 784 }, (_, i) => ((i * 2654435761) % 5 === 0 ? 1 : 0));
  const reconstruct = jit((p: Params, x: Array) => model.reconstruct(p, { x }));
  const bytes = exportOnnx({ fn: (p, x) => model.reconstruct(p, { x }), inputs: [{ name: "x", shape: [1, 28, 28], dtype: "float32" }], output: "reconstruction", params: params as ParamTree, producerVersion: "bench" });
  const session = await ort.InferenceSession.create(bytes);
  const feeds = { x: new ort.Tensor("float32", x, [B, 1, 28, 28]) };
  const timeOf = async (f: () => Promise<void> | void) => {
    const ts: number[] = [];
    for (let i = 0; i < CALLS + 3; i++) {
      const t0 = performance.now();
      await f();
      if (i >= 3) ts.push(performance.now() - t0);
    }
    return median(ts);
  };
  const mine = await timeOf(() => { reconstruct(refTree(params), fromData(x, [B, 1, 28, 28])).dataSync(); });
  const theirs = await timeOf(async () => { await session.run(feeds); });
  console.log(`${preset} reconstruct, batch ${B}: latentkit ${mine.toFixed(2)} ms, onnxruntime ${theirs.toFixed(2)} ms, ratio ${(mine / theirs).toFixed(2)}  (graph ${(bytes.length / 1e6).toFixed(2)} MB)`);
  disposeTree(params);
}
