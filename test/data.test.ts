// The data layer: named data sets on ../shared/data ($LATENTKIT_DATA), path data sets, the loader,
// binarization, downloads (offline, wrong and right checksums) and `datasets --json`.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as net from "node:net";
import { init, toData } from "../src/engine/index.js";
import { LatentkitError } from "../src/io/errors.js";
import { encodeIdx, decodeIdx, readIdx } from "../src/io/idx.js";
import { writeNpy } from "../src/io/npy.js";
import { writePng } from "../src/io/png.js";
import {
  loadDataset, loadDatasetSync, requireSplit, withValidSplit, dataRoot, locateNamed, makeSplit, concatSplits, NAMED_DATASETS,
} from "../src/data/index.js";
import { batches, hostBatches, epochOrder, batchesPerEpoch } from "../src/data/loader.js";
import { binarizeBatch, parseBinarizeMode } from "../src/data/binarize.js";
import { downloadFile, ensureFiles, amatToIdx, sha256Hex, type Fetcher } from "../src/data/download.js";
import { listDatasets } from "../src/data/list.js";
import { DATA_DIR, hasData, needsData } from "./helpers/data.js";
import { tempDir } from "./helpers/tmp.js";

// Tests of the real sets skip (naming the set) when $LATENTKIT_DATA does not hold them.
const DATA = path.resolve(DATA_DIR ?? "/nonexistent"); // the registry reports absolute paths, whatever LATENTKIT_DATA was
await init();

const tmp = tempDir("latentkit-data-");
const freshDir = (name: string) => fs.mkdtempSync(path.join(tmp, name + "-"));
/** Files in a folder (none when it does not exist), hidden temporary files included. */
const filesIn = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

// Each gzip IDX set is parsed once per file.
const lazy = <T>(make: () => T): (() => T) => { let v: T | undefined; return () => (v ??= make()); };
const fashionSet = lazy(() => loadDatasetSync("fashion-mnist"));
const binarizedSet = lazy(() => loadDatasetSync("binarized-mnist"));
const mnistSet = lazy(() => loadDatasetSync("mnist"));

test("binarized-mnist: 50,000 / 10,000 / 10,000, values 0 or 1, no labels", { skip: needsData("binarized-mnist") }, () => {
  const { train, valid, test: tst } = binarizedSet().splits;
  assert.deepEqual([train?.n, valid?.n, tst?.n], [50000, 10000, 10000]);
  assert.deepEqual(binarizedSet().imageShape, [1, 28, 28]);
  assert.equal(binarizedSet().binary, true);
  assert.equal(binarizedSet().numClasses, undefined);
  for (const s of [train!, valid!, tst!]) {
    assert.equal(s.labels, undefined);
    assert.ok(s.pixels.every((v) => v === 0 || v === 1));
  }
  const x = tst!.batch([0, 1, 9999]);
  assert.equal(x.length, 3 * 784);
  assert.ok(x.every((v) => v === 0 || v === 1) && x.some((v) => v === 1));
  assert.equal(withValidSplit(binarizedSet()), binarizedSet(), "a data set with a valid split keeps it");
});

test("fashion-mnist: 60,000 / 10,000 with labels 0..9, pixels in [0, 1]", { skip: needsData("fashion-mnist") }, () => {
  const { train, valid, test: tst } = fashionSet().splits;
  assert.equal(train?.n, 60000);
  assert.equal(tst?.n, 10000);
  assert.equal(valid, undefined);
  assert.equal(fashionSet().numClasses, 10);
  assert.equal(fashionSet().labelNames?.[9], "Ankle boot");
  assert.ok(train!.pixels instanceof Uint8Array, "compact uint8 storage");
  for (const s of [train!, tst!]) {
    const counts = new Array(10).fill(0);
    for (const c of s.labels!) counts[c]++;
    assert.ok(counts.every((k) => k === s.n / 10), "balanced classes 0..9");
  }
  assert.deepEqual([...tst!.labels!.subarray(0, 4)], [9, 2, 1, 1]);
  const x = train!.batch([0, 59999]);
  assert.ok(x.every((v) => v >= 0 && v <= 1));
  assert.equal(Math.max(...x), 1);
  assert.ok(x.some((v) => v > 0 && v < 1), "grey levels");
});

