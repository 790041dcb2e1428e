// The package as a user installs it: `npm pack`, the tarball installed into an empty project, the
// README's library examples (examples/node.ts, examples/page.ts) type-checked there against the
// installed types with a default tsconfig (no skipLibCheck), the Node example run, its codes checked
// against `latentkit encode`, and the page example bundled with esbuild (the browser entry) and run in
// Debian's Chromium: a decoder loaded over HTTP, a model trained in the page, no console errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync, readFileSync, existsSync, copyFileSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join, extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { readNpy, writeNpy } from "../src/io/npy.js";
import { assertClose } from "./helpers/numeric.js";
import { tempDir } from "./helpers/tmp.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", ".bin", "tsc");
const CHROMIUM = "/usr/bin/chromium";
const dir = tempDir("lk-package-");
const run = (cmd: string, args: string[], cwd: string, timeout = 300_000) => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_loglevel: "error" } });
  return { code: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
};
const readme = readFileSync(join(root, "README.md"), "utf8");

before(() => {
  // npm pack runs `prepare` (tsc and the web bundle), so the tarball holds the current sources.
  const pack = run("npm", ["pack", "--pack-destination", dir], root);
  assert.equal(pack.code, 0, pack.out);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  const types = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies["@types/node"];
  const install = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${tarball}`, `@types/node@${types}`], dir);
  assert.equal(install.code, 0, install.out);
});

test("the README's library examples are the files the tests run", () => {
  for (const f of ["node.ts", "page.ts"]) {
    const code = readFileSync(join(root, "examples", f), "utf8").trim();
    assert.ok(readme.includes(code), `README.md shows examples/${f} verbatim`);
  }
});

test("the installed types: both examples type-check with a default tsconfig, without skipLibCheck", () => {
  copyFileSync(join(root, "examples", "node.ts"), join(dir, "node.ts"));
  copyFileSync(join(root, "examples", "page.ts"), join(dir, "page.ts"));
  // Node 20 with its typings; and a page: ES2022 + DOM, no Node typings at all (no Float16Array either)
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", target: "es2022", strict: true, outDir: "out", types: ["node"] }, files: ["node.ts"] }));
  writeFileSync(join(dir, "tsconfig.page.json"), JSON.stringify({ compilerOptions: { module: "esnext", moduleResolution: "bundler", target: "es2022", lib: ["es2022", "dom"], types: [], strict: true, noEmit: true }, files: ["page.ts"] }));
  const node = run(tsc, ["-p", "tsconfig.json"], dir);
  assert.equal(node.code, 0, node.out);
  const page = run(tsc, ["-p", "tsconfig.page.json"], dir);
  assert.equal(page.code, 0, page.out);
  // a wrong option is a type error in the editor
  writeFileSync(join(dir, "wrong.ts"), `import { train } from "latentkit";\nawait train({ dataset: "sprites", epochz: 2 });\n`);
  writeFileSync(join(dir, "tsconfig.wrong.json"), JSON.stringify({ compilerOptions: { module: "nodenext", target: "es2022", strict: true, noEmit: true, types: ["node"] }, files: ["wrong.ts"] }));
  const wrong = run(tsc, ["-p", "tsconfig.wrong.json"], dir);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.out, /epochz/);
});

test("the Node example runs from the installed package; its codes equal `latentkit encode`'s", () => {
  const runDir = join(dir, "run");
  const r = run(process.execPath, [join(dir, "out", "node.js"), runDir], dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /epoch 2: valid loss/);
  const result = JSON.parse(r.out.trim().split("\n").at(-1)!);
  assert.deepEqual(result.codes, [10, 8]);
  assert.equal(result.nll.length, 10);
  // The same codes through the installed CLI and through the library, on the same inputs.
  const script = `import { loadModel, loadDataset } from "latentkit";
const m = await loadModel(${JSON.stringify(runDir)});
const { test } = await loadDataset("sprites");
const x = test.images.data.slice(0, 37 * 784);
const codes = await m.encode(x);
process.stdout.write(JSON.stringify({ x: Array.from(x), codes: Array.from(codes.data) }));`;
  writeFileSync(join(dir, "codes.mjs"), script);
  const lib = run(process.execPath, ["codes.mjs"], dir);
  assert.equal(lib.code, 0, lib.out);
  const { x, codes } = JSON.parse(lib.out);
  writeNpy(join(dir, "x.npy"), { shape: [37, 1, 28, 28], data: Float32Array.from(x) });
  const cli = run(join(dir, "node_modules", ".bin", "latentkit"), ["encode", runDir, "--input", "x.npy", "--out", "codes.npy"], dir);
  assert.equal(cli.code, 0, cli.out);
  assertClose(readNpy(join(dir, "codes.npy")).data as Float32Array, codes, { rtol: 0, atol: 1e-6 });
});

test("the page example, bundled for the browser, decodes a served run and trains in Chromium", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: browser test skipped` }, async () => {
  const site = join(dir, "site");
  const bundle = await build({
    entryPoints: [join(dir, "page.ts")], bundle: true, format: "esm", platform: "browser", outfile: join(site, "page.js"),
    absWorkingDir: dir, logLevel: "silent", metafile: true,
  });
  const inputs = Object.keys(bundle.metafile!.inputs);
  assert.ok(inputs.some((f) => f.includes("node_modules/latentkit/dist/browser.js")), "the browser entry is bundled");
  assert.ok(!inputs.some((f) => f.includes("dist/api/node.js")), "no Node code in the page");
  writeFileSync(join(site, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><pre id="log"></pre><script type="module" src="page.js"></script>`);
  const runDir = join(dir, "run");
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json" };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, "http://x").pathname);
    const file = path.startsWith("/run/") ? join(runDir, path.slice(5)) : join(site, path === "/" ? "index.html" : path.slice(1));
    if (!existsSync(file) || !extname(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined || document.querySelector("#log")?.textContent?.includes("Error"), undefined, { timeout: 120_000 });
    const result = await page.evaluate(() => (window as unknown as { result: { decoded: number[]; loss: number; samples: number[] } }).result);
    assert.deepEqual(errors, []);
    assert.deepEqual(result.samples, [4, 1, 28, 28]);
    assert.ok(Number.isFinite(result.loss) && result.loss > 0);
    // the page decodes what Node decodes from the same run
    const script = `import { loadModel } from "latentkit";
const m = await loadModel(${JSON.stringify(runDir)});
const d = await m.decode(new Float32Array(16 * m.codeDim).map((_, i) => Math.sin(i)));
process.stdout.write(JSON.stringify(Array.from(d.data.slice(0, 8))));`;
    writeFileSync(join(dir, "decode.mjs"), script);
    const node = run(process.execPath, ["decode.mjs"], dir);
    assert.equal(node.code, 0, node.out);
    assertClose(result.decoded, JSON.parse(node.out), { rtol: 1e-4, atol: 1e-5 });
  } finally {
    await browser.close();
    server.close();
  }
});
