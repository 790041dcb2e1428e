// Every model family by name (latentkit models).
import { LatentkitError } from "../io/errors.js";
import type { ModelFamily } from "./types.js";
import { vaeFamily, betaVaeFamily, iwaeFamily } from "./vae.js";
import { betaTcvaeFamily } from "./beta-tcvae.js";
import { factorVaeFamily } from "./factor-vae.js";
import { aeFamily, daeFamily } from "./ae.js";
import { sparseAeFamily } from "./sparse-ae.js";
import { contractiveAeFamily } from "./contractive-ae.js";
import { stackedAeFamily } from "./stacked-ae.js";
import { convAeFamily } from "./conv-ae.js";
import { cvaeFamily } from "./cvae.js";
import { convVaeFamily } from "./conv-vae.js";
import { vqVaeFamily } from "./vq-vae.js";
import { dvaeFamily } from "./dvae.js";

export const modelFamilies: ModelFamily[] = [vaeFamily, betaVaeFamily, iwaeFamily, betaTcvaeFamily, factorVaeFamily, cvaeFamily, convVaeFamily, aeFamily, daeFamily, sparseAeFamily, contractiveAeFamily, stackedAeFamily, convAeFamily, vqVaeFamily, dvaeFamily];

export function getModelFamily(name: string): ModelFamily {
  const f = modelFamilies.find((m) => m.name === name);
  if (!f) {
    throw new LatentkitError(`unknown model "${name}"; available: ${modelFamilies.map((m) => m.name).join(", ")}`);
  }
  return f;
}

/** The family that defines a preset (presets are unique across families). */
export function findPreset(preset: string, model?: string): { family: ModelFamily; values: Record<string, unknown> } {
  const candidates = model ? [getModelFamily(model)] : modelFamilies;
  for (const family of candidates) {
    if (Object.hasOwn(family.presets, preset)) return { family, values: family.presets[preset] };
  }
  const all = candidates.flatMap((f) => Object.keys(f.presets));
  throw new LatentkitError(`unknown preset "${preset}"${model ? ` for model ${model}` : ""}; available: ${all.join(", ")}`);
}
