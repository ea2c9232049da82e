// What `resnetc lint` and `resnetc check` do to diagnostics after the compiler has given them,
// and how lint writes its report: suppression comments, the project's config, --quiet, the
// report in each format, SARIF's locations relative to the repository root, the exit code.
// Takes: diagnostics, sources, the working folder and options. Gives: diagnostics and strings.
// Must not: print or exit (main.ts does), or read any file but the config (config.ts).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Diagnostic, SourceFile } from "../diagnostics/diagnostic.js";
import { renderGithub, renderSarif, renderText, summaryLine, toJson } from "../diagnostics/render.js";
import type { Code } from "../diagnostics/messages.js";
import { findProjectRoot, isInside, packageRoot, stdDir } from "./host.js";
import { colorDiagnostic, colorSummary } from "./color.js";
import { expandPatterns, PatternError } from "./globs.js";
import { applyEdits, fixOf } from "./fix.js";
import { maxWarnings } from "./lint-options.js";
import { writeFileAtomic } from "../io/atomic-write.js";

export const FORMATS = ["text", "json", "github", "sarif"] as const;
export type Format = (typeof FORMATS)[number];

/** The project root for the working folder: --root, else the nearest marker above cwd. */
export function projectRootFor(cwd: string, root: unknown): string {
  return typeof root === "string" ? resolve(cwd, root) : findProjectRoot(resolve(cwd));
}

export const countErrors = (ds: readonly Diagnostic[]): number => ds.filter((d) => d.severity === "error").length;

/** The repository root SARIF's artifact URIs are relative to: the nearest folder above cwd with
 * .git, else the project root. */
export function repositoryRoot(cwd: string, projectRoot: string): string {
  for (let d = resolve(cwd); ; d = dirname(d)) {
    if (existsSync(join(d, ".git"))) return d;
    if (d === projectRoot || dirname(d) === d) return projectRoot;
  }
}

/** Where docs/diagnostics.md is published: the package's repository or homepage when its
 * package.json names one, else the file as published on npm (unpkg serves every version). */
function docsBase(version: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
      repository?: string | { url?: string };
      homepage?: string;
    };
    const repo = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
    const gh = repo && /github\.com[/:]([^/]+\/[^/.]+)/.exec(repo);
    if (gh) return `https://github.com/${gh[1]}/blob/v${version}`;
  } catch {
    // fall through
  }
  return `https://unpkg.com/resnetc@${version}`;
}

/** The anchor of a code in docs/diagnostics.md (each table row carries `<a id="rn303">`). */
export const docsAnchor = (code: string): string => code.toLowerCase();

export function helpUri(code: Code, version: string): string {
  return `${docsBase(version)}/docs/diagnostics.md#${docsAnchor(code)}`;
}

export interface ReportOptions {
  format: Format;
  files: number;
  version: string;
  cwd: string;
  projectRoot: string;
  color: boolean;
}

/** The report, as one string, in the format asked for. */
export function renderReport(
  ds: readonly Diagnostic[],
  sources: ReadonlyMap<string, SourceFile>,
  o: ReportOptions,
): string {
  const errors = countErrors(ds);
  if (o.format === "json")
    return JSON.stringify(
      {
        files: o.files,
        errors,
        warnings: ds.length - errors,
        diagnostics: ds.map((d) => toJson(d, sources)),
      },
      null,
      2,
    );
  if (o.format === "sarif") {
    const root = repositoryRoot(o.cwd, o.projectRoot);
    return renderSarif(ds, sources, o.version, {
      srcRoot: pathToFileURL(root + sep).href,
      relative: (file) => {
        const abs = resolve(o.cwd, file);
        return isInside(root, abs) ? relative(root, abs).split(sep).join("/") : undefined;
      },
      absolute: (file) => pathToFileURL(resolve(o.cwd, file)).href,
      helpUri: (c) => helpUri(c, o.version),
    });
  }
  if (o.format === "github") return ds.map((d) => renderGithub(d, sources)).join("\n");
  const paint = (s: string): string => (o.color ? colorDiagnostic(s) : s);
  const summary = `${o.files} file${o.files === 1 ? "" : "s"} linted: ${summaryLine(ds)}`;
  return [
    ...ds.map((d) => paint(renderText(d, sources)) + "\n"),
    o.color ? colorSummary(summary, errors, ds.length - errors) : summary,
  ].join("\n");
}

