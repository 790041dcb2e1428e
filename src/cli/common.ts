// What every command shares: option parsers that fail with one line, and printing.
import { InvalidArgumentError } from "commander";

export function intOption(what: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${what} must be an integer >= ${min}`);
    }
    return n;
  };
}

export function numberOption(what: string, { positive = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || (positive && !(n > 0))) {
      throw new InvalidArgumentError(`${what} must be a ${positive ? "positive " : ""}number`);
    }
    return n;
  };
}

/** Collects a repeatable option (--set a=1 --set b=2). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One JSON document on stdout, nothing else there. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Human output goes to stdout; progress and notes to stderr. */
export function say(line: string): void {
  process.stdout.write(line + "\n");
}

export function note(line: string): void {
  process.stderr.write(line + "\n");
}

/** Number formatting for tables. */
export function fmt(v: number | undefined | null, digits = 2): string {
  return v === undefined || v === null ? "-" : Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

/** Ends a command with this exit code, its message already printed (Ctrl-C: 130). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
