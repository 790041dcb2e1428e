// The command line: one parser, one help text, one way to fail (a line on stderr, exit code 1 for bad
// input, 2 for bad usage; the stack trace only with --debug).
import { Command, CommanderError } from "commander";
import { isLatentkitError, fileError } from "../io/errors.js";
import { PACKAGE_VERSION } from "../train/run.js";
import { registerTrain } from "./train.js";
import { ExitCode } from "./common.js";
import { registerEval } from "./eval.js";
import { registerInfo } from "./info.js";
import { registerBench } from "./bench.js";
import { registerEncode } from "./encode.js";
import { registerScore } from "./score.js";
import { registerPictures } from "./pictures.js";
import { registerReport } from "./report.js";
import { registerServe } from "./serve.js";
import { registerExport } from "./export.js";
import { registerImport } from "./import.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("latentkit")
    .description("the autoencoder family in TypeScript: train, evaluate, look, use")
    .version(PACKAGE_VERSION)
    .option("--debug", "print stack traces of errors")
    .enablePositionalOptions(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} });
  registerTrain(program);
  registerEval(program);
  registerInfo(program);
  registerBench(program);
  registerEncode(program);
  registerScore(program);
  registerPictures(program);
  registerReport(program);
  registerServe(program);
  registerExport(program);
  registerImport(program);
  for (const c of program.commands) {
    c.option("--debug", "print stack traces of errors").exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
    c.showSuggestionAfterError(true);
  }
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof ExitCode) return e.code;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      process.stderr.write(`latentkit: ${e.message.replace(/^error: /, "")}\n`);
      return 2;
    }
    if (isLatentkitError(e)) {
      process.stderr.write(`latentkit: ${e.message}\n`);
      if (debug) process.stderr.write(`${e.stack}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err?.code && /^E[A-Z]+$/.test(err.code) && err.path) {
      process.stderr.write(`latentkit: ${fileError(err.path, err).message}\n`);
      return 1;
    }
    if (/memory32 limit|Out of memory|Array buffer allocation failed|Invalid typed array length/i.test(err?.message ?? "")) {
      process.stderr.write(`latentkit: out of memory: the engine holds at most 4 GiB (${err.message}); use a smaller model, batch or --n\n`);
      return 1;
    }
    process.stderr.write(`latentkit: internal error: ${err?.message ?? String(e)}${debug ? "" : " (run with --debug for the stack trace)"}\n`);
    if (debug) process.stderr.write(`${err?.stack}\n`);
    return 70;
  }
}

/** A reader that stops early (`latentkit models | head -1`) closes the pipe: the process ends quietly. */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  }
}
