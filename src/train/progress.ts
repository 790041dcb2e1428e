// Training progress on stderr (stdout stays clean for --json): a bar (cli-progress) on a terminal,
// plain periodic lines otherwise, nothing when silent.
import cliProgress from "cli-progress";

import { silentProgress, type Progress } from "./trainer.js";

export { silentProgress, type Progress };

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/** A progress bar when stderr is a terminal; otherwise a line about every tenth of an epoch. */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let epoch = 0, epochs = 0, steps = 0, done = 0;
  let running: Record<string, number> = {};
  const summary = () => Object.entries(running).map(([k, v]) => `${k} ${fmt(v)}`).join("  ");
  return {
    startEpoch(e, n, s) {
      epoch = e; epochs = n; steps = s; done = 0; running = {};
      if (stream.isTTY) {
        bar = new cliProgress.SingleBar({
          stream, format: `epoch ${e}/${n} [{bar}] {value}/{total} {eta_formatted} {metrics}`, hideCursor: true,
          clearOnComplete: true,
        }, cliProgress.Presets.shades_classic);
        bar.start(s, 0, { metrics: "" });
      }
    },
    tick(metrics) {
      done += 1;
      // Exponential moving averages of the batch metrics: a steadier read than the last batch.
      for (const [k, v] of Object.entries(metrics)) running[k] = k in running ? 0.95 * running[k] + 0.05 * v : v;
      if (bar) bar.update(done, { metrics: summary() });
      else if (done % Math.max(1, Math.round(steps / 10)) === 0 || done === steps) {
        stream.write(`epoch ${epoch}/${epochs} step ${done}/${steps}  ${summary()}\n`);
      }
    },
    endEpoch() {
      bar?.stop();
      bar = undefined;
    },
    log(line) {
      stream.write(line + "\n");
    },
  };
}

/**
 * Progress of a long command over examples (eval, score, encode): a bar on a terminal, otherwise a
 * line every `every` seconds with the rate and the time left; nothing for work that ends within it.
 */
export function examplesProgress(what: string, opts: { quiet?: boolean; every?: number; stream?: NodeJS.WriteStream } = {}): (done: number, total: number) => void {
  if (opts.quiet) return () => {};
  const stream = opts.stream ?? process.stderr;
  const every = (opts.every ?? 5) * 1000;
  const started = Date.now();
  let last = started;
  let bar: cliProgress.SingleBar | undefined;
  return (done, total) => {
    const now = Date.now();
    if (stream.isTTY) {
      if (!bar && now - started > 1000 && done < total) {
        bar = new cliProgress.SingleBar({ stream, format: `${what} [{bar}] {value}/{total} examples, {eta_formatted} left`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
        bar.start(total, done);
      }
      bar?.update(done);
      if (done >= total) bar?.stop();
      return;
    }
    if (now - last < every && done < total) return;
    if (done >= total && now - started < every) return;
    last = now;
    const rate = done / Math.max(1e-3, (now - started) / 1000);
    const left = (total - done) / Math.max(rate, 1e-9);
    stream.write(`${what}: ${done}/${total} examples, ${rate.toFixed(1)}/s, ${done < total ? `${formatSeconds(left)} left` : `done in ${formatSeconds((now - started) / 1000)}`}\n`);
  };
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
