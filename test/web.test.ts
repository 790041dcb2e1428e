// The latent space explorer end to end: the page bundled from the current sources, served by the
// explorer's server, driven in Debian's Chromium (headless, no GPU: the decoder runs on jax-js's
// WebAssembly backend in the page). What the page decodes is checked against the same model run in
// Node, so the browser's numbers are the project's numbers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { chromium, type Browser, type Page } from "playwright-core";
import { spawnCli } from "./helpers/cli.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { openRun, type OpenRun } from "../src/train/run.js";
import { fromData, np, disposeTree } from "../src/engine/index.js";
import { encodePng } from "../src/io/png.js";
import { tempDir } from "./helpers/tmp.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (Debian's chromium package): browser tests skipped`;
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];

const tmp = tempDir("latentkit-web-");
const web = join(tmp, "web");
let browser: Browser;
const servers: RunningServer[] = [];
let vae: { url: string; run: OpenRun };
let cvae: { url: string; run: OpenRun };

/** Trains a tiny run of `model` on sprites (2-D latent, 1 epoch) in a child process. */
function train(model: string, out: string, report: boolean): Promise<void> {
  const child = spawnCli(["train", "--model", model, "--dataset", "sprites", "--latent", "2", "--epochs", "1",
    "--set", "hidden=[32]", "--set", `report=${report}`, "--set", "evalLimit=128", "--set", "evalIsSamples=0",
    "--out", out, "--quiet"]);
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(err)))));
}

async function serve(dir: string): Promise<{ url: string; run: OpenRun }> {
  const server = await startServer({ runDir: dir, port: 0, webDir: web });
  servers.push(server);
  return { url: server.url, run: await openRun(dir) };
}

before(async () => {
  if (skip) return;
  const build = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build-web.mjs", import.meta.url)), "--out", web], { encoding: "utf8" });
  assert.equal(build.status, 0, build.stderr);
  await Promise.all([train("vae", join(tmp, "vae"), true), train("cvae", join(tmp, "cvae"), false)]);
  vae = await serve(join(tmp, "vae"));
  cvae = await serve(join(tmp, "cvae"));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  for (const r of [vae, cvae]) if (r) disposeTree(r.run.params);
});

/** A page of the explorer, ready, with every console error and page error collected. */
async function open(url: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: 20_000 });
  assert.equal(await page.getAttribute("body", "data-state"), "ready", `${await page.textContent("#status")} ${errors.join("; ")}`);
  return { page, errors, requests };
}

/** Gray values in [0, 1] at the centres of an n × n grid of a canvas (the image's own pixels). */
function cells(page: Page, selector: string, n = 28): Promise<number[]> {
  return page.evaluate(([sel, n]) => {
    const c = document.querySelector(sel) as HTMLCanvasElement;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const out: number[] = [];
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const i = 4 * (Math.floor((y + 0.5) * c.height / n) * c.width + Math.floor((x + 0.5) * c.width / n));
        out.push(d[i + 3] === 0 ? -1 : d[i] / 255);
      }
    }
    return out;
  }, [selector, n] as const);
}

/** Waits until #decoded shows the page's current code (and class), then returns that code. */
async function settled(page: Page, label = "0"): Promise<number[]> {
  await page.waitForFunction((label) => {
    const shown = document.querySelector<HTMLElement>("#decoded")!.dataset;
    return shown.z !== undefined && shown.z === document.querySelector<HTMLElement>("#z-text")!.dataset.z && shown.label === label;
  }, label);
  return JSON.parse((await page.getAttribute("#decoded", "data-z"))!);
}

/** The image Node decodes from code z (and label), in [0, 1], flat [28 * 28]. */
function nodeDecode(run: OpenRun, z: number[], label?: number): Float32Array {
  const labels = label === undefined ? undefined : np.array(new Int32Array([label]), { dtype: np.int32 });
  return run.model.decode(run.params, fromData(z, [1, z.length]), labels).dataSync() as Float32Array;
}

function nodeEncode(run: OpenRun, x: number[]): number[] {
  return [...(run.model.encode(run.params, { x: fromData(x, [1, 1, 28, 28]) }).dataSync() as Float32Array)];
}

const meanAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Waits until the drawing's encodings requested after the first `seen` are all done. */
async function drawingDone(page: Page, seen: number): Promise<void> {
  await page.waitForFunction((seen) => {
    const d = document.querySelector<HTMLElement>("#reconstruction")!.dataset;
    return Number(d.requested) > seen && d.done === d.requested;
  }, seen);
}

async function drag(page: Page, selector: string, from: [number, number], to: [number, number], steps = 12) {
  const box = (await page.locator(selector).boundingBox())!;
  await page.mouse.move(box.x + from[0] * box.width, box.y + from[1] * box.height);
  await page.mouse.down();
  await page.mouse.move(box.x + to[0] * box.width, box.y + to[1] * box.height, { steps });
  await page.mouse.up();
}

test("the page loads without console errors and shows the run's metrics and pictures", { skip }, async () => {
  const { page, errors, requests } = await open(vae.url);
  assert.match((await page.textContent("#title"))!, /^vae on sprites/);
  assert.match((await page.textContent("#facts"))!, /latent 2 · images 1×28×28 · 1 epoch · decoder on WebAssembly/);
  assert.match((await page.textContent("#metrics"))!, /ELBO \(nats\)/);
  assert.equal(await page.isHidden("#class-row"), true); // an unconditional model has no class selector
  const pictures = await page.$$eval("#pictures img", (imgs) => imgs.map((i) => [i.getAttribute("alt"), (i as HTMLImageElement).naturalWidth]));
  assert.ok(pictures.some(([name]) => name === "samples.png"), JSON.stringify(pictures));
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>("#pictures img")].every((i) => i.complete && i.naturalWidth > 0));
  assert.equal((await cells(page, "#decoded")).filter((v) => v < 0).length, 0, "the decoded image is drawn");
  // everything comes from the server (jax-js is in the bundle, its wasm inline): nothing from elsewhere
  assert.deepEqual(requests.filter((u) => !u.startsWith(vae.url + "/") && !/^(blob|data):/.test(u)), []);
  assert.ok(requests.includes(vae.url + "/run/model.safetensors"));
  assert.deepEqual(errors, []);
  await page.close();
});

test("dragging on the pad changes the decoded image, and the page decodes exactly what Node decodes", { skip }, async () => {
  const { page, errors } = await open(vae.url);
  const z0 = await settled(page);
  const before = await cells(page, "#decoded");
  await drag(page, "#pad", [0.1, 0.1], [0.9, 0.85]);
  const z1 = await settled(page);
  const after = await cells(page, "#decoded");
  // the pad spans [-3, 3]² of its x and y dimensions: the pointer went to the lower right
  const [dx, dy] = [Number(await page.inputValue("#dim-x")), Number(await page.inputValue("#dim-y"))];
  assert.deepEqual([dx, dy].sort(), [0, 1]);
  assert.ok(z1[dx] > 2 && z1[dy] < -1.5 && (z1[0] !== z0[0] || z1[1] !== z0[1]), JSON.stringify(z1));
  assert.ok(meanAbsDiff(before, after) > 0.005, `the image did not change (${meanAbsDiff(before, after)})`);
  // the browser's wasm decoder against Node's, on the code it showed (canvas pixels are 8-bit)
  assert.ok(maxAbsDiff(after, nodeDecode(vae.run, z1)) <= 1.5 / 255, `${maxAbsDiff(after, nodeDecode(vae.run, z1))}`);
  // a slider moves the same code
  await page.locator("#sliders input[data-dim='0']").fill("-1.5");
  const z2 = await settled(page);
  assert.equal(z2[0], -1.5);
  assert.ok(maxAbsDiff(await cells(page, "#decoded"), nodeDecode(vae.run, z2)) <= 1.5 / 255);
  assert.deepEqual(errors, []);
  await page.close();
});

