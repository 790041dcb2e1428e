// report.html from plain values: one self-contained page (every picture embedded as a data: URI, no
// scripts, no external files), so it opens offline, from anywhere, in any browser.
import { escapeXml as esc } from "../viz/svg.js";

export type Figure = {
  title: string;
  caption: string;
  file: string; // relative to the run folder, e.g. images/samples.png
  mime: "image/png" | "image/svg+xml";
  bytes: Uint8Array;
  width: number;
  height: number;
};

export type ReportContent = {
  title: string;
  facts: [string, string][]; // short facts under the title (run folder, version, epochs...)
  evaluation?: Record<string, unknown>;
  /** `eval --sample-quality` / `--disentanglement` results kept in RUN/measures.json. */
  measures?: Record<string, Record<string, unknown>>;
  metrics: Record<string, unknown>[]; // metrics.jsonl lines
  figures: Figure[];
  config: Record<string, unknown>;
};

/** A number for a table: integers as they are, others to 4 significant digits past the point. */
export function formatValue(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toFixed(a >= 100 ? 2 : 4);
  }
  if (v === null || v === undefined) return "–";
  if (Array.isArray(v)) return v.length > 12 ? `[${v.slice(0, 12).map(formatValue).join(", ")}, … (${v.length})]` : `[${v.map(formatValue).join(", ")}]`;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function table(head: string[], rows: unknown[][], numeric = true): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c, k) => `<td${numeric && k > 0 ? ' class="num"' : ""}>${esc(formatValue(c))}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${tr}\n</tbody>\n</table>`;
}

/** Pictures with small cells (28x28 digits) are shown at twice their size, pixels kept sharp. */
function figure(f: Figure): string {
  const scale = f.mime === "image/png" && f.width < 400 ? 2 : 1;
  const src = `data:${f.mime};base64,${Buffer.from(f.bytes).toString("base64")}`;
  return `<figure>\n<img src="${src}" alt="${esc(f.title)}" width="${f.width * scale}" height="${f.height * scale}"${f.mime === "image/png" ? ' class="pixels"' : ""}>\n` +
    `<figcaption><b>${esc(f.title)}</b> ${esc(f.caption)} <span class="file">${esc(f.file)}</span></figcaption>\n</figure>`;
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
.facts { color: #555; } .facts span { margin-right: 1.5em; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; } th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 420px; overflow: auto; display: inline-block; }
figure { display: inline-block; vertical-align: top; margin: 0 1.5em 1.5em 0; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
img.pixels { image-rendering: pixelated; }
figcaption { font-size: 13px; max-width: 560px; margin-top: 0.3em; } .file { color: #888; font-family: monospace; }
`;

export function renderReport(c: ReportContent): string {
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">`);
  parts.push(`<link rel="icon" href="data:,">\n<title>${esc(c.title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>`);
  parts.push(`<h1>${esc(c.title)}</h1>\n<p class="facts">${c.facts.map(([k, v]) => `<span>${esc(k)}: <b>${esc(v)}</b></span>`).join("")}</p>`);

  if (c.evaluation) {
    const rows = Object.entries(c.evaluation).filter(([k]) => k !== "kl_per_dim").map(([k, v]) => [k, v]);
    parts.push(`<h2>Evaluation</h2>\n<p>In nats per example; <code>nll</code> is −log p(x) by importance sampling.</p>\n${table(["", "value"], rows)}`);
  }

  const q = c.measures?.sample_quality, d = c.measures?.disentanglement as { dci?: Record<string, unknown> } & Record<string, unknown> | undefined;
  if (q || d) {
    const rows: [string, unknown][] = [];
    if (q) rows.push(["FID", q.fid], ["precision", q.precision], ["recall", q.recall], ["prior samples", q.samples], ["measured on", `${q.split} (${q.n} examples, ${q.checkpoint} checkpoint)`], ["features", q.features]);
    if (d) rows.push(["MIG", d.mig], ["FactorVAE score", d.factorvae], ["DCI disentanglement", d.dci?.disentanglement], ["DCI completeness", d.dci?.completeness],
      ["DCI informativeness", d.dci?.informativeness], ["codes of", `${d.split} (${d.n} examples, ${d.checkpoint} checkpoint)`]);
    parts.push(`<h2>Sample quality and disentanglement</h2>\n<p>As <code>latentkit eval --sample-quality</code> and <code>--disentanglement</code> measured them last.</p>\n${table(["", "value"], rows)}`);
  }

  const pictures = c.figures.filter((f) => f.mime === "image/png");
  const plots = c.figures.filter((f) => f.mime !== "image/png");
  if (plots.length) parts.push(`<h2>Training and the latent space</h2>\n${plots.map(figure).join("\n")}`);
  if (pictures.length) parts.push(`<h2>Pictures</h2>\n${pictures.map(figure).join("\n")}`);

  if (c.metrics.length) {
    const keys = [...new Set(c.metrics.flatMap((m) => Object.keys(m)))];
    parts.push(`<h2>Metrics per epoch</h2>\n<div class="scroll">\n${table(keys, c.metrics.map((m) => keys.map((k) => m[k])))}\n</div>`);
  }
  parts.push(`<h2>Configuration</h2>\n${table(["key", "value"], Object.entries(c.config).map(([k, v]) => [k, v]), false)}`);
  parts.push(`<p class="facts">Written by latentkit.</p>\n</body>\n</html>\n`);
  return parts.join("\n");
}
