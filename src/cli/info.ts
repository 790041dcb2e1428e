// latentkit models / latentkit datasets: what is available.
import type { Command } from "commander";
import { listModels } from "../api/train.js";
import { listDatasets } from "../data/list.js";
import { printJson, say } from "./common.js";

export function registerInfo(program: Command): void {
  program
    .command("models")
    .description("list the model families, their presets and their options (with defaults)")
    .option("--json", "print one JSON document")
    .action((flags: { json?: boolean }) => {
      const list = listModels();
      if (flags.json) return printJson(list);
      for (const m of list) {
        say(`${m.name.padEnd(16)} ${m.description}`);
        if (m.presets.length) say(`${"".padEnd(16)} presets: ${m.presets.join(", ")}`);
        say(`${"".padEnd(16)} options: ${Object.entries(m.options).map(([k, o]) => `${k}=${JSON.stringify(o.default)}`).join(" ")}`);
      }
    });
  program
    .command("datasets")
    .description("list the named data sets, whether they are here, and their splits")
    .option("--data-dir <dir>", "where named data sets are looked for")
    .option("--json", "print one JSON document")
    .action((flags: { json?: boolean; dataDir?: string }) => {
      const list = listDatasets({ dataDir: flags.dataDir });
      if (flags.json) return printJson(list);
      for (const d of list) {
        const splits = Object.entries(d.splits).map(([k, n]) => `${k} ${n}`).join(", ");
        say(`${d.name.padEnd(16)} ${d.available ? "available" : "missing  "}  ${splits || "-"}  ${d.path}`);
        if (d.missing?.length) say(`${"".padEnd(16)} missing: ${d.missing.join(", ")}`);
      }
    });
}
