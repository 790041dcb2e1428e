// Runs a latentkit command in this process for the bench scripts: returns what it printed on stdout
// (kept off the script's own stdout, which is the result table) and throws on a non-zero exit.
import { main } from "../src/cli/main.js";

export async function latentkit(argv: string[]): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string | Uint8Array) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await main(argv);
  } finally {
    process.stdout.write = write;
  }
  if (code !== 0) throw new Error(`latentkit ${argv.join(" ")} exited with ${code}`);
  return chunks.join("");
}