test("a valid split is carved from the last 10% of train", { skip: needsData("fashion-mnist") }, () => {
  const ds = withValidSplit(fashionSet());
  assert.equal(ds.splits.train!.n, 54000);
  assert.equal(ds.splits.valid!.n, 6000);
  assert.deepEqual(ds.validCarved, { fraction: 0.1, from: 54000 });
  assert.deepEqual(ds.splits.valid!.batch([0]), fashionSet().splits.train!.batch([54000]));
  assert.deepEqual(ds.splits.valid!.labels![5999], fashionSet().splits.train!.labels![59999]);
  assert.equal(ds.splits.test, fashionSet().splits.test);
});

test("concatSplits: the examples and labels of one split, then the other's, in one store; shapes must match", { skip: needsData("fashion-mnist") }, () => {
  const carved = withValidSplit(fashionSet());
  const joined = concatSplits(carved.splits.train!, carved.splits.valid!);
  assert.equal(joined.n, 60000);
  const at = [0, 53999, 54000, 59999];
  assert.deepEqual(joined.batch(at), fashionSet().splits.train!.batch(at));
  assert.deepEqual([...joined.labels!.subarray(53998, 54002)], [...fashionSet().splits.train!.labels!.subarray(53998, 54002)]);
  assert.throws(() => concatSplits(joined, makeSplit(new Uint8Array(4), [1, 2, 2])), /cannot join splits/);
});

test("mnist: test 10,000 is read, train is reported missing without a crash", { skip: needsData("mnist") }, () => {
  assert.equal(mnistSet().splits.test?.n, 10000);
  assert.deepEqual([...mnistSet().splits.test!.labels!.subarray(0, 4)], [7, 2, 1, 0]);
  assert.equal(mnistSet().splits.train, undefined);
  assert.deepEqual(mnistSet().missing, [path.join(DATA, "mnist", "train-images-idx3-ubyte.gz")]);
  assert.throws(() => requireSplit(mnistSet(), "train"), (e: Error) =>
    e instanceof LatentkitError && /no train split/.test(e.message) && e.message.includes("train-images-idx3-ubyte.gz"));
  assert.equal(withValidSplit(mnistSet()).splits.valid, undefined, "nothing to carve from");
});

test("only the requested splits are read", { skip: needsData("mnist") }, () => {
  const ds = loadDatasetSync("mnist", { splits: ["test"] });
  assert.equal(ds.missing, undefined, "train is not wanted, so nothing is missing");
  assert.equal(ds.splits.test?.n, 10000);
});

test("data folders: --data-dir, else $LATENTKIT_DATA, else ~/.cache/latentkit/datasets", { skip: needsData("mnist") }, () => {
  const saved = process.env.LATENTKIT_DATA;
  try {
    assert.equal(dataRoot("/x/y"), "/x/y");
    assert.equal(dataRoot(), path.resolve(DATA));
    delete process.env.LATENTKIT_DATA;
    assert.equal(dataRoot(), path.join(os.homedir(), ".cache", "latentkit", "datasets"));
  } finally {
    process.env.LATENTKIT_DATA = saved;
  }
  const loc = locateNamed("fashion-mnist", { dataDir: "/nonexistent" });
  assert.deepEqual(loc.folders, ["/nonexistent/fashion-mnist", "/usr/share/datasets/fashion-mnist"]);
  // an uncompressed file counts as well as the .gz
  const dir = freshDir("raw");
  fs.mkdirSync(path.join(dir, "mnist"));
  fs.writeFileSync(path.join(dir, "mnist", "t10k-labels-idx1-ubyte"), zlib.gunzipSync(fs.readFileSync(path.join(DATA, "mnist", "t10k-labels-idx1-ubyte.gz"))));
  fs.copyFileSync(path.join(DATA, "mnist", "t10k-images-idx3-ubyte.gz"), path.join(dir, "mnist", "t10k-images-idx3-ubyte.gz"));
  const ds = loadDatasetSync("mnist", { dataDir: dir, splits: ["test"] });
  assert.deepEqual(ds.splits.test!.labels, mnistSet().splits.test!.labels);
});

