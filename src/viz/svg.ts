// Plots as hand-written SVG: line charts (training curves), scatter plots (latent means coloured by
// label) and bar charts (KL per dimension). Each returns a complete standalone <svg> document with
// its size, so a report can embed it and `hstack` can put several side by side. No scripts, no
// external fonts or files: it renders the same offline in any browser.

export type Svg = { svg: string; width: number; height: number };

/** Tableau's ten categorical colours (the matplotlib default cycle). */
export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/** Text made safe for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k; Heckbert 1990). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/** A number short enough for an axis label. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** Number to SVG coordinate text (two decimals is sub-pixel). */
const f = (v: number) => (Math.round(v * 100) / 100).toString();

type Frame = { width: number; height: number; title?: string; xLabel?: string; yLabel?: string };
const MARGIN = { left: 58, right: 14, top: 30, bottom: 44 };

/** Axes, ticks, grid lines and titles around a plot area; returns the mapping into it. */
function axes(frame: Frame, xTicks: number[], yTicks: number[], xTickLabel: (v: number) => string = formatTick) {
  const { width, height } = frame;
  const x0 = MARGIN.left, x1 = width - MARGIN.right, y0 = height - MARGIN.bottom, y1 = MARGIN.top;
  const [xa, xb] = [xTicks[0], xTicks[xTicks.length - 1]];
  const [ya, yb] = [yTicks[0], yTicks[yTicks.length - 1]];
  const sx = (v: number) => x0 + ((v - xa) / (xb - xa || 1)) * (x1 - x0);
  const sy = (v: number) => y0 - ((v - ya) / (yb - ya || 1)) * (y0 - y1);
  const parts: string[] = [];
  for (const t of yTicks) {
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x0 - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${y0}" y2="${y0 + 4}" stroke="#444"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${y0 + 17}" text-anchor="middle">${escapeXml(xTickLabel(t))}</text>`);
  }
  parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#444"/>`);
  if (frame.title) parts.push(`<text x="${x0}" y="16" font-size="13" font-weight="bold">${escapeXml(frame.title)}</text>`);
  if (frame.xLabel) parts.push(`<text x="${(x0 + x1) / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(frame.xLabel)}</text>`);
  if (frame.yLabel) parts.push(`<text transform="translate(14 ${f((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(frame.yLabel)}</text>`);
  return { parts, sx, sy, x0, x1, y0, y1 };
}

