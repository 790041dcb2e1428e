// Safetensors files: the format on bytes lives in safetensors-bytes.ts (no Node imports, so the
// browser can use it); this module reads and writes files, atomically and defensively (every length
// and offset is checked against the file before anything is allocated).
import * as fs from "node:fs";
import { LatentkitError, fileError } from "./errors.js";
import { writeFileAtomic } from "./atomic.js";
import { layout, headerLength, parseHeader, allocate, bytesOf, type Safetensors, type Tensor, type Tensors } from "./safetensors-bytes.js";

export {
  MAX_HEADER_BYTES, encodeSafetensors, decodeSafetensors, toFloat32,
  type Dtype, type TensorData, type Tensor, type Tensors, type Safetensors,
} from "./safetensors-bytes.js";

/** Writes `tensors` (and string metadata) to `file` atomically. */
export function writeSafetensors(file: string, tensors: Tensors, metadata?: Record<string, string>): void {
  const { header, order } = layout(tensors, metadata, file);
  writeFileAtomic(file, (write) => {
    write(header);
    for (const [, t] of order) write(bytesOf(t.data));
  });
}

/** Reads a .safetensors file. Each tensor is read into its own array; nothing larger than the file
 * is ever allocated. */
export function readSafetensors(file: string): Safetensors {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size >= 8) readExactly(fd, head, 0, file);
    const n = headerLength(head, size, file);
    const header = Buffer.alloc(n);
    readExactly(fd, header, 8, file);
    const { entries, metadata } = parseHeader(header, size - 8 - n, file);
    const tensors: [string, Tensor][] = entries.map((e) => {
      const data = allocate(e.dtype, e.end - e.begin);
      readExactly(fd!, bytesOf(data), 8 + n + e.begin, file);
      return [e.name, { dtype: e.dtype, shape: e.shape, data }];
    });
    return { tensors: Object.fromEntries(tensors), metadata };
  } catch (e) {
    throw fileError(file, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// ---- files ----------------------------------------------------------------------------------

function readExactly(fd: number, into: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const n = fs.readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0) throw new LatentkitError(`${file}: truncated (the file ended while reading)`);
    done += n;
  }
}