export interface LintDeps {
  io: { cwd: string; out(s: string): void; err(s: string): void };
  version: string;
  /** Checks the files (suppressions and config applied). */
  check: (files: string[]) => { diagnostics: Diagnostic[]; sources: Map<string, SourceFile> };
  /** Whether stdout takes colour (a report written with -o never does). */
  color: boolean;
}

/**
 * `resnetc lint`: expand the inputs, check, fix if asked (then check again), report, and pick
 * the exit code. A string is a usage error's message (exit 2).
 */
export function runLint(
  values: Record<string, string | boolean | string[] | undefined>,
  positionals: string[],
  deps: LintDeps,
): number | string {
  const { io } = deps;
  const format = values["format"] as string;
  if (!(FORMATS as readonly string[]).includes(format))
    return `unknown --format ${format} (text, json, github or sarif)`;
  let max: number | undefined;
  try {
    max = maxWarnings(values["max-warnings"]);
  } catch (e) {
    return (e as Error).message;
  }
  if (positionals.length === 0) return "give files, folders or quoted globs to lint";
  const projectRoot = projectRootFor(io.cwd, values["root"]);
  let expanded: ReturnType<typeof expandPatterns>;
  try {
    expanded = expandPatterns(io.cwd, positionals, projectRoot);
  } catch (e) {
    if (e instanceof PatternError) return e.message;
    throw e;
  }
  const { files, missing, unmatched } = expanded;
  if (missing.length) return (io.err(`resnetc: cannot read ${missing.join(", ")}: no such file or folder`), 2);
  if (unmatched.length) return (io.err(`resnetc: no .resnet files match ${unmatched.join(", ")}`), 2);
  if (files.length === 0) return (io.err(`resnetc: no .resnet files under ${positionals.join(", ")}`), 2);

  let { diagnostics, sources } = deps.check(files);
  if (values["fix"] === true) {
    const edits = diagnostics.flatMap((d) => fixOf(d, sources) ?? []);
    if (edits.length) {
      const writable = (file: string): boolean => {
        const abs = resolve(io.cwd, file);
        return isInside(projectRoot, abs) && !isInside(stdDir, abs);
      };
      const { fixed, skipped } = applyEdits(edits, sources, io.cwd, writable);
      for (const f of fixed) {
        const counts = new Map<string, number>();
        for (const c of f.codes) counts.set(c, (counts.get(c) ?? 0) + 1);
        const what = [...counts].map(([c, n]) => `${n} ${c}`).join(", ");
        io.err(`fixed ${f.file}: ${what}`);
      }
      for (const s of skipped) io.err(`not fixed ${s}`);
      // Report what remains, as it is now on disk.
      if (fixed.length) ({ diagnostics, sources } = deps.check(files));
    }
  }
  const warnings = diagnostics.length - countErrors(diagnostics);
  const shown = values["quiet"] === true ? diagnostics.filter((d) => d.severity === "error") : diagnostics;
  const outFile = values["output-file"];
  const report = renderReport(shown, sources, {
    format: format as Format,
    files: files.length,
    version: deps.version,
    cwd: io.cwd,
    projectRoot,
    color: deps.color && typeof outFile !== "string",
  });
  if (typeof outFile === "string") writeFileAtomic(resolve(io.cwd, outFile), report + "\n");
  else if (report !== "") io.out(report);
  // A root file that cannot be read is an I/O error; an unreadable import is a diagnostic.
  if (diagnostics.some((d) => d.code === "RN001" && files.some((r) => d.message.startsWith(`cannot read ${r}:`))))
    return 2;
  if (countErrors(diagnostics) > 0) return 1;
  if (values["deny-warnings"] === true && warnings > 0) return 1;
  if (max !== undefined && warnings > max) {
    io.err(`resnetc: ${warnings} warning${warnings === 1 ? "" : "s"}, more than --max-warnings ${max}`);
    return 1;
  }
  return 0;
}
