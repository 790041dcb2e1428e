// latentkit export RUN --format torch --out FILE.pt [--part encoder|decoder]: the run's parameters
// as a PyTorch state dict. The parameter names are already PyTorch's (nn.Sequential indices such as
// `encoder.0.weight`) and so are the layouts (Linear [out, in], Conv2d [out, in, kH, kW],
// ConvTranspose2d [in, out, kH, kW]), so the file loads into the equivalent torch module with
// `module.load_state_dict(torch.load(FILE))`; with --part, into that sub-module.
// --format onnx: the model's own computation traced into an ONNX graph (src/export/onnx.ts) with a
// symbolic batch: x -> reconstruction, or with --part encoder x -> code, --part decoder z -> images.
import type { Command } from "commander";
import { LatentkitError } from "../io/errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { encodeTorchStateDict, type TorchTensor } from "../io/torch-pt.js";
import { openRun, resolveConfig, PACKAGE_VERSION, type OpenRun } from "../train/run.js";
import { writeTorchProject } from "../export/torch-project.js";
import { assertRunFolder, readJsonFile } from "../train/checkpoint.js";
import { CONFIG_FILE, MODEL_FILE, BEST_MODEL_FILE } from "../train/run-files.js";
import { NAMED_DATASETS } from "../data/registry.js";
import { parseRunConfig } from "../api/model.js";
import { SPRITE_SHAPES, SPRITE_SIZE } from "../data/sprites.js";
import type { ImageShape } from "../data/dataset.js";
import type { RunConfig } from "../train/config.js";
import type { DataInfo } from "../models/types.js";
import { join } from "node:path";
import { disposeTree, type Array } from "../engine/index.js";
import { exportOnnx, ONNX_OPSET, UnsupportedExport, type ExportInput } from "../export/onnx.js";
import type { Params } from "../models/types.js";
import { toRecords, type ParamTree } from "../nn/tree.js";
import { outFormat } from "./encode.js";
import { say } from "./common.js";

export const EXPORT_FORMATS = ["torch", "onnx", "torch-project"] as const;

/** The tensors of `params` by dotted name; with `part`, those under `part.` with the prefix cut. */
export function exportedTensors(params: ParamTree, part?: string): Record<string, TorchTensor> {
  const all = toRecords(params);
  if (part === undefined) return all;
  const prefix = `${part}.`;
  const picked = Object.entries(all).filter(([name]) => name.startsWith(prefix));
  if (picked.length === 0) {
    const parts = [...new Set(Object.keys(all).map((n) => n.split(".")[0]))];
    throw new LatentkitError(`--part ${part}: the model has no such part (its parts: ${parts.join(", ")})`);
  }
  return Object.fromEntries(picked.map(([name, t]) => [name.slice(prefix.length), t]));
}

type OnnxPart = "encoder" | "decoder";

