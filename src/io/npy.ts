// .npy files (the format: npy-bytes.ts): read and written atomically.
import * as fs from "node:fs";
import { fileError } from "./errors.js";
import { writeFileAtomic } from "./atomic.js";
import { encodeNpy, decodeNpy, type NpyArray } from "./npy-bytes.js";

export * from "./npy-bytes.js";

/** Writes an array to a .npy file atomically. */
export function writeNpy(file: string, array: NpyArray): void {
  writeFileAtomic(file, encodeNpy(array));
}

/** Reads a .npy file. */
export function readNpy(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw fileError(file, e);
  }
  return decodeNpy(bytes, file);
}

