// The data layer: named and path data sets, the built-in sprites, binarization and batch loading.
export * from "./dataset.js";
export * from "./registry.js";
export * from "./download.js";
export * from "./sprites.js";
export * from "./binarize.js";
export * from "./loader.js";
export * from "./list.js";
export { permutation, hashSeed, Rng } from "./prng.js";
