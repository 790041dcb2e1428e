// Runs `latentkit ...` in a child process from the sources, as a user would run it, or in this
// process (faster; the engine is already started) with its output captured.
import { spawnSync, spawn, type ChildProcess } from "node:child_process";
import { AsyncLocalStorage } from "node:async_hooks";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";

const entry = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));
const root = fileURLToPath(new URL("../..", import.meta.url));

export type CliResult = { code: number; stdout: string; stderr: string };

export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: root, env: { ...process.env, ...env }, encoding: "utf8", timeout: 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", entry, ...args], { cwd: root, env: { ...process.env, ...env } });
}

// What a CLI run writes is captured by the async context it runs in, so that anything else writing
// meanwhile (the test runner reporting the previous test's result) still reaches the terminal: a
// global swap of process.stdout.write swallowed those lines, and a file's results went unreported.
const capture = new AsyncLocalStorage<{ out: string[]; err: string[] }>();
let installed = false;
function installCapture(): void {
  if (installed) return;
  installed = true;
  for (const [stream, key] of [[process.stdout, "out"], [process.stderr, "err"]] as const) {
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const sink = capture.getStore();
      if (!sink) return write(chunk, ...rest);
      sink[key].push(String(chunk));
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
}

/** Runs the CLI in this process; returns the exit code and what it wrote. */
export async function runCliHere(...args: string[]): Promise<CliResult> {
  installCapture();
  const sink = { out: [] as string[], err: [] as string[] };
  const code = await capture.run(sink, () => main(args));
  return { code, stdout: sink.out.join(""), stderr: sink.err.join("") };
}
