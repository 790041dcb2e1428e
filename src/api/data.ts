// Data sets as the library hands them out: typed arrays, values in [0, 1], labels and factors where
// the set has them. The same view in Node (any data set) and the browser (the built-in sprites).
import type { Dataset, Split, SplitName, FactorInfo } from "../data/dataset.js";
import type { Images } from "./images.js";

/** One split: images, and labels (and the generating factors of sprites) where the set has them. */
export type DatasetSplit = {
  images: Images;
  labels?: Int32Array;
  /** [N, K] factor indices (sprites: shape, scale, rotation, x, y), row-major. */
  factors?: Int32Array;
};

/** A loaded data set: its splits (those present), image shape, classes and factors. */
export type LoadedDataset = {
  name: string;
  imageShape: [number, number, number];
  numClasses?: number;
  labelNames?: string[];
  factors?: FactorInfo;
  train?: DatasetSplit;
  valid?: DatasetSplit;
  test?: DatasetSplit;
};

function splitView(s: Split): DatasetSplit {
  const data = s.pixels instanceof Float32Array && s.scale === 1 ? Float32Array.from(s.pixels) : Float32Array.from(s.pixels, (v) => v * s.scale);
  return {
    images: { data, shape: [s.n, ...s.imageShape] },
    ...(s.labels ? { labels: Int32Array.from(s.labels) } : {}),
    ...(s.factors ? { factors: Int32Array.from(s.factors) } : {}),
  };
}

/** The library's view of a data set. */
export function datasetView(ds: Dataset): LoadedDataset {
  const out: LoadedDataset = { name: ds.name, imageShape: [...ds.imageShape] as [number, number, number] };
  if (ds.numClasses !== undefined) out.numClasses = ds.numClasses;
  if (ds.labelNames) out.labelNames = ds.labelNames;
  if (ds.factors) out.factors = ds.factors;
  for (const name of ["train", "valid", "test"] as SplitName[]) {
    const s = ds.splits[name];
    if (s) out[name] = splitView(s);
  }
  return out;
}