function document(width: number, height: number, body: string[]): Svg {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="#fff"/>\n${body.join("\n")}\n</svg>\n`;
  return { svg, width, height };
}

/** Legend entries in the top-right corner of the plot area. */
function legend(entries: { name: string; color: string; dashed?: boolean; dot?: boolean }[], x1: number, y1: number): string[] {
  const out: string[] = [];
  entries.forEach((e, i) => {
    const y = y1 + 12 + i * 14;
    const x = x1 - 8;
    const mark = e.dot
      ? `<circle cx="${x - 6}" cy="${y - 4}" r="3.5" fill="${e.color}"/>`
      : `<line x1="${x - 18}" x2="${x}" y1="${y - 4}" y2="${y - 4}" stroke="${e.color}" stroke-width="2"${e.dashed ? ' stroke-dasharray="5 3"' : ""}/>`;
    out.push(`${mark}<text x="${x - 22 + (e.dot ? 10 : 0)}" y="${y}" text-anchor="end">${escapeXml(e.name)}</text>`);
  });
  return out;
}

export type Series = { name: string; points: [number, number][]; color?: string; dashed?: boolean };

/** Lines (with a dot at each point, so a one-epoch run still shows) for one or more series. */
export function lineChart(opts: Frame & { series: Series[] }): Svg {
  const pts = opts.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  // Integer x (epochs): integer ticks, and at least a span of two so a single epoch sits mid-plot.
  const integerX = pts.length > 0 && xs.every(Number.isInteger);
  let [xlo, xhi] = pts.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (integerX && xhi - xlo < 2) [xlo, xhi] = [xlo - 1, xhi + 1];
  const xTicks = integerX ? niceTicks(xlo, xhi, 6).filter(Number.isInteger) : niceTicks(xlo, xhi, 6);
  const yTicks = pts.length ? niceTicks(Math.min(...ys), Math.max(...ys), 5) : [0, 1];
  const { parts, sx, sy, x1, y1 } = axes(opts, xTicks, yTicks);
  opts.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (good.length > 1) {
      const d = good.map(([x, y], k) => `${k ? "L" : "M"}${f(sx(x))} ${f(sy(y))}`).join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    }
    for (const [x, y] of good) parts.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="2.2" fill="${color}"/>`);
  });
  // The legend sits in the top margin, right-aligned, clear of the lines.
  let x = x1;
  opts.series.slice().reverse().forEach((s, k) => {
    const i = opts.series.length - 1 - k;
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const textWidth = 5.8 * s.name.length; // about the width of 11px Helvetica
    parts.push(`<text x="${f(x)}" y="${y1 - 6}" text-anchor="end">${escapeXml(s.name)}</text>` +
      `<line x1="${f(x - textWidth - 22)}" x2="${f(x - textWidth - 4)}" y1="${y1 - 10}" y2="${y1 - 10}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    x -= textWidth + 32;
  });
  return document(opts.width, opts.height, parts);
}

/** Points coloured by group (labels), with a legend of group names. */
export function scatterPlot(opts: Frame & {
  x: ArrayLike<number>; y: ArrayLike<number>; groups?: ArrayLike<number>; groupNames?: string[];
}): Svg {
  const n = opts.x.length;
  const xs = Array.from(opts.x), ys = Array.from(opts.y);
  const xTicks = n ? niceTicks(Math.min(...xs), Math.max(...xs), 6) : [0, 1];
  const yTicks = n ? niceTicks(Math.min(...ys), Math.max(...ys), 5) : [0, 1];
  const { parts, sx, sy, x1, y1 } = axes(opts, xTicks, yTicks);
  const colorOf = (g: number) => PALETTE[((g % PALETTE.length) + PALETTE.length) % PALETTE.length];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) continue;
    const g = opts.groups ? opts.groups[i] : 0;
    parts.push(`<circle cx="${f(sx(xs[i]))}" cy="${f(sy(ys[i]))}" r="2" fill="${colorOf(g)}" fill-opacity="0.6"/>`);
  }
  if (opts.groups) {
    const present = [...new Set(Array.from(opts.groups))].sort((a, b) => a - b);
    parts.push(...legend(present.map((g) => ({ name: opts.groupNames?.[g] ?? String(g), color: colorOf(g), dot: true })), x1, y1));
  }
  return document(opts.width, opts.height, parts);
}

/** Vertical bars, one per label, from 0. */
export function barChart(opts: Frame & { labels: string[]; values: number[]; color?: string }): Svg {
  const vals = opts.values.map((v) => (Number.isFinite(v) ? v : 0));
  const yTicks = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), 5);
  const n = vals.length;
  const { parts, sy, x0, x1, y0 } = axes(opts, [0, n], yTicks, () => "");
  // The frame's two x ticks are hidden; bars get their own labels (thinned to fit).
  const slot = (x1 - x0) / Math.max(1, n);
  const every = Math.max(1, Math.ceil(14 / slot));
  vals.forEach((v, i) => {
    const top = sy(Math.max(v, 0)), bottom = sy(Math.min(v, 0));
    parts.push(`<rect x="${f(x0 + i * slot + slot * 0.15)}" y="${f(top)}" width="${f(slot * 0.7)}" height="${f(Math.max(0.5, bottom - top))}" fill="${opts.color ?? PALETTE[0]}"/>`);
    if (i % every === 0) parts.push(`<text x="${f(x0 + (i + 0.5) * slot)}" y="${y0 + 17}" text-anchor="middle">${escapeXml(opts.labels[i] ?? String(i))}</text>`);
  });
  return document(opts.width, opts.height, parts);
}

/** Several plots side by side in one SVG document. */
export function hstack(plots: Svg[]): Svg {
  let x = 0;
  const body: string[] = [];
  for (const p of plots) {
    const inner = p.svg.replace(/^<svg /, `<svg x="${x}" y="0" `);
    body.push(inner.trimEnd());
    x += p.width;
  }
  return document(x, Math.max(0, ...plots.map((p) => p.height)), body);
}
