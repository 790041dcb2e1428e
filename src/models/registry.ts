// Every model family by name (latentkit models), and the flat schema of every family's options
// (the keys `--set` and a configuration file may name; a run validates its own family's).
import { z } from "zod";
import { LatentkitError } from "../io/errors.js";
import type { ModelFamily } from "./types.js";
import { vaeFamily, betaVaeFamily, iwaeFamily } from "./vae.js";
import { betaTcvaeFamily } from "./beta-tcvae.js";
import { factorVaeFamily } from "./factor-vae.js";
import { dipVaeFamily } from "./dip-vae.js";
import { aeFamily, daeFamily } from "./ae.js";
import { sparseAeFamily } from "./sparse-ae.js";
import { contractiveAeFamily } from "./contractive-ae.js";
import { stackedAeFamily } from "./stacked-ae.js";
import { convAeFamily } from "./conv-ae.js";
import { cvaeFamily } from "./cvae.js";
import { convVaeFamily } from "./conv-vae.js";
import { vqVaeFamily } from "./vq-vae.js";
import { dvaeFamily } from "./dvae.js";

const FAMILIES = [
  vaeFamily, betaVaeFamily, iwaeFamily, betaTcvaeFamily, factorVaeFamily, dipVaeFamily, cvaeFamily, convVaeFamily,
  aeFamily, daeFamily, sparseAeFamily, contractiveAeFamily, stackedAeFamily, convAeFamily, vqVaeFamily, dvaeFamily,
] as const;

export const modelFamilies: readonly ModelFamily[] = FAMILIES as readonly ModelFamily<any>[];

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type AllShapes = UnionToIntersection<(typeof FAMILIES)[number]["options"]["shape"]>;

/**
 * Every family's options in one schema. A key two families share is the same zod field (a shared
 * group of options.ts, or a family's schema extended by another: test/family-options.test.ts).
 */
export const modelOptionsSchema = z.object(Object.assign({}, ...FAMILIES.map((f) => f.options.shape)) as AllShapes);
export type ModelOptions = z.infer<typeof modelOptionsSchema>;
export type OptionKey = keyof ModelOptions;

/** The option keys of a family (its schema's). */
export function familyOptionKeys(family: ModelFamily): string[] {
  return Object.keys(family.options.shape);
}

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
