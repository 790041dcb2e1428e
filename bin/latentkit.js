#!/usr/bin/env node
// The CLI entry: runs the compiled command line (built by `npm install` through the `prepare` script).
import { main, endQuietlyOnClosedPipe } from "../dist/cli/main.js";
endQuietlyOnClosedPipe();
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
