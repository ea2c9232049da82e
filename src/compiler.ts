// The pipeline driver: load files (following imports) -> parse -> resolve -> elaborate models.
// Takes: root file paths and a Host that reads files (the CLI's, or a test's in-memory one).
// Gives: the graphs of the models and every diagnostic, sorted and deduplicated.
// Must not: print, exit, or touch the file system except through the Host.
// Like jlox's driver it stops after a stage that reported errors where going on would only
// produce noise: after syntax errors no names are resolved; unknown names do not stop shape
// checking (they become silent "poison" values).

import type { FileAst } from "./ast/ast.js";
import {
  dedupeDiagnostics,
  diag,
  sortDiagnostics,
  SourceFile,
  type Diagnostic,
  type Span,
} from "./diagnostics/diagnostic.js";
import type { Graph } from "./ir/ir.js";
import { elaborateModel } from "./semantics/elaborate.js";
import type { CheckCache } from "./semantics/check-cache.js";
import { buildProgram, resolve, type Program } from "./semantics/resolve.js";
import { parseSource } from "./syntax/parse.js";

/** Where an import leads: a path the Host will read, undefined when nothing is there, or a
 * refusal by the Host's import policy (RN005: outside the project or std; RN006: not a regular
 * .resnet file), with a reason that names no file outside the project. */
export type ImportResolution = string | undefined | { refused: "RN005" | "RN006"; reason: string };

export interface Host {
  /** Bytes of a file, or a reason it cannot be read. */
  readFile(path: string): Uint8Array | { error: string };
  /** The path an `import "spec"` in `fromFile` names (see ImportResolution). */
  resolveImport(fromFile: string, spec: string): ImportResolution;
  /** The name outputs (ONNX doc strings, generated comments) use for a file read through this
   * Host: independent of the working directory (relative to the project root; `std/NAME.resnet`
   * for the standard library). Default: the path itself. */
  stablePath?(path: string): string;
}

/** Most files one check loads (a root and its imports, transitively). */
export const MAX_FILES = 1000;

export interface CheckOptions {
  /** Elaborate only this model (default: every model in the root files). */
  model?: string;
  /** Parses to reuse across checks (`lint` checks each root on its own, and every root imports
   * std/: parsing it once instead of once per root saves ~20 ms a root). Keyed by path; an entry
   * is used only when the text is the same. ASTs are not mutated by later stages. */
  parseCache?: Map<string, { text: string; ast: FileAst; diagnostics: Diagnostic[] }>;
  /** What the last checks resolved and elaborated, reused where the definitions are the same
   * objects (the language server's, whose parser keeps a definition while its text is unchanged).
   * The results are the same as without it. */
  cache?: CheckCache;
}

export interface CheckResult {
  graphs: Graph[];
  diagnostics: Diagnostic[];
  sources: Map<string, SourceFile>;
  program?: Program;
  /** See Host.stablePath. */
  stablePath: (path: string) => string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Text of a file, or the diagnostic that says why it is not .resnet source. */
function decode(path: string, bytes: Uint8Array): string | Diagnostic {
  const span = { file: path, start: 0, end: 0 };
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return diag("RN002", span, { path });
  try {
    return utf8.decode(bytes);
  } catch {
    return diag("RN002", span, { path });
  }
}

export function check(roots: string[], host: Host, options: CheckOptions = {}): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  const files: FileAst[] = [];
  const loaded = new Set<string>();
  let syntaxErrors = false;

