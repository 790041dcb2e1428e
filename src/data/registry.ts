// Data sets by name (`sprites`, `mnist`, `fashion-mnist`, `binarized-mnist`) or by path (an IDX file, a
// .csv, a .npy, a folder of PNGs), all returned as one Dataset shape (dataset.ts).
//
// Where named sets are looked for: `<root>/<name>/<original file names>` with root = the dataDir option
// (--data-dir), else $LATENTKIT_DATA, else ~/.cache/latentkit/datasets; Fashion-MNIST also in
// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). Each file is taken from the first
// folder that has it, gzipped or not (`x.gz` or `x`); missing files are downloaded into `<root>/<name>`
// when asked (`download: true`), else their splits are reported missing.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LatentkitError, fileError } from "../io/errors.js";
import { readIdx } from "../io/idx.js";
import { readNpy } from "../io/npy.js";
import { readNumericCsv } from "../io/csv.js";
import { readPngFolder } from "../io/png.js";
import {
  makeSplit, withValidSplit, SPLIT_NAMES, VALID_FRACTION, type Dataset, type ImageShape, type SplitName,
} from "./dataset.js";
import { spritesDataset } from "./sprites.js";
import { ensureFiles, type Fetcher, type RemoteFile } from "./download.js";

export interface NamedFile extends RemoteFile {
  split: SplitName;
  role: "images" | "labels";
}

export interface NamedDataset {
  name: string;
  description: string;
  imageShape: ImageShape;
  numClasses?: number;
  labelNames?: string[];
  /** Pixels are 0/1 in the files (stored with scale 1, not 1/255). */
  binary: boolean;
  files: NamedFile[];
  /** Other folders that may hold the files (after the root). */
  extraFolders?: string[];
}

const MNIST_MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];
const FASHION_HOST = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
const LAROCHELLE = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/binarized_mnist_";

// Accepted sha256 per file: [the canonical host's .gz, the .gz stored in ../shared/data (README), the
// decompressed IDX content]. The content digest of every file but MNIST's train images was computed from
// ../shared/data (README: the MNIST test images there match the canonical raw file); MNIST's train images
// are checked against the canonical .gz digest only (published by torchvision, tfds and others).
// binarized-mnist: Larochelle's .amat files have no published digest; the IDX they convert to is checked
// against the content of the files in ../shared/data (so the conversion is verified end to end).
const mnistFiles = (mirrors: string[], sums: Record<string, string[]>): NamedFile[] =>
  (
    [
      ["train", "images", "train-images-idx3-ubyte.gz"],
      ["train", "labels", "train-labels-idx1-ubyte.gz"],
      ["test", "images", "t10k-images-idx3-ubyte.gz"],
      ["test", "labels", "t10k-labels-idx1-ubyte.gz"],
    ] as const
  ).map(([split, role, file]) => ({ split, role, file, urls: mirrors.map((m) => m + file), sha256: sums[file] }));

export const NAMED_DATASETS: Record<string, NamedDataset> = {
  mnist: {
    name: "mnist",
    description: "MNIST handwritten digits, 28x28 grey, 10 classes (train 60,000 / test 10,000)",
    imageShape: [1, 28, 28],
    numClasses: 10,
    labelNames: Array.from({ length: 10 }, (_, i) => String(i)),
    binary: false,
    files: mnistFiles(MNIST_MIRRORS, {
      "train-images-idx3-ubyte.gz": ["440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"],
      "train-labels-idx1-ubyte.gz": [
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
      ],
      "t10k-images-idx3-ubyte.gz": [
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "4d399fdcfa453c182fb5d8d7bb8359c40140c36f1f7eb9049fcff730ecc6817a",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
      ],
      "t10k-labels-idx1-ubyte.gz": [
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
      ],
    }),
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    description: "Fashion-MNIST clothing, 28x28 grey, 10 classes (train 60,000 / test 10,000)",
    imageShape: [1, 28, 28],
    numClasses: 10,
    labelNames: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    binary: false,
    extraFolders: ["/usr/share/datasets/fashion-mnist"],
    files: mnistFiles([FASHION_HOST], {
      "train-images-idx3-ubyte.gz": [
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
      ],
      "train-labels-idx1-ubyte.gz": [
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
      ],
      "t10k-images-idx3-ubyte.gz": [
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
      ],
      "t10k-labels-idx1-ubyte.gz": [
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
      ],
    }),
  },
  "binarized-mnist": {
    name: "binarized-mnist",
    description: "statically binarized MNIST of Larochelle & Murray (2011), 28x28 {0,1}, no labels (train 50,000 / valid 10,000 / test 10,000)",
    imageShape: [1, 28, 28],
    binary: true,
    files: (
      [
        ["train", "29c9b0e88796ccc980a814814e1c510c28ec9591af9ee53de6f5b6f5e7d19992", "0eae7dff54784fdce12433da8ed5d8549d4676c91740d78aa0b18fa99a8b96f2"],
        ["valid", "28dbb7038b093a1a7b05d5924828d5d992d9b61b780d40321a83edbfbaeba525", "1b017d51bf2733a6cbde62f26dd36be91c88ab4e95f8de9cdafadcb26fe9a852"],
        ["test", "2ec0710ee02fe07a3f8d2b6daec8e2aa068dced78b19a8cd6bc1cedf16247367", "491785121c5ff9ffb073809cd7c755a241b9e04052f1cf2ec7c9608a9346e097"],
      ] as const
    ).map(([split, gz, raw]) => ({
      split, role: "images" as const, file: `${split}-images-idx3-ubyte.gz`,
      urls: [`${LAROCHELLE}${split}.amat`], sha256: [gz, raw], format: "amat" as const,
    })),
  },
};

