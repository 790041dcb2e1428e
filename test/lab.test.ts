// The lab (src/web/lab.ts, lab-worker.ts; `latentkit serve` with no run, `latentkit lab --out DIR`):
// a VAE trains in a Chromium tab, on the page's own engine (WebAssembly here), in a Web Worker. The
// page shows the loss falling and its pictures changing, offers the run as a zip, and Node opens that
// run with loadModel: its test −ELBO is the page's last reported value. Skipped where Debian's
// chromium is absent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { chromium, type Browser } from "playwright-core";
import { unzipSync } from "fflate";
import { startServer, type RunningServer } from "../src/server/server.js";
import { loadModel, loadDataset, train } from "../src/index.js";
import { evaluate } from "../src/eval/evaluate.js";
import { makeSplit } from "../src/data/dataset.js";
import { runCli } from "./helpers/cli.js";
import { writeNpy } from "../src/io/npy.js";
import { encodePng } from "../src/io/png.js";
import { tempDir } from "./helpers/tmp.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (Debian's chromium package): browser tests skipped`;
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const tmp = tempDir("latentkit-lab-");
const web = join(tmp, "web");
let browser: Browser;
let server: RunningServer;

before(async () => {
  if (skip) return;
  const build = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build-web.mjs", import.meta.url)), "--out", web], { encoding: "utf8" });
  assert.equal(build.status, 0, build.stderr);
  server = await startServer({ port: 0, webDir: join(web, "lab") });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("the lab: a VAE trains in the page (?model=vae&data=sprites&steps=N), the loss falls, the pictures change, the run downloads and Node opens it with the page's test −ELBO", { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1400 }, acceptDownloads: true });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`${server.url}/?model=vae&data=sprites&steps=240&latent=6`);
  await page.waitForFunction(() => window.latentkitLab?.state === "training" && window.latentkitLab.step >= 5, undefined, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.latentkitLab.backend), "wasm", "headless Chromium without a GPU: WebAssembly");
  const early = await page.evaluate(() => ({ ...window.latentkitLab.metrics }));
  const firstPicture = await page.evaluate(() => (document.getElementById("recon") as HTMLCanvasElement).toDataURL());

  // Responsive while it trains: a click is handled within 100 ms, frames keep coming.
  // (a string: functions declared inside a callback would carry the test compiler's helpers into the page)
  const probe = await page.evaluate(`new Promise((resolve) => {
    let frames = 0;
    const t0 = performance.now();
    function count() { frames++; if (performance.now() - t0 < 1000) requestAnimationFrame(count); }
    requestAnimationFrame(count);
    const input = document.getElementById("lr");
    const sent = performance.now();
    input.addEventListener("focus", function () {
      const latency = performance.now() - sent;
      setTimeout(function () { resolve({ latency, fps: frames / ((performance.now() - t0) / 1000) }); }, 1000);
    }, { once: true });
    input.focus();
  })`) as { latency: number; fps: number };
  assert.ok(probe.latency < 100, `input handled after ${probe.latency} ms`);

  await page.waitForFunction(() => window.latentkitLab.state === "done" || window.latentkitLab.state === "error", undefined, { timeout: 240_000 });
  const lab = await page.evaluate(() => JSON.parse(JSON.stringify(window.latentkitLab)));
  assert.equal(lab.state, "done", `${lab.error ?? ""} ${errors.join("; ")}`);
  assert.equal(lab.step, 240);
  assert.ok(lab.metrics.loss < early.loss * 0.8, `the loss falls: ${early.loss} at step 5, ${lab.metrics.loss} at 240`);
  const lastPicture = await page.evaluate(() => (document.getElementById("recon") as HTMLCanvasElement).toDataURL());
  assert.notEqual(lastPicture, firstPicture, "the reconstructions changed");
  assert.deepEqual(errors, []);
  assert.ok(requests.every((u) => u.startsWith(server.url) || u.startsWith("blob:") || u.startsWith("data:")), "nothing fetched from outside");

  // The download: a zip of a run folder that Node opens.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  assert.match(download.suggestedFilename(), /\.zip$/);
  const zipFile = join(tmp, "run.zip");
  await download.saveAs(zipFile);
  const files = unzipSync(readFileSync(zipFile));
  const runDir = join(tmp, "unzipped");
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(runDir, dirname(name)), { recursive: true });
    writeFileSync(join(runDir, name), bytes);
  }
  const folder = join(runDir, readdirSync(runDir)[0]);
  using model = await loadModel(folder);
  const sprites = await loadDataset("sprites");
  const { model: m, params } = model.internals;
  const r = evaluate(m, params, makeSplit(sprites.test!.images.data, [1, 28, 28], { labels: sprites.test!.labels }), { isSamples: 0, seed: 0, batchSize: 100 });
  assert.ok(Math.abs(r.elbo - lab.test.elbo) < 2, `test ELBO: Node ${r.elbo}, the page ${lab.test.elbo}`);
  const cli = runCli(["eval", folder, "--is-samples", "0", "--json"]);
  assert.equal(cli.code, 0, cli.stderr);
  // The explorer's views on the model the page trained: explorer.html opens and runs it.
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#explore")]);
  await popup.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: 60_000 });
  assert.equal(await popup.getAttribute("body", "data-state"), "ready", await popup.textContent("body") ?? "");
  await popup.close();
  console.log(`# lab: ${lab.stepsPerSecond.toFixed(1)} steps/s in Chromium (wasm), ${probe.fps.toFixed(0)} frames/s while training, input latency ${probe.latency.toFixed(1)} ms; test ELBO page ${lab.test.elbo.toFixed(3)}, Node ${r.elbo.toFixed(3)}`);
  await page.close();
});

