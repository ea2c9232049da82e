// `resnetc fmt`: format .resnet files in place, or list those that are not formatted (--check).
// Takes: arguments and the CLI's IO sink. Gives: an exit code: 0 all formatted (or nothing to do),
// 1 a file is not formatted (--check) or does not parse, 2 usage or I/O error.
// Must not: write a file that does not parse (it gets the compiler's located diagnostics and stays
// as it is), or write other than through writeFileAtomic.

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { SourceFile, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderText, summaryLine } from "../diagnostics/render.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { readFileLimited, ReadFileError } from "../io/read-file.js";
import { expandInputs, MAX_SOURCE_BYTES } from "./host.js";
import type { Io } from "./main.js";

export const FMT_HELP = `usage: resnetc fmt [--check] <files or dirs...>

Formats every .resnet file given, and every one under the folders given, in place, in the one
canonical style (grammar/README.md, "Formatting"). Comments are kept; formatting never changes
what a file compiles to. A file that does not parse is reported with its errors and left as it is.
  --check            write nothing: list the files that are not formatted, exit 1 if there are any`;

export async function cmdFmt(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" }, check: { type: "boolean" } },
    });
  } catch (e) {
    io.err(`resnetc: ${(e as Error).message}\nrun \`resnetc --help\` for usage`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) return (io.out(FMT_HELP), 0);
  if (positionals.length === 0) {
    io.err("resnetc: fmt: give files or folders to format\nrun `resnetc --help` for usage");
    return 2;
  }
  const { files, missing } = expandInputs(io.cwd, positionals);
  if (missing.length) return (io.err(`resnetc: cannot read ${missing.join(", ")}: no such file or folder`), 2);
  if (files.length === 0) return (io.err(`resnetc: no .resnet files under ${positionals.join(", ")}`), 2);
  // Loaded here: prettier is needed by this command only, and every other one starts faster without it.
  const { formatSource } = await import("../fmt/format.js");
  const diagnostics: Diagnostic[] = [];
  let unformatted = 0;
  for (const file of files) {
    const abs = resolve(io.cwd, file);
    let text: string;
    try {
      text = readFileLimited(abs, { limit: MAX_SOURCE_BYTES, what: "a .resnet source" }).toString("utf8");
    } catch (e) {
      if (e instanceof ReadFileError) return (io.err(`resnetc: ${e.message}`), 2);
      throw e;
    }
    const r = await formatSource(file, text);
    if (!r.ok) {
      const sources = new Map([[file, new SourceFile(file, text)]]);
      for (const d of r.diagnostics) io.err(renderText(d, sources) + "\n");
      diagnostics.push(...r.diagnostics);
      continue;
    }
    if (r.text === text) continue;
    unformatted++;
    if (values.check) io.out(file);
    else {
      writeFileAtomic(abs, r.text);
      io.out(`formatted ${file}`);
    }
  }
  if (diagnostics.length) io.err(`${summaryLine(diagnostics)}: files with errors were not formatted`);
  if (values.check && unformatted)
    io.err(`${unformatted} file${unformatted === 1 ? " is" : "s are"} not formatted (run resnetc fmt to format)`);
  return diagnostics.length || (values.check && unformatted) ? 1 : 0;
}
