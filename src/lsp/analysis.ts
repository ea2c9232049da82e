// What the language server knows about open `.resnet` buffers, without any protocol types.
// Takes: a working directory (the workspace root), the open documents' texts as they change, and
// editor queries as 0-based offsets. Gives: the compiler's check of each open document (its unsaved
// text and, for imports, other open documents' unsaved text), hovers (shapes in and out, parameters,
// MACs), definitions, completions, symbols and quick fixes, in offsets and file paths. A re-check
// after an edit parses only the changed pieces (incremental.ts) and, through a CheckCache kept
// across checks, resolves only the definitions and elaborates only the block instances the edit
// reached; its answers are those of a check from scratch (test/lsp-incremental-check.test.ts).
// Must not: read a file outside the project (imports go through the CLI's Host and its policy; an
// open document is served in place of a file only after that Host agreed to read the file), write
// anything, or print (stdout is the protocol channel).

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Definition, Expr, FileAst, Stmt } from "../ast/ast.js";
import { displayPath, nodeHost } from "../cli/host.js";
import { fixOf, type Edit } from "../cli/fix.js";
import { check, type CheckOptions, type CheckResult, type Host } from "../compiler.js";
import { SourceFile, type Diagnostic, type Span } from "../diagnostics/diagnostic.js";
import { applySuppressions } from "../diagnostics/suppress.js";
import { shapeStr } from "../ir/dims.js";
import type { Graph } from "../ir/ir.js";
import { allOps, describeArgType, lookupOp, type OpDef } from "../semantics/ops/index.js";
import { CheckCache } from "../semantics/check-cache.js";
import { keywords } from "../syntax/lexer.js";
import { IncrementalParser } from "./incremental.js";

const encoder = new TextEncoder();

/** A Host that serves open documents' texts in place of the files, after `inner` (the policy) has
 * agreed to read each one that exists on disk. A document not on disk is served as it is. */
export function overlayHost(inner: Host, cwd: string, openText: (abs: string) => string | undefined): Host {
  const host: Host = {
    readFile(path) {
      const abs = resolve(cwd, path);
      const text = openText(abs);
      if (text === undefined) return inner.readFile(path);
      if (existsSync(abs)) {
        const r = inner.readFile(path);
        if ("error" in r) return r;
      }
      return encoder.encode(text);
    },
    resolveImport: (from, spec) => inner.resolveImport(from, spec),
  };
  if (inner.stablePath) host.stablePath = (p) => inner.stablePath!(p);
  return host;
}

export interface Located {
  file: string;
  start: number;
  end: number;
}

export interface Analysis {
  path: string;
  text: string;
  result: CheckResult;
  /** Diagnostics of this document's file, suppressions applied. */
  diagnostics: Diagnostic[];
  /** Every parse this check used (the document's and its imports'), by path. */
  asts: Map<string, FileAst>;
}

type ParseEntry = NonNullable<CheckOptions["parseCache"]> extends Map<string, infer E> ? E : never;

export class Workspace {
  private readonly open = new Map<string, string>();
  private readonly parsers = new Map<string, IncrementalParser>();
  /** Parses of files read from disk (std/ and unopened imports), reused while their text is. */
  private readonly diskCache = new Map<string, ParseEntry>();
  private readonly last = new Map<string, Analysis>();
  /** Resolution and block instances of earlier checks, reused by the next (undefined: none). */
  readonly cache: CheckCache | undefined;
  readonly host: Host;

  constructor(
    readonly cwd: string,
    options: { cache?: boolean } = {},
  ) {
    this.cache = options.cache === false ? undefined : new CheckCache();
    this.host = overlayHost(nodeHost(cwd), cwd, (abs) => this.open.get(abs));
  }

  /** The path the compiler uses for an absolute file name (relative to the workspace when inside). */
  pathOf(abs: string): string {
    return displayPath(this.cwd, abs);
  }
  absOf(path: string): string {
    return resolve(this.cwd, path);
  }