test("the lab trains on the page's own images: a .npy chosen in the page (uint8 [N, H, W]), the last tenth held out", { skip }, async () => {
  const sprites = await loadDataset("sprites");
  const n = 600;
  const npy = join(tmp, "mine.npy");
  writeNpy(npy, { data: Uint8Array.from(sprites.train!.images.data.subarray(0, n * 784), (v) => Math.round(v * 255)), shape: [n, 28, 28] });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.setInputFiles("#file", npy);
  await page.waitForFunction(() => (document.getElementById("data") as HTMLSelectElement).value === "file");
  await page.fill("#steps", "30");
  await page.fill("#latent", "4");
  await page.click("#train");
  await page.waitForFunction(() => window.latentkitLab.state === "done" || window.latentkitLab.state === "error", undefined, { timeout: 120_000 });
  const lab = await page.evaluate(() => JSON.parse(JSON.stringify(window.latentkitLab)));
  assert.equal(lab.state, "done", `${lab.error ?? ""} ${errors.join("; ")}`);
  assert.equal(lab.step, 30);
  assert.equal(lab.test.n, 60, "the held-out tenth");
  assert.ok(Number.isFinite(lab.test.elbo));
  await page.close();
});

test("the lab trains on a folder of PNGs chosen in the page", { skip }, async () => {
  const sprites = await loadDataset("sprites");
  const folder = join(tmp, "pngs");
  mkdirSync(folder);
  for (let i = 0; i < 300; i++) {
    const file = join(folder, `s${String(i).padStart(3, "0")}.png`);
    writeFileSync(file, encodePng({ width: 28, height: 28, channels: 1, data: Uint8Array.from(sprites.train!.images.data.subarray(i * 784, (i + 1) * 784), (v) => v * 255) }));
  }
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.setInputFiles("#folder", folder);
  await page.waitForFunction(() => (document.getElementById("data") as HTMLSelectElement).value === "file");
  assert.match(await page.textContent("#status") ?? "", /300 PNGs: 300 images/);
  await page.fill("#steps", "20");
  await page.click("#train");
  await page.waitForFunction(() => window.latentkitLab.state === "done" || window.latentkitLab.state === "error", undefined, { timeout: 120_000 });
  const lab = await page.evaluate(() => JSON.parse(JSON.stringify(window.latentkitLab)));
  assert.equal(lab.state, "done", `${lab.error ?? ""} ${errors.join("; ")}`);
  assert.equal(lab.test.n, 30);
  await page.close();
});

test("the lab trains a CVAE on the sprites' shapes (?model=cvae&label=2), its samples drawn of the chosen class", { skip }, async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}/?model=cvae&data=sprites&steps=40&latent=4&label=2`);
  await page.waitForFunction(() => window.latentkitLab?.state === "done" || window.latentkitLab?.state === "error", undefined, { timeout: 120_000 });
  const lab = await page.evaluate(() => JSON.parse(JSON.stringify(window.latentkitLab)));
  assert.equal(lab.state, "done", `${lab.error ?? ""} ${errors.join("; ")}`);
  assert.ok(Number.isFinite(lab.test.elbo));
  assert.equal(await page.inputValue("#label"), "2");
  await page.close();
});

test("beside a served run (serve RUN), the lab at /lab/ trains on the run's own data, labels included", { skip }, async () => {
  const runDir = join(tmp, "served-run");
  (await train({ dataset: "sprites", model: "vae", hidden: [32], latent: 2, epochs: 1, workers: 1, out: runDir, set: { evalIsSamples: 0, report: false } })).model.dispose();
  const runServer = await startServer({ runDir, port: 0 });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${runServer.url}/lab/`);
    await page.waitForSelector("#data option[value=run]", { state: "attached" });
    await page.selectOption("#data", "run");
    await page.waitForFunction(() => (document.getElementById("data") as HTMLSelectElement).value === "file", undefined, { timeout: 30_000 });
    assert.match(await page.textContent("#status") ?? "", /the run's data: 8192 images/);
    await page.selectOption("#model", "cvae");
    await page.fill("#steps", "20");
    await page.click("#train");
    await page.waitForFunction(() => window.latentkitLab.state === "done" || window.latentkitLab.state === "error", undefined, { timeout: 120_000 });
    const lab = await page.evaluate(() => JSON.parse(JSON.stringify(window.latentkitLab)));
    assert.equal(lab.state, "done", `${lab.error ?? ""} ${errors.join("; ")}`);
    assert.equal(lab.test.n, 819, "the held-out tenth of 8,192");
    await page.close();
  } finally {
    await runServer.close();
  }
});

test("latentkit lab --out DIR writes the static lab; serve with no run serves it, and it refuses a non-empty folder", () => {
  const out = join(tmp, "static");
  const r = runCli(["lab", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ["app.css", "app.js", "explorer.html", "index.html", "lab-worker.js", "lab.css", "lab.js"]);
  assert.match(readFileSync(join(out, "index.html"), "utf8"), /latentkit lab/);
  const again = runCli(["lab", "--out", out]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not empty/);
});
