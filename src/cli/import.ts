// latentkit import FILE.pt|FILE.safetensors --config CONFIG.json --out RUN: a PyTorch state dict or a
// safetensors file becomes a run folder (the library's importRun checks every name and shape).
import type { Command } from "commander";
import { importRun } from "../api/node.js";
import { say } from "./common.js";

export function registerImport(program: Command): void {
  program
    .command("import <file>")
    .description("a PyTorch state dict (torch.save, zip format) or a .safetensors file, with a run's config.json, as a run folder")
    .requiredOption("--config <config.json>", "the configuration of the model the tensors belong to (a run's config.json)")
    .requiredOption("--out <dir>", "the run folder to write (new or empty)")
    .action((file: string, flags: { config: string; out: string }) => {
      const r = importRun(file, flags.config, flags.out);
      say(`${flags.out}: ${r.tensors} tensors, ${r.params} parameters from ${file}`);
    });
}