  setText(abs: string, text: string): void {
    this.open.set(abs, text);
  }
  close(abs: string): void {
    this.open.delete(abs);
    this.parsers.delete(abs);
    this.last.delete(abs);
  }
  textOf(abs: string): string | undefined {
    return this.open.get(abs);
  }
  /** Errors in files this document imports (directly or not), shown at the import that leads
   * to the file (else the first import), each with a note pointing at the error itself: they
   * stop the check of this document, so the editor must show them here. */
  private importedErrors(path: string, ast: FileAst | undefined, all: Diagnostic[], result: CheckResult) {
    const imports = ast?.imports ?? [];
    if (imports.length === 0) return [];
    const out: Diagnostic[] = [];
    for (const d of all) {
      if (d.span.file === path || d.severity !== "error") continue;
      const direct = imports.find((i) => this.host.resolveImport(path, i.path) === d.span.file);
      const at = (direct ?? imports[0]!).span;
      const pos = result.sources.get(d.span.file)?.position(d.span.start);
      const where = pos ? `${d.span.file}:${pos.line}:${pos.col}` : d.span.file;
      out.push({
        ...d,
        span: at,
        message: `in ${where}: ${d.message}`,
        notes: [{ message: `${d.code} is here`, span: d.span }, ...d.notes],
      });
    }
    return out;
  }

  /** Drops the last checks (files on disk changed), so the next query checks again. */
  forgetChecks(): void {
    this.last.clear();
  }
  /** Open documents whose last check read `abs` (besides `abs` itself). */
  dependents(abs: string): string[] {
    const path = this.pathOf(abs);
    return [...this.last.entries()]
      .filter(([other, a]) => other !== abs && a.result.sources.has(path))
      .map(([other]) => other);
  }

  /** The last analysis of an open document if its text has not changed since, else a new one. */
  analysis(abs: string): Analysis | undefined {
    const text = this.open.get(abs);
    if (text === undefined) return undefined;
    const prev = this.last.get(abs);
    if (prev && prev.text === text && this.importsUnchanged(prev)) return prev;
    return this.analyze(abs);
  }

  /** The models that run through this document: its own, and those of other open documents
   * whose last check read its current text (so hovering in a block's file shows its uses). */
  graphsThrough(a: Analysis): Graph[] {
    const out = [...a.result.graphs];
    for (const [abs, other] of this.last) {
      if (other === a || this.open.get(abs) !== other.text) continue;
      if (other.result.sources.get(a.path)?.text === a.text) out.push(...other.result.graphs);
    }
    return out;
  }

  private importsUnchanged(a: Analysis): boolean {
    for (const [path, src] of a.result.sources) {
      const t = this.open.get(this.absOf(path));
      if (t !== undefined && t !== src.text) return false;
    }
    return true;
  }

  /** Checks an open document as a root, with every open document's unsaved text. */
  analyze(abs: string): Analysis | undefined {
    const text = this.open.get(abs);
    if (text === undefined) return undefined;
    const path = this.pathOf(abs);
    // The parse cache the compiler consults: open documents parsed piecewise, files from disk once.
    const parseCache = new Map<string, ParseEntry>(this.diskCache);
    for (const [openAbs, openText] of this.open) {
      let parser = this.parsers.get(openAbs);
      if (!parser) this.parsers.set(openAbs, (parser = new IncrementalParser(this.pathOf(openAbs))));
      const [ast, diagnostics] = parser.parse(openText);
      parseCache.set(this.pathOf(openAbs), { text: openText, ast, diagnostics });
    }
    const result = check([path], this.host, this.cache ? { parseCache, cache: this.cache } : { parseCache });
    const asts = new Map<string, FileAst>();
    for (const [p, src] of result.sources) {
      const e = parseCache.get(p);
      if (e && e.text === src.text) asts.set(p, e.ast);
      if (e && !this.open.has(this.absOf(p))) this.diskCache.set(p, e);
    }
    const all = applySuppressions(result.diagnostics, result.sources);
    const diagnostics = all.filter((d) => d.span.file === path);
    diagnostics.push(...this.importedErrors(path, asts.get(path), all, result));
    const a: Analysis = { path, text, result, diagnostics, asts };
    this.last.set(abs, a);
    return a;
  }
}