  // Files are loaded depth-first in import order, with an explicit stack rather than recursion,
  // so a long import chain cannot overflow the call stack.
  const pending: { path: string; from?: Span }[] = roots.map((path) => ({ path })).reverse();
  const load = (path: string, from?: Span): void => {
    if (loaded.has(path)) return; // each file once, so import cycles are harmless
    if (loaded.size >= MAX_FILES) {
      diagnostics.push(
        diag("RN401", from ?? { file: path, start: 0, end: 0 }, {
          what: "files loaded (a root and its imports)",
          value: `${loaded.size + 1}`,
          limit: `${MAX_FILES}`,
        }),
      );
      syntaxErrors = true;
      return;
    }
    loaded.add(path);
    const bytes = host.readFile(path);
    if ("error" in bytes) {
      diagnostics.push(diag("RN001", from ?? { file: path, start: 0, end: 0 }, { path, reason: bytes.error }));
      syntaxErrors = true;
      return;
    }
    const text = decode(path, bytes);
    if (typeof text !== "string") {
      diagnostics.push(text);
      syntaxErrors = true;
      return;
    }
    sources.set(path, new SourceFile(path, text));
    const cached = options.parseCache?.get(path);
    const [ast, ds] = cached && cached.text === text ? [cached.ast, cached.diagnostics] : parseSource(path, text);
    if (options.parseCache && !cached) options.parseCache.set(path, { text, ast, diagnostics: ds });
    diagnostics.push(...ds);
    if (ds.some((d) => d.severity === "error")) syntaxErrors = true;
    if (ds.length === 0 && ast.definitions.length === 0 && ast.imports.length === 0) {
      diagnostics.push(diag("RN003", { file: path, start: 0, end: Math.min(text.length, 1) }, {}));
      syntaxErrors = true;
    }
    files.push(ast);
    const next: { path: string; from: Span }[] = [];
    for (const imp of ast.imports) {
      const target = host.resolveImport(path, imp.path);
      if (target === undefined) {
        diagnostics.push(
          diag(
            "RN004",
            imp.span,
            { path: imp.path },
            { hint: 'paths are relative to the importing file; the standard library is "std/NAME.resnet"' },
          ),
        );
        syntaxErrors = true;
      } else if (typeof target !== "string") {
        const hint =
          target.refused === "RN005"
            ? "imports resolve inside the project (the nearest folder with package.json, .git or " +
              'resnetc.config.json, or --root DIR) and the standard library ("std/NAME.resnet")'
            : "import .resnet source files only";
        diagnostics.push(diag(target.refused, imp.span, { path: imp.path, reason: target.reason }, { hint }));
        syntaxErrors = true;
      } else next.push({ path: target, from: imp.span });
    }
    pending.push(...next.reverse());
  };
  for (let p = pending.pop(); p !== undefined; p = pending.pop()) load(p.path, p.from);

  const finish = (graphs: Graph[], program?: Program): CheckResult => {
    const r: CheckResult = {
      graphs,
      diagnostics: sortDiagnostics(dedupeDiagnostics(diagnostics)),
      sources,
      stablePath: host.stablePath ? (p) => host.stablePath!(p) : (p) => p,
    };
    if (program) r.program = program;
    return r;
  };
  if (syntaxErrors) return finish([]);

  const rootSet = new Set(roots);
  const [program, defDiags] = buildProgram(files, rootSet);
  diagnostics.push(...defDiags);
  const resolved = resolve(program, options.cache);
  diagnostics.push(...resolved.diagnostics);

  const models = files
    .filter((f) => rootSet.has(f.file))
    .flatMap((f) => f.definitions.filter((d) => d.kind === "model" && program.defs.get(d.name) === d));
  let chosen = models;
  if (options.model !== undefined) {
    chosen = models.filter((m) => m.name === options.model);
    if (chosen.length === 0) {
      const first = files[0];
      diagnostics.push(
        diag(
          "RN126",
          { file: first?.file ?? roots[0] ?? "", start: 0, end: 0 },
          { name: options.model, available: models.map((m) => m.name).join(", ") || "none" },
        ),
      );
      return finish([], program);
    }
  }
  const graphs: Graph[] = [];
  for (const m of chosen) {
    const r = elaborateModel(program, m, resolved.recursive, {}, options.cache);
    diagnostics.push(...r.diagnostics);
    if (r.graph) graphs.push(r.graph);
  }
  return finish(graphs, program);
}

/**
 * `check` for one root of many (`lint .`): an exception escaping the compiler, which is a bug in
 * resnetc, becomes an RN007 diagnostic at the top of that file, so the other files are still
 * checked and reported (one such file used to abort the run before any SARIF was written).
 */
export function checkIsolated(
  root: string,
  host: Host,
  options: CheckOptions = {},
  run: typeof check = check,
): CheckResult {
  try {
    return run([root], host, options);
  } catch (e) {
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return {
      graphs: [],
      diagnostics: [
        diag("RN007", { file: root, start: 0, end: 0 }, { path: root, reason: reason.replace(/^CompilerBug: /, "") }),
      ],
      sources: new Map(),
      stablePath: host.stablePath ? (p) => host.stablePath!(p) : (p) => p,
    };
  }
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}
