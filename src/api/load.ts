// Loading a trained model without a file system: from a URL (config.json and model.safetensors,
// and prior.safetensors when the run has one, over fetch) or from its parts in memory.
import { LatentkitError } from "../io/errors.js";
import { CONFIG_FILE, MODEL_FILE, PRIOR_FILE } from "../train/run-files.js";
import { TrainedModel, type ModelParts } from "./model.js";

async function fetchBytes(url: URL, optional = false): Promise<Uint8Array | undefined> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new LatentkitError(`${url}: cannot fetch (${(e as Error).message})`);
  }
  if (r.status === 404 && optional) return undefined;
  if (!r.ok) throw new LatentkitError(`${url}: HTTP ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** A run served over HTTP: `base` is the folder's URL (a trailing slash is added). */
export async function loadModelFromUrl(base: URL): Promise<TrainedModel> {
  const folder = new URL(base.href.endsWith("/") ? base.href : base.href + "/");
  const configBytes = (await fetchBytes(new URL(CONFIG_FILE, folder)))!;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw new LatentkitError(`${new URL(CONFIG_FILE, folder)}: not valid JSON (${(e as Error).message})`);
  }
  const weights = (await fetchBytes(new URL(MODEL_FILE, folder)))!;
  const family = typeof config.model === "string" ? config.model : "";
  const prior = family === "vq-vae" ? await fetchBytes(new URL(PRIOR_FILE, folder), true) : undefined;
  return TrainedModel.fromParts({ config, weights, prior });
}

/** What loadModel takes everywhere: a URL, or the parts in memory. */
export async function loadModelPortable(source: URL | ModelParts): Promise<TrainedModel> {
  if (source instanceof URL) return loadModelFromUrl(source);
  if (source && typeof source === "object" && "config" in source && "weights" in source) return TrainedModel.fromParts(source);
  throw new LatentkitError("loadModel: expected a run folder path (Node), a URL, or { config, weights }");
}
