// latentkit serve: the explorer's server serves its own assets and the run's read-only files through
// an explicit route table, and nothing else: traversal in every spelling, symlinks out of images/
// and files of the run it does not need all get 404; other methods 405; loopback unless asked.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import { mkdirSync, writeFileSync, readFileSync, symlinkSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { runCli, spawnCli } from "./helpers/cli.js";
import { startServer, isLoopback, type RunningServer } from "../src/server/server.js";
import { encodePng } from "../src/io/png.js";
import { tempDir } from "./helpers/tmp.js";

const tmp = tempDir("latentkit-serve-");
const run = join(tmp, "runs", "tiny");
const web = join(tmp, "web");
const SECRET = "TOP-SECRET-do-not-serve";
let server: RunningServer;

type Reply = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };

/** A request with the path sent exactly as written (no normalisation, no encoding). */
function request(path: string, { method = "GET", host }: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, path, method, headers: host ? { host } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  // a real tiny run; the pictures are made by hand (the report is not what is tested here)
  const r = runCli(["train", "--dataset", "sprites", "--latent", "2", "--epochs", "1", "--set", "hidden=[16]",
    "--set", "report=false", "--set", "evalIsSamples=0", "--set", "evalLimit=64", "--out", run, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  mkdirSync(join(run, "images"));
  writeFileSync(join(run, "images", "samples.png"), encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array([0, 255, 255, 0]) }));
  // secrets: next to the run, inside the run but not served, and symlinked from images/
  writeFileSync(join(tmp, "secret.txt"), SECRET);
  writeFileSync(join(tmp, "runs", "secret.png"), SECRET);
  writeFileSync(join(run, "state.json.bak"), SECRET);
  symlinkSync(join(tmp, "secret.txt"), join(run, "images", "evil.png"));
  symlinkSync("../../secret.png", join(run, "images", "relative.png"));
  symlinkSync(tmp, join(run, "images", "up.png"));
  // the page's assets, and a secret beside them
  mkdirSync(web);
  writeFileSync(join(web, "index.html"), "<!doctype html><title>explorer</title>");
  writeFileSync(join(web, "app.js"), "console.log('explorer')");
  writeFileSync(join(tmp, "app.js"), SECRET);
  server = await startServer({ runDir: run, port: 0, webDir: web });
});

after(async () => {
  await server?.close();
});

test("the page, its assets and the run's files are served; HEAD gives the headers alone", async () => {
  const page = await request("/");
  assert.equal(page.status, 200);
  assert.match(String(page.headers["content-type"]), /^text\/html/);
  assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/);
  assert.equal((await request("/app.js")).body.toString(), "console.log('explorer')");
  for (const f of ["config.json", "model.safetensors", "metrics.jsonl", "eval.json"]) {
    const r = await request(`/run/${f}`);
    assert.equal(r.status, 200, f);
    assert.deepEqual(r.body, readFileSync(join(run, f)), f);
  }
  const png = await request("/run/images/samples.png");
  assert.equal(png.headers["content-type"], "image/png");
  assert.equal(png.headers["x-content-type-options"], "nosniff");
  const head = await request("/run/model.safetensors", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers["content-length"]), readFileSync(join(run, "model.safetensors")).length);
  assert.equal(head.body.length, 0);
  // the manifest lists what may be fetched: no symlinked-out pictures
  const manifest = JSON.parse((await request("/run/manifest.json")).body.toString());
  assert.deepEqual(manifest, { files: ["config.json", "model.safetensors", "metrics.jsonl", "eval.json"], images: ["samples.png"] });
});

