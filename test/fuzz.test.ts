// A seeded mutation fuzzer for every parser that reads user files: IDX (plain and gzip), CSV, NPY,
// PNG, safetensors, torch.save state dicts and a run's config.json. Each starts from a valid file and mutates it (bit flips,
// interesting bytes, overwritten header fields, cuts, repeats, insertions); the parser must either
// return or throw a one-line LatentkitError, within a time bound per input and a memory bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { LatentkitError } from "../src/io/errors.js";
import { encodeIdx, decodeIdx } from "../src/io/idx.js";
import { parseNumericCsv } from "../src/io/csv.js";
import { encodeNpy, decodeNpy } from "../src/io/npy.js";
import { encodePng, decodePng } from "../src/io/png.js";
import { encodeSafetensors, decodeSafetensors } from "../src/io/safetensors-bytes.js";
import { parseRunConfig } from "../src/api/model.js";
import { encodeTorchStateDict, decodeTorchStateDict } from "../src/io/torch-pt.js";
import { seededRandom } from "./helpers/numeric.js";

const CASES = 2500; // per parser and seed input
const TIME_BOUND_MS = 2000;
const MEMORY_BOUND = 1.5 * 2 ** 30; // RSS growth over the whole run of one parser

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x10, 0x7e];

/** One mutation of `input`, drawn from `rand`. */
function mutate(input: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  let out = Uint8Array.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(Math.max(out.length, 1));
    switch (pick(7)) {
      case 0: out[at] ^= 1 << pick(8); break; // bit flip
      case 1: out[at] = INTERESTING[pick(INTERESTING.length)]; break;
      case 2: { // a 32-bit field overwritten with an extreme value (sizes, lengths, counts)
        const v = [0, 0xffffffff, 0x7fffffff, 0x80000000, 1 << 20, 30000][pick(6)];
        for (let k = 0; k < 4 && at + k < out.length; k++) out[at + k] = (v >>> (8 * (rand() < 0.5 ? k : 3 - k))) & 0xff;
        break;
      }
      case 3: out = out.slice(0, at); break; // cut
      case 4: { // a slice repeated
        const end = Math.min(out.length, at + pick(64));
        const piece = out.slice(at, end);
        const grown = new Uint8Array(out.length + piece.length);
        grown.set(out.subarray(0, end)); grown.set(piece, end); grown.set(out.subarray(end), end + piece.length);
        out = grown;
        break;
      }
      case 5: { // random bytes inserted
        const extra = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
        out = Uint8Array.from([...out.subarray(0, at), ...extra, ...out.subarray(at)]);
        break;
      }
      default: out[at] = pick(256);
    }
  }
  return out;
}

