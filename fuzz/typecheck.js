// Type-checks a sample of the fuzzer's emitted TypeScript in one tsc run, as users compile it.
// Takes: { index -> { "model.ts", "train.ts" } } and a folder inside the repository (so the
// generated imports of `@resnetc/runtime` and `@tensorflow/tfjs` resolve as they do for a user).
// Gives: per case index, the first type error, or nothing. Must not: write outside that folder.
// The flags are scripts/tsc-strict.js's, shared with the tests: --strict, ES2022, NodeNext.

import { tscStrict } from "../scripts/tsc-strict.js";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

export function typecheck(samples, dir, repoRoot) {
  rmSync(dir, { recursive: true, force: true });
  const paths = [];
  for (const [index, files] of samples) {
    const d = join(dir, `case-${index}`);
    mkdirSync(d, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(d, name), text);
      paths.push(join(d, name));
    }
  }
  const errors = new Map();
  if (paths.length === 0) return errors;
  const r = tscStrict(
    paths.map((p) => relative(repoRoot, p)),
    repoRoot,
  );
  for (const line of r.output.split("\n")) {
    const m = /case-(\d+)\/(\S+\.ts)\(\d+,\d+\): error (TS\d+: .*)/.exec(line);
    if (m && !errors.has(Number(m[1]))) errors.set(Number(m[1]), `${m[2]}: ${m[3]}`);
  }
  // tsc failing without a line we can attribute (a crash, a bad flag) fails the whole sample.
  if (r.status !== 0 && errors.size === 0)
    for (const [index] of samples) errors.set(index, `tsc exited ${r.status}: ${r.output.slice(0, 200)}`);
  return errors;
}
