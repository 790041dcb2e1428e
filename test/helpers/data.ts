// The real data sets for tests: read from $LATENTKIT_DATA when it is set and holds the set's folder;
// otherwise a test that needs one is skipped with a message naming it (`{ skip: needsData(...) }`).
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The shared data folder ($LATENTKIT_DATA), or undefined. */
export const DATA_DIR: string | undefined = process.env.LATENTKIT_DATA || undefined;

/** Whether every named set is in $LATENTKIT_DATA. */
export function hasData(...names: string[]): boolean {
  return DATA_DIR !== undefined && names.every((n) => existsSync(join(DATA_DIR!, n)));
}

/** A node:test `skip` value: false when the sets are there, else the message saying which are missing. */
export function needsData(...names: string[]): false | string {
  if (hasData(...names)) return false;
  return DATA_DIR === undefined
    ? `needs ${names.join(", ")}: set LATENTKIT_DATA to the data folder (e.g. ../shared/data)`
    : `needs ${names.join(", ")} in ${DATA_DIR}`;
}
