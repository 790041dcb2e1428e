// The explorer's HTTP server: the page's own assets (dist/web/) and a run's read-only files, through
// one explicit route table. Nothing a request sends is ever joined to a path: a request names a
// route, and the only free part, a picture's file name under RUN/images/, must match a strict
// pattern (no slash, no backslash, no "%", no leading dot) and its real path (symlinks resolved)
// must lie inside the real RUN/images/. So `/../`, `%2e%2e%2f`, `%252e...`, `..\` and symlinks out
// all end in 404. Only GET and HEAD; other methods get 405. Requests whose Host header is not this
// server (DNS rebinding) get 403 while it listens on loopback only.
import { CONFIG_FILE, MODEL_FILE, METRICS_FILE, EVAL_FILE } from "../train/run-files.js";
import * as http from "node:http";
import * as fs from "node:fs";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { isIP } from "node:net";
import { pipeline } from "node:stream";
import { LatentkitError } from "../io/errors.js";
import { readJsonFile } from "../train/checkpoint.js";
import { encodeNpy } from "../io/npy-bytes.js";

/** Where the bundle built by scripts/build-web.mjs lies (the same from src/server/ and dist/server/). */
export const WEB_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/** The lab's page (`latentkit serve` with no run, `latentkit lab`): dist/web/lab/. */
export const LAB_DIR = fileURLToPath(new URL("../../dist/web/lab/", import.meta.url));

/** The run's files the page reads; nothing else of the run folder is served. */
export const RUN_FILES = [CONFIG_FILE, MODEL_FILE, METRICS_FILE, EVAL_FILE] as const;

/** A picture of the report: RUN/images/NAME. */
const PICTURE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.(png|svg)$/;
/** An asset of the page: dist/web/NAME. */
const ASSET = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.(html|js|css|map)$/;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  json: "application/json; charset=utf-8",
  jsonl: "application/x-ndjson; charset=utf-8",
  safetensors: "application/octet-stream",
  png: "image/png",
  npy: "application/octet-stream",
  // The report's plots; shown by <img>, and the policy below keeps a hostile SVG inert if opened.
  svg: "image/svg+xml",
};

// The page runs only its own script; jax-js compiles WebAssembly and starts workers from blobs.
const PAGE_POLICY = [
  "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self' blob:",
  "connect-src 'self'", "img-src 'self' blob: data:", "style-src 'self'", "base-uri 'none'",
  "form-action 'none'", "frame-ancestors 'none'",
].join("; ");
const FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

export type ServerOptions = {
  /** The run the explorer shows; absent: the lab (a model trains in the page). */
  runDir?: string;
  host?: string;
  port?: number;
  /** Required for a host that is not a loopback address (the server has no authentication). */
  allowRemote?: boolean;
  /** The page's assets (default: WEB_DIR, or LAB_DIR without a run). */
  webDir?: string;
};

export type RunningServer = { url: string; host: string; port: number; close(): Promise<void> };

