// tsc over emitted TypeScript as a user compiles it: --strict, ES2022, NodeNext resolution, from
// the repository root (so `@resnetc/runtime` and `@tensorflow/tfjs` resolve as installed packages).
// One place for these flags: the TypeScript-backend tests, the code-injection tests and the
// fuzzer's sample all type-check with them.
// Takes: file paths and the repository root. Gives: tsc's exit status and output. Must not: write.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const TSC_STRICT_FLAGS = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext"].concat([
  "--moduleResolution",
  "nodenext",
  "--skipLibCheck",
  "--types",
  "node",
]);

export function tscStrict(files, repoRoot) {
  const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, ...TSC_STRICT_FLAGS, ...files], {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}
