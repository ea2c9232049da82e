#!/usr/bin/env node
// Entry point of the `resnetc` command: runs the compiled CLI (npm install builds dist/).
import { main } from "../dist/cli/main.js";

process.exitCode = main(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (s) => process.stdout.write(s + "\n"),
  err: (s) => process.stderr.write(s + "\n"),
});
