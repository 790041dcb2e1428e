// The lab's speed: the same training (vae, latent 6, β 1, warm-up 2 epochs, lr 0.002, batch 100, on
// the sprites) in Chromium's lab page (WebAssembly, in a Web Worker, the live views included) and in
// Node (the library's train), in steps per second, measured in the same run; and the page's frame
// rate and input latency while it trains. --screenshot FILE saves the page mid-training.
//   npx tsx bench/lab-speed.ts [--steps 400] [--screenshot docs/images/lab.png]
import { chromium } from "playwright-core";
import { startServer } from "../src/server/server.js";
import { train } from "../src/index.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt?: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const STEPS = Number(opt("--steps", "400"));
const screenshot = opt("--screenshot");

async function nodeStepsPerSecond(): Promise<number> {
  let t0 = 0, n = 0;
  const stop = new AbortController();
  const run = await train({
    dataset: "sprites", model: "vae", latent: 6, beta: 1, klWarmupEpochs: 2, lr: 0.002, batchSize: 100, seed: 0, workers: 1, epochs: Math.ceil(STEPS / 81), signal: stop.signal,
    onStep: (e) => { if (e.step === 5) t0 = performance.now(); if (e.step > 5) n++; if (e.step >= STEPS) stop.abort(); },
  });
  run.model.dispose();
  return n / ((performance.now() - t0) / 1000);
}

async function pageStepsPerSecond(): Promise<{ stepsPerSecond: number; fps: number }> {
  const server = await startServer({ port: 0 });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
    await page.goto(`${server.url}/?model=vae&data=sprites&latent=6&beta=1&warmup=2&lr=0.002&steps=${STEPS}`);
    await page.waitForFunction(() => window.latentkitLab?.step >= 5, undefined, { timeout: 60_000 });
    const t0 = Date.now(), s0 = await page.evaluate(() => window.latentkitLab.step);
    const fps = await page.evaluate(`new Promise((resolve) => { let f = 0; const t = performance.now();
      function tick() { f++; if (performance.now() - t < 2000) requestAnimationFrame(tick); else resolve(f / ((performance.now() - t) / 1000)); }
      requestAnimationFrame(tick); })`) as number;
    if (screenshot) {
      await page.waitForFunction((n) => window.latentkitLab.step >= n, Math.floor(STEPS * 0.6), { timeout: 300_000 });
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    await page.waitForFunction(() => window.latentkitLab.state === "done", undefined, { timeout: 600_000 });
    const s1 = await page.evaluate(() => window.latentkitLab.step);
    return { stepsPerSecond: (s1 - s0) / ((Date.now() - t0) / 1000), fps };
  } finally {
    await browser.close();
    await server.close();
  }
}

const node = await nodeStepsPerSecond();
const page = await pageStepsPerSecond();
console.log(JSON.stringify({ steps: STEPS, node_steps_per_s: +node.toFixed(1), page_steps_per_s: +page.stepsPerSecond.toFixed(1), page_over_node: +(page.stepsPerSecond / node).toFixed(2), page_fps_while_training: +page.fps.toFixed(0) }));
