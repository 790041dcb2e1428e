// A family declares the options it reads (ModelFamily.options: its own zod schema, made of the shared
// groups of src/models/options.ts and its own keys); a run's config.json keeps those and
// the training keys, no other family's, and reading fills the rest with the defaults, so config.json
// files written before (with every key) still load. The lists are checked against what each model
// reads: its options go through a Proxy that records every key asked for while the model is built,
// initialised, and runs its loss, encoder, decoder and sampler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { init, np, keyFromSeed, refTree, disposeTree, type Array } from "../src/engine/index.js";
import { familyOptionKeys, modelFamilies, modelOptionsSchema, type ModelOptions } from "../src/models/registry.js";
import { configKeys, ownOptions, resolveConfigSources, savedConfig } from "../src/train/config.js";
import { loadModel, train } from "../src/index.js";
import { tempDir } from "./helpers/tmp.js";

await init();
const info = { imageShape: [1, 28, 28] as [number, number, number], numClasses: 4 };

/** The option keys a model of `family` reads with these options (every method it has, run once). */
function keysRead(familyName: string, options: ModelOptions): Set<string> {
  const read = new Set<string>();
  const watched = new Proxy(options, { get(target, key) { if (typeof key === "string") read.add(key); return Reflect.get(target, key); } });
  const family = modelFamilies.find((f) => f.name === familyName)!;
  const model = family.create(watched, info);
  const params = model.init(keyFromSeed(1));
  const B = 4;
  const batch = () => ({ x: np.zeros([B, 1, 28, 28]), labels: np.array([0, 1, 2, 3], { dtype: np.int32 }) });
  const ctx = { klWeight: np.array(1), temperature: np.array(1) };
  const out = model.loss(refTree(params), batch(), keyFromSeed(2), { ...ctx, training: true });
  disposeTree([out, ctx]);
  const code = model.encode(refTree(params), batch());
  if (model.family !== "vq-vae") {
    model.decode(refTree(params), code, np.array([0, 1, 2, 3], { dtype: np.int32 })).dispose();
    if (model.sample) model.sample(refTree(params), keyFromSeed(3), B, model.conditional ? np.array([0, 1, 2, 3], { dtype: np.int32 }) : undefined).dispose();
  } else code.dispose();
  (model.reconstruct(refTree(params), batch()) as Array).dispose();
  disposeTree(params);
  return read;
}

for (const family of modelFamilies) {
  test(`${family.name}: the options its model reads are in its options list, for its defaults and every preset`, () => {
    const declared = new Set<string>(familyOptionKeys(family));
    for (const preset of [undefined, ...Object.keys(family.presets)]) {
      const config = resolveConfigSources({}, {}, { model: family.name, ...(preset ? family.presets[preset] : {}) });
      const read = keysRead(family.name, config);
      const missing = [...read].filter((k) => k in modelOptionsSchema.shape && !declared.has(k));
      assert.deepEqual(missing, [], `${family.name}${preset ? ` (${preset})` : ""} reads ${missing.join(", ")} without declaring them`);
    }
  });
}

test("every preset is a valid configuration of its family (the schema checks its keys and values)", () => {
  for (const family of modelFamilies) {
    for (const [name, values] of Object.entries(family.presets)) {
      for (const key of Object.keys(values)) assert.ok(configKeys.includes(key), `${family.name} preset ${name}: unknown key ${key}`);
      assert.doesNotThrow(() => resolveConfigSources({}, {}, { model: family.name, ...values }), `${family.name} preset ${name}`);
    }
  }
});