test("path data sets: IDX with its labels sibling, .npy, .csv, a PNG folder", () => {
  const dir = freshDir("paths");
  // IDX [N, H, W] 0..255 with a labels file beside it
  const img = new Uint8Array(3 * 4 * 4).map((_, i) => (i * 37) % 256);
  fs.writeFileSync(path.join(dir, "toy-images-idx3-ubyte.gz"), encodeIdx({ shape: [3, 4, 4], data: img }, true));
  fs.writeFileSync(path.join(dir, "toy-labels-idx1-ubyte"), encodeIdx({ shape: [3], data: new Uint8Array([2, 0, 1]) }));
  const idx = loadDatasetSync(path.join(dir, "toy-images-idx3-ubyte.gz"));
  assert.deepEqual(idx.imageShape, [1, 4, 4]);
  assert.deepEqual([...idx.splits.train!.labels!], [2, 0, 1]);
  assert.equal(idx.numClasses, 3);
  assert.ok(Math.abs(idx.splits.train!.batch([0])[1] - 37 / 255) < 1e-7);
  assert.equal(idx.splits.valid, undefined);
  assert.equal(loadDatasetSync(path.join(dir, "toy-images-idx3-ubyte.gz"), { carveValid: true }).splits.valid!.n, 1);

  // .npy: [N, D] with D = k*k -> k x k; other D -> 1 x 1 x D; [N, H, W]; [N, C, H, W]; 0..255 floats scaled
  writeNpy(path.join(dir, "sq.npy"), { shape: [2, 16], data: new Float32Array(32).fill(0.25) });
  writeNpy(path.join(dir, "vec.npy"), { shape: [2, 5], data: new Float64Array(10).fill(1) });
  writeNpy(path.join(dir, "hw.npy"), { shape: [2, 3, 5], data: new Uint8Array(30).fill(255) });
  writeNpy(path.join(dir, "chw.npy"), { shape: [2, 3, 4, 4], data: new Float32Array(96).fill(51) });
  writeNpy(path.join(dir, "bad.npy"), { shape: [1, 4], data: new Float32Array([0, 1, 2, 300]) });
  assert.deepEqual(loadDatasetSync(path.join(dir, "sq.npy")).imageShape, [1, 4, 4]);
  const vec = loadDatasetSync(path.join(dir, "vec.npy"));
  assert.deepEqual(vec.imageShape, [1, 1, 5]);
  assert.equal(vec.binary, true);
  assert.deepEqual(loadDatasetSync(path.join(dir, "hw.npy")).imageShape, [1, 3, 5]);
  const chw = loadDatasetSync(path.join(dir, "chw.npy"));
  assert.deepEqual(chw.imageShape, [3, 4, 4]);
  assert.ok(Math.abs(chw.splits.train!.batch([1])[0] - 0.2) < 1e-6);
  assert.throws(() => loadDatasetSync(path.join(dir, "bad.npy")), (e: Error) => e instanceof LatentkitError && /\[0, 1\] or \[0, 255\]/.test(e.message));

  // .csv with a label column
  fs.writeFileSync(path.join(dir, "t.csv"), "a,b,label,c\n0,0.5,cat,1\n1,0.25,dog,0\n");
  const csv = loadDatasetSync(path.join(dir, "t.csv"));
  assert.deepEqual(csv.imageShape, [1, 1, 3]);
  assert.deepEqual([...csv.splits.train!.labels!], [0, 1]);
  assert.deepEqual(csv.labelNames, ["cat", "dog"]);
  assert.deepEqual([...csv.splits.train!.batch([1])], [1, 0.25, 0]);

  // a PNG folder with sub-folders as labels
  for (const [label, v] of [["a", 0], ["b", 255]] as const) {
    fs.mkdirSync(path.join(dir, "png", label), { recursive: true });
    writePng(path.join(dir, "png", label, "1.png"), { width: 3, height: 2, channels: 1, data: new Uint8Array(6).fill(v) });
  }
  const png = loadDatasetSync(path.join(dir, "png"));
  assert.deepEqual(png.imageShape, [1, 2, 3]);
  assert.deepEqual(png.labelNames, ["a", "b"]);
  assert.deepEqual([...png.splits.train!.batch([1, 0])], [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);

  // neither a name nor a path
  assert.throws(() => loadDatasetSync("no-such-set"), (e: Error) =>
    e instanceof LatentkitError && !e.message.includes("\n") && /unknown data set/.test(e.message) && e.message.includes("fashion-mnist"));
  fs.writeFileSync(path.join(dir, "notes.txt"), "hello");
  assert.throws(() => loadDatasetSync(path.join(dir, "notes.txt")), LatentkitError);
});

// ---- loader ----

const toy = makeSplit(Uint8Array.from({ length: 10 * 4 }, (_, i) => (i * 13) % 256), [1, 2, 2], {
  scale: 1 / 255, labels: Int32Array.from({ length: 10 }, (_, i) => i % 3),
});
const orderOf = (opts: Parameters<typeof hostBatches>[1]) => [...hostBatches(toy, opts)].flatMap((b) => [...b.indices]);

test("loader: the same seed gives the same order, other epochs and seeds another one", () => {
  const a = orderOf({ batchSize: 4, seed: 1, epoch: 0 });
  assert.deepEqual(a, orderOf({ batchSize: 3, seed: 1, epoch: 0 }), "the order does not depend on the batch size");
  assert.deepEqual([...a].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(a, orderOf({ batchSize: 4, seed: 1, epoch: 1 }));
  assert.notDeepEqual(a, orderOf({ batchSize: 4, seed: 2, epoch: 0 }));
  assert.deepEqual(orderOf({ batchSize: 4, shuffle: false }), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const big = epochOrder(60000, { seed: 3, epoch: 7 });
  assert.deepEqual(big, epochOrder(60000, { seed: 3, epoch: 7 }));
  assert.equal(new Set(big).size, 60000);
});

test("loader: a resumed epoch gives the same remaining batches", () => {
  const opts = { batchSize: 3, seed: 5, epoch: 2, binarize: "dynamic" as const };
  const full = [...hostBatches(toy, opts)];
  const rest = [...hostBatches(toy, { ...opts, startAt: full[1].end })];
  assert.equal(rest.length, full.length - 2);
  rest.forEach((b, i) => {
    assert.deepEqual(b.indices, full[i + 2].indices);
    assert.deepEqual(b.x, full[i + 2].x);
    assert.deepEqual(b.labels, full[i + 2].labels);
    assert.equal(b.start, full[i + 2].start);
  });
});

test("loader: the last partial batch is kept or dropped", () => {
  assert.deepEqual([...hostBatches(toy, { batchSize: 4 })].map((b) => b.indices.length), [4, 4, 2]);
  assert.deepEqual([...hostBatches(toy, { batchSize: 4, dropLast: true })].map((b) => b.indices.length), [4, 4]);
  assert.equal(batchesPerEpoch(10, 4), 3);
  assert.equal(batchesPerEpoch(10, 4, true), 2);
  assert.deepEqual([...hostBatches(toy, { batchSize: 4, shuffle: false, limit: 5 })].map((b) => [...b.indices]), [[0, 1, 2, 3], [4]]);
});

test("loader: engine batches [B, C, H, W] or flat, int labels and one-hot", () => {
  const it = batches(toy, { batchSize: 4, shuffle: false, oneHot: true, numClasses: 3 });
  const b = it.next().value!;
  assert.deepEqual(b.x.shape, [4, 1, 2, 2]);
  assert.equal(b.x.dtype, "float32");
  assert.deepEqual(toData(b.x), toy.batch([0, 1, 2, 3]));
  assert.equal(b.y!.dtype, "int32");
  assert.deepEqual([...toData(b.y!)], [0, 1, 2, 0]);
  assert.deepEqual(b.yOneHot!.shape, [4, 3]);
  assert.deepEqual([...toData(b.yOneHot!)], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]);
  it.return(undefined);
  const flat = batches(toy, { batchSize: 10, flatten: true }).next().value!;
  assert.deepEqual(flat.x.shape, [10, 4]);
  flat.x.dispose();
  flat.y!.dispose();
  assert.throws(() => batches(makeSplit(new Uint8Array(4), [1, 2, 2]), { batchSize: 1, oneHot: true, numClasses: 2 }).next(), /labels/);
});

test("binarization: none, static at 0.5, dynamic Bernoulli fixed by (seed, epoch, example)", () => {
  const p = Float32Array.from({ length: 2000 }, (_, i) => (i % 100) / 99);
  assert.deepEqual(binarizeBatch(p.slice(), [0, 1], "none"), p);
  const st = binarizeBatch(p.slice(), [0, 1], "static");
  assert.ok(st.every((v, i) => v === (p[i] > 0.5 ? 1 : 0)));
  const d1 = binarizeBatch(p.slice(), [7, 8], "dynamic", { seed: 1, epoch: 3 });
  assert.ok(d1.every((v) => v === 0 || v === 1));
  assert.deepEqual(binarizeBatch(p.slice(), [7, 8], "dynamic", { seed: 1, epoch: 3 }), d1, "deterministic");
  // the row of example 8 does not depend on the batch it is in
  const alone = binarizeBatch(p.slice(1000), [8], "dynamic", { seed: 1, epoch: 3 });
  assert.deepEqual(alone, d1.slice(1000));
  assert.notDeepEqual(binarizeBatch(p.slice(), [7, 8], "dynamic", { seed: 1, epoch: 4 }), d1, "redrawn each epoch");
  assert.notDeepEqual(binarizeBatch(p.slice(), [7, 8], "dynamic", { seed: 2, epoch: 3 }), d1);
  // a Bernoulli(p) draw: 0 and 1 kept, the mean follows p
  assert.ok(d1.every((v, i) => (p[i] === 0 ? v === 0 : p[i] === 1 ? v === 1 : true)));
  const mean = d1.reduce((a, b) => a + b, 0) / d1.length;
  assert.ok(Math.abs(mean - 0.5) < 0.04, `mean ${mean}`);
  assert.equal(parseBinarizeMode("dynamic"), "dynamic");
  assert.throws(() => parseBinarizeMode("soft"), LatentkitError);
});

// ---- downloads ----

const sharedFetch = (dir: string): Fetcher => async (url) => new Uint8Array(fs.readFileSync(path.join(DATA, dir, path.basename(url))));
const offline: Fetcher = async () => {
  throw new TypeError("fetch failed", { cause: { code: "ENOTFOUND" } });
};

test("offline: one clear line naming the missing files and the folder, nothing left behind", async () => {
  const dir = freshDir("offline");
  let calls = 0;
  const counted: Fetcher = (url) => (calls++, offline(url));
  await assert.rejects(loadDataset("mnist", { dataDir: dir, download: true, fetch: counted }), (e: Error) => {
    assert.ok(e instanceof LatentkitError);
    assert.ok(!e.message.includes("\n"));
    for (const f of ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
      assert.ok(e.message.includes(f), f);
    assert.ok(e.message.includes(path.join(dir, "mnist")), "where to put them");
    assert.match(e.message, /ENOTFOUND/);
    assert.match(e.message, /--data-dir/);
    return true;
  });
  assert.equal(calls, 2, "one failed connection per mirror host, not per file");
  assert.deepEqual(filesIn(path.join(dir, "mnist")), []);
  // Node's own fetch against a closed port: the real offline path
  const server = net.createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((ok) => server.close(ok));
  const url = `http://127.0.0.1:${port}/x.gz`;
  const rf = { file: "x.gz", urls: [url, url], sha256: ["0"] };
  await assert.rejects(downloadFile(path.join(dir, "real"), rf), (e: Error) =>
    e.message === `${url}: fetch failed: ECONNREFUSED; ${url}: 127.0.0.1:${port} unreachable`);
  assert.deepEqual(filesIn(path.join(dir, "real")), []);
});

test("a download with the wrong checksum is rejected and leaves nothing", async () => {
  const dir = freshDir("badsum");
  const junk: Fetcher = async () => new Uint8Array(zlib.gzipSync(encodeIdx({ shape: [10000], data: new Uint8Array(10000) })));
  await assert.rejects(loadDataset("mnist", { dataDir: dir, splits: ["test"], download: true, fetch: junk }), (e: Error) =>
    e instanceof LatentkitError && /checksum mismatch/.test(e.message) && e.message.includes("t10k-labels-idx1-ubyte.gz"));
  assert.deepEqual(filesIn(path.join(dir, "mnist")), []);
});

test("a download with the right checksum is stored (mirrors tried in order) and loads", { skip: needsData("mnist") }, async () => {
  const dir = freshDir("goodsum");
  const tried: string[] = [];
  const fetcher: Fetcher = async (url) => {
    tried.push(url);
    if (url.startsWith(NAMED_DATASETS.mnist.files[0].urls[0].slice(0, 20))) throw new Error("HTTP 503");
    return sharedFetch("mnist")(url);
  };
  const ds = await loadDataset("mnist", { dataDir: dir, splits: ["test"], download: true, fetch: fetcher });
  assert.equal(ds.splits.test!.n, 10000);
  assert.deepEqual(ds.splits.test!.labels, mnistSet().splits.test!.labels);
  assert.equal(tried.length, 4, "two files, first mirror down");
  assert.deepEqual(filesIn(path.join(dir, "mnist")).sort(), ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]);
  // present files are not fetched again
  await ensureFiles("mnist", path.join(dir, "mnist"), NAMED_DATASETS.mnist.files.filter((f) => f.split === "test"), { fetch: offline });
});

test("binarized MNIST: Larochelle's .amat text is converted to IDX and verified", { skip: needsData("binarized-mnist") }, async () => {
  const ref = readIdx(path.join(DATA, "binarized-mnist", "valid-images-idx3-ubyte.gz"));
  const lines: string[] = [];
  for (let i = 0; i < 10000; i++) lines.push(ref.data.subarray(i * 784, (i + 1) * 784).join(" "));
  const amat = new TextEncoder().encode(lines.join("\n") + "\n");
  const small = decodeIdx(amatToIdx(new TextEncoder().encode("0 1 1.0 0\r\n1 0 0 0.000\n\n"), 2));
  assert.deepEqual([small.shape, [...small.data]], [[2, 2, 2], [0, 1, 1, 0, 1, 0, 0, 0]]);
  assert.throws(() => amatToIdx(new TextEncoder().encode("0 1 2 0\n"), 2), /line 1/);
  const dir = freshDir("amat");
  const files = NAMED_DATASETS["binarized-mnist"].files.filter((f) => f.split === "valid");
  const served: string[] = [];
  await ensureFiles("binarized-mnist", path.join(dir, "binarized-mnist"), files, {
    fetch: async (url) => (served.push(url), amat),
  });
  assert.deepEqual(served, ["http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/binarized_mnist_valid.amat"]);
  const got = readIdx(path.join(dir, "binarized-mnist", "valid-images-idx3-ubyte.gz"));
  assert.deepEqual(got.shape, [10000, 28, 28]);
  assert.ok(Buffer.from(got.data).equals(Buffer.from(ref.data)));
  // one flipped pixel fails the check
  const flipped = amat.slice();
  flipped[0] = flipped[0] === 48 ? 49 : 48;
  const dir2 = freshDir("amat-bad");
  await assert.rejects(ensureFiles("binarized-mnist", path.join(dir2, "binarized-mnist"), files, { fetch: async () => flipped }), /checksum mismatch/);
  assert.deepEqual(filesIn(path.join(dir2, "binarized-mnist")), []);
  assert.equal(sha256Hex(new Uint8Array(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("listDatasets: availability and split sizes from the headers", { skip: needsData("mnist", "fashion-mnist", "binarized-mnist") }, () => {
  const list = listDatasets();
  const by = Object.fromEntries(list.map((d) => [d.name, d]));
  assert.deepEqual(Object.keys(by), ["sprites", "mnist", "fashion-mnist", "binarized-mnist"]);
  assert.deepEqual(by.sprites.splits, { train: 8192, valid: 1024, test: 1024 });
  assert.equal(by.sprites.available, true);
  assert.deepEqual(by["binarized-mnist"], { ...by["binarized-mnist"], available: true, path: path.join(DATA, "binarized-mnist"), splits: { train: 50000, valid: 10000, test: 10000 } });
  assert.deepEqual(by["fashion-mnist"].splits, { train: 60000, test: 10000 });
  assert.equal(by["fashion-mnist"].available, true);
  assert.equal(by.mnist.available, false);
  assert.deepEqual(by.mnist.splits, { test: 10000 });
  assert.deepEqual(by.mnist.missing, [path.join(DATA, "mnist", "train-images-idx3-ubyte.gz")]);
  for (const d of list) assert.deepEqual(JSON.parse(JSON.stringify(d)), d, "plain JSON");

  const empty = listDatasets({ dataDir: freshDir("empty") });
  assert.equal(empty.find((d) => d.name === "mnist")!.available, false);
  assert.deepEqual(empty.find((d) => d.name === "binarized-mnist")!.splits, {});
});