test("path traversal in every spelling gets 404 and never a byte of a file outside the served set", async () => {
  const attempts = [
    "/../secret.txt", "/../../secret.txt", "/run/../../secret.txt", "/run/images/../../../secret.txt",
    "/run/images/..", "/run/images/../state.json.bak", "/run/images/../../secret.png",
    // percent-encoded and double-encoded
    "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/run/images/%2e%2e%2f%2e%2e%2fsecret.png",
    "/run/images/..%2f..%2f..%2fsecret.txt", "/run/%2e%2e/%2e%2e/secret.txt", "/run/images/%252e%252e%252fsecret.png",
    "/%252e%252e%252fsecret.txt", "/run%2fconfig.json", "/run/images%2f..%2fconfig.json",
    // backslashes, raw and encoded
    "/run/images/..\\..\\secret.png", "/..\\secret.txt", "/run\\config.json", "/run/images/..%5c..%5csecret.png",
    "/run/images/%5c..%5c..%5csecret.txt",
    // symlinks inside images/ pointing out of the run
    "/run/images/evil.png", "/run/images/relative.png", "/run/images/up.png", "/run/images/up.png/secret.txt",
    // files of the run folder that are not needed, listings, other shapes of the same names
    "/run/state.json.bak", "/run/state.json", "/run/optimizer.safetensors", "/run/best.safetensors", "/run/",
    "/run/images/", "/run", "/run/config.json/", "/run//config.json", "//run/config.json", "/run/./config.json",
    "/run/images/./samples.png", "/run/images/.samples.png", "/run/images/samples.png%00.txt", "/./app.js",
    "/secret.txt", "/app.js/..", "/web/app.js", "/dist/web/app.js", "/etc/passwd", "//etc/passwd",
    "http://127.0.0.1/../secret.txt",
  ];
  for (const path of attempts) {
    const r = await request(path);
    assert.equal(r.status, 404, `${path} -> ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${path} leaked the secret`);
  }
});

test("methods other than GET and HEAD get 405 and change nothing", async () => {
  const before = readFileSync(join(run, "config.json"));
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    for (const path of ["/", "/run/config.json", "/nowhere"]) {
      const r = await request(path, { method });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
  }
  assert.deepEqual(readFileSync(join(run, "config.json")), before);
});

test("a request for another host name (DNS rebinding) gets 403 while serving on loopback", async () => {
  assert.equal((await request("/run/config.json", { host: "evil.example" })).status, 403);
  assert.equal((await request("/run/config.json", { host: `evil.example:${server.port}` })).status, 403);
  assert.equal((await request("/run/config.json", { host: `localhost:${server.port}` })).status, 200);
});

test("loopback only unless --allow-remote; bad run folders fail with one line", async () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("localhost") && isLoopback("::1") && isLoopback("127.1.2.3"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("192.168.1.2") && !isLoopback("::") && !isLoopback("example.com"));
  await assert.rejects(startServer({ runDir: run, host: "0.0.0.0", port: 0, webDir: web }), /--allow-remote/);
  const r = runCli(["serve", run, "--host", "0.0.0.0", "--port", "0"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^latentkit: --host 0\.0\.0\.0: not a loopback address; serving beyond this machine needs --allow-remote/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  const notRun = runCli(["serve", tmp, "--port", "0"]);
  assert.equal(notRun.code, 1);
  assert.match(notRun.stderr, /not a run folder \(no config\.json\)/);
  assert.equal(runCli(["serve", run, "--port", "70000"]).code, 2);
});

/** Spawns `latentkit serve`, waits for its "listening on" line; returns the process and the URL. */
async function spawnServe(args: string[]) {
  const child = spawnCli(["serve", run, ...args]);
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)\n/.exec(stdout);
      if (m) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`serve exited (${code}): ${stderr}`));
    });
  });
  return { child, url, exited, out: () => ({ stdout, stderr }) };
}

test("the command prints the real port for --port 0, serves, and stops cleanly on SIGINT", async () => {
  if (!existsSync(fileURLToPath(new URL("../dist/web/index.html", import.meta.url)))) {
    const b = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build-web.mjs", import.meta.url))], { encoding: "utf8" });
    assert.equal(b.status, 0, b.stderr);
  }
  const s = await spawnServe(["--port", "0"]);
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(new URL(s.url).port);
  assert.ok(port > 0);
  const page = await fetch(s.url + "/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /latentkit explorer/);
  // a kept-alive connection must not hold the process open
  s.child.kill("SIGINT");
  assert.equal(await s.exited, 0);
  assert.match(s.out().stderr, /stopped/);
  assert.equal(s.out().stderr.includes("warning"), false);
});

test("--allow-remote binds another host with a warning on stderr", async () => {
  const s = await spawnServe(["--host", "0.0.0.0", "--allow-remote", "--port", "0"]);
  assert.match(s.url, /^http:\/\/0\.0\.0\.0:\d+$/);
  assert.match(s.out().stderr, /warning: .*reachable from other machines, without authentication/);
  s.child.kill("SIGINT");
  assert.equal(await s.exited, 0);
});
