#!/usr/bin/env node
// Entry point of the `resnetc` command: runs the compiled CLI (npm install builds dist/).
import { main } from "../dist/cli/main.js";

// A reader that stops early (`resnetc summary ... | head`) is not an error.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });

process.exitCode = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (s) => process.stdout.write(s + "\n"),
  err: (s) => process.stderr.write(s + "\n"),
  tty: { out: process.stdout.isTTY === true, err: process.stderr.isTTY === true },
  env: process.env,
});
