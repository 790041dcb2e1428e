// Pretraining stages (Model.pretrainStages: stacked-ae's greedy layer-wise training), run by the
// trainer before the main loop of a new run (never on resume: the checkpoint already holds them).
// Each stage trains the sub-tree it names with the run's optimizer (fresh state) and learning rate,
// through the same jitted step as the main loop; its inputs are mapped outside the gradient.
import { jit, np, keyFromSeed, splitKey, toNumber, disposeTree, refTree, type Array } from "../engine/index.js";
import { batches } from "../data/loader.js";
import type { Split } from "../data/dataset.js";
import type { Model, Params, PretrainStage } from "../models/types.js";
import { flattenParams, unflattenParams } from "../nn/tree.js";
import type { RunConfig } from "./config.js";
import { makeOptimizer, makeTrainStep, scalarArrays } from "./step.js";
import { scalarsAt } from "../models/scheduled.js";
import type { Progress } from "./progress.js";

const scalar = (v: number) => np.array(v, { dtype: np.float32 });
const under = (name: string, prefixes: string[]) => prefixes.some((p) => name === p || name.startsWith(p + "."));

/** The leaves of `params` under the stage's prefixes, as a tree of the same nesting (shared arrays). */
export function selectParams(params: Params, prefixes: string[]): Params {
  const picked = Object.entries(flattenParams(params)).filter(([name]) => under(name, prefixes));
  if (picked.length === 0) throw new Error(`no parameters under ${prefixes.join(", ")}`);
  return unflattenParams(Object.fromEntries(picked)) as Params;
}

/** `params` with the leaves of `sub` put in by name (consumes both trees' replaced leaves). */
export function mergeParams(params: Params, sub: Params): Params {
  const flat = flattenParams(params);
  for (const [name, x] of Object.entries(flattenParams(sub))) {
    flat[name].dispose();
    flat[name] = x;
  }
  return unflattenParams(flat) as Params;
}

export type PretrainLog = { stage: string; epoch: number; loss: number; metrics: Record<string, number> };

/** Runs every stage in order; returns the new parameters (the old tree is consumed) and a log per epoch. */
export function pretrain(
  model: Model, params: Params, train: Split, config: RunConfig, progress: Progress,
): { params: Params; log: PretrainLog[] } {
  const log: PretrainLog[] = [];
  const stages = model.pretrainStages ?? [];
  let key = keyFromSeed(config.seed + 104729);
  stages.forEach((stage: PretrainStage, s) => {
    const optimizer = makeOptimizer(config);
    const step = makeTrainStep({ ...model, loss: stage.loss }, optimizer, config.clipNorm);
    const input = jit((p: Params, x: Array) => stage.input(p, x));
    let sub = refTree(selectParams(params, stage.params));
    let optState: unknown = optimizer.init(sub);
    const steps = Math.floor(train.n / config.batchSize);
    for (let epoch = 0; epoch < stage.epochs; epoch++) {
      const sums: Record<string, number> = {};
      let seen = 0;
      progress.startEpoch(epoch + 1, stage.epochs, steps);
      // A data order of its own per stage and epoch (the main loop's orders stay those of a run without stages).
      for (const b of batches(train, { batchSize: config.batchSize, seed: config.seed + 1000 * (s + 1), epoch, dropLast: true, binarize: config.binarize, shift: config.augmentShift })) {
        const size = b.x.shape[0];
        const labels = b.y ?? np.zeros([size], { dtype: np.int32 });
        const [next, k] = splitKey(key);
        key = next;
        const out = step(refTree(sub), refTree(optState), { x: input(refTree(params), b.x), labels }, k, scalar(config.lr), scalarArrays(scalarsAt(config, 0, steps)));
        const loss = toNumber(out.loss);
        const gradNorm = toNumber(out.gradNorm);
        const metrics = Object.fromEntries(Object.entries(out.metrics).map(([n, v]) => [n, toNumber(v)]));
        if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
          disposeTree(out.params);
          disposeTree(out.optState);
          continue; // a non-finite step is dropped; the stage goes on with the last good parameters
        }
        disposeTree(sub);
        disposeTree(optState);
        sub = out.params;
        optState = out.optState;
        seen += size;
        sums.loss = (sums.loss ?? 0) + loss * size;
        for (const [n, v] of Object.entries(metrics)) sums[n] = (sums[n] ?? 0) + v * size;
        progress.tick({ loss, ...metrics });
      }
      progress.endEpoch();
      const { loss = NaN, ...metrics } = Object.fromEntries(Object.entries(sums).map(([n, v]) => [n, v / Math.max(1, seen)]));
      log.push({ stage: stage.name, epoch: epoch + 1, loss, metrics });
      progress.log(`pretrain ${stage.name} epoch ${epoch + 1}/${stage.epochs}  loss ${loss.toFixed(4)}`);
    }
    disposeTree(optState);
    (input as unknown as { dispose?: () => void }).dispose?.();
    params = mergeParams(params, sub);
  });
  key.dispose();
  return { params, log };
}
