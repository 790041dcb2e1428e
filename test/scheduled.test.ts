// Scheduled scalars (src/models/scheduled.ts): the values a model's loss reads that change with the
// training step, each a pure function of the options and the step, carried into every step by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SCHEDULED, scalarsAt } from "../src/models/scheduled.js";
import { modelOptionsSchema } from "../src/models/registry.js";

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
