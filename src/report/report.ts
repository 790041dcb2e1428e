// The run report: every picture and plot of a run written under RUN/images/, and RUN/report.html
// that shows them with the configuration, the evaluation and the metrics. `latentkit train` calls
// writeReport at the end of a run; `latentkit report RUN` calls it on a saved one.
import { EVAL_FILE, MEASURES_FILE } from "../train/run-files.js";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, readJsonLines } from "../io/atomic.js";
import type { Dataset, Split } from "../data/dataset.js";
import type { OpenRun } from "../train/run.js";
import { METRICS_FILE, REPORT_FILE, readJsonFile } from "../train/checkpoint.js";
export { REPORT_FILE };
import { countParams } from "../nn/tree.js";
import { gridPng, gridSize, type Grid } from "../viz/grid.js";
import { lineChart, scatterPlot, barChart, hstack, type Svg } from "../viz/svg.js";
import { pca } from "../viz/pca.js";
import {
  samplesPicture, reconstructionsPicture, manifoldPicture, traversalPicture, interpolationPicture,
  examplesOf, codesOf, spreadIndices, klPerDim, hasContinuousCode, type RunPictures,
} from "../viz/run-pictures.js";
import { renderReport, type Figure } from "./html.js";

export const IMAGES_DIR = "images";

// ---- plots --------------------------------------------------------------------------------------

/** Training curves from metrics.jsonl: one panel per metric (loss first), train vs valid by epoch. */
export function trainingCurves(metrics: Record<string, unknown>[]): Svg | undefined {
  const names = new Set<string>();
  for (const m of metrics) for (const k of Object.keys(m)) {
    const hit = /^(train|valid)_(.+)$/.exec(k);
    if (hit) names.add(hit[2]);
  }
  const ordered = [...names].sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : 0));
  const panels = ordered.map((name) => lineChart({
    width: 340, height: 240, title: name, xLabel: "epoch", yLabel: name === "loss" ? "loss (nats per example)" : name,
    series: (["train", "valid"] as const)
      .map((split) => ({
        name: split, dashed: split === "valid",
        points: metrics.filter((m) => typeof m[`${split}_${name}`] === "number")
          .map((m) => [Number(m.epoch), m[`${split}_${name}`] as number] as [number, number]),
      }))
      .filter((s) => s.points.length > 0),
  }));
  return panels.length ? hstack(panels) : undefined;
}

/** Latent means of test examples coloured by label: the two dimensions of a 2-D latent, else PCA. */
export function latentScatter(run: RunPictures, split: Split, labelNames?: string[], limit = 2000): { svg: Svg; caption: string } {
  const ex = examplesOf(run, split, spreadIndices(split.n, limit));
  const codes = codesOf(run, ex);
  const d = run.model.codeDim;
  let x: Float64Array | Float32Array, y: Float64Array | Float32Array, xLabel: string, yLabel: string, caption: string;
  if (d <= 2) {
    x = Float32Array.from({ length: ex.n }, (_, i) => codes[i * d]);
    y = Float32Array.from({ length: ex.n }, (_, i) => (d === 2 ? codes[i * d + 1] : 0));
    [xLabel, yLabel] = ["z0", d === 2 ? "z1" : ""];
    caption = `The posterior means of ${ex.n} test examples.`;
  } else {
    const p = pca(codes, ex.n, d, 2);
    const total = [...Array(d).keys()].reduce((s, j) => {
      let m = 0, m2 = 0;
      for (let i = 0; i < ex.n; i++) { m += codes[i * d + j]; m2 += codes[i * d + j] ** 2; }
      return s + m2 / ex.n - (m / ex.n) ** 2;
    }, 0);
    x = Float64Array.from({ length: ex.n }, (_, i) => p.projections[i * 2]);
    y = Float64Array.from({ length: ex.n }, (_, i) => p.projections[i * 2 + 1]);
    const share = (v: number) => (total > 0 ? `${((100 * v) / total).toFixed(0)}%` : "?");
    [xLabel, yLabel] = [`PC1 (${share(p.variances[0])} of variance)`, `PC2 (${share(p.variances[1] ?? 0)})`];
    caption = `The posterior means of ${ex.n} test examples, projected on their two principal components.`;
  }
  const svg = scatterPlot({
    width: 460, height: 400, title: run.model.probabilistic ? "latent means" : "codes", xLabel, yLabel,
    x, y, groups: ex.labels, groupNames: labelNames,
  });
  return { svg, caption: caption + (ex.labels ? " Colour: label." : "") };
}

/** KL(q(z_j|x) ‖ p(z_j)) per latent dimension, averaged over test examples. */
export function klBars(kl: number[]): Svg {
  return barChart({
    width: Math.max(300, Math.min(900, 70 + kl.length * 22)), height: 240, title: "KL per latent dimension",
    xLabel: "dimension", yLabel: "KL (nats)", labels: kl.map((_, j) => String(j)), values: kl,
  });
}

// ---- the report -----------------------------------------------------------------------------------

export type ReportResult = { report: string; figures: Figure[] };

/**
 * Writes RUN/images/{samples,reconstructions,manifold,traversal,interpolation}.png (each where the
 * model and the data allow it), the plots {curves,latent,kl}.svg, and RUN/report.html. `data` is the
 * run's data set (its test split, else valid, feeds the pictures of real examples); without it those
 * pictures are left out.
 */