test("a run's config.json holds its family's options and the training keys only; an older one with every key still loads", async () => {
  const cvae = savedConfig(resolveConfigSources({}, {}, { model: "cvae" }));
  for (const other of ["codebookSize", "sparsityTarget", "noise", "contractiveWeight", "categoricals", "convChannels"]) assert.ok(!(other in cvae), `cvae keeps ${other}`);
  for (const own of ["latent", "hidden", "beta", "conditionalPrior", "epochs", "batchSize", "lr", "seed"]) assert.ok(own in cvae, `cvae drops ${own}`);
  const dir = tempDir("lk-family-options-");
  const run = join(dir, "run");
  const r = await train({ model: "dae", epochs: 1, workers: 1, out: run, set: { evalIsSamples: 0, report: false, noiseLevel: 0.2, latent: 6, hidden: [32] } });
  r.model.dispose();
  const saved = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
  assert.equal(saved.noiseLevel, 0.2);
  assert.ok(!("beta" in saved) && !("codebookSize" in saved) && !("iwSamples" in saved), "no other family's keys");
  // the same run with every key written out, as before: it loads, and to the same model
  writeFileSync(join(run, "config.json"), JSON.stringify({ ...resolveConfigSources({}, {}, { model: "dae", noiseLevel: 0.2, latent: 6, hidden: [32], epochs: 1 }), version: saved.version, data: saved.data }));
  using old = await loadModel(run);
  assert.equal(old.family, "dae");
  assert.equal(old.codeDim, 6);
});

test("a key two families share is one field (a shared group, or a family's schema extended by another)", () => {
  const fields = new Map<string, unknown>();
  for (const family of modelFamilies) {
    for (const [key, field] of Object.entries(family.options.shape)) {
      if (fields.has(key)) assert.equal(field, fields.get(key), `${family.name}: ${key} is defined twice`);
      else fields.set(key, field);
    }
  }
  assert.deepEqual([...fields.keys()].sort(), Object.keys(modelOptionsSchema.shape).sort(), "the flat schema is the families' keys");
});

test("each family's schema takes its presets' model options and fills its defaults", () => {
  for (const family of modelFamilies) {
    for (const [name, values] of Object.entries(family.presets)) {
      const own = Object.fromEntries(Object.entries(values).filter(([k]) => k in modelOptionsSchema.shape));
      const parsed = family.options.safeParse(own);
      assert.ok(parsed.success, `${family.name} preset ${name}: ${parsed.success ? "" : parsed.error.issues[0].message}`);
      assert.deepEqual(Object.keys(parsed.data!).sort(), familyOptionKeys(family).sort());
    }
  }
});

test("another family's option is refused in one line naming its owner; its default value passes (a config written out in full)", () => {
  assert.throws(() => resolveConfigSources({}, { model: "vae" }, { codebookSize: 64 }),
    /codebookSize is not an option of model vae \(it is one of vq-vae's\)/);
  assert.throws(() => resolveConfigSources({}, { model: "ae", beta: 4 }, {}), /beta is not an option of model ae/);
  assert.throws(() => resolveConfigSources({ model: "dvae", latent: 32 }, {}, {}), /latent is not an option of model dvae/);
  assert.equal(resolveConfigSources({ model: "vae", codebookSize: 128, noise: "mask" }, {}, {}).model, "vae");
  // reading a run folder: an older config.json keeps its family's options only
  const old = { model: "cvae", latent: 4, codebookSize: 64, conditionalPrior: "class-mean", version: "0.1.0" };
  assert.deepEqual(ownOptions(old), { model: "cvae", latent: 4, conditionalPrior: "class-mean", version: "0.1.0" });
});

test("`latentkit models --json` (listModels) gives each family's options with their defaults", async () => {
  const { listModels } = await import("../src/index.js");
  for (const listing of listModels()) {
    const family = modelFamilies.find((f) => f.name === listing.name)!;
    assert.deepEqual(Object.keys(listing.options), familyOptionKeys(family));
  }
  const vq = listModels().find((m) => m.name === "vq-vae")!;
  assert.equal(vq.options.codebookSize.default, 128);
  assert.ok(!("codebookSize" in listModels().find((m) => m.name === "vae")!.options));
});

test("a model's parts() (what a page downloads as config.json) hold its family's options only, and load back", async () => {
  const r = await train({ model: "vae", epochs: 1, workers: 1, latent: 3, hidden: [16], set: { evalIsSamples: 0 } });
  const parts = r.model.parts();
  r.model.dispose();
  assert.equal(parts.config.latent, 3);
  assert.ok(!("codebookSize" in parts.config) && !("noise" in parts.config), "no other family's keys");
  using back = await loadModel(parts);
  assert.equal(back.codeDim, 3);
});
