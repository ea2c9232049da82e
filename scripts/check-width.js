// Checks that no line of the project's own source is longer than prettier's printWidth: prettier
// cannot break a long string, template literal or comment, so `npm run format:check` runs this
// after `prettier --check`.
// Takes: nothing (the files are those of the format globs in package.json, less the paths in
// .prettierignore; the width is printWidth in .prettierrc.json). Gives: each line over the width as
// file:line (columns), and exit code 1 when there is one. Must not: write any file.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const width = JSON.parse(readFileSync(join(root, ".prettierrc.json"), "utf8")).printWidth;
const ignored = readFileSync(join(root, ".prettierignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const isIgnored = (rel) => ignored.some((p) => (p.endsWith("/") ? rel.startsWith(p) : rel === p));

/** Files under dir (recursively when deep) whose names end in ext. */
function files(dir, ext, deep) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return deep && e.name !== "node_modules" ? files(rel, ext, deep) : [];
    return e.isFile() && e.name.endsWith(ext) ? [rel] : [];
  });
}

// The globs of the "format" and "format:check" scripts in package.json.
const packages = readdirSync(join(root, "packages"), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => `packages/${e.name}`);
const checked = [
  ...files("src", ".ts", true),
  ...files("test", ".ts", true),
  ...packages.flatMap((p) => [...files(`${p}/src`, ".ts", true), ...files(`${p}/test`, ".ts", true)]),
  ...packages.flatMap((p) => files(`${p}/scripts`, ".js", false)),
  ...files("bench", ".js", false),
  ...files("scripts", ".js", false),
  ...files("fuzz", ".js", true),
].filter((rel) => !isIgnored(rel));

let long = 0;
for (const rel of checked) {
  readFileSync(join(root, rel), "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line.length <= width) return;
      long++;
      console.log(`${relative(root, join(root, rel))}:${i + 1}: ${line.length} columns, more than ${width}`);
    });
}
if (long) {
  console.log(`${long} line${long === 1 ? "" : "s"} longer than ${width} columns: break the string or comment`);
  process.exitCode = 1;
}
