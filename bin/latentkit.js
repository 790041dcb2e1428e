#!/usr/bin/env node
// The CLI entry: runs the compiled command line (built by `npm install` through the `prepare` script).
import { main } from "../dist/cli/main.js";
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
