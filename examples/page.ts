// In a web page (bundled with esbuild or Vite, which pick latentkit's browser entry): decode a trained
// model served over HTTP, then train a small VAE on the page's own data, all on the page's engine.
import { loadModel, loadDataset, train, type Images } from "latentkit";

const log = (line: string) => { document.querySelector("#log")!.textContent += line + "\n"; };

// A run folder served over HTTP (`latentkit serve RUN` serves one at /run/).
const model = await loadModel(new URL("run/", location.href));
const grid = new Float32Array(16 * model.codeDim).map((_, i) => Math.sin(i)); // 16 codes
const decoded = await model.decode(grid);                                      // Images [16, 1, 28, 28]
log(`decoded ${decoded.shape.join("x")}`);

// Train in the page on the built-in sprites (generated here, nothing downloaded).
const sprites = await loadDataset("sprites");
const n = 1000, size = 28 * 28;
const train1000: Images = { data: sprites.train!.images.data.slice(0, n * size), shape: [n, 1, 28, 28] };
const run = await train({
  model: "vae", dataset: { train: train1000 }, epochs: 1, batchSize: 50, latent: 4, set: { hidden: [64] },
  onStep: (s) => { if (s.step % 5 === 0) log(`step ${s.step}: loss ${s.metrics.loss.toFixed(1)}`); },
});
const samples = await run.model.sample(4, { seed: 1 });
log(`trained ${run.metrics.length} epoch; samples ${samples.shape.join("x")}`);
(window as unknown as { result: unknown }).result = {
  decoded: Array.from(decoded.data.slice(0, 8)), loss: run.metrics[0].train_loss, samples: samples.shape,
};
model.dispose();
run.model.dispose();