/** Whether `host` names this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

/** Starts serving; resolves once listening (`port: 0` takes a free port; `url` has the real one). */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? "127.0.0.1";
  const loopback = isLoopback(host);
  if (!loopback && !opts.allowRemote) {
    throw new LatentkitError(`--host ${host}: not a loopback address; serving beyond this machine needs --allow-remote (the server has no authentication)`);
  }
  const webDir = opts.webDir ?? (opts.runDir === undefined ? LAB_DIR : WEB_DIR);
  if (!fs.existsSync(join(webDir, "index.html"))) {
    throw new LatentkitError(`${webDir}: the web page is not built (no index.html); run \`npm run build\``);
  }
  let runDir: string | undefined;
  if (opts.runDir !== undefined) {
    runDir = realDir(opts.runDir, "run folder");
    for (const name of [CONFIG_FILE, MODEL_FILE]) {
      if (!fs.existsSync(join(runDir, name))) throw new LatentkitError(`${opts.runDir}: not a run folder (no ${name})`);
    }
    const config = readJsonFile<Record<string, unknown>>(join(opts.runDir, CONFIG_FILE));
    if (typeof config?.model !== "string" || typeof config.data !== "object") {
      throw new LatentkitError(`${join(opts.runDir, CONFIG_FILE)}: not a run configuration (no model or data shape)`);
    }
  }

  let port = 0;
  const server = http.createServer((req, res) => {
    try {
      handle(req, res, { runDir, webDir, host, port, loopback });
    } catch {
      if (res.headersSent) res.destroy();
      else send(res, req, 500, "internal error\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(e.code === "EADDRINUSE" ? new LatentkitError(`--port ${opts.port}: already in use; choose another port (or --port 0 for any free one)`)
        : e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND" ? new LatentkitError(`--host ${host}: not an address of this machine`)
          : e.code === "EACCES" ? new LatentkitError(`--port ${opts.port}: permission denied (ports below 1024 need privileges)`)
            : e);
    });
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  port = (server.address() as { port: number }).port;
  const shown = isIP(host) === 6 ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`, host, port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

type Context = { runDir?: string; webDir: string; host: string; port: number; loopback: boolean; data?: Promise<RunData> };

/** The run's training images (and labels) as .npy bytes, for the lab served beside a run. */
type RunData = { images: Uint8Array; labels?: Uint8Array };
/** At most this many training images go to the page. */
export const LAB_DATA_LIMIT = 20_000;

/** Reads the run's data once (its configuration's data set, as training read it) and encodes it. */
async function runData(runDir: string): Promise<RunData> {
  const config = readJsonFile<Record<string, unknown>>(join(runDir, CONFIG_FILE));
  const { validateConfig } = await import("../train/config.js");
  const { loadRunData } = await import("../train/run.js");
  const { version: _v, data: _d, ...rest } = config;
  const ds = await loadRunData(validateConfig(rest), ["train"]);
  const split = ds.splits.train!;
  const n = Math.min(split.n, LAB_DATA_LIMIT);
  const size = ds.imageShape[0] * ds.imageShape[1] * ds.imageShape[2];
  const raw = split.pixels.subarray(0, n * size);
  const data = raw instanceof Uint8Array && Math.abs(split.scale * 255 - 1) < 1e-9
    ? Uint8Array.from(raw)
    : Float32Array.from(raw, (v) => v * split.scale);
  return {
    images: encodeNpy({ data, shape: [n, ...ds.imageShape] }),
    ...(split.labels ? { labels: encodeNpy({ data: Int32Array.from(split.labels.subarray(0, n)), shape: [n] }) } : {}),
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, ctx: Context): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, req, 405, "method not allowed\n");
  }
  if (ctx.loopback && !hostAllowed(req.headers.host, ctx.port)) return send(res, req, 403, "unknown host\n");
  // The raw path, never decoded: a route matches it exactly or not at all.
  const route = resolve((req.url ?? "").split("?")[0], ctx);
  if (route === "manifest") return send(res, req, 200, JSON.stringify(manifest(ctx.runDir!)), "json");
  if (route === "data" || route === "labels") {
    ctx.data ??= runData(ctx.runDir!);
    ctx.data.then((d) => {
      const bytes = route === "data" ? d.images : d.labels;
      if (!bytes) return send(res, req, 404, "the run's data set has no labels\n");
      headers(res, "npy", false);
      res.setHeader("Content-Length", bytes.byteLength);
      res.writeHead(200);
      res.end(req.method === "HEAD" ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }, (e: Error) => send(res, req, 500, `the run's data: ${e.message}\n`));
    return;
  }
  const file = route && contained(route.file, route.root);
  if (!route || !file) return send(res, req, 404, "not found\n");
  serveFile(req, res, file, route.type, route.page);
}

type Route = { file: string; root: string; type: string; page?: boolean };