export const BUILTIN_DATASETS = ["sprites"] as const;
/** Every name `--dataset` accepts besides paths. */
export const DATASET_NAMES: readonly string[] = [...BUILTIN_DATASETS, ...Object.keys(NAMED_DATASETS)];

/** The root folder of named data sets: dataDir, else $LATENTKIT_DATA, else ~/.cache/latentkit/datasets. */
export function dataRoot(dataDir?: string): string {
  if (dataDir) return path.resolve(dataDir);
  const env = process.env.LATENTKIT_DATA;
  if (env) return path.resolve(env);
  return path.join(os.homedir(), ".cache", "latentkit", "datasets");
}

/** The path of `file` (or of its uncompressed twin) in `folder`, if there. */
function findIn(folder: string, file: string): string | undefined {
  for (const f of [file, file.replace(/\.gz$/, "")]) {
    const p = path.join(folder, f);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

export interface Located {
  /** `<root>/<name>`: where downloads go and missing files are expected. */
  folder: string;
  /** Found files: NamedFile.file -> path. */
  found: Map<string, string>;
  /** Files of the requested splits that were not found. */
  missing: NamedFile[];
  /** The folders searched, in order. */
  folders: string[];
}

/** Finds the files of a named data set (only those of `splits`, default all). Reads nothing. */
export function locateNamed(name: string, opts: { dataDir?: string; splits?: readonly SplitName[] } = {}): Located {
  const spec = NAMED_DATASETS[name];
  if (!spec) throw new LatentkitError(`unknown data set '${name}'`);
  const folder = path.join(dataRoot(opts.dataDir), name);
  const folders = [folder, ...(spec.extraFolders ?? [])];
  const found = new Map<string, string>();
  const missing: NamedFile[] = [];
  for (const f of spec.files) {
    if (opts.splits && !opts.splits.includes(f.split)) continue;
    const p = folders.map((d) => findIn(d, f.file)).find((x) => x !== undefined);
    if (p) found.set(f.file, p);
    else missing.push(f);
  }
  return { folder, found, missing, folders };
}

export interface LoadOptions {
  /** --data-dir: the root of named data sets (see dataRoot). */
  dataDir?: string;
  /** The splits to read (default all); the others stay undefined and cost nothing. */
  splits?: readonly SplitName[];
  /** Download missing files of a named data set (default false: their splits are reported missing). */
  download?: boolean;
  fetch?: Fetcher;
  /** Carve a valid split from the end of train when the data set has none: true = VALID_FRACTION, or a fraction. */
  carveValid?: boolean | number;
  /** Seed of the built-in sprites' split assignment (default 0). */
  spritesSeed?: number;
}

/**
 * A data set by name or path. Named sets with files missing load without those splits and list the
 * files in `missing` (or download them first with `download: true`, which throws one line on failure).
 */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<Dataset> {
  if (opts.download && NAMED_DATASETS[spec]) {
    const splits = wantedSplits(opts);
    const loc = locateNamed(spec, { dataDir: opts.dataDir, splits });
    if (loc.missing.length) await ensureFiles(spec, loc.folder, loc.missing, { fetch: opts.fetch });
  }
  return loadDatasetSync(spec, opts);
}

/** The splits whose files are needed: a carved valid split needs train. */
function wantedSplits(opts: LoadOptions): readonly SplitName[] {
  const s = opts.splits ?? SPLIT_NAMES;
  return opts.carveValid && s.includes("valid") && !s.includes("train") ? [...s, "train"] : s;
}

/** loadDataset without downloads (synchronous). */
export function loadDatasetSync(spec: string, opts: LoadOptions = {}): Dataset {
  let ds: Dataset;
  if (spec === "sprites") ds = spritesDataset({ seed: opts.spritesSeed });
  else if (NAMED_DATASETS[spec]) ds = readNamed(NAMED_DATASETS[spec], opts);
  else if (fs.existsSync(spec)) ds = readPathDataset(spec);
  else
    throw new LatentkitError(
      `${spec}: unknown data set and no such file or folder (names: ${DATASET_NAMES.join(", ")}; ` +
        `or a path to an IDX file, a .csv, a .npy or a folder of PNG images)`,
    );
  if (opts.carveValid) ds = withValidSplit(ds, opts.carveValid === true ? VALID_FRACTION : opts.carveValid);
  if (opts.splits) {
    const keep = opts.splits;
    ds = { ...ds, splits: Object.fromEntries(SPLIT_NAMES.map((s) => [s, keep.includes(s) ? ds.splits[s] : undefined])) as Dataset["splits"] };
  }
  return ds;
}

function readNamed(spec: NamedDataset, opts: LoadOptions): Dataset {
  const loc = locateNamed(spec.name, { dataDir: opts.dataDir, splits: wantedSplits(opts) });
  const splits: Dataset["splits"] = { train: undefined, valid: undefined, test: undefined };
  const sources = new Set<string>();
  for (const s of SPLIT_NAMES) {
    const files = spec.files.filter((f) => f.split === s);
    if (files.length === 0 || !files.every((f) => loc.found.has(f.file))) continue;
    const imgPath = loc.found.get(files.find((f) => f.role === "images")!.file)!;
    const lblFile = files.find((f) => f.role === "labels");
    const img = readIdx(imgPath);
    const [, h, w] = spec.imageShape;
    if (img.shape.length !== 3 || img.shape[1] !== h || img.shape[2] !== w)
      throw new LatentkitError(`${imgPath}: images of shape [${img.shape.join(", ")}], expected [N, ${h}, ${w}]`);
    let labels: Int32Array | undefined;
    if (lblFile) labels = readLabels(loc.found.get(lblFile.file)!, img.shape[0], spec.numClasses!);
    splits[s] = makeSplit(img.data, spec.imageShape, { scale: spec.binary ? 1 : 1 / 255, labels });
    sources.add(path.dirname(imgPath));
  }
  const missing = loc.missing.map((f) => path.join(loc.folder, f.file));
  return {
    name: spec.name,
    source: sources.size === 1 ? [...sources][0] : loc.folder,
    imageShape: spec.imageShape,
    numClasses: spec.numClasses,
    labelNames: spec.labelNames,
    binary: spec.binary,
    splits,
    ...(missing.length ? { missing } : {}),
  };
}

function readLabels(file: string, n: number, numClasses?: number): Int32Array {
  const lbl = readIdx(file);
  if (lbl.shape.length !== 1 || lbl.shape[0] !== n)
    throw new LatentkitError(`${file}: labels of shape [${lbl.shape.join(", ")}], expected [${n}] to match the images`);
  const labels = Int32Array.from(lbl.data);
  if (numClasses !== undefined) {
    const bad = labels.findIndex((c) => c >= numClasses);
    if (bad >= 0) throw new LatentkitError(`${file}: label ${labels[bad]} at index ${bad} outside 0..${numClasses - 1}`);
  }
  return labels;
}

// ---- Path data sets: everything goes into `train` (carve valid with carveValid). ----

/**
 * The image shape of a feature matrix [N, D]: D = k*k with k >= 4 is read as a k x k grey image (a CSV or
 * .npy of flattened MNIST gives 28x28), anything else as a 1 x 1 x D "image" (vector data; MLP models only).
 */
export function shapeOfRows(d: number): ImageShape {
  const k = Math.round(Math.sqrt(d));
  return k >= 4 && k * k === d ? [1, k, k] : [1, 1, d];
}

/** [N, ...] array dimensions -> [C, H, W]: [N, D] (see shapeOfRows), [N, H, W] grey, [N, C, H, W] as is. */
function imageShapeOf(shape: number[], name: string): ImageShape {
  if (shape.length === 2) return shapeOfRows(shape[1]);
  if (shape.length === 3) return [1, shape[1], shape[2]];
  if (shape.length === 4) return [shape[1], shape[2], shape[3]];
  throw new LatentkitError(`${name}: an array of shape [${shape.join(", ")}]; expected [N, D], [N, H, W] or [N, C, H, W]`);
}

/**
 * Values of a path data set in [0, 1]: uint8 data is read as 0..255 (or as 0/1 when its largest value is
 * 1); other numbers are used as they are when in [0, 1], divided by 255 when in [0, 255], else refused.
 */
function pixelStore(data: ArrayLike<number> & { length: number }, name: string): { pixels: Uint8Array | Float32Array; scale: number; binary: boolean } {
  let lo = Infinity, hi = -Infinity, binary = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) throw new LatentkitError(`${name}: value ${v} at index ${i} is not a finite number`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v !== 0 && v !== 1) binary = false;
  }
  if (data instanceof Uint8Array) return { pixels: data, scale: hi <= 1 ? 1 : 1 / 255, binary };
  if (!(lo >= 0 && hi <= 255))
    throw new LatentkitError(`${name}: values from ${lo} to ${hi}; expected pixel values in [0, 1] or [0, 255]`);
  const pixels = data instanceof Float32Array ? data : Float32Array.from(data);
  return { pixels, scale: hi <= 1 ? 1 : 1 / 255, binary };
}

