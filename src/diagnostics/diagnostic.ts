// The Diagnostic type every stage reports with, and the source-file bookkeeping behind spans.
// Takes: a code from `messages.ts` and its typed arguments. Gives: plain data.
// Must not: print, exit, or throw for user errors (throwing is for compiler bugs: `compilerAssert`).

import { messages, type Code, type MessageArgs, type Severity } from "./messages.js";

export interface Span {
  file: string;
  /** 0-based character offsets into the file's text, end exclusive. */
  start: number;
  end: number;
}

export interface Note {
  message: string;
  span?: Span;
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  span: Span;
  notes: Note[];
  hint?: string;
}

export function diag<C extends Code>(
  code: C,
  span: Span,
  args: MessageArgs<C>,
  extra?: { hint?: string; notes?: Note[] },
): Diagnostic {
  const entry = messages[code] as { severity: Severity; message: (a: MessageArgs<C>) => string };
  const d: Diagnostic = {
    code,
    severity: entry.severity,
    message: entry.message(args),
    span,
    notes: extra?.notes ?? [],
  };
  if (extra?.hint) d.hint = extra.hint;
  return d;
}

/** A bug in resnetc itself, never a user error. */
export class CompilerBug extends Error {}
export function compilerAssert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new CompilerBug(`internal error: ${what}`);
}

/** A loaded source text with a line index, so spans can be turned into line:col. */
export class SourceFile {
  readonly lineStarts: number[];
  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }
  /** 1-based line and column (columns count UTF-16 units, as editors and GitHub do for ASCII). */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }
  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, "");
  }
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) =>
    a.span.file < b.span.file
      ? -1
      : a.span.file > b.span.file
        ? 1
        : a.span.start - b.span.start || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

/** Drops exact repeats (the same code at the same place with the same message), which a block
 * instantiated many times would otherwise report once per instance. */
export function dedupeDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of ds) {
    const key = `${d.code}\0${d.span.file}\0${d.span.start}\0${d.span.end}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}
