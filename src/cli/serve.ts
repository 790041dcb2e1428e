// latentkit serve RUN: the latent space explorer, a local web page whose decoder runs in the browser.
import type { Command } from "commander";
import { startServer, isLoopback } from "../server/server.js";
import { InvalidArgumentError } from "commander";
import { intOption, say, note } from "./common.js";

const portOption = (value: string): number => {
  const n = intOption("--port", 0)(value);
  if (n > 65535) throw new InvalidArgumentError("--port must be an integer from 0 to 65535");
  return n;
};

type ServeFlags = { host: string; port: number; allowRemote?: boolean };

/** Serves until SIGINT or SIGTERM, then closes every connection and returns. */
export async function serveCommand(runDir: string, flags: ServeFlags): Promise<void> {
  const server = await startServer({ runDir, host: flags.host, port: flags.port, allowRemote: flags.allowRemote });
  if (!isLoopback(flags.host)) {
    note(`warning: serving ${runDir} on ${flags.host}, reachable from other machines, without authentication`);
  }
  say(`listening on ${server.url}`);
  let onSignal = () => {};
  const signalled = new Promise<void>((resolve) => {
    onSignal = () => resolve();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  await signalled;
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  await server.close();
  note("stopped");
}

export function registerServe(program: Command): void {
  program
    .command("serve <run>")
    .description("serve the latent space explorer for a run on a local web page (the decoder runs in the browser)")
    .option("--host <address>", "address to listen on (loopback unless --allow-remote)", "127.0.0.1")
    .option("--port <n>", "port to listen on (0: any free port)", portOption, 8765)
    .option("--allow-remote", "allow a --host reachable from other machines (no authentication!)")
    .action((runDir: string, flags: ServeFlags) => serveCommand(runDir, flags));
}
