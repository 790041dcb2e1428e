// Train a VAE on the built-in sprites from code, then use it as a service would.
import { train, loadModel, loadDataset, type Images } from "latentkit";

const out = process.argv[2] ?? "runs/library-example";
const stop = new AbortController(); // stop.abort() ends training at the next step, checkpoint saved

const run = await train({
  model: "vae", dataset: "sprites", epochs: 2, batchSize: 100, seed: 1, latent: 8,
  set: { klWarmupEpochs: 1, evalIsSamples: 10 },
  out, signal: stop.signal,
  onStep: (s) => { if (s.step % 50 === 0) console.log(`step ${s.step}: loss ${s.metrics.loss.toFixed(2)}`); },
  onEpoch: (e) => console.log(`epoch ${e.epoch}: valid loss ${e.metrics.valid_loss?.toFixed(2)}`),
});
run.model.dispose();

// Later, in a service: load the run folder and work with typed arrays.
const model = await loadModel(out);
const { test } = await loadDataset("sprites");
const images: Images = { data: test!.images.data.slice(0, 10 * 784), shape: [10, 1, 28, 28] };
const codes = await model.encode(images);                 // { data: Float32Array, shape: [10, 8] }
const decoded = await model.decode(codes);                // Images [10, 1, 28, 28]
const recon = await model.reconstruct(images);            // the same, through the posterior mean
const samples = await model.sample(4, { seed: 7 });       // Images [4, 1, 28, 28] from the prior
const scores = await model.score(images, { isSamples: 100 }); // per example: recon, elbo, nll
console.log(JSON.stringify({
  codes: codes.shape, decoded: decoded.shape, recon: recon.shape, samples: samples.shape,
  nll: Array.from(scores.nll!, (v) => +v.toFixed(2)),
}));
model.dispose();
