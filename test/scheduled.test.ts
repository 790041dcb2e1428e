// Scheduled scalars (src/models/scheduled.ts): the values a model's loss reads that change with the
// training step, each a pure function of the options and the step, carried into every step by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SCHEDULED, scalarsAt } from "../src/models/scheduled.js";
import { getModelFamily, modelOptionsSchema } from "../src/models/registry.js";
import { resolveConfigSources } from "../src/train/config.js";
import { dataInfo, train } from "../src/train/trainer.js";
import { loadDataset } from "../src/data/registry.js";
import type { Array as Tensor } from "../src/engine/index.js";
import type { Model } from "../src/models/types.js";

const options = (o: Record<string, unknown> = {}) => modelOptionsSchema.parse(o);

test("scalarsAt gives one value per entry of the table, by name", () => {
  assert.deepEqual(Object.keys(scalarsAt(options(), 0, 10)).sort(), Object.keys(SCHEDULED).sort());
});

test("KL warm-up: β_t = β·min(1, t/T), T in steps or epochs; validation uses the target β", () => {
  const o = options({ beta: 2, klWarmupSteps: 100 });
  assert.equal(scalarsAt(o, 0, 10).klWeight, 0);
  assert.equal(scalarsAt(o, 25, 10).klWeight, 0.5);
  assert.equal(scalarsAt(o, 500, 10).klWeight, 2);
  assert.equal(scalarsAt(o, 25, 10, "validation").klWeight, 2);
  const byEpochs = options({ beta: 1, klWarmupEpochs: 2 }); // T = 2 epochs of 50 steps
  assert.equal(scalarsAt(byEpochs, 50, 50).klWeight, 0.5);
  assert.equal(scalarsAt(options({ beta: 3 }), 0, 10).klWeight, 3, "no warm-up: β from the first step");
});

test("Gumbel-softmax annealing: τ_t = max(τ_min, τ_0·exp(−r t)), the same in validation", () => {
  const o = options({ temperature: 1, minTemperature: 0.5, temperatureDecay: 1e-3 });
  assert.equal(scalarsAt(o, 0, 10).temperature, 1);
  assert.ok(Math.abs(scalarsAt(o, 100, 10).temperature - Math.exp(-0.1)) < 1e-12);
  assert.equal(scalarsAt(o, 1e6, 10).temperature, 0.5);
  assert.equal(scalarsAt(o, 100, 10, "validation").temperature, scalarsAt(o, 100, 10).temperature);
});

test("a new entry of the table reaches a model's loss by name at every step, and validation's value at validation: nothing else changes", async () => {
  const table = SCHEDULED as Record<string, { at: (o: unknown, step: number) => number; validation?: (o: unknown, step: number) => number }>;
  table.probe = { at: (_o, step) => 0.5 * step, validation: () => -1 };
  try {
    const config = resolveConfigSources({}, { model: "vae", hidden: [16], latent: 2, epochs: 2, batchSize: 512, workers: 1, evalIsSamples: 0 }, {});
    const data = await loadDataset("sprites");
    const vae = getModelFamily("vae").create(config, dataInfo(data));
    // a model that reads the new scalar (borrowed, as every model reads its context) and reports it
    // (through the loss: jax-js refuses an aux output of valueAndGrad that depends on no parameter)
    const model: Model = {
      ...vae,
      loss(params, batch, key, ctx) {
        const out = vae.loss(params, batch, key, ctx);
        return { ...out, metrics: { ...out.metrics, probe: out.loss.ref.mul(0).add((ctx as unknown as Record<string, Tensor>).probe.ref) } };
      },
    };
    const seen: number[] = [];
    const result = await train({ config, model, data, onStep: (e) => { seen.push(e.metrics.probe); } });
    const steps = result.state.step;
    assert.equal(steps, 2 * Math.floor(data.splits.train!.n / 512));
    assert.deepEqual(seen, Array.from({ length: steps }, (_, t) => 0.5 * t), "the value at each step, in the jitted step");
    assert.deepEqual(result.metrics.map((line) => line.valid_probe), [-1, -1], "validation's value in validation");
    for (const leaf of Object.values(result.params)) (leaf as { dispose?: () => void }).dispose?.();
  } finally {
    delete table.probe;
  }
});
