// The engine's device in the page: WebGPU where the browser has it, else WebAssembly (CPU).
export { initDevice as startDevice, useDevice, type Device } from "../engine/index.js";
