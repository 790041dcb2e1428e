// The engine's device in the page: WebGPU where the browser has it, else WebAssembly (CPU). The one
// place outside src/engine/ that reaches @jax-js/jax: the engine's own init() is Node's (wasm only),
// and choosing a browser device is the page's concern; every array op still goes through the engine.
import { init as initDevices, defaultDevice } from "@jax-js/jax";

export type Device = "webgpu" | "wasm";

/** Starts the first device of `order` that the browser supports and makes it the default. */
export async function startDevice(order: Device[] = ["webgpu", "wasm"]): Promise<Device> {
  for (const device of order) {
    try {
      if ((await initDevices(device)).includes(device)) {
        defaultDevice(device);
        return device;
      }
    } catch {
      // not available here: try the next one
    }
  }
  throw new Error(`none of ${order.join(", ")} is available in this browser`);
}

/** Makes an already started device the default again (after a failed attempt on another). */
export function useDevice(device: Device): void {
  defaultDevice(device);
}
