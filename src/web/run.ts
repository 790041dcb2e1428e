// The run in the page: its files fetched from `latentkit serve`, its model rebuilt from config.json
// with the project's own model code (src/models, the same as in Node) and its parameters from
// model.safetensors, so encoding and decoding run here, in the browser, on the engine.
import { EVAL_FILE, METRICS_FILE, MODEL_FILE, CONFIG_FILE } from "../train/run-files.js";
import type { DataInfo } from "../models/types.js";
import { decodeSafetensors, toFloat32 } from "../io/safetensors-bytes.js";
import { TrainedModel } from "../api/model.js";

export type Manifest = { files: string[]; images: string[] };
export type RunConfig = Record<string, unknown> & { model: string; dataset?: string; data: DataInfo };

/** What the server hands over: the manifest of files, the configuration, metrics and weights. */
export type RunFiles = {
  manifest: Manifest;
  config: RunConfig;
  evaluation?: Record<string, unknown>;
  metrics: Record<string, unknown>[];
  weights: Uint8Array;
};

async function get(path: string): Promise<Response> {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${r.statusText}`);
  return r;
}

export async function fetchRun(): Promise<RunFiles> {
  const manifest = (await (await get("run/manifest.json")).json()) as Manifest;
  const has = (f: string) => manifest.files.includes(f);
  const config = (await (await get(`run/${CONFIG_FILE}`)).json()) as RunConfig;
  const evaluation = has(EVAL_FILE) ? await (await get(`run/${EVAL_FILE}`)).json() : undefined;
  const metrics = has(METRICS_FILE)
    ? (await (await get(`run/${METRICS_FILE}`)).text()).split("\n").filter((l) => l.trim()).flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return []; // a line cut short by a run still writing
      }
    })
    : [];
  const weights = new Uint8Array(await (await get(`run/${MODEL_FILE}`)).arrayBuffer());
  return { manifest, config, evaluation, metrics, weights };
}

/**
 * The explorer's view of the run's model: the library's TrainedModel (the same code as in Node), with
 * the explorer's conventions (flat arrays of n images or codes, one label for all) and the learned
 * class means of a class-mean prior p(z|c) = N(μ_c, I), where the model has one.
 */
export class PageModel {
  readonly shape: [number, number, number];
  readonly pixels: number;
  readonly d: number;
  readonly numClasses: number;
  /** What the explorer asks of the model: its family and kind. */
  readonly model: { family: string; probabilistic: boolean; conditional: boolean };

  private constructor(private readonly trained: TrainedModel, readonly priorMean?: Float32Array) {
    this.shape = trained.imageShape;
    this.pixels = this.shape[0] * this.shape[1] * this.shape[2];
    this.d = trained.codeDim;
    this.numClasses = trained.numClasses ?? 0;
    this.model = { family: trained.family, probabilistic: trained.probabilistic, conditional: trained.conditional };
  }

  /** Builds the run's model and loads its weights (checked against the model's own parameter shapes). */
  static async build(config: RunConfig, weights: Uint8Array): Promise<PageModel> {
    const trained = await TrainedModel.fromParts({ config, weights });
    const prior = decodeSafetensors(weights, MODEL_FILE).tensors.priorMean;
    return new PageModel(trained, prior ? toFloat32(prior) : undefined);
  }

  /** Mean images of p(x|z[,c]) for n codes z (flat [n, d]); `label` conditions a conditional model. */
  async decode(z: Float32Array, n: number, label = 0): Promise<Float32Array> {
    return (await this.trained.decode(z.subarray(0, n * this.d), this.labels(n, label))).data;
  }

  /** The code of one image x (flat [C, H, W]): the posterior mean for a VAE, f(x) for an AE. */
  async encode(x: Float32Array, label = 0): Promise<Float32Array> {
    return (await this.trained.encode(x, this.labels(1, label))).data;
  }

  /** The reconstruction of one image (models whose codes are not points one can move: VQ-VAE). */
  async reconstruct(x: Float32Array, label = 0): Promise<Float32Array> {
    return (await this.trained.reconstruct(x, this.labels(1, label))).data;
  }

  private labels(n: number, label: number): { labels?: Int32Array } {
    return this.model.conditional ? { labels: new Int32Array(n).fill(label) } : {};
  }
}
