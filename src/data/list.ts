// `latentkit datasets [--json]`: which named data sets are here and how big their splits are. Fast: it
// checks file presence and reads only the IDX headers (the first few KB of each file, gunzipped).
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { SPLIT_NAMES, type SplitName } from "./dataset.js";
import { NAMED_DATASETS, locateNamed } from "./registry.js";
import { spritesSplitSizes } from "./sprites.js";

export interface DatasetListing {
  name: string;
  /** Every file of every split is present (sprites: always). */
  available: boolean;
  /** The folder the files were found in (or where they belong), or "(built-in)". */
  path: string;
  /** Example counts of the splits whose files are present. */
  splits: Partial<Record<SplitName, number>>;
  description: string;
  /** Files looked for and not found (full paths); absent when none. */
  missing?: string[];
  /** Files present but unreadable, as "path: why"; absent when none. */
  errors?: string[];
}

/** The dimensions of an IDX file (.gz or not), from its header only. */
export function readIdxDims(file: string): number[] {
  const fd = fs.openSync(file, "r");
  let head: Uint8Array;
  try {
    const buf = Buffer.alloc(4096);
    head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    // a truncated gzip stream decodes as far as it goes with a sync flush
    head = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08 || head[3] === 0)
    throw new Error("not an unsigned-byte IDX file");
  const ndim = head[3];
  if (head.length < 4 + 4 * ndim) throw new Error("truncated IDX header");
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
}

/** The built-in and named data sets, with availability and split sizes (the `datasets --json` records). */
export function listDatasets(opts: { dataDir?: string } = {}): DatasetListing[] {
  const out: DatasetListing[] = [
    {
      name: "sprites", available: true, path: "(built-in)", splits: spritesSplitSizes(),
      description: "built-in shapes (square, ellipse, heart, triangle) over known factors shape x scale x rotation x x x y, 28x28 binary",
    },
  ];
  for (const spec of Object.values(NAMED_DATASETS)) {
    const loc = locateNamed(spec.name, { dataDir: opts.dataDir });
    const splits: DatasetListing["splits"] = {};
    const errors: string[] = [];
    const folders = new Set<string>();
    for (const s of SPLIT_NAMES) {
      const files = spec.files.filter((f) => f.split === s);
      if (files.length === 0 || !files.every((f) => loc.found.has(f.file))) continue;
      const p = loc.found.get(files.find((f) => f.role === "images")!.file)!;
      try {
        splits[s] = readIdxDims(p)[0];
        folders.add(path.dirname(p));
      } catch (e) {
        errors.push(`${p}: ${(e as Error).message}`);
      }
    }
    const missing = loc.missing.map((f) => path.join(loc.folder, f.file));
    out.push({
      name: spec.name,
      available: missing.length === 0 && errors.length === 0,
      path: folders.size === 1 ? [...folders][0] : loc.folder,
      splits,
      description: spec.description,
      ...(missing.length ? { missing } : {}),
      ...(errors.length ? { errors } : {}),
    });
  }
  return out;
}
