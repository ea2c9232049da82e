// Removes build output folders before a build: tsc never deletes the output of a source file
// that was moved or removed, and a stale dist/ would be packed and shipped.
// Takes: folder paths relative to the repository root. Gives: nothing. Must not: remove
// anything outside the repository.
import { rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
for (const arg of process.argv.slice(2)) {
  const target = join(root, arg);
  const rel = relative(root, target);
  if (rel === "" || rel.startsWith("..")) throw new Error(`clean: ${arg} is not inside the repository`);
  rmSync(target, { recursive: true, force: true });
}
