// Bounds on what a file may make us allocate, checked against its header before any decoding, so a
// small hostile file cannot force huge work. Configurable through the environment for users whose
// data is larger (one clear line names the variable when a file exceeds a bound).
import { LatentkitError } from "./errors.js";

const DEFAULTS = {
  LATENTKIT_MAX_DATA_BYTES: 2 ** 30, // decompressed bytes of one data file (IDX): 1 GiB
  LATENTKIT_MAX_IMAGE_PIXELS: 2 ** 24, // pixels of one image file (PNG): 16.7 M (4096 x 4096)
} as const;

export type LimitName = keyof typeof DEFAULTS;

/** The bound in force: the environment variable when it is a positive integer, else the default. */
export function limit(name: LimitName): number {
  const raw = typeof process !== "undefined" ? process.env?.[name] : undefined;
  if (raw === undefined || raw === "") return DEFAULTS[name];
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new LatentkitError(`${name}=${raw}: must be a positive integer`);
  return n;
}

/** Throws naming the file, what it claims and the bound, when `amount` exceeds it. */
export function checkLimit(name: LimitName, amount: number, file: string, what: string): void {
  const most = limit(name);
  if (amount > most) throw new LatentkitError(`${file}: ${what} exceeds the limit of ${most} (set ${name} to allow more)`);
}