/** The route table: a request path to a file and the folder it must stay in, or nothing. */
function resolve(path: string, { runDir, webDir }: Context): Route | "manifest" | "data" | "labels" | undefined {
  if (path === "/" || path === "/index.html") return { file: join(webDir, "index.html"), root: webDir, type: "html", page: true };
  const asset = /^\/([^/]+)$/.exec(path);
  if (asset && ASSET.test(asset[1]) && asset[1] !== "index.html") {
    // A script may start a worker (the lab's training), whose policy is its own script's; another page
    // (the lab's explorer.html): both get the page's policy.
    const type = asset[1].slice(asset[1].lastIndexOf(".") + 1);
    return { file: join(webDir, asset[1]), root: webDir, type, page: type === "js" || type === "html" };
  }
  if (runDir === undefined) return undefined; // the lab: no run to read
  if (path === "/run/manifest.json") return "manifest";
  // Beside a run, the lab at /lab/, with the run's training data (the first LAB_DATA_LIMIT images).
  if (path === "/run/data.npy") return "data";
  if (path === "/run/labels.npy") return "labels";
  if (path === "/lab/") return { file: join(LAB_DIR, "index.html"), root: LAB_DIR, type: "html", page: true };
  const labAsset = /^\/lab\/([^/]+)$/.exec(path);
  if (labAsset && ASSET.test(labAsset[1])) {
    const type = labAsset[1].slice(labAsset[1].lastIndexOf(".") + 1);
    return { file: join(LAB_DIR, labAsset[1]), root: LAB_DIR, type, page: type === "js" || type === "html" };
  }
  const run = /^\/run\/([a-z.]+)$/.exec(path);
  if (run && (RUN_FILES as readonly string[]).includes(run[1])) {
    return { file: join(runDir, run[1]), root: runDir, type: run[1].slice(run[1].lastIndexOf(".") + 1) };
  }
  const picture = /^\/run\/images\/([^/]+)$/.exec(path);
  if (picture && PICTURE.test(picture[1])) {
    return { file: join(runDir, "images", picture[1]), root: join(runDir, "images"), type: picture[1].slice(-3) };
  }
  return undefined;
}

/**
 * `file`'s real path (symlinks resolved) when it is a regular file inside the real `root`; for a
 * picture, RUN/images/ itself must also really lie inside the run folder.
 */
function contained(file: string, root: string): string | undefined {
  try {
    const realRoot = fs.realpathSync(root);
    const real = fs.realpathSync(file);
    if (!real.startsWith(realRoot + sep)) return undefined;
    if (root.endsWith(`${sep}images`)) {
      const realRun = fs.realpathSync(join(root, ".."));
      if (!realRoot.startsWith(realRun + sep)) return undefined;
    }
    return fs.statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** What the page may fetch: the run files present and the report's pictures (servable ones only). */
function manifest(runDir: string): { files: string[]; images: string[] } {
  const files = RUN_FILES.filter((f) => contained(join(runDir, f), runDir));
  let images: string[] = [];
  try {
    const dir = join(runDir, "images");
    images = fs.readdirSync(dir).filter((n) => PICTURE.test(n) && contained(join(dir, n), dir)).sort();
  } catch {
    // no pictures
  }
  return { files, images };
}

function serveFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, type: string, page = false): void {
  let fd: number | undefined;
  let size: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
    size = fs.fstatSync(fd).size;
  } catch {
    if (fd !== undefined) fs.closeSync(fd);
    return send(res, req, 404, "not found\n");
  }
  headers(res, type, page);
  res.setHeader("Content-Length", size);
  res.writeHead(200);
  if (req.method === "HEAD") {
    fs.closeSync(fd);
    res.end();
    return;
  }
  // pipeline closes the file when the client goes away early
  pipeline(fs.createReadStream("", { fd, autoClose: true }), res, () => {});
}

function headers(res: http.ServerResponse, type: string, page: boolean): void {
  res.setHeader("Content-Type", TYPES[type] ?? "application/octet-stream");
  res.setHeader("Content-Security-Policy", page ? PAGE_POLICY : FILE_POLICY);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  res.setHeader("Cache-Control", "no-store");
}

function send(res: http.ServerResponse, req: http.IncomingMessage, status: number, body: string, type?: string): void {
  headers(res, type ?? "", false);
  if (!type) res.setHeader("Content-Type", "text/plain; charset=utf-8");
  const bytes = Buffer.from(body);
  res.setHeader("Content-Length", bytes.byteLength);
  res.writeHead(status);
  res.end(req.method === "HEAD" ? undefined : bytes);
}

/** The Host header names this server: a loopback name or address with its port. */
function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader);
  if (!m) return false;
  return isLoopback(m[1]) && (m[2] === undefined ? port === 80 : Number(m[2]) === port);
}

function realDir(dir: string, what: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    throw new LatentkitError(`${dir}: no such ${what}`);
  }
  if (!fs.statSync(real).isDirectory()) throw new LatentkitError(`${dir}: not a folder`);
  return real;
}