// ---- queries ------------------------------------------------------------------------------------

const contains = (s: Span, file: string, offset: number): boolean =>
  s.file === file && s.start <= offset && offset <= s.end;

/** The identifier at or just before `offset`, with its span. */
export function wordAt(text: string, offset: number): { word: string; start: number; end: number } | undefined {
  let start = offset;
  while (start > 0 && /[A-Za-z0-9_]/.test(text[start - 1]!)) start--;
  let end = offset;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end]!)) end++;
  if (start === end || !/[A-Za-z_]/.test(text[start]!)) return undefined;
  return { word: text.slice(start, end), start, end };
}

const num = (n: number): string => (Number.isFinite(n) ? n.toLocaleString("en-US") : "symbolic");

/** Hover text (markdown): the innermost op or block call under the offset, with the shapes flowing
 * in and out of it, its parameters and MACs; an op's signature when no model reaches the place. */
export function hoverAt(
  a: Analysis,
  offset: number,
  graphs: readonly Graph[] = a.result.graphs,
): { markdown: string; span: Span } | undefined {
  type Hit = { span: Span; lines: string[]; key: string };
  const hits: Hit[] = [];
  for (const g of graphs) {
    for (const n of g.nodes) {
      if (!contains(n.span, a.path, offset) || n.op === "input") continue;
      const ins = n.inputs.map((i) => shapeStr(g.nodes[i]!.shape)).join(", ");
      hits.push({
        span: n.span,
        key: `${ins}|${shapeStr(n.shape)}|${n.params}|${n.macs}`,
        lines: [
          `**${n.op}** \`${n.name}\` (${g.name})`,
          `in: \`${ins || "-"}\` → out: \`${shapeStr(n.shape)}\``,
          `parameters: ${num(n.params)}${n.shares !== undefined ? " (shared)" : ""} · MACs: ${num(n.macs)}`,
        ],
      });
    }
    for (const b of g.blocks) {
      if (!contains(b.span, a.path, offset)) continue;
      const { params, macs } = blockCost(g, b.start, b.end);
      const ins = shapeStr(g.nodes[b.input]!.shape);
      const out = shapeStr(g.nodes[b.output]!.shape);
      hits.push({
        span: b.span,
        key: `${ins}|${out}|${params}|${macs}`,
        lines: [
          `**${b.block}**(${b.args}) \`${b.name}\` (${g.name})`,
          `in: \`${ins}\` → out: \`${out}\``,
          `parameters: ${num(params)} · MACs: ${num(macs)}`,
        ],
      });
    }
  }
  if (hits.length > 0) {
    const size = (s: Span): number => s.end - s.start;
    const best = Math.min(...hits.map((h) => size(h.span)));
    const inner = hits.filter((h) => size(h.span) === best);
    const span = inner[0]!.span;
    const same = inner.filter((h) => h.span.start === span.start);
    const distinct = [...new Map(same.map((h) => [h.key, h])).values()];
    const shown = distinct.slice(0, 4).map((h) => h.lines.join("  \n"));
    let md = shown.join("\n\n---\n\n");
    if (same.length > 1) md += `\n\n*${same.length} instances come from this place*`;
    if (distinct.length > shown.length) md += ` *(${distinct.length - shown.length} more kinds not shown)*`;
    return { markdown: md, span };
  }
  const w = wordAt(a.text, offset);
  if (!w) return undefined;
  const span = { file: a.path, start: w.start, end: w.end };
  const op = lookupOp(w.word);
  if (op) return { markdown: opDoc(op, w.word), span };
  const def = definitions(a).get(w.word);
  if (def) return { markdown: `**${def.kind}** \`${signature(def)}\``, span };
  return undefined;
}

