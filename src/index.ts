// latentkit's public API.
export { init, np, keyFromSeed, splitKey, fromData, toData } from "./engine/index.js";
export * as nn from "./nn/index.js";
