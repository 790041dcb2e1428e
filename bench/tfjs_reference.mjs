// TF.js reference for `latentkit bench --compare tfjs`: ms per training step of the same VAEs as
// bench/torch_reference.py (seed 000's MLP VAE, seed 001's Keras conv VAE), Adam lr 1e-3, loss
// (BCE summed over pixels + KL) / batch, on TF.js's wasm backend (the CPU backend a browser or Node
// would use without native bindings). tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so
// it cannot train the conv VAE; the plain JS `cpu` backend can, but took over 10 minutes for 5 steps
// at batch 128 here, so `latentkit bench` asks for the MLP only.
//
// Usage: node bench/tfjs_reference.mjs mlp|conv BATCH STEPS
// Prints one JSON object: {"model", "batch", "ms_per_step", "backend", "tfjs"}.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

const [kind, batchArg, stepsArg] = process.argv.slice(2);
const batch = Number(batchArg), steps = Number(stepsArg);
await tf.setBackend("wasm");
await tf.ready();

function mlpNets() {
  const encoder = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [784], units: 400 }), tf.layers.leakyReLU({ alpha: 0.2 }), tf.layers.dense({ units: 40 }),
  ] });
  const decoder = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [20], units: 400, activation: "relu" }), tf.layers.dense({ units: 784 }),
  ] });
  return { encoder, decoder, latent: 20, shape: [batch, 784] };
}

function convNets() {
  const latent = 2;
  const encoder = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, strides: 2, activation: "relu" }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, activation: "relu" }),
    tf.layers.flatten(), tf.layers.dense({ units: 2 * latent }),
  ] });
  const decoder = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [latent], units: 7 * 7 * 32, activation: "relu" }),
    tf.layers.reshape({ targetShape: [7, 7, 32] }),
    tf.layers.conv2dTranspose({ filters: 64, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }),
    tf.layers.conv2dTranspose({ filters: 32, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }),
    tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 1, padding: "same" }),
  ] });
  return { encoder, decoder, latent, shape: [batch, 28, 28, 1] };
}

const { encoder, decoder, latent, shape } = kind === "mlp" ? mlpNets() : convNets();
const n = shape.reduce((a, b) => a * b, 1);
const x = tf.tensor(Float32Array.from({ length: n }, () => (Math.random() < 0.3 ? 1 : 0)), shape);
const optimizer = tf.train.adam(1e-3);

// −ELBO per example: Σ BCE(logits, x) + KL(N(μ, σ²) || N(0, I)), BCE = max(l, 0) − l·x + log(1 + e^−|l|)
const loss = () => tf.tidy(() => {
  const h = encoder.apply(x);
  const mu = h.slice([0, 0], [batch, latent]);
  const logVar = h.slice([0, latent], [batch, latent]);
  const z = mu.add(logVar.mul(0.5).exp().mul(tf.randomNormal([batch, latent])));
  const logits = decoder.apply(z).reshape(shape);
  const bce = tf.relu(logits).sub(logits.mul(x)).add(tf.log1p(tf.exp(tf.abs(logits).neg()))).sum();
  const kl = tf.sum(tf.exp(logVar).add(mu.square()).sub(1).sub(logVar)).mul(0.5);
  return bce.add(kl).div(batch);
});

const step = () => {
  const l = optimizer.minimize(loss, true);
  l.dataSync();
  l.dispose();
};
for (let i = 0; i < 3; i++) step();
const start = performance.now();
for (let i = 0; i < steps; i++) step();
const ms = (performance.now() - start) / steps;
console.log(JSON.stringify({ model: kind, batch, ms_per_step: ms, backend: tf.getBackend(), tfjs: tf.version.tfjs }));
