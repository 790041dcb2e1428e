// latentkit serve RUN: the latent space explorer, a local web page whose decoder runs in the browser.
// latentkit serve (no RUN): the lab, a page where a model trains in the browser. latentkit lab --out
// DIR: the lab as static files, for any static host.
import type { Command } from "commander";
import { cpSync, existsSync, readdirSync } from "node:fs";
import { startServer, isLoopback, LAB_DIR } from "../server/server.js";
import { LatentkitError } from "../io/errors.js";
import { InvalidArgumentError } from "commander";
import { intOption, say, note } from "./common.js";

const portOption = (value: string): number => {
  const n = intOption("--port", 0)(value);
  if (n > 65535) throw new InvalidArgumentError("--port must be an integer from 0 to 65535");
  return n;
};

type ServeFlags = { host: string; port: number; allowRemote?: boolean };

/** Serves until SIGINT or SIGTERM, then closes every connection and returns. */
export async function serveCommand(runDir: string | undefined, flags: ServeFlags): Promise<void> {
  const server = await startServer({ runDir, host: flags.host, port: flags.port, allowRemote: flags.allowRemote });
  if (!isLoopback(flags.host)) {
    note(`warning: serving ${runDir ?? "the lab"} on ${flags.host}, reachable from other machines, without authentication`);
  }
  say(`listening on ${server.url}${runDir === undefined ? " (the lab: a model trains in the page)" : ""}`);
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
    .command("serve [run]")
    .description("serve the latent space explorer for a run on a local web page (the decoder runs in the browser); without a run, the lab (a model trains in the page)")
    .option("--host <address>", "address to listen on (loopback unless --allow-remote)", "127.0.0.1")
    .option("--port <n>", "port to listen on (0: any free port)", portOption, 8765)
    .option("--allow-remote", "allow a --host reachable from other machines (no authentication!)")
    .action((runDir: string | undefined, flags: ServeFlags) => serveCommand(runDir, flags));
  program
    .command("lab")
    .description("write the lab (a page where a model trains in the browser, offline) as static files for any static host")
    .requiredOption("--out <dir>", "a new or empty folder")
    .action((flags: { out: string }) => labCommand(flags.out));
}

/** Copies the built lab (index.html, lab.js, lab-worker.js, lab.css) into `out`. */
export function labCommand(out: string): void {
  if (!existsSync(LAB_DIR)) throw new LatentkitError(`${LAB_DIR}: the lab is not built; run \`npm run build\``);
  if (existsSync(out) && readdirSync(out).length > 0) throw new LatentkitError(`${out}: exists and is not empty; choose another --out`);
  cpSync(LAB_DIR, out, { recursive: true });
  say(`${out}: the lab (${readdirSync(out).join(", ")}); serve the folder with any static web server and open index.html`);
}
