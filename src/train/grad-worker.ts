// A gradient worker of data-parallel training (data-parallel.ts), in a worker thread with its own
// engine: it builds the run's model, then for every step order reads the parameters and its rows of
// the batch from the shared buffers, computes its shard's gradient, writes it to its slot and
// answers with the shard's loss, metrics and after-step statistics.
import { parentPort, workerData } from "node:worker_threads";
import { init, np, toData, toNumber } from "../engine/index.js";
import { getModelFamily } from "../models/registry.js";
import { flattenParams } from "../nn/tree.js";
import { makeShardGradStep, scalarArrays } from "./step.js";
import { readTree, type GradWorkerOrder, type GradWorkerReply, type GradWorkerSetup } from "./data-parallel.js";

const setup = workerData as GradWorkerSetup;
const post = (r: GradWorkerReply) => parentPort!.postMessage(r);
const fail = (e: unknown) => post({ kind: "error", message: (e as Error).message, user: (e as Error).name === "LatentkitError" });

try {
  await init();
  const model = getModelFamily(setup.config.model).create(setup.config, setup.info);
  const gradShard = makeShardGradStep(model);
  const params = new Float32Array(setup.paramsBuffer);
  const grad = new Float32Array(setup.gradBuffer);
  const batch = new Float32Array(setup.batchBuffer);
  const labels = new Int32Array(setup.labelsBuffer);
  const rows = setup.end - setup.start;
  const exampleSize = setup.imageShape.reduce((a, b) => a * b, 1);

  parentPort!.on("message", (order: GradWorkerOrder) => {
    if (order.kind === "stop") {
      parentPort!.close();
      return;
    }
    try {
      const x = np.array(batch.subarray(setup.start * exampleSize, setup.end * exampleSize) as unknown as Float32Array<ArrayBuffer>, { dtype: np.float32 })
        .reshape([rows, ...setup.imageShape]);
      const y = np.array(labels.subarray(setup.start, setup.end) as unknown as Int32Array<ArrayBuffer>, { dtype: np.int32 });
      const key = np.array(new Uint32Array(order.key), { dtype: np.uint32 });
      const out = gradShard(readTree(setup.params, params), { x, labels: y }, key, scalarArrays(order.scalars));
      const grads = flattenParams(out.grads);
      for (const s of setup.grads) grad.set(toData(grads[s.name]) as Float32Array, s.offset);
      const aux = Object.fromEntries(Object.entries(flattenParams(out.aux)).map(([name, a]) =>
        [name, { shape: [...a.shape], data: toData(a) as Float32Array }]));
      const metrics = Object.fromEntries(Object.entries(out.metrics).map(([name, v]) => [name, toNumber(v)]));
      post({ kind: "done", loss: toNumber(out.loss), metrics, aux });
    } catch (e) {
      fail(e);
    }
  });
  post({ kind: "ready" });
} catch (e) {
  fail(e);
}
