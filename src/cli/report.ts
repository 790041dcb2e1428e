// latentkit report RUN: writes RUN/report.html (and the pictures and plots it shows under RUN/images/).
import type { Command } from "commander";
import { LatentkitError } from "../io/errors.js";
import { openRun, loadRunData } from "../train/run.js";
import { disposeTree } from "../engine/index.js";
import type { Dataset } from "../data/dataset.js";
import { writeReport } from "../report/report.js";
import { say, note } from "./common.js";

export async function reportCommand(runDir: string): Promise<void> {
  const run = await openRun(runDir);
  try {
    let data: Dataset | undefined;
    try {
      data = await loadRunData(run.config, ["test"]);
      // Path data sets have no test split: their valid split (carved from train) stands in.
      if (!data.splits.test) data = await loadRunData(run.config, ["valid"]);
    } catch (e) {
      if (!(e instanceof LatentkitError)) throw e;
      note(`note: the run's data set is not available, so pictures of real examples are left out (${e.message})`);
    }
    say(writeReport(run, data).report);
  } finally {
    disposeTree(run.params);
  }
}

export function registerReport(program: Command): void {
  program
    .command("report <run>")
    .description("write RUN/report.html: configuration, metrics, evaluation, pictures and plots (one file, opens offline)")
    .action(reportCommand);
}
