// The io layer: file formats and atomic writes. Every reader round-trips with its writer, and every
// malformed input fails with one LatentkitError line that names the file and what is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { LatentkitError, fileError } from "../src/io/errors.js";
import { writeFileAtomic, writeJsonAtomic, appendLine, appendJsonLine, readJsonLines } from "../src/io/atomic.js";
import {
  encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, toFloat32, type Tensors,
} from "../src/io/safetensors.js";
import { encodeNpy, decodeNpy, readNpy, writeNpy } from "../src/io/npy.js";
import { encodeIdx, readIdx, writeIdx } from "../src/io/idx.js";
import { parseNumericCsv, readNumericCsv } from "../src/io/csv.js";
import { encodePng, decodePng, readPngFolder, writePng } from "../src/io/png.js";
import { encode as fastPngEncode } from "fast-png";
import { tempDir } from "./helpers/tmp.js";

const tmp = tempDir("latentkit-io-");
let counter = 0;
/** A fresh path under the test's temporary folder. */
const fresh = (name: string) => path.join(tmp, `${counter++}-${name}`);

/** Asserts that `fn` throws a one-line LatentkitError whose message contains every `parts`. */
function failsWith(fn: () => unknown, ...parts: (string | RegExp)[]): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LatentkitError, `expected a LatentkitError, got ${(e as Error)?.stack}`);
    assert.ok(!e.message.includes("\n"), `not one line: ${e.message}`);
    for (const p of parts)
      assert.ok(typeof p === "string" ? e.message.includes(p) : p.test(e.message), `"${e.message}" lacks ${p}`);
    return e.message;
  }
  assert.fail("expected an error");
}

// ---- errors ------------------------------------------------------------------------------------

test("LatentkitError is one line; fileError names the path", () => {
  const e = new LatentkitError("data/x.csv: bad\n  things");
  assert.equal(e.message, "data/x.csv: bad things");
  assert.equal(e.name, "LatentkitError");
  failsWith(() => { throw fileError("nope.npy", Object.assign(new Error("x"), { code: "ENOENT" })); }, "nope.npy: no such file");
  failsWith(() => readNpy(path.join(tmp, "missing.npy")), "missing.npy", "no such file");
});

// ---- atomic writes -----------------------------------------------------------------------------

test("writeFileAtomic replaces the file and leaves no temporary behind", () => {
  const dir = fresh("atomic");
  fs.mkdirSync(dir);
  const file = path.join(dir, "a.json");
  writeJsonAtomic(file, { a: 1 });
  writeJsonAtomic(file, { a: 2 });
  assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { a: 2 });
  writeFileAtomic(file, (write) => { write("x"); write(new Uint8Array([0x79])); });
  assert.equal(fs.readFileSync(file, "utf8"), "xy");
  assert.deepEqual(fs.readdirSync(dir), ["a.json"]);
});

test("a write that fails midway leaves the old file intact and no temporary", () => {
  const dir = fresh("atomic-fail");
  fs.mkdirSync(dir);
  const file = path.join(dir, "model.safetensors");
  fs.writeFileSync(file, "old contents");
  assert.throws(() => writeFileAtomic(file, (write) => {
    write("half of the new ");
    throw new Error("disk on fire");
  }), /disk on fire/);
  assert.equal(fs.readFileSync(file, "utf8"), "old contents");
  assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
  // A folder that does not exist: a clear error naming the file.
  failsWith(() => writeFileAtomic(path.join(dir, "no", "such.json"), "{}"), "such.json", "no such file");
});

test("a write into a read-only folder fails clearly and keeps the old file", { skip: process.getuid?.() === 0 && "root ignores permissions" }, () => {
  const dir = fresh("readonly");
  fs.mkdirSync(dir);
  const file = path.join(dir, "config.json");
  fs.writeFileSync(file, "{}");
  fs.chmodSync(dir, 0o555);
  try {
    failsWith(() => writeJsonAtomic(file, { new: true }), "config.json", "permission denied");
    assert.equal(fs.readFileSync(file, "utf8"), "{}");
  } finally {
    fs.chmodSync(dir, 0o755);
  }
});

