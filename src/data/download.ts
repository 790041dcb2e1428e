// Downloads of a named data set's missing files: fetch (injectable, so tests can play the network), check
// the sha256, convert if the host serves another format (binarized MNIST's .amat text -> IDX), and only
// then write the file with writeFileAtomic (temporary file + rename). A failed or rejected download leaves
// nothing behind; files already verified stay.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { createHash } from "node:crypto";
import { LatentkitError } from "../io/errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { encodeIdx } from "../io/idx.js";

/** Fetches a URL's bytes; throws on any failure (offline, HTTP error). */
export type Fetcher = (url: string) => Promise<Uint8Array>;

export interface RemoteFile {
  /** The local file name (the original name, e.g. train-images-idx3-ubyte.gz). */
  file: string;
  /** Mirrors, tried in order. */
  urls: string[];
  /**
   * Accepted sha256 digests (hex). A download passes when the digest of its bytes, or of their gunzipped
   * content, or (for "amat") of the IDX it converts to, is one of these. Listing the content digest too
   * lets a mirror that recompressed the same data pass.
   */
  sha256: string[];
  /** The host serves Larochelle's .amat text (one image per line, 784 values 0/1), converted to IDX .gz. */
  format?: "amat";
}

/** Node's fetch with a time limit; an HTTP error status is a failure. */
export const defaultFetch: Fetcher = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000), redirect: "follow" });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  return new Uint8Array(await res.arrayBuffer());
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function isGzip(b: Uint8Array): boolean {
  return b.byteLength >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Larochelle's .amat text (one image per line: 784 values 0 or 1, space separated) as IDX [N, 28, 28]. */
export function amatToIdx(text: Uint8Array, side = 28): Uint8Array {
  const d = side * side;
  const rows: Uint8Array[] = [];
  let row = new Uint8Array(d), k = 0, line = 1, start = -1;
  const bad = (why: string) => new Error(`not a binarized-MNIST .amat file: line ${line}: ${why}`);
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text[i] : 10;
    const space = c === 32 || c === 9 || c === 13 || c === 10;
    if (!space) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      // a token: "0" / "1" (fast path), or another spelling of 0 or 1 ("1.0")
      const v = i - start === 1 ? text[start] - 48 : Number(new TextDecoder().decode(text.subarray(start, i)));
      if (v !== 0 && v !== 1) throw bad(`value '${new TextDecoder().decode(text.subarray(start, Math.min(i, start + 20)))}' is not 0 or 1`);
      if (k >= d) throw bad(`more than ${d} values`);
      row[k++] = v;
      start = -1;
    }
    if (c === 10) {
      if (k === d) rows.push(row);
      else if (k !== 0) throw bad(`${k} values, expected ${d}`);
      row = new Uint8Array(d);
      k = 0;
      line++;
    }
  }
  const data = new Uint8Array(rows.length * d);
  rows.forEach((r, n) => data.set(r, n * d));
  return encodeIdx({ shape: [rows.length, side, side], data });
}

/** The bytes to store for a download, after conversion; throws when the checksum does not match. */
export function verifyDownload(rf: RemoteFile, bytes: Uint8Array): Uint8Array {
  const ok = (b: Uint8Array) => rf.sha256.includes(sha256Hex(b));
  if (rf.format === "amat") {
    const raw = amatToIdx(bytes);
    if (!ok(raw)) throw new Error("checksum mismatch");
    return new Uint8Array(zlib.gzipSync(raw));
  }
  if (ok(bytes)) return bytes;
  if (isGzip(bytes)) {
    let raw: Uint8Array | undefined;
    try {
      raw = zlib.gunzipSync(bytes);
    } catch {
      // a broken archive: falls through to the mismatch
    }
    if (raw && ok(raw)) return bytes;
  }
  throw new Error(`checksum mismatch (sha256 ${sha256Hex(bytes).slice(0, 12)}...)`);
}

/**
 * Downloads one file into `folder`, trying each mirror; returns its path, or throws saying why each failed.
 * Hosts in `unreachable` are skipped, and a host that fails without an answer (offline, DNS, refused) is
 * added to it, so an offline machine pays one failed connection per host, not one per file.
 */
export async function downloadFile(
  folder: string, rf: RemoteFile, fetcher: Fetcher = defaultFetch, unreachable = new Set<string>(),
): Promise<string> {
  const dest = path.join(folder, rf.file);
  const why: string[] = [];
  for (const url of rf.urls) {
    const host = new URL(url).host;
    if (unreachable.has(host)) {
      why.push(`${url}: ${host} unreachable`);
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await fetcher(url);
    } catch (e) {
      if (isNetworkError(e)) unreachable.add(host);
      why.push(`${url}: ${describe(e)}`);
      continue;
    }
    try {
      bytes = verifyDownload(rf, bytes);
    } catch (e) {
      why.push(`${url}: ${describe(e)}`);
      continue;
    }
    fs.mkdirSync(folder, { recursive: true });
    writeFileAtomic(dest, bytes);
    return dest;
  }
  throw new Error(why.join("; "));
}

/**
 * Makes sure the files are in `folder`, downloading those that are not. When any cannot be had, throws one
 * line naming the data set, the files still missing, the folder to put them in, and why the download failed.
 */
export async function ensureFiles(
  dataset: string, folder: string, files: RemoteFile[], opts: { fetch?: Fetcher; onDownload?: (url: string, file: string) => void } = {},
): Promise<void> {
  const failed: { rf: RemoteFile; why: string }[] = [];
  const unreachable = new Set<string>();
  for (const rf of files) {
    if (fs.existsSync(path.join(folder, rf.file))) continue;
    try {
      opts.onDownload?.(rf.urls[0], rf.file);
      await downloadFile(folder, rf, opts.fetch, unreachable);
    } catch (e) {
      failed.push({ rf, why: describe(e) });
    }
  }
  if (failed.length === 0) return;
  const names = failed.map((f) => f.rf.file).join(", ");
  throw new LatentkitError(
    `${dataset}: missing ${names} in ${folder} and the download failed (${failed[0].why}); ` +
      `put the file${failed.length > 1 ? "s" : ""} there, or pass --data-dir DIR (or set LATENTKIT_DATA) to a folder with ${dataset}/ in it`,
  );
}

/** A failure to get any answer (as opposed to an HTTP error status or bad bytes). */
function isNetworkError(e: unknown): boolean {
  return e instanceof TypeError || (e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError"));
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // Node's fetch says "fetch failed" and keeps the reason (ENOTFOUND, ECONNREFUSED...) in `cause`.
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail && !e.message.includes(detail) ? `${e.message}: ${detail}` : e.message;
}
