// The run report: SVG plots, the pictures `train` writes at the end of a run, `latentkit report`, and
// report.html opened in headless Chromium (no console errors, every image loads).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../src/cli/main.js";
import { writeNpy } from "../src/io/npy.js";
import { niceTicks, escapeXml, lineChart, hstack } from "../src/viz/svg.js";
import { trainingCurves, klBars } from "../src/report/report.js";
import { formatValue } from "../src/report/html.js";
import { tempDir } from "./helpers/tmp.js";

const tmp = tempDir("latentkit-report-");

const CHROMIUM = "/usr/bin/chromium";
const noChromium = !fs.existsSync(CHROMIUM) && `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium): report.html is not opened in a browser`;

/** The CLI in this process; stderr captured (stdout belongs to the test runner). */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

// ---- plots ------------------------------------------------------------------------------------

test("niceTicks: round steps of 1, 2 or 5 x 10^k that cover the range", () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.13, 0.87, 4), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(97, 182, 5), [80, 100, 120, 140, 160, 180, 200]);
  const t = niceTicks(-3.3, 41.7, 6);
  assert.ok(t[0] <= -3.3 && t[t.length - 1] >= 41.7);
  const flat = niceTicks(5, 5);
  assert.ok(flat[0] < 5 && flat[flat.length - 1] > 5, "a constant series gets a range around it");
  assert.equal(escapeXml(`a<b & "c">'`), "a&lt;b &amp; &quot;c&quot;&gt;&#39;");
});

test("trainingCurves: one panel per metric (loss first), a train line and a dashed valid line each", () => {
  const metrics = [1, 2, 3].map((epoch) => ({
    epoch, step: epoch * 10, train_loss: 100 / epoch, train_recon: 90 / epoch, train_kl: 10,
    valid_loss: 110 / epoch, valid_recon: 99 / epoch, valid_kl: 11, lr: 1e-3, time_s: 1,
  }));
  const svg = trainingCurves(metrics)!;
  assert.equal(svg.width, 3 * 340);
  const titles = [...svg.svg.matchAll(/font-weight="bold">([^<]+)</g)].map((m) => m[1]);
  assert.deepEqual(titles, ["loss", "recon", "kl"]);
  assert.equal(count(svg.svg, /<path /g), 6);
  assert.equal(count(svg.svg, /<path [^>]*stroke-dasharray/g), 3);
  assert.equal(count(svg.svg, /<circle /g), 18);
  assert.equal(trainingCurves([{ epoch: 1, lr: 0.1 }]), undefined);
  // One epoch: a dot, no line, inside the plot area.
  const one = lineChart({ width: 300, height: 200, series: [{ name: "train", points: [[1, 5]] }] });
  const [cx, cy] = [...one.svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)][0].slice(1).map(Number);
  assert.ok(cx > 58 && cx < 300 - 14 && cy > 30 && cy < 200 - 44, `dot at ${cx},${cy}`);
  assert.equal(count(hstack([one, one]).svg, /<svg /g), 3);
});

test("klBars: a bar per dimension with heights proportional to the KL", () => {
  const svg = klBars([2, 0, 1]).svg;
  const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#1f77b4"/g)].map((m) => Number(m[1]));
  assert.equal(heights.length, 3);
  assert.ok(Math.abs(heights[0] - 2 * heights[2]) < 0.05 && heights[1] <= 0.5, `${heights}`);
  assert.equal(formatValue(3), "3");
  assert.equal(formatValue(0.123456), "0.1235");
  assert.equal(formatValue(null), "–");
});

// ---- the report of a trained run ------------------------------------------------------------------

const run = path.join(tmp, "vae3");
let trainStderr = "";
const PICTURES = ["samples.png", "reconstructions.png", "manifold.png", "traversal.png", "interpolation.png"];
const PLOTS = ["curves.svg", "latent.svg", "kl.svg"];

before(async () => {
  // A 3-D latent VAE on sprites: the scatter is a PCA projection, the manifold picks two dimensions.
  const r = await cli(["train", "--model", "vae", "--latent", "3", "--epochs", "1", "--out", run, "--quiet", "--set", "evalIsSamples=5", "--set", "evalLimit=300"]);
  assert.equal(r.code, 0, r.stderr);
  trainStderr = r.stderr;
});

