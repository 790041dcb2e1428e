// Writes that a crash cannot half-do. A file is written to a temporary name in the same folder,
// flushed to the disk (fsync) and renamed over the target: rename within one file system is atomic,
// so a reader (or a resumed run) sees the old file or the new one, never a mix.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { LatentkitError, fileError } from "./errors.js";

/** What a file's contents can be given as: bytes, text, or a producer that writes chunks in order
 * (for large files: no need to concatenate them first). A producer that throws aborts the write. */
export type FileContents = string | Uint8Array | ((write: (chunk: string | Uint8Array) => void) => void);

/** Writes `data` to `file` atomically: temporary file in the same folder + fsync + rename. On any
 * failure the temporary file is removed, the old file (if any) is left untouched, and the error is
 * rethrown (file-system errors as a LatentkitError naming `file`). Synchronous. */
export function writeFileAtomic(file: string, data: FileContents): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "wx", 0o644);
    const out = fd;
    const write = (chunk: string | Uint8Array) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      let done = 0;
      while (done < bytes.byteLength) done += fs.writeSync(out, bytes, done, bytes.byteLength - done);
    };
    if (typeof data === "function") data(write);
    else write(data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing more to do */ }
    throw fileError(file, e);
  }
  syncFolder(dir);
}

/** `value` as pretty JSON (2-space indent, trailing newline), written atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

/** Appends one line (a newline is added) to `file`, creating it if needed, in one write + fsync. If
 * the file does not end with a newline (an earlier append cut short by a crash), a newline is written
 * first, so earlier lines are never joined with the new one. Not atomic as a whole: see readJsonLines. */
export function appendLine(file: string, line: string): void {
  if (/[\r\n]/.test(line)) throw new Error(`appendLine: the line for ${file} contains a newline`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "a+");
    const size = fs.fstatSync(fd).size;
    let prefix = "";
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    const bytes = Buffer.from(prefix + line + "\n", "utf8");
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    fs.fsyncSync(fd);
  } catch (e) {
    throw fileError(file, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `value` as one line of compact JSON appended to a .jsonl file (see appendLine). */
export function appendJsonLine(file: string, value: unknown): void {
  appendLine(file, JSON.stringify(value));
}

/** The JSON values of a .jsonl file, one per non-empty line. A last line without its newline that is
 * not valid JSON is a write cut short by a crash and is skipped; any other bad line is an error
 * naming the file and the line. */
export function readJsonLines(file: string): unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw fileError(file, e);
  }
  const lines = text.split("\n");
  const complete = text.endsWith("\n") || text === "";
  const out: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      if (i === lines.length - 1 && !complete) break;
      throw new LatentkitError(`${file}: line ${i + 1}: not valid JSON`);
    }
  }
  return out;
}

/** fsync of a folder makes a rename in it durable; not every platform allows it (best effort). */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse to open or fsync a folder; the rename is still atomic.
  } finally {
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* ignore */ }
  }
}
