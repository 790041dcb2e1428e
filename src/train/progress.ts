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
