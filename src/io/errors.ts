// The user-facing error: one line that names the thing (a file, a flag, a config key) and what is
// wrong with it. The CLI prints only `message` (no stack unless --debug); anything else that is
// thrown is a bug.

/** A user-facing error; `message` is one line: "THING: what is wrong". */
export class LatentkitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    // One line, always: a multi-line message would break "one clear line on stderr".
    super(message.replace(/\s*[\r\n]+\s*/g, " ").trim(), options);
    this.name = "LatentkitError";
  }
}

/** Whether `e` is a user-facing error (rather than a bug). */
export function isLatentkitError(e: unknown): e is LatentkitError {
  return e instanceof LatentkitError;
}

/** A file-system error (ENOENT, EACCES, ...) as a LatentkitError naming `path`; others pass through. */
export function fileError(path: string, e: unknown): Error {
  if (e instanceof LatentkitError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why: Record<string, string> = {
    ENOENT: "no such file or folder",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EISDIR: "is a folder, not a file",
    ENOTDIR: "a part of the path is not a folder",
    ENOSPC: "no space left on the device",
    EROFS: "read-only file system",
    EMFILE: "too many open files",
  };
  if (code && why[code]) return new LatentkitError(`${path}: ${why[code]}`, { cause: e });
  if (code && /^E[A-Z]+$/.test(code)) return new LatentkitError(`${path}: ${code} (${(e as Error).message})`, { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}