function blockCost(g: Graph, start: number, end: number): { params: number; macs: number } {
  let params = 0;
  let macs = 0;
  for (let i = start; i < end; i++) {
    const n = g.nodes[i]!;
    if (n.shares === undefined) params += n.params;
    macs += n.macs;
  }
  return { params, macs };
}

export function opSignature(op: OpDef, name: string = op.name): string {
  const args = op.args.map((s) => (s.default === undefined ? s.name : `${s.name}=${JSON.stringify(s.default)}`));
  return `${name}(${args.join(", ")})`;
}

export function opDoc(op: OpDef, name: string = op.name): string {
  const lines = [`**op** \`${opSignature(op, name)}\``, "", op.summary];
  if (op.args.length) lines.push("");
  for (const s of op.args) lines.push(`- \`${s.name}\` (${describeArgType(s.type)}): ${s.doc}`);
  return lines.join("\n");
}

export function signature(def: Definition): string {
  const ps = def.params.map((p) => `${p.name}${p.type ? `: ${p.type}` : ""}${p.default ? " = …" : ""}`);
  return `${def.name}(${ps.join(", ")})`;
}

/** Blocks and models this check knows (the document's and its imports'), by name. */
export function definitions(a: Analysis): Map<string, Definition> {
  const out = new Map<string, Definition>();
  const own = a.asts.get(a.path);
  for (const [, ast] of a.asts) for (const d of ast.definitions) if (!out.has(d.name)) out.set(d.name, d);
  // The document's own definitions win over imported ones of the same name (as RN-duplicates aside).
  for (const d of own?.definitions ?? []) out.set(d.name, d);
  return out;
}

/** Every object in an AST fragment with a `kind`, depth first. */
function* nodes(v: unknown): Generator<Record<string, unknown> & { kind: string }> {
  if (Array.isArray(v)) {
    for (const x of v) yield* nodes(x);
    return;
  }
  if (v === null || typeof v !== "object") return;
  const o = v as Record<string, unknown>;
  if (typeof o["kind"] === "string") yield o as Record<string, unknown> & { kind: string };
  for (const k of Object.keys(o)) if (k !== "span" && !k.endsWith("Span")) yield* nodes(o[k]);
}

/** Where the name under the offset is defined: an import's file, a block or model, a parameter
 * (also a block's keyword argument at a call), a `let`, `input` or `for` name. */
export function definitionAt(a: Analysis, host: Host, offset: number): Located | undefined {
  const ast = a.asts.get(a.path);
  if (!ast) return undefined;
  for (const imp of ast.imports) {
    if (!contains(imp.span, a.path, offset)) continue;
    const target = host.resolveImport(a.path, imp.path);
    return typeof target === "string" ? { file: target, start: 0, end: 0 } : undefined;
  }
  const w = wordAt(a.text, offset);
  if (!w) return undefined;
  const defs = definitions(a);
  const enclosing = ast.definitions.find((d) => contains(d.span, a.path, offset));
  if (enclosing) {
    // `Block(64, stride=2)`: the keyword names the block's parameter.
    for (const n of nodes(enclosing.body)) {
      if (n.kind !== "call") continue;
      const call = n as unknown as Extract<Expr, { kind: "call" }>;
      for (const arg of call.args) {
        if (!arg.nameSpan || !contains(arg.nameSpan, a.path, offset)) continue;
        const target = call.callee.kind === "name" ? defs.get(call.callee.name) : undefined;
        const p = target?.params.find((q) => q.name === arg.name);
        return p ? { ...p.span } : undefined;
      }
    }
    // Names bound in the definition: the last binding before the offset, else a parameter.
    let best: Span | undefined;
    for (const n of nodes(enclosing.body)) {
      const s = n as { kind: string; name?: string; var?: string; nameSpan?: Span; varSpan?: Span };
      const bound =
        (s.kind === "let" || s.kind === "input") && s.name === w.word
          ? s.nameSpan
          : s.kind === "for" && s.var === w.word
            ? s.varSpan
            : undefined;
      if (bound && bound.start <= w.start && (!best || bound.start > best.start)) best = bound;
    }
    if (best) return { ...best };
    const param = enclosing.params.find((p) => p.name === w.word);
    if (param) return { ...param.span };
  }
  const def = defs.get(w.word);
  if (def) return { ...def.nameSpan };
  return undefined;
}