test("train ends by writing the pictures, the plots and report.html", () => {
  for (const f of [...PICTURES, ...PLOTS]) assert.ok(fs.existsSync(path.join(run, "images", f)), `images/${f}`);
  assert.ok(fs.existsSync(path.join(run, "report.html")));
  assert.match(trainStderr, /wrote .*report\.html \(8 pictures and plots/);
  const latent = fs.readFileSync(path.join(run, "images", "latent.svg"), "utf8");
  assert.match(latent, /PC1 \(\d+% of variance\)/);
  assert.equal(count(latent, /<circle [^>]*fill-opacity/g), 1024, "one point per test example");
  for (const name of ["square", "ellipse", "heart", "triangle"]) assert.ok(latent.includes(`>${name}</text>`), `legend names ${name}`);
});

test("latentkit report RUN rewrites report.html: configuration, evaluation, metrics, every picture embedded", async () => {
  const before = fs.statSync(path.join(run, "report.html")).mtimeMs;
  const r = await cli(["report", run]);
  assert.equal(r.code, 0, r.stderr);
  const html = fs.readFileSync(path.join(run, "report.html"), "utf8");
  assert.ok(fs.statSync(path.join(run, "report.html")).mtimeMs >= before);
  for (const h of ["Evaluation", "Pictures", "Metrics per epoch", "Configuration"]) assert.ok(html.includes(`<h2>${h}`), h);
  assert.equal(count(html, /<img src="data:image\/png;base64,/g), PICTURES.length);
  assert.equal(count(html, /<img src="data:image\/svg\+xml;base64,/g), PLOTS.length);
  assert.ok(!/src="(?!data:)/.test(html), "no external sources: opens offline");
  const evaluation = JSON.parse(fs.readFileSync(path.join(run, "eval.json"), "utf8"));
  assert.ok(html.includes(`<td class="num">${formatValue(evaluation.elbo)}</td>`), "the ELBO from eval.json");
  assert.ok(html.includes("<td>latent</td><td>3</td>"), "the configuration");
  assert.ok(html.includes("<th>train_loss</th>") && html.includes("<tr><td>1</td>"), "a metrics row per epoch");
});

test("report.html in headless Chromium: no console errors, every image loads", { skip: noChromium }, async () => {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (q) => problems.push(`request failed: ${q.url().slice(0, 80)}`));
    await page.goto(`file://${path.resolve(run, "report.html")}`, { waitUntil: "load" });
    const images = await page.evaluate(() => Array.from(document.images).map((i) => ({
      alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
    })));
    assert.equal(images.length, PICTURES.length + PLOTS.length);
    for (const img of images) assert.ok(img.complete && img.w > 0 && img.h > 0, `${img.alt} loads (${JSON.stringify(img)})`);
    // Each SVG is well-formed XML (a browser shows a broken SVG as an empty image).
    for (const f of PLOTS) {
      const text = fs.readFileSync(path.join(run, "images", f), "utf8");
      const errors = await page.evaluate((t) => new DOMParser().parseFromString(t, "image/svg+xml").getElementsByTagName("parsererror").length, text);
      assert.equal(errors, 0, `${f} parses`);
    }
    assert.equal(await page.title(), "vae on sprites");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("report of a run whose data set is gone: the pictures that need no data, and a note", async () => {
  // 120 random 6x6 images as a .npy data set, trained for one epoch, then removed.
  const file = path.join(tmp, "tiny.npy");
  let seed = 1;
  const data = Float32Array.from({ length: 120 * 36 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 > 0.5 ? 1 : 0));
  writeNpy(file, { shape: [120, 1, 6, 6], data });
  const tiny = path.join(tmp, "tiny-run");
  const t = await cli(["train", "--dataset", file, "--latent", "2", "--epochs", "1", "--batch-size", "20", "--out", tiny,
    "--quiet", "--set", "hidden=8", "--set", "evalIsSamples=0", "--set", "report=false"]);
  assert.equal(t.code, 0, t.stderr);
  fs.rmSync(file);
  const r = await cli(["report", tiny]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: the run's data set is not available/);
  const written = fs.readdirSync(path.join(tiny, "images")).sort();
  assert.deepEqual(written, ["curves.svg", "kl.svg", "manifold.png", "samples.png", "traversal.png"]);
  assert.ok(fs.existsSync(path.join(tiny, "report.html")));
  const missing = await cli(["report", path.join(tmp, "no-run")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no-run: no such run folder/);
});
