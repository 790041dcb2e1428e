// `latentkit export --format torch-project`: a self-contained PyTorch project that trains the run's
// model (or a configuration's) under torchrun with DistributedDataParallel, and writes a latentkit
// run folder back. The Python sources live in python/torch_project/ (shipped with the package):
// model.py (the nn.Modules, latentkit's parameter names), losses.py (the objectives), data.py (the
// named data sets and .npy/IDX paths), train.py (optimizer, schedules, DDP, checkpoints, the run
// folder); this module copies them with the configuration and writes the README.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LatentkitError } from "../io/errors.js";
import type { RunConfig } from "../train/config.js";
import type { DataInfo } from "../models/types.js";

/** The families the project's model.py and losses.py implement. */
export const TORCH_PROJECT_FAMILIES = [
  "vae", "beta-vae", "iwae", "cvae", "conv-vae", "ae", "dae", "sparse-ae", "contractive-ae", "stacked-ae", "conv-ae", "dvae", "vq-vae",
] as const;

/** Why a family is not exported (the README's table says the same). */
export const NOT_EXPORTED: Record<string, string> = {
  "beta-tcvae": "its total-correlation term is not written in losses.py yet",
  "factor-vae": "its discriminator and second optimizer are not written yet",
};

const SOURCES = fileURLToPath(new URL("../../python/torch_project/", import.meta.url));

/** Checks that a configuration can be exported as a project; one line naming why not. */
export function checkTorchProject(config: RunConfig): void {
  if (!(TORCH_PROJECT_FAMILIES as readonly string[]).includes(config.model)) {
    const why = NOT_EXPORTED[config.model] ?? "its objective is not written in the project's model.py and losses.py";
    throw new LatentkitError(`--format torch-project: ${config.model} is not exported (${why}); exported: ${TORCH_PROJECT_FAMILIES.join(", ")}`);
  }
  if (config.likelihood === "gaussian" && config.gaussianVariance === "learned") {
    throw new LatentkitError("--format torch-project: a learned Gaussian variance (gaussianVariance=learned) is not exported; use a fixed variance");
  }
  if (config.excludeClasses.length > 0 || config.trainOnValid || config.polyakDecay > 0) {
    throw new LatentkitError("--format torch-project: excludeClasses, trainOnValid and polyakDecay are not in train.py yet");
  }
}

/** Writes the project into `dir` (created; an existing non-empty folder is refused). */
export function writeTorchProject(dir: string, config: RunConfig & { version?: string; data?: DataInfo }, weights?: string): string[] {
  checkTorchProject(config);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new LatentkitError(`${dir}: exists and is not empty; choose another --out`);
  if (!existsSync(SOURCES)) throw new LatentkitError(`the PyTorch project's sources are missing (${SOURCES}): reinstall latentkit`);
  mkdirSync(dir, { recursive: true });
  const files = ["model.py", "losses.py", "data.py", "prior.py", "train.py"];
  for (const f of files) copyFileSync(join(SOURCES, f), join(dir, f));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  writeFileSync(join(dir, "README.md"), readme(config));
  if (weights) copyFileSync(weights, join(dir, "weights.safetensors"));
  return [...files, "config.json", "README.md", ...(weights ? ["weights.safetensors"] : [])];
}

function readme(config: RunConfig): string {
  return `# ${config.model}${config.preset ? ` (${config.preset})` : ""}: a latentkit model as a PyTorch project

Written by \`latentkit export --format torch-project\`. Needs PyTorch (>= 1.13) and numpy; nothing else.

| file | what |
|---|---|
| \`config.json\` | the latentkit configuration: model, sizes, optimizer, schedules, batch size, epochs |
| \`model.py\` | the \`nn.Module\` (parameter names are latentkit's: \`encoder.0.weight\`, ...) |
| \`losses.py\` | the objective, written as latentkit writes it (nats per example) |
| \`data.py\` | the named data sets (mnist, fashion-mnist, binarized-mnist) from a data folder, or a .npy / IDX file |
| \`prior.py\` | the VQ-VAE's prior over codes (MADE or per position), fitted at the end of train.py |
| \`train.py\` | the training loop: one process, or DistributedDataParallel under torchrun |
| \`weights.safetensors\` | (exported from a run) its trained weights, where train.py starts; \`--init FILE\` starts elsewhere |

## Train

\`\`\`sh
# one machine, one process
python train.py --data-dir DATA --out RUN
# one machine, N processes (CPU: gloo; GPUs: nccl, one process per GPU)
torchrun --standalone --nproc_per_node=N train.py --data-dir DATA --out RUN [--epochs E] [--limit N] [--resume] [--amp]
# several machines: the same command on each, with the rendezvous of the first
torchrun --nnodes=2 --nproc_per_node=N --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 --rdzv_id=RUNID train.py --data-dir DATA --out RUN
\`\`\`

DATA is the folder that holds \`mnist/\`, \`fashion-mnist/\`, \`binarized-mnist/\` (as latentkit's
\`LATENTKIT_DATA\`). The global batch is \`batchSize\` (${config.batchSize}), split evenly over the
processes. PyTorch 1.13's torchrun on Python 3.11 and later cannot parse its own default \`--redirects 0\`
and \`--tee 0\` (it fails in \`to_map\` with \`'NoneType' object has no attribute 'get'\`): there, add
\`--redirects 1 --tee 1\` before train.py. \`--resume\` continues from \`RUN/torch-checkpoint.pt\`. Under SLURM, run the torchrun
line in each node's task (\`srun\`), with \`--rdzv_endpoint\` the first node; Ray Train's
\`TorchTrainer\` can call \`main()\` of train.py in each worker (it sets the same environment variables).

## The way back

RUN is a latentkit run folder: \`config.json\`, \`model.safetensors\` (and \`best.safetensors\`) with
latentkit's parameter names, \`metrics.jsonl\` with latentkit's keys, \`state.json\`. So

\`\`\`sh
latentkit eval RUN --is-samples 100
latentkit report RUN
latentkit serve RUN
\`\`\`

and \`loadModel("RUN")\` in the library work on it unchanged. A single weights file (\`torch.save(model.state_dict())\`
or safetensors) becomes a run folder with \`latentkit import FILE --config config.json --out RUN\`.
`;
}