export interface Completion {
  label: string;
  kind: "op" | "block" | "keyword";
  detail: string;
  documentation: string;
  insertText?: string;
}

/** The lexer's keywords (one list: a new keyword is offered without a change here). */
const KEYWORDS = keywords.map((t) => String(t.PATTERN));

/** Ops (from the registry, aliases included), blocks of this check (with their parameters), keywords. */
export function completions(a: Analysis | undefined): Completion[] {
  const out: Completion[] = [];
  for (const op of allOps())
    for (const name of [op.name, ...(op.aliases ?? [])])
      out.push({ label: name, kind: "op", detail: opSignature(op, name), documentation: opDoc(op, name) });
  if (a)
    for (const d of definitions(a).values())
      if (d.kind === "block")
        out.push({
          label: d.name,
          kind: "block",
          detail: signature(d),
          documentation: `block \`${signature(d)}\`${d.file !== a.path ? ` from ${d.file}` : ""}`,
        });
  for (const k of KEYWORDS) out.push({ label: k, kind: "keyword", detail: "keyword", documentation: "" });
  return out;
}

export interface Symbol {
  name: string;
  kind: "model" | "block" | "stage";
  detail: string;
  span: Span;
  nameSpan: Span;
  children: Symbol[];
}

/** Models and blocks of the document, each with its stages (nested as written). */
export function symbols(ast: FileAst): Symbol[] {
  const stages = (body: Stmt[]): Symbol[] => {
    const out: Symbol[] = [];
    const walk = (ss: Stmt[]): void => {
      for (const s of ss) {
        if (s.kind === "stage")
          out.push({
            name: s.name ?? "(stage)",
            kind: "stage",
            detail: "",
            span: s.span,
            nameSpan: s.nameSpan ?? s.span,
            children: stages(s.body),
          });
        else if (s.kind === "residual") {
          walk(s.body);
          if (s.shortcut?.kind === "custom") walk(s.shortcut.body);
        } else if (s.kind === "for") walk(s.body);
        else if (s.kind === "if") {
          walk(s.then);
          if (s.else) walk(s.else);
        }
      }
    };
    walk(body);
    return out;
  };
  return ast.definitions.map((d) => ({
    name: d.name,
    kind: d.kind,
    detail: signature(d).slice(d.name.length),
    span: d.span,
    nameSpan: d.nameSpan,
    children: stages(d.body),
  }));
}

/** The quick fixes the compiler knows for this document's diagnostics that touch [start, end]. */
export function fixesIn(a: Analysis, start: number, end: number): { diagnostic: Diagnostic; edit: Edit }[] {
  const out: { diagnostic: Diagnostic; edit: Edit }[] = [];
  for (const d of a.diagnostics) {
    if (d.span.end < start || d.span.start > end) continue;
    const edit = fixOf(d, a.result.sources);
    if (edit) out.push({ diagnostic: d, edit });
  }
  return out;
}

/** Line/column of an offset in a file this check read (0-based, as the protocol counts). */
export function positionIn(a: Analysis, file: string, offset: number): { line: number; character: number } {
  const src = a.result.sources.get(file) ?? (file === a.path ? new SourceFile(file, a.text) : undefined);
  if (!src) return { line: 0, character: 0 };
  const p = src.position(offset);
  return { line: p.line - 1, character: p.col - 1 };
}