test("drawing on the canvas (or opening an image) gives its code on the pad and its reconstruction", { skip }, async () => {
  const { page, errors } = await open(vae.url);
  assert.equal(await page.getAttribute("#reconstruction", "data-renders"), null);
  await drag(page, "#sketch", [0.3, 0.2], [0.65, 0.8]);
  await drawingDone(page, 0);
  const code = await settled(page);
  const input = await cells(page, "#input-view");
  assert.ok(input.some((v) => v > 0.9) && input.filter((v) => v > 0.1).length < 300, "the stroke reached the model's input");
  // the page's encoder agrees with Node's (on the 8-bit input it shows) and its reconstruction is decode(code)
  assert.ok(maxAbsDiff(code, nodeEncode(vae.run, input)) < 0.05, `${code} vs ${nodeEncode(vae.run, input)}`);
  const recon = await cells(page, "#reconstruction");
  assert.ok(maxAbsDiff(recon, nodeDecode(vae.run, code)) <= 1.5 / 255);
  // an image file, dark on light: inverted to white on black like the training data, not reframed
  const png = new Uint8Array(40 * 40).fill(255);
  for (let y = 8; y < 32; y++) for (let x = 8; x < 32; x++) png[y * 40 + x] = 0;
  const requests = Number(await page.getAttribute("#reconstruction", "data-requested"));
  await page.setInputFiles("#file", { name: "square.png", mimeType: "image/png", buffer: Buffer.from(encodePng({ width: 40, height: 40, channels: 1, data: png })) });
  await drawingDone(page, requests);
  const square = await cells(page, "#input-view");
  assert.ok(square[14 * 28 + 14] > 0.9 && square[0] < 0.05, "the square is white on black at the centre");
  // 24 of 40 pixels wide: about 17 of 28, where a framed drawing would be 20
  const row = square.slice(14 * 28, 15 * 28).filter((v) => v > 0.5).length;
  assert.ok(row >= 15 && row <= 19, `${row} bright pixels across the square`);
  const squareCode = await settled(page);
  assert.notDeepEqual(squareCode, code);
  await page.click("#clear");
  await drawingDone(page, Number(await page.getAttribute("#reconstruction", "data-requested")) - 1);
  assert.ok((await cells(page, "#reconstruction")).every((v) => v === -1), "clear empties the reconstruction");
  assert.deepEqual(errors, []);
  await page.close();
});

test("sample draws a new code; interpolation decodes the path between two chosen points", { skip }, async () => {
  const { page, errors } = await open(vae.url);
  await settled(page);
  await page.click("#sample");
  const a = await settled(page);
  await page.click("#set-a");
  await page.click("#sample");
  const b = await settled(page);
  assert.notDeepEqual(a, b);
  await page.click("#set-b");
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>("#strip")!.dataset.renders) > 0);
  await page.locator("#interp-t").fill("0.5");
  const mid = await settled(page);
  for (let k = 0; k < 2; k++) assert.ok(Math.abs(mid[k] - (a[k] + b[k]) / 2) < 1e-5, `${mid} vs ${a}, ${b}`);
  // the strip's middle image is the decoded midpoint
  const strip = await page.evaluate(() => {
    const c = document.querySelector("#strip") as HTMLCanvasElement;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const w = c.width / 9, out: number[] = [];
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      out.push(d[4 * (Math.floor((y + 0.5) * c.height / 28) * c.width + Math.floor(4 * w + (x + 0.5) * w / 28))] / 255);
    }
    return out;
  });
  assert.ok(maxAbsDiff(strip, nodeDecode(vae.run, mid)) <= 1.5 / 255);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the class selector changes a conditional VAE's output", { skip }, async () => {
  const { page, errors } = await open(cvae.url);
  assert.equal(await page.isVisible("#class-row"), true);
  assert.deepEqual(await page.$$eval("#class option", (o) => o.map((e) => e.textContent)), ["class 0", "class 1", "class 2", "class 3"]);
  await drag(page, "#pad", [0.5, 0.5], [0.6, 0.4], 2);
  const z = await settled(page, "0");
  const class0 = await cells(page, "#decoded");
  await page.selectOption("#class", "2");
  assert.deepEqual(await settled(page, "2"), z);
  const class2 = await cells(page, "#decoded");
  assert.ok(meanAbsDiff(class0, class2) > 0.005, `class 0 and class 2 look the same (${meanAbsDiff(class0, class2)})`);
  assert.ok(maxAbsDiff(class0, nodeDecode(cvae.run, z, 0)) <= 1.5 / 255);
  assert.ok(maxAbsDiff(class2, nodeDecode(cvae.run, z, 2)) <= 1.5 / 255);
  assert.deepEqual(errors, []);
  await page.close();
});