test("appendLine never joins a new line to a line cut short; readJsonLines skips a cut last line", () => {
  const file = fresh("metrics.jsonl");
  appendJsonLine(file, { epoch: 1 });
  appendJsonLine(file, { epoch: 2 });
  assert.deepEqual(readJsonLines(file), [{ epoch: 1 }, { epoch: 2 }]);
  fs.appendFileSync(file, '{"epoch": 3, "lo'); // a crash in the middle of a write
  assert.deepEqual(readJsonLines(file), [{ epoch: 1 }, { epoch: 2 }]);
  appendLine(file, JSON.stringify({ epoch: 4 }));
  const lines = fs.readFileSync(file, "utf8").split("\n");
  assert.deepEqual(lines, ['{"epoch":1}', '{"epoch":2}', '{"epoch": 3, "lo', '{"epoch":4}', ""]);
  failsWith(() => readJsonLines(file), `${file}: line 3: not valid JSON`);
});

// ---- safetensors -------------------------------------------------------------------------------

const sample = (): Tensors => ({
  b: { dtype: "U8", shape: [3], data: new Uint8Array([0, 1, 2]) },
  a: { dtype: "F32", shape: [2, 2], data: new Float32Array([0, 1, 2, 3]) },
  c: { dtype: "F64", shape: [2], data: new Float64Array([0, 1]) },
  z: { dtype: "I32", shape: [1], data: new Int32Array([-7]) },
});

// safetensors.numpy.save({'b': arange(3, u8), 'a': arange(4, f32).reshape(2, 2),
//                         'c': arange(2, f64), 'z': array([-7], i32)})  (safetensors 0.8.0)
const PYTHON_SAFETENSORS =
  "e0000000000000007b2263223a7b226474797065223a22463634222c227368617065223a5b325d2c22646174615f6f66667365" +
  "7473223a5b302c31365d7d2c2261223a7b226474797065223a22463332222c227368617065223a5b322c325d2c2264617461" +
  "5f6f666673657473223a5b31362c33325d7d2c227a223a7b226474797065223a22493332222c227368617065223a5b315d2c" +
  "22646174615f6f666673657473223a5b33322c33365d7d2c2262223a7b226474797065223a225538222c227368617065223a" +
  "5b335d2c22646174615f6f666673657473223a5b33362c33395d7d7d2020200000000000000000000000000000f03f000000" +
  "000000803f0000004000004040f9ffffff000102";

test("safetensors: byte for byte what the Python library writes, and read back", () => {
  const bytes = encodeSafetensors(sample());
  assert.equal(Buffer.from(bytes).toString("hex"), PYTHON_SAFETENSORS);
  const { tensors, metadata } = decodeSafetensors(Buffer.from(PYTHON_SAFETENSORS, "hex"));
  assert.deepEqual(metadata, {});
  assert.deepEqual(tensors, sample());
});

test("safetensors: file round trip with metadata, all dtypes, empty tensors", () => {
  const file = fresh("model.safetensors");
  const tensors: Tensors = {
    ...sample(),
    "encoder.0.weight": { dtype: "F32", shape: [3, 2], data: new Float32Array([1.5, -2, 3, 4, 5, 6]) },
    empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    scalar: { dtype: "F64", shape: [], data: new Float64Array([Math.PI]) },
    i64: { dtype: "I64", shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) },
    half: { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x3555]) },
    bf: { dtype: "BF16", shape: [1], data: new Uint16Array([0x3fc0]) },
  };
  writeSafetensors(file, tensors, { format: "pt", step: "12" });
  const back = readSafetensors(file);
  assert.deepEqual(back.metadata, { format: "pt", step: "12" });
  assert.deepEqual(back.tensors, tensors);
  assert.deepEqual(decodeSafetensors(fs.readFileSync(file), file), back);
  assert.deepEqual([...toFloat32(back.tensors.half)], [1, -2, Math.fround(0.33325195)]);
  assert.deepEqual([...toFloat32(back.tensors.bf)], [1.5]);
  // The data buffer starts 8-byte aligned (header padded with spaces, as the Python library does).
  assert.equal(Number(fs.readFileSync(file).readBigUInt64LE(0)) % 8, 0);
});

test("safetensors: an unpadded header (older writers) is accepted", () => {
  const header = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
  const bytes = safetensorsBytes(header, new Uint8Array(new Int32Array([1, 2, 3, 4]).buffer));
  assert.deepEqual(decodeSafetensors(bytes).tensors.test.data, new Int32Array([1, 2, 3, 4]));
});

