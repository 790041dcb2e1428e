// Runs the CLI from the TypeScript sources (tests spawn this as `node --import tsx`), as bin/latentkit.js does.
import { main, endQuietlyOnClosedPipe } from "../../src/cli/main.js";
endQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
