// Numeric CSV: one example per row, one feature per column. The first row is a header when any of
// its cells is not a number. A column named `label` (any case) holds the labels: integers are used
// as they are, anything else is mapped to 0..L-1 in sorted order (the names come back).
// Rows are numbered as in the file (1-based, the header is row 1), columns 1-based.
import * as fs from "node:fs";
import { parse } from "csv-parse/sync";
import { LatentkitError, fileError } from "./errors.js";

export interface CsvData {
  /** The feature values, [rows, columns] row-major. */
  data: Float32Array;
  shape: [number, number];
  /** The feature columns' names (from the header; "1", "2", ... without one). */
  columns: string[];
  hasHeader: boolean;
  labels?: Int32Array;
  /** Present when the labels were names: labelNames[i] is the name of label i. */
  labelNames?: string[];
}

// A decimal number as people write it (no hex, no "Infinity", no empty cell).
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses CSV text; `name` (a file name) is what error messages call it. */
export function parseNumericCsv(text: string, name = "CSV data"): CsvData {
  let records: string[][];
  try {
    // (csv-parse's own trim/skip/info options triple its time on large files; done here instead.)
    records = parse(text, { bom: true, relax_column_count: true }) as string[][];
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw new LatentkitError(`${name}: ${line ? `row ${line}: ` : ""}not valid CSV (${(e as Error).message})`);
  }
  // Each record with the file line it starts on; blank lines are skipped but still counted.
  const rows: { cells: string[]; row: number }[] = [];
  let line = 1;
  for (const record of records) {
    const cells = record.map((c) => c.trim());
    if (cells.some((c) => c !== "")) rows.push({ cells, row: line });
    line += 1;
    for (const c of record) for (let i = c.indexOf("\n"); i >= 0; i = c.indexOf("\n", i + 1)) line++;
  }
  if (rows.length === 0) throw new LatentkitError(`${name}: no rows`);

  const first = rows[0].cells;
  const hasHeader = first.some((c) => !NUMBER.test(c));
  const width = first.length;
  const names = hasHeader ? first : first.map((_, j) => String(j + 1));
  const labelCols = names.flatMap((c, j) => (hasHeader && c.toLowerCase() === "label" ? [j] : []));
  if (labelCols.length > 1) throw new LatentkitError(`${name}: row ${rows[0].row}: more than one column named "label"`);
  const labelCol = labelCols.length === 1 ? labelCols[0] : -1;
  const body = hasHeader ? rows.slice(1) : rows;
  if (body.length === 0) throw new LatentkitError(`${name}: no data rows after the header`);
  const features = width - (labelCol >= 0 ? 1 : 0);
  if (features === 0) throw new LatentkitError(`${name}: no feature columns besides "label"`);

  const data = new Float32Array(body.length * features);
  const labelCells: string[] = [];
  body.forEach(({ cells, row }, i) => {
    if (cells.length !== width) {
      const col = Math.min(cells.length, width) + 1;
      const what = cells.length < width ? "missing value" : "unexpected extra value";
      throw new LatentkitError(`${name}: row ${row}, column ${col}: ${what} (the row has ${cells.length} columns, row ${rows[0].row} has ${width})`);
    }
    let k = i * features;
    for (let j = 0; j < width; j++) {
      const c = cells[j];
      if (j === labelCol) {
        if (c === "") throw new LatentkitError(`${name}: row ${row}, column ${j + 1}: empty label`);
        labelCells.push(c);
        continue;
      }
      if (c === "") throw new LatentkitError(`${name}: row ${row}, column ${j + 1}: empty cell`);
      if (!NUMBER.test(c)) {
        const shown = c.length > 40 ? c.slice(0, 40) + "..." : c;
        throw new LatentkitError(`${name}: row ${row}, column ${j + 1}: ${JSON.stringify(shown)} is not a number`);
      }
      const v = Number(c);
      if (!Number.isFinite(v) || Math.abs(v) > 3.4028234663852886e38)
        throw new LatentkitError(`${name}: row ${row}, column ${j + 1}: ${c} is out of the float32 range`);
      data[k++] = v;
    }
  });

  const out: CsvData = {
    data,
    shape: [body.length, features],
    columns: names.filter((_, j) => j !== labelCol),
    hasHeader,
  };
  if (labelCol >= 0) Object.assign(out, encodeLabels(labelCells));
  return out;
}

/** Reads a numeric CSV file (see parseNumericCsv). */
export function readNumericCsv(file: string): CsvData {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw fileError(file, e);
  }
  return parseNumericCsv(text, file);
}

/** Integer labels as they are; otherwise names mapped to their index in sorted order. */
function encodeLabels(cells: string[]): { labels: Int32Array; labelNames?: string[] } {
  // "3" and "3.0" (as pandas writes integer labels of a float column) are label 3.
  if (cells.every((c) => /^[+-]?\d+(\.0*)?$/.test(c) && Math.abs(Number(c)) <= 2 ** 31 - 1))
    return { labels: Int32Array.from(cells, Number) };
  const labelNames = [...new Set(cells)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(labelNames.map((n, i) => [n, i]));
  return { labels: Int32Array.from(cells, (c) => index.get(c)!), labelNames };
}