/** Raw safetensors bytes from a header string and a data buffer; `claimed` overrides the length. */
function safetensorsBytes(header: string, data: Uint8Array, claimed?: bigint): Buffer {
  const h = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(claimed ?? BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

test("safetensors: truncated and hostile files fail clearly without huge allocations", () => {
  const good = Buffer.from(encodeSafetensors(sample()));
  const cases: [string, Buffer, ...string[]][] = [
    ["short.safetensors", good.subarray(0, 5), "truncated", "5 bytes"],
    ["cut.safetensors", good.subarray(0, good.length - 10), "outside the data buffer"],
    ["cutheader.safetensors", good.subarray(0, 100), "header length 224 is larger than the file"],
    // A header length of 2^60: must not allocate it.
    ["huge.safetensors", safetensorsBytes("{}", new Uint8Array(0), 2n ** 60n), "over the limit"],
    ["big.safetensors", safetensorsBytes("{}", new Uint8Array(0), 50_000_000n), "larger than the file"],
    ["notjson.safetensors", safetensorsBytes("{not json}", new Uint8Array(0)), "not a JSON object"],
    ["array.safetensors", safetensorsBytes("[1, 2]    ", new Uint8Array(0)), "not a JSON object"],
    ["offsets.safetensors",
      safetensorsBytes('{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}', new Uint8Array(8)),
      'tensor "w"', "outside the data buffer"],
    ["dtype.safetensors",
      safetensorsBytes('{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,2]}}', new Uint8Array(2)),
      'tensor "w"', 'unknown or unsupported dtype "Q7"'],
    ["size.safetensors",
      safetensorsBytes('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)),
      "needs 12 bytes", "hold 8"],
    ["overlap.safetensors",
      safetensorsBytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      "overlap"],
    ["gap.safetensors",
      safetensorsBytes('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      "belong to no tensor"],
    ["shape.safetensors",
      safetensorsBytes('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      "shape [-1]"],
    ["meta.safetensors",
      safetensorsBytes('{"__metadata__":{"n":3}}', new Uint8Array(0)), "__metadata__"],
  ];
  const before = process.memoryUsage().arrayBuffers;
  for (const [name, bytes, ...parts] of cases) {
    const file = fresh(name);
    fs.writeFileSync(file, bytes);
    failsWith(() => readSafetensors(file), file, ...parts);
    failsWith(() => decodeSafetensors(bytes, name), name, ...parts);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20, "allocated far more than the files");
});

test("safetensors: writing a tensor whose data does not match fails before touching the file", () => {
  const file = fresh("bad.safetensors");
  fs.writeFileSync(file, "old");
  failsWith(() => writeSafetensors(file, { w: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } }), '"w"', "4 elements", "3");
  failsWith(() => writeSafetensors(file, { w: { dtype: "F64", shape: [1], data: new Float32Array(1) } }), "Float64Array");
  assert.equal(fs.readFileSync(file, "utf8"), "old");
});

// ---- npy ---------------------------------------------------------------------------------------

test("npy: byte for byte what numpy.save writes, and read back", () => {
  // numpy.save(f, np.arange(3, dtype=np.uint8))
  const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }" + " ".repeat(60) + "\n";
  const expected = Buffer.concat([Buffer.from([0x93]), Buffer.from("NUMPY\x01\x00v\x00" + header, "latin1"), Buffer.from([0, 1, 2])]);
  const bytes = encodeNpy({ shape: [3], data: new Uint8Array([0, 1, 2]) });
  assert.equal(Buffer.from(bytes).toString("latin1"), expected.toString("latin1"));
  assert.equal((bytes.length - 3) % 64, 0);
  assert.deepEqual(decodeNpy(expected), { shape: [3], data: new Uint8Array([0, 1, 2]) });
});

test("npy: file round trips for every supported dtype and shape", () => {
  const arrays = [
    { shape: [2, 3], data: new Float32Array([0, 1.5, -2, 3, 4, 5]) },
    { shape: [4], data: new Float64Array([Math.PI, -0, 1e-300, 7]) },
    { shape: [1, 2, 2], data: new Uint8Array([0, 255, 7, 9]) },
    { shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    { shape: [], data: new Float32Array([42]) },
    { shape: [0, 5], data: new Float32Array(0) },
  ];
  for (const a of arrays) {
    const file = fresh("a.npy");
    writeNpy(file, a);
    assert.deepEqual(readNpy(file), a);
  }
});

test("npy: unsupported dtype, fortran order, truncation fail naming the file", () => {
  const withHeader = (dict: string, data: Uint8Array) => {
    const h = dict + " ".repeat(64 - ((10 + dict.length + 1) % 64)) + "\n";
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
    return Buffer.concat([pre, Buffer.from(h, "latin1"), data]);
  };
  const cases: [string, Buffer, ...string[]][] = [
    ["f2.npy", withHeader("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(4)),
      "dtype '<f2' is not supported", "<f4"],
    ["big.npy", withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)),
      "dtype '>f4' is not supported"],
    ["obj.npy", withHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
      "dtype '|O' is not supported"],
    ["rec.npy", withHeader("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)),
      "structured"],
    ["fortran.npy", withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16)),
      "fortran_order"],
    ["short.npy", withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", new Uint8Array(12)),
      "needs 16 data bytes", "truncated"],
    ["magic.npy", Buffer.from("PK\x03\x04 this is a zip"), "not a .npy file"],
    ["header.npy", Buffer.from(encodeNpy({ shape: [100], data: new Uint8Array(100) })).subarray(0, 40), "truncated"],
  ];
  for (const [name, bytes, ...parts] of cases) {
    const file = fresh(name);
    fs.writeFileSync(file, bytes);
    failsWith(() => readNpy(file), file, ...parts);
  }
});

// ---- IDX ---------------------------------------------------------------------------------------

test("IDX: raw and gzip files round trip; gzip is found by its magic, not the name", () => {
  const images = { shape: [2, 3, 4], data: Uint8Array.from({ length: 24 }, (_, i) => i * 10) };
  const labels = { shape: [2], data: new Uint8Array([7, 3]) };
  const raw = fresh("images-idx3-ubyte");
  const gz = fresh("labels-idx1-ubyte.gz");
  writeIdx(raw, images);
  writeIdx(gz, labels);
  assert.deepEqual(fs.readFileSync(raw).subarray(0, 4), Buffer.from([0, 0, 8, 3]));
  assert.deepEqual(fs.readFileSync(gz).subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  assert.deepEqual(readIdx(raw), images);
  assert.deepEqual(readIdx(gz), labels);
  const misnamed = fresh("gzipped-without-gz");
  fs.writeFileSync(misnamed, encodeIdx(images, true));
  assert.deepEqual(readIdx(misnamed), images);
});

test("IDX: truncated file, wrong magic and wrong sizes fail naming the file", () => {
  const good = Buffer.from(encodeIdx({ shape: [2, 3, 4], data: new Uint8Array(24) }));
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32BE(0x504b0304, 0);
  const grown = Buffer.from(good);
  grown.writeUInt32BE(5, 4); // 5 x 3 x 4 = 60 values claimed, 24 present
  const cases: [string, Buffer, ...string[]][] = [
    ["cut-idx3-ubyte", good.subarray(0, good.length - 5), "truncated", "24 values", "holds 19"],
    ["header-idx3-ubyte", good.subarray(0, 9), "truncated", "header"],
    ["tiny-idx3-ubyte", good.subarray(0, 2), "truncated"],
    ["magic-idx3-ubyte", badMagic, "wrong magic number 0x504b0304"],
    ["dims-idx3-ubyte", grown, "5 x 3 x 4", "60 values", "holds 24"],
    ["extra-idx3-ubyte", Buffer.concat([good, Buffer.alloc(3)]), "24 values", "holds 27"],
    ["float-idx3-ubyte", Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), "type 0x0d (float)", "not supported"],
    ["cut-idx3-ubyte.gz", zlib.gzipSync(good).subarray(0, 20), "truncated or corrupt gzip"],
    ["cutdata-idx3-ubyte.gz", zlib.gzipSync(good.subarray(0, 30)), "truncated", "24 values", "holds 14"],
  ];
  for (const [name, bytes, ...parts] of cases) {
    const file = fresh(name);
    fs.writeFileSync(file, bytes);
    failsWith(() => readIdx(file), file, ...parts);
  }
});

test("IDX: the real Fashion-MNIST test labels, if the shared data is here", (t) => {
  const dir = process.env.LATENTKIT_DATA ?? path.resolve("../shared/data");
  const file = path.join(dir, "fashion-mnist", "t10k-labels-idx1-ubyte.gz");
  if (!fs.existsSync(file)) return t.skip("no shared data");
  const { shape, data } = readIdx(file);
  assert.deepEqual(shape, [10000]);
  assert.ok(data.every((l) => l < 10));
});

// ---- CSV ---------------------------------------------------------------------------------------

test("CSV: header detection, label column, row-major float32 values", () => {
  const withHeader = parseNumericCsv("x1,label,x2\n0.5,3,1e-1\n-2,0,7\n", "a.csv");
  assert.equal(withHeader.hasHeader, true);
  assert.deepEqual(withHeader.shape, [2, 2]);
  assert.deepEqual(withHeader.columns, ["x1", "x2"]);
  assert.deepEqual(withHeader.data, new Float32Array([0.5, 0.1, -2, 7]));
  assert.deepEqual(withHeader.labels, new Int32Array([3, 0]));
  assert.equal(withHeader.labelNames, undefined);

  const bare = parseNumericCsv("1,2\r\n\r\n3,4\r\n", "b.csv");
  assert.equal(bare.hasHeader, false);
  assert.deepEqual(bare.shape, [2, 2]);
  assert.deepEqual(bare.data, new Float32Array([1, 2, 3, 4]));
  assert.equal(bare.labels, undefined);

  const named = parseNumericCsv("\ufeffa,b,Label\n1,2,dog\n3,4,cat\n5,6,dog\n", "c.csv");
  assert.deepEqual(named.labelNames, ["cat", "dog"]);
  assert.deepEqual(named.labels, new Int32Array([1, 0, 1]));
});

test("CSV: a file on disk round trips the values written", () => {
  const file = fresh("data.csv");
  const values = [[0.25, 1, 2], [3, -4.5, 5]];
  fs.writeFileSync(file, "a,b,c,label\n" + values.map((r, i) => [...r, i].join(",")).join("\n") + "\n");
  const csv = readNumericCsv(file);
  assert.deepEqual(csv.data, new Float32Array(values.flat()));
  assert.deepEqual(csv.labels, new Int32Array([0, 1]));
});

test("CSV: non-numeric cells and ragged rows fail with the row and column as in the file", () => {
  const cases: [string, string, ...string[]][] = [
    ["cell.csv", "a,b,c\n1,2,3\n\n4,5,6\n7,8,abc\n", 'row 5, column 3: "abc" is not a number'],
    ["nohead.csv", "1,2\n3,x\n", 'row 2, column 2: "x" is not a number'],
    ["multiline.csv", 'a,b\n"1",2\n"3\n",4\n\n5,x\n', 'row 6, column 2: "x" is not a number'],
    ["short.csv", "a,b,c\n1,2,3\n4,5\n", "row 3, column 3: missing value", "has 2 columns", "row 1 has 3"],
    ["long.csv", "1,2\n3,4,5\n", "row 2, column 3: unexpected extra value"],
    ["empty-cell.csv", "a,b\n1,\n", "row 2, column 2: empty cell"],
    ["hex.csv", "a,b\n1,0x10\n", 'row 2, column 2: "0x10" is not a number'],
    ["inf.csv", "a,b\n1,Infinity\n", "row 2, column 2"],
    ["quote.csv", 'a,b\n1,"2\n', "not valid CSV"],
    ["empty.csv", "", "no rows"],
    ["only-header.csv", "a,b\n", "no data rows"],
  ];
  for (const [name, text, ...parts] of cases) {
    const file = fresh(name);
    fs.writeFileSync(file, text);
    failsWith(() => readNumericCsv(file), `${file}: `, ...parts);
  }
});

// ---- PNG ---------------------------------------------------------------------------------------

test("PNG: encode/decode round trip for 1, 3 and 4 channels", () => {
  for (const channels of [1, 3, 4] as const) {
    const img = { width: 5, height: 3, channels, data: Uint8Array.from({ length: 15 * channels }, (_, i) => (i * 37) % 256) };
    assert.deepEqual(decodePng(encodePng(img)), img);
  }
  failsWith(() => decodePng(new Uint8Array([1, 2, 3]), "junk.png"), "junk.png: not a valid PNG");
});

test("PNG: 16-bit, palette and 1/4-bit grey images decode to 8 bits per channel", () => {
  const decode = (img: Parameters<typeof fastPngEncode>[0]) => [...decodePng(fastPngEncode(img)).data];
  assert.deepEqual(decode({ width: 2, height: 1, channels: 3, depth: 16, data: new Uint16Array([0, 65535, 257, 32896, 1000, 65000]) }),
    [0, 255, 1, 128, 4, 253]);
  assert.deepEqual(decode({ width: 3, height: 1, channels: 1, depth: 8, data: new Uint8Array([0, 1, 0]), palette: [[10, 20, 30], [200, 100, 50]] }),
    [10, 20, 30, 200, 100, 50, 10, 20, 30]);
  // Rows of packed bits start on a byte: width 10 at 1 bit is 2 bytes a row.
  assert.deepEqual(decode({ width: 10, height: 2, channels: 1, depth: 1, data: new Uint8Array([0b10100000, 0b01000000, 0xff, 0xc0]) }),
    [255, 0, 255, 0, 0, 0, 0, 0, 0, 255, ...new Array(10).fill(255)]);
  assert.deepEqual(decode({ width: 3, height: 1, channels: 1, depth: 4, data: new Uint8Array([0x0f, 0x80]) }), [0, 255, 136]);
});

test("PNG folder: sub-folders are labels, sorted; values in [0, 1] as [N, C, H, W]", () => {
  const dir = fresh("pngs");
  const grey = (v: number) => ({ width: 2, height: 2, channels: 1 as const, data: new Uint8Array([v, 0, 0, 255]) });
  for (const [label, files] of [["zebra", ["b.png", "a.png"]], ["ant", ["x.png"]]] as const) {
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    files.forEach((f, i) => writePng(path.join(dir, label, f), grey(51 * (i + 1))));
  }
  fs.writeFileSync(path.join(dir, "zebra", "notes.txt"), "ignored");
  const out = readPngFolder(dir);
  assert.deepEqual(out.shape, [3, 1, 2, 2]);
  assert.deepEqual(out.labelNames, ["ant", "zebra"]);
  assert.deepEqual(out.labels, new Int32Array([0, 1, 1]));
  assert.deepEqual(out.files.map((f) => path.relative(dir, f)), ["ant/x.png", "zebra/a.png", "zebra/b.png"]);
  assert.deepEqual(out.images, new Float32Array([0.2, 0, 0, 1, 0.4, 0, 0, 1, 0.2, 0, 0, 1]));
});

test("PNG folder: colour makes C = 3, grey is repeated, alpha composites over black", () => {
  const dir = fresh("mixed");
  fs.mkdirSync(dir);
  writePng(path.join(dir, "1.png"), { width: 1, height: 1, channels: 4, data: new Uint8Array([255, 102, 0, 51]) });
  writePng(path.join(dir, "2.png"), { width: 1, height: 1, channels: 2, data: new Uint8Array([255, 255]) });
  const out = readPngFolder(dir);
  assert.deepEqual(out.shape, [2, 3, 1, 1]);
  assert.equal(out.labels, undefined);
  const expected = [0.2, 0.4 * 0.2, 0, 1, 1, 1];
  out.images.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${i}: ${v} vs ${expected[i]}`));
});

test("PNG folder: mixed sizes, no images, images beside label folders fail clearly", () => {
  const dir = fresh("sizes");
  fs.mkdirSync(dir);
  writePng(path.join(dir, "a.png"), { width: 28, height: 28, channels: 1, data: new Uint8Array(784) });
  writePng(path.join(dir, "b.png"), { width: 32, height: 28, channels: 1, data: new Uint8Array(32 * 28) });
  failsWith(() => readPngFolder(dir), path.join(dir, "b.png"), "32x28", path.join(dir, "a.png"), "28x28", "same size");

  const empty = fresh("empty");
  fs.mkdirSync(empty);
  failsWith(() => readPngFolder(empty), empty, "no PNG images");
  failsWith(() => readPngFolder(path.join(empty, "nope")), "nope", "no such file");

  fs.mkdirSync(path.join(dir, "cats"));
  failsWith(() => readPngFolder(dir), dir, "both images", "sub-folders");

  const broken = fresh("broken");
  fs.mkdirSync(broken);
  fs.writeFileSync(path.join(broken, "x.png"), "not a png");
  failsWith(() => readPngFolder(broken), path.join(broken, "x.png"), "not a valid PNG");
});
