// The run in the page: its files fetched from `latentkit serve`, its model rebuilt from config.json
// with the project's own model code (src/models, the same as in Node) and its parameters from
// model.safetensors, so encoding and decoding run here, in the browser, on the engine.
import { getModelFamily } from "../models/registry.js";
import { modelOptionsSchema } from "../models/options.js";
import type { DataInfo, Model, Params } from "../models/types.js";
import { fromRecords, type ParamRecord } from "../nn/tree.js";
import { decodeSafetensors, toFloat32 } from "../io/safetensors-bytes.js";
import { fromData, np, keyFromSeed, disposeTree, type Array } from "../engine/index.js";

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
  const config = (await (await get("run/config.json")).json()) as RunConfig;
  const evaluation = has("eval.json") ? await (await get("run/eval.json")).json() : undefined;
  const metrics = has("metrics.jsonl")
    ? (await (await get("run/metrics.jsonl")).text()).split("\n").filter((l) => l.trim()).flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return []; // a line cut short by a run still writing
      }
    })
    : [];
  const weights = new Uint8Array(await (await get("run/model.safetensors")).arrayBuffer());
  return { manifest, config, evaluation, metrics, weights };
}

/** A model with its parameters, speaking typed arrays: images are flat [n, C, H, W] in [0, 1]. */
export class PageModel {
  readonly shape: [number, number, number];
  readonly pixels: number;
  readonly d: number;
  readonly numClasses: number;

  private constructor(
    readonly model: Model,
    private readonly params: Params,
    /** The learned prior means [K, d] of a class-mean prior p(z|c) = N(μ_c, I), if the model has one. */
    readonly priorMean?: Float32Array,
  ) {
    this.shape = model.info.imageShape;
    this.pixels = this.shape[0] * this.shape[1] * this.shape[2];
    this.d = model.codeDim;
    this.numClasses = model.info.numClasses ?? 0;
  }

  /** Builds the run's model and loads its weights (checked against the model's own parameter shapes). */
  static build(config: RunConfig, weights: Uint8Array): PageModel {
    const options = modelOptionsSchema.parse(config);
    const model = getModelFamily(config.model).create(options, config.data);
    const { tensors } = decodeSafetensors(weights, "model.safetensors");
    const records: Record<string, ParamRecord> = Object.fromEntries(
      Object.entries(tensors).map(([name, t]) => [name, { shape: t.shape, data: toFloat32(t) }]));
    const skeleton = model.init(keyFromSeed(0));
    try {
      const params = fromRecords(records, { like: skeleton as never }) as Params;
      return new PageModel(model, params, records.priorMean?.data);
    } finally {
      disposeTree(skeleton);
    }
  }

  /** Mean images of p(x|z[,c]) for n codes z (flat [n, d]); `label` conditions a conditional model. */
  async decode(z: Float32Array, n: number, label = 0): Promise<Float32Array> {
    const out = this.model.decode(this.params, fromData(z, [n, this.d]), this.labels(n, label));
    return (await out.data()) as Float32Array;
  }

  /** The code of one image x (flat [C, H, W]): the posterior mean for a VAE, f(x) for an AE. */
  async encode(x: Float32Array, label = 0): Promise<Float32Array> {
    const out = this.model.encode(this.params, { x: fromData(x, [1, ...this.shape]), labels: this.labels(1, label) });
    return (await out.data()) as Float32Array;
  }

  /** The reconstruction of one image (models whose codes are not points one can move: VQ-VAE). */
  async reconstruct(x: Float32Array, label = 0): Promise<Float32Array> {
    const out = this.model.reconstruct(this.params, { x: fromData(x, [1, ...this.shape]), labels: this.labels(1, label) });
    return (await out.data()) as Float32Array;
  }

  private labels(n: number, label: number): Array | undefined {
    return this.model.conditional ? np.array(new Int32Array(n).fill(label), { dtype: np.int32 }) : undefined;
  }
}