/** The ONNX graph of the run's encode (x -> code), decode (z -> images) or reconstruct (x -> images). */
function exportRunOnnx(run: OpenRun, out: string, part?: OnnxPart): void {
  const { model } = run;
  const image: ExportInput = { name: "x", shape: [...run.config.data.imageShape], dtype: "float32" };
  const labels: ExportInput[] = model.conditional ? [{ name: "labels", shape: [], dtype: "int32" }] : [];
  const spec =
    part === "encoder" ? { inputs: [image, ...labels], output: "code", fn: (p: Params, x: Array, y?: Array) => model.encode(p, { x, labels: y }) } :
    part === "decoder" ? { inputs: [{ name: "z", shape: [model.codeDim], dtype: "float32" as const }, ...labels], output: "images", fn: (p: Params, z: Array, y?: Array) => model.decode(p, z, y) } :
    { inputs: [image, ...labels], output: "reconstruction", fn: (p: Params, x: Array, y?: Array) => model.reconstruct(p, { x, labels: y }) };
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx({ ...spec, params: run.params as ParamTree, producerVersion: PACKAGE_VERSION, docString: `latentkit ${model.family} (${run.dir})` });
  } catch (e) {
    if (e instanceof UnsupportedExport) throw new LatentkitError(`--format onnx: ${model.family}${part ? `'s ${part}` : ""} uses ${e.message}, which the ONNX exporter does not translate`);
    throw e;
  }
  writeFileAtomic(out, bytes);
  const io = `${spec.inputs.map((i) => `${i.name} [batch${i.shape.map((d) => `, ${d}`).join("")}]`).join(", ")} -> ${spec.output}`;
  say(`${out}: ONNX (opset ${ONNX_OPSET}) graph of ${model.family}${part ? `'s ${part}` : ""}: ${io}`);
}

type ExportFlags = { format: string; out: string; part?: string; best?: boolean; preset?: string; model?: string; config?: string; set?: string[] };

/** --format torch-project: from a run's configuration, or from --preset/--model/--config/--set alone. */
function exportTorchProject(runDir: string | undefined, flags: ExportFlags): void {
  let config: RunConfig & { version?: string; data?: DataInfo };
  if (runDir !== undefined) {
    if (flags.preset || flags.model || flags.config || flags.set?.length) throw new LatentkitError("export RUN takes the run's configuration: --preset, --model, --config and --set are for an export without a run");
    assertRunFolder(runDir);
    // the full configuration, defaults filled in (a run's config.json holds its family's keys only)
    config = parseRunConfig(readJsonFile(join(runDir, CONFIG_FILE)), join(runDir, CONFIG_FILE));
  } else {
    config = resolveConfig({ flags: { preset: flags.preset, model: flags.model }, configFile: flags.config, sets: flags.set ?? [] });
    const named = config.dataset === "sprites" ? { imageShape: [1, SPRITE_SIZE, SPRITE_SIZE] as ImageShape, numClasses: SPRITE_SHAPES.length } : NAMED_DATASETS[config.dataset];
    config = { ...config, version: PACKAGE_VERSION, data: { imageShape: named?.imageShape ?? [1, 28, 28], numClasses: named?.numClasses ?? null } };
  }
  const files = writeTorchProject(flags.out, config, runDir !== undefined ? join(runDir, flags.best ? BEST_MODEL_FILE : MODEL_FILE) : undefined);
  say(`${flags.out}: a PyTorch project for ${config.model} (${files.join(", ")}); train it with torchrun --standalone --nproc_per_node=N ${join(flags.out, "train.py")} --data-dir DATA --out RUN`);
}

export async function exportCommand(runDir: string | undefined, flags: ExportFlags): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) {
    throw new LatentkitError(`--format ${flags.format}: must be ${EXPORT_FORMATS.join(", ")}`);
  }
  if (flags.format === "torch-project") return exportTorchProject(runDir, flags);
  if (runDir === undefined) throw new LatentkitError(`export --format ${flags.format} needs a RUN folder (only torch-project exports a configuration alone)`);
  outFormat(flags.out, flags.format === "onnx" ? [".onnx"] : [".pt", ".pth"]);
  if (flags.format === "onnx" && flags.part !== undefined && !["encoder", "decoder"].includes(flags.part)) {
    throw new LatentkitError(`--part ${flags.part}: an ONNX export is the whole autoencoder, its encoder or its decoder`);
  }
  const run = await openRun(runDir, flags.best ? "best" : "last");
  try {
    if (flags.format === "onnx") return exportRunOnnx(run, flags.out, flags.part as OnnxPart | undefined);
    const tensors = exportedTensors(run.params as ParamTree, flags.part);
    writeFileAtomic(flags.out, encodeTorchStateDict(tensors));
    const count = Object.values(tensors).reduce((s, t) => s + t.data.length, 0);
    const what = flags.part ? `the ${flags.part} of ${run.model.family}` : run.model.family;
    say(`${flags.out}: ${Object.keys(tensors).length} tensors, ${count} parameters of ${what} (load with module.load_state_dict(torch.load("${flags.out}")))`);
  } finally {
    disposeTree(run.params);
  }
}

export function registerExport(program: Command): void {
  program
    .command("export [run]")
    .description("the model for another framework: --format torch, its parameters as a PyTorch state dict (.pt); --format onnx, its computation as an ONNX graph (.onnx); --format torch-project, a PyTorch project that trains it under torchrun (DDP) and writes a run folder back")
    .requiredOption("--format <format>", `${EXPORT_FORMATS.join(", ")}`)
    .requiredOption("--out <path>", "FILE.pt (torch), FILE.onnx, or a new folder (torch-project)")
    .option("--preset <name>", "torch-project without a run: the configuration of this preset")
    .option("--model <name>", "torch-project without a run: the model family")
    .option("--config <file.json>", "torch-project without a run: a configuration file")
    .option("--set <key=value>", "torch-project without a run: any configuration key (repeatable)", (v: string, acc: string[] = []) => [...acc, v])
    .option("--part <name>", "only this part: torch, the parameters under it (encoder, decoder, ...), names relative to it; onnx, encoder (x -> code) or decoder (z -> images)")
    .option("--best", "use the best checkpoint instead of the last")
    .action(exportCommand);
}