function pathDataset(file: string, store: ReturnType<typeof pixelStore>, imageShape: ImageShape, labels?: Int32Array, labelNames?: string[]): Dataset {
  let numClasses: number | undefined;
  if (labels) {
    const lo = labels.reduce((a, b) => Math.min(a, b), Infinity);
    if (lo < 0) throw new LatentkitError(`${file}: negative label ${lo}; labels must be 0, 1, 2, ...`);
    numClasses = labelNames?.length ?? labels.reduce((a, b) => Math.max(a, b), -1) + 1;
  }
  return {
    name: path.basename(file),
    source: path.resolve(file),
    imageShape,
    numClasses,
    labelNames: labelNames ?? (numClasses !== undefined ? Array.from({ length: numClasses }, (_, i) => String(i)) : undefined),
    binary: store.binary,
    splits: { train: makeSplit(store.pixels, imageShape, { scale: store.scale, labels }), valid: undefined, test: undefined },
  };
}

/** The labels file beside an IDX images file: `*images*idx3*` -> `*labels*idx1*` (gzipped or not). */
export function idxLabelsSibling(file: string): string | undefined {
  const base = path.basename(file);
  if (!/images/.test(base)) return undefined;
  const stem = base.replace("images", "labels").replace(/idx\d/, "idx1").replace(/\.gz$/, "");
  for (const f of [stem + ".gz", stem]) {
    const p = path.join(path.dirname(file), f);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** A data set from a path: a folder of PNGs, a .npy, a .csv, or an IDX file (.gz or not). */
export function readPathDataset(file: string): Dataset {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw fileError(file, e);
  }
  if (stat.isDirectory()) {
    const f = readPngFolder(file);
    const [, c, h, w] = f.shape;
    return pathDataset(file, pixelStore(f.images, file), [c, h, w], f.labels, f.labelNames);
  }
  const lower = file.toLowerCase();
  if (lower.endsWith(".npy")) {
    const a = readNpy(file);
    if (a.shape.length < 2 || a.shape[0] === 0) throw new LatentkitError(`${file}: an array of shape [${a.shape.join(", ")}]; expected N >= 1 examples as [N, D], [N, H, W] or [N, C, H, W]`);
    return pathDataset(file, pixelStore(a.data, file), imageShapeOf(a.shape, file));
  }
  if (lower.endsWith(".csv")) {
    const t = readNumericCsv(file);
    return pathDataset(file, pixelStore(t.data, file), shapeOfRows(t.shape[1]), t.labels, t.labelNames);
  }
  if (/idx|ubyte|\.gz$/.test(lower) || path.extname(lower) === "") {
    const a = readIdx(file);
    if (a.shape.length < 2) throw new LatentkitError(`${file}: an IDX array of shape [${a.shape.join(", ")}] holds no images (a labels file?)`);
    const sib = idxLabelsSibling(file);
    const labels = sib ? readLabels(sib, a.shape[0]) : undefined;
    return pathDataset(file, pixelStore(a.data, file), imageShapeOf(a.shape, file), labels);
  }
  throw new LatentkitError(`${file}: not a data set: expected an IDX file (.gz or not), a .csv, a .npy or a folder of PNG images`);
}