export function writeReport(run: OpenRun, data?: Dataset, opts: { log?: (line: string) => void } = {}): ReportResult {
  const log = opts.log ?? (() => {});
  const dir = join(run.dir, IMAGES_DIR);
  mkdirSync(dir, { recursive: true });
  const split = data?.splits.test ?? data?.splits.valid;
  const splitName = data?.splits.test ? "test" : "valid";
  const figures: Figure[] = [];
  const addPng = (name: string, title: string, caption: string, grid: Grid) => {
    const bytes = gridPng(grid);
    const file = join(IMAGES_DIR, `${name}.png`);
    writeFileAtomic(join(run.dir, file), bytes);
    figures.push({ title, caption, file, mime: "image/png", bytes, ...gridSize(grid) });
  };
  const addSvg = (name: string, title: string, caption: string, plot: Svg) => {
    const bytes = new TextEncoder().encode(plot.svg);
    const file = join(IMAGES_DIR, `${name}.svg`);
    writeFileAtomic(join(run.dir, file), bytes);
    figures.push({ title, caption, file, mime: "image/svg+xml", bytes, width: plot.width, height: plot.height });
  };
  const { model } = run;
  const d = model.codeDim;
  const continuous = hasContinuousCode(model);
  /** One picture or plot; if it fails, a note says why and the rest of the report is still written. */
  const attempt = (name: string, draw: () => void) => {
    try {
      draw();
    } catch (e) {
      log(`note: ${name} left out of the report: ${(e as Error).message}`);
    }
  };

  const metricsFile = join(run.dir, METRICS_FILE);
  const metrics = existsSync(metricsFile) ? (readJsonLines(metricsFile) as Record<string, unknown>[]) : [];
  const curves = trainingCurves(metrics);
  if (curves) addSvg("curves", "Training curves", "Per epoch: train (solid) and validation (dashed).", curves);
  if (split && continuous) {
    attempt("the latent scatter plot", () => {
      const { svg, caption } = latentScatter(run, split, data?.labelNames);
      addSvg("latent", "Latent space", caption, svg);
    });
  }
  attempt("the KL plot", () => {
    const kl = klPerDim(run, split);
    if (kl) addSvg("kl", "KL per dimension", "Dimensions with KL near 0 are unused by the encoder (posterior collapse).", klBars(kl));
  });

  if (model.sample) {
    attempt("samples", () => addPng("samples", "Samples", model.conditional
      ? `Decoded draws from the prior, one row per label (${(data?.labelNames ?? []).join(", ") || "0.." + ((model.info.numClasses ?? 1) - 1)}), seed 0.`
      : "Decoded draws from the prior (mean images), seed 0.", samplesPicture(run)));
  }
  if (split) {
    attempt("reconstructions", () => addPng("reconstructions", "Reconstructions",
      `${splitName} examples (odd rows) and their reconstructions (even rows).`, reconstructionsPicture(run, split).grid));
  }
  if (continuous && d >= 2 && (model.probabilistic || split)) {
    attempt("the manifold", () => {
      const g = Math.max(5, Math.min(20, Math.floor(600 / Math.max(model.info.imageShape[1], model.info.imageShape[2]))));
      const { grid, dims } = manifoldPicture(run, { grid: g, split });
      addPng("manifold", "Latent manifold", `Dimensions ${dims[0]} (across) and ${dims[1]} (up) over a ${g}x${g} grid of ` +
        (model.probabilistic ? "Φ⁻¹ of evenly spaced quantiles" : "quantiles of the test codes") + (d > 2 ? ", the others at 0." : "."), grid);
    });
  }
  if (continuous && (model.probabilistic || split)) {
    attempt("the traversal", () => {
      const { grid, dims } = traversalPicture(run, { split, zero: !split });
      addPng("traversal", "Latent traversal", `Each row sweeps one dimension (${dims.join(", ")}: most ${model.probabilistic ? "KL" : "variance"} first) ` +
        (model.probabilistic ? "from −3 to 3" : "over its 1st..99th percentile") + `, the others at ${split ? `the code of ${splitName} example 0` : "0"}.`, grid);
    });
  }
  if (continuous && split && split.n >= 2) {
    attempt("the interpolation", () => addPng("interpolation", "Interpolation",
      `Between pairs of ${splitName} examples (ends): linear paths between their codes, decoded.`, interpolationPicture(run, split)));
  }

  const evalFile = join(run.dir, EVAL_FILE);
  const evaluation = existsSync(evalFile) ? readJsonFile<Record<string, unknown>>(evalFile) : undefined;
  const measuresFile = join(run.dir, MEASURES_FILE);
  const measures = existsSync(measuresFile) ? readJsonFile<Record<string, Record<string, unknown>>>(measuresFile) : undefined;
  const { data: info, version, ...config } = run.config;
  const last = metrics[metrics.length - 1];
  const html = renderReport({
    title: `${config.model}${config.preset ? ` (${config.preset})` : ""} on ${data?.name ?? config.dataset}`,
    facts: [
      ["run", run.dir],
      ["epochs", last ? String(last.epoch) : "0"],
      ["parameters", countParams(run.params).toLocaleString("en-US")],
      ["latent", String(d)],
      ["images", info.imageShape.join("x")],
      ["latentkit", version],
    ],
    evaluation, measures, metrics, figures, config,
  });
  const report = join(run.dir, REPORT_FILE);
  writeFileAtomic(report, html);
  log(`wrote ${report} (${figures.length} pictures and plots in ${dir})`);
  return { report, figures };
}
