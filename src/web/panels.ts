// The run's numbers and pictures: the test evaluation (eval.json), the last epoch's metrics
// (metrics.jsonl) and the report's pictures and plots (RUN/images/).

const LABELS: Record<string, string> = {
  elbo: "ELBO (nats)", nll: "−log p(x), IS (nats)", recon: "reconstruction (nats)", kl: "KL (nats)",
  active_units: "active units", is_samples: "IS samples", mse: "MSE", n: "examples", split: "split",
};

const TITLES: Record<string, string> = {
  samples: "Samples", reconstructions: "Reconstructions", manifold: "Latent manifold", traversal: "Latent traversal",
  interpolation: "Interpolation", curves: "Training curves", latent: "Latent space", kl: "KL per dimension",
};

function format(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) < 0.01 ? v.toExponential(2) : v.toPrecision(4);
  }
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A titled table of name, value rows. */
function group(title: string, rows: [string, unknown][]): HTMLElement {
  const div = document.createElement("div");
  const h = document.createElement("h3");
  h.textContent = title;
  div.append(h, table(rows));
  return div;
}

function table(rows: [string, unknown][]): HTMLTableElement {
  const t = document.createElement("table");
  for (const [k, v] of rows) {
    const tr = t.insertRow();
    const th = document.createElement("th");
    th.textContent = k;
    tr.append(th);
    tr.insertCell().textContent = format(v);
  }
  return t;
}

/** Evaluation and last-epoch metrics as two small tables. */
export function renderMetrics(into: HTMLElement, evaluation: Record<string, unknown> | undefined, metrics: Record<string, unknown>[]): void {
  into.replaceChildren();
  if (evaluation) {
    const rows = Object.entries(evaluation)
      .filter(([k, v]) => k !== "split" && k !== "kl_per_dim" && (typeof v === "number" || typeof v === "string"))
      .map(([k, v]) => [LABELS[k] ?? k, v] as [string, unknown]);
    into.append(group(`Evaluation (${format(evaluation.split ?? "test")} split)`, rows));
  }
  const last = metrics[metrics.length - 1];
  if (last) {
    const rows = Object.entries(last).filter(([k, v]) => k !== "epoch" && typeof v === "number") as [string, unknown][];
    into.append(group(`Training, last epoch (${format(last.epoch)})`, rows));
  }
  if (!evaluation && !last) into.textContent = "No metrics in this run folder yet.";
}

/** The report's pictures, each with its title. */
export function renderPictures(into: HTMLElement, images: string[]): void {
  into.replaceChildren();
  for (const name of images) {
    const fig = document.createElement("figure");
    const img = document.createElement("img");
    img.src = `run/images/${encodeURIComponent(name)}`;
    img.alt = name;
    img.loading = "lazy";
    const cap = document.createElement("figcaption");
    const stem = name.replace(/\.[a-z]+$/, "");
    cap.textContent = TITLES[stem] ?? stem;
    fig.append(img, cap);
    into.append(fig);
  }
  if (images.length === 0) into.textContent = "No pictures (run `latentkit report RUN` to make them).";
}
