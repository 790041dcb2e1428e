// The latent space explorer, the page `latentkit serve RUN` serves: it fetches the run, rebuilds its
// model with the project's own code, starts the engine on WebGPU (else WebAssembly) and hands the
// page to the Explorer. body[data-state] says where it is: loading, ready or error.
import { startDevice, type Device } from "./backend.js";
import { fetchRun, PageModel, type RunFiles, type RunConfig } from "./run.js";
import { Explorer, showError } from "./explorer.js";

/** The model, built and checked by one reconstruction on `device` (a device may start and still fail). */
async function buildOn(device: Device, files: RunFiles): Promise<PageModel> {
  const model = await PageModel.build(files.config, files.weights);
  const out = await model.reconstruct(new Float32Array(model.pixels));
  if (out.length !== model.pixels || !out.every(Number.isFinite)) throw new Error(`${device}: the check reconstruction failed`);
  return model;
}

/**
 * The run handed over by the lab page that opened this one (explorer.html#from-lab): the lab's model as
 * it is, in memory, instead of a served run folder.
 */
function filesFromLab(): Promise<RunFiles> {
  return new Promise((resolve, reject) => {
    if (!window.opener) return reject(new Error("explorer.html#from-lab: opened without the lab page"));
    window.addEventListener("message", (e: MessageEvent) => {
      if (e.origin !== location.origin || e.data?.type !== "lab-run") return;
      const { config, weights, metrics, evaluation } = e.data as { config: RunConfig; weights: Uint8Array; metrics: Record<string, unknown>[]; evaluation?: Record<string, unknown> };
      resolve({ manifest: { files: [], images: [] }, config, weights, metrics, evaluation });
    });
    window.opener.postMessage({ type: "explorer-ready" }, location.origin);
  });
}

async function boot(): Promise<void> {
  document.body.dataset.state = "loading";
  const files = location.hash === "#from-lab" ? await filesFromLab() : await fetchRun();
  // ?device=wasm forces the CPU backend (to compare, or where a GPU driver misbehaves)
  const wanted = new URLSearchParams(location.search).get("device");
  let device = await startDevice(wanted === "wasm" ? ["wasm"] : ["webgpu", "wasm"]);
  let model: PageModel;
  try {
    model = await buildOn(device, files);
  } catch (e) {
    if (device === "wasm") throw e;
    console.warn(`the model did not run on ${device}, using wasm:`, e);
    device = await startDevice(["wasm"]);
    model = await buildOn(device, files);
  }
  await new Explorer(model, files, device).start();
  document.body.dataset.state = "ready";
}

boot().catch(showError);