/** Runs `parse` on CASES mutations of each seed; asserts the error type, a time bound and a memory bound. */
function fuzz(name: string, seeds: Uint8Array[], parse: (bytes: Uint8Array) => unknown, seed = 1): { ok: number; refused: number } {
  const rand = seededRandom(seed);
  const rss0 = process.memoryUsage().rss;
  let ok = 0, refused = 0;
  for (const input of seeds) {
    for (let i = 0; i < CASES; i++) {
      const bytes = mutate(input, rand);
      const started = performance.now();
      try {
        parse(bytes);
        ok++;
      } catch (e) {
        if (!(e instanceof LatentkitError)) {
          assert.fail(`${name}: case ${i}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} (bytes: ${Buffer.from(bytes.subarray(0, 64)).toString("hex")}...)`);
        }
        assert.ok(!e.message.includes("\n"), `${name}: one line: ${e.message}`);
        refused++;
      }
      const took = performance.now() - started;
      assert.ok(took < TIME_BOUND_MS, `${name}: case ${i} took ${took.toFixed(0)} ms`);
      const grew = process.memoryUsage().rss - rss0;
      assert.ok(grew < MEMORY_BOUND, `${name}: case ${i}: RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
    }
  }
  assert.ok(refused > CASES / 10, `${name}: mutations were refused (${refused}) as well as read (${ok})`);
  return { ok, refused };
}

const rand = seededRandom(99);
const images = Uint8Array.from({ length: 3 * 6 * 5 }, () => Math.floor(rand() * 256));
const idx = encodeIdx({ shape: [3, 6, 5], data: images });

test("fuzz: IDX, plain and gzip-compressed", () => {
  fuzz("idx", [idx, encodeIdx({ shape: [7], data: new Uint8Array(7) })], (b) => decodeIdx(b, "x.idx"));
  fuzz("idx.gz", [new Uint8Array(zlib.gzipSync(idx))], (b) => decodeIdx(b, "x.idx.gz"), 2);
});

test("fuzz: CSV", () => {
  const text = "label,a,b,c,d\n1,0.5,0.25,1,0\n0,1,0,0.75,0.125\n";
  fuzz("csv", [new TextEncoder().encode(text)], (b) => parseNumericCsv(new TextDecoder().decode(b), "x.csv"));
});

test("fuzz: NPY", () => {
  const f32 = encodeNpy({ shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => i / 18) });
  const u8 = encodeNpy({ shape: [4, 5], data: Uint8Array.from({ length: 20 }, (_, i) => i) });
  fuzz("npy", [f32, u8], (b) => decodeNpy(b, "x.npy"));
});

test("fuzz: PNG", () => {
  const grey = encodePng({ width: 6, height: 5, channels: 1, data: images.subarray(0, 30) });
  const rgba = encodePng({ width: 3, height: 2, channels: 4, data: images.subarray(0, 24) });
  fuzz("png", [grey, rgba], (b) => decodePng(b, "x.png"));
});

test("fuzz: safetensors", () => {
  const st = encodeSafetensors({
    "encoder.0.weight": { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    "encoder.0.bias": { dtype: "F32", shape: [2], data: Float32Array.from([0.5, -0.5]) },
  }, { step: "3" });
  fuzz("safetensors", [st], (b) => decodeSafetensors(b, "model.safetensors"));
});

test("fuzz: a torch.save state dict (zip + pickle)", () => {
  const pt = encodeTorchStateDict({
    "encoder.0.weight": { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    "encoder.0.bias": { shape: [2], data: Float32Array.from([0.5, -0.5]) },
  });
  fuzz("torch .pt", [pt], (b) => decodeTorchStateDict(b, "model.pt"), 3);
});

test("fuzz: a run's config.json", () => {
  const config = { model: "vae", latent: 4, hidden: [16], epochs: 2, batchSize: 10, data: { imageShape: [1, 28, 28], numClasses: 4 } };
  fuzz("config.json", [new TextEncoder().encode(JSON.stringify(config))], (b) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(b));
    } catch (e) {
      throw new LatentkitError(`config.json: not valid JSON (${(e as Error).message})`); // as readJsonFile does
    }
    return parseRunConfig(parsed as Record<string, unknown>);
  });
});

test("hostile headers are refused before the work they ask for", () => {
  // A gzip IDX whose header claims 2^47 values: refused from the header, nothing inflated.
  const header = new Uint8Array([0, 0, 8, 3, 0, 0x80, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0]);
  const bomb = zlib.gzipSync(Buffer.concat([header, Buffer.alloc(8 << 20)]));
  const rss = process.memoryUsage().rss;
  assert.throws(() => decodeIdx(bomb, "bomb.gz"), (e: Error) => e instanceof LatentkitError && /bomb\.gz: the IDX header declares \d+ values, which exceeds the limit of 1073741824 \(set LATENTKIT_MAX_DATA_BYTES/.test(e.message));
  // A gzip IDX that inflates past what its header declares: stopped there.
  const liar = zlib.gzipSync(Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 10]), Buffer.alloc(64 << 20)]));
  assert.throws(() => decodeIdx(liar, "liar.gz"), /liar\.gz: decompresses to more than the 18 bytes its IDX header declares/);
  assert.ok(process.memoryUsage().rss - rss < 200 * 2 ** 20, "neither was inflated in full");
  // A PNG that claims 134M x 1 pixels: refused from its IHDR.
  const png = encodePng({ width: 4, height: 1, channels: 1, data: new Uint8Array(4) });
  new DataView(png.buffer, png.byteOffset).setUint32(16, 134_000_000, false);
  assert.throws(() => decodePng(png, "wide.png"), /wide\.png: a 134000000x1 image \(134000000 pixels\) exceeds the limit of 16777216 \(set LATENTKIT_MAX_IMAGE_PIXELS/);
  process.env.LATENTKIT_MAX_IMAGE_PIXELS = "2";
  try {
    assert.throws(() => decodePng(encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }), "small.png"), /exceeds the limit of 2/);
  } finally {
    delete process.env.LATENTKIT_MAX_IMAGE_PIXELS;
  }
});
