// Inline suppression comments: `# resnetc-disable-next-line RN303` and `# resnetc-disable-line RN303`
// (several codes separated by commas or spaces; text after `--` is a free reason).
// Takes: diagnostics and the source files they point into. Gives: the diagnostics with the
// suppressed ones removed, plus RN306 for a comment that suppressed nothing and RN307 for one
// that names no code, an unknown code or an error. Must not: suppress an error (an error means
// there is no model to build; only warnings are opinions), read files, or print.

import { diag, type Diagnostic, type SourceFile, type Span } from "./diagnostic.js";
import { messages, type Code } from "./messages.js";

type Which = "resnetc-disable-line" | "resnetc-disable-next-line";

interface Directive {
  file: string;
  which: Which;
  /** The 1-based line whose diagnostics it suppresses. */
  line: number;
  span: Span;
  codes: { code: string; span: Span }[];
}

const DIRECTIVE = /^#\s*(resnetc-disable-next-line|resnetc-disable-line)\b([^\n]*)$/;

/** The `#` comment on each line (skipping `#` inside string literals, which have no escapes). */
function comments(src: SourceFile): { line: number; start: number; text: string }[] {
  const out: { line: number; start: number; text: string }[] = [];
  for (let line = 1; line <= src.lineStarts.length; line++) {
    const text = src.lineText(line);
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '"') inString = !inString;
      else if (c === "#" && !inString) {
        out.push({ line, start: src.lineStarts[line - 1]! + i, text: text.slice(i) });
        break;
      }
    }
  }
  return out;
}

export function directivesIn(src: SourceFile): Directive[] {
  const out: Directive[] = [];
  // Every directive names itself: a file without the word has none (and is not split into lines).
  if (!src.text.includes("resnetc-disable")) return out;
  for (const c of comments(src)) {
    const m = DIRECTIVE.exec(c.text);
    if (!m) continue;
    const which = m[1] as Which;
    const restStart = c.start + m[0].length - m[2]!.length;
    const rest = m[2]!.split("--")[0]!;
    const codes: Directive["codes"] = [];
    for (const t of rest.matchAll(/[^\s,]+/g))
      codes.push({
        code: t[0],
        span: { file: src.path, start: restStart + t.index, end: restStart + t.index + t[0].length },
      });
    out.push({
      file: src.path,
      which,
      line: which === "resnetc-disable-line" ? c.line : c.line + 1,
      span: { file: src.path, start: c.start, end: c.start + c.text.trimEnd().length },
      codes,
    });
  }
  return out;
}

/**
 * Removes the warnings a directive names on its line, and reports each directive (or code in it)
 * that did nothing. `files` limits which sources are scanned (default: all of them).
 */
export function applySuppressions(
  ds: readonly Diagnostic[],
  sources: ReadonlyMap<string, SourceFile>,
  scan: (file: string) => boolean = () => true,
): Diagnostic[] {
  const directives: Directive[] = [];
  for (const [file, src] of sources) if (scan(file)) directives.push(...directivesIn(src));
  if (directives.length === 0) return [...ds];
  const lineOf = (d: Diagnostic): number => sources.get(d.span.file)?.position(d.span.start).line ?? 0;
  const used = new Set<string>();
  const kept = ds.filter((d) => {
    if (d.severity !== "warning") return true;
    const line = lineOf(d);
    const hit = directives.find(
      (x) => x.file === d.span.file && x.line === line && x.codes.some((c) => c.code === d.code),
    );
    if (!hit) return true;
    used.add(`${hit.file}:${hit.span.start}:${d.code}`);
    return false;
  });
  const extra: Diagnostic[] = [];
  for (const x of directives) {
    if (x.codes.length === 0) {
      extra.push(
        diag("RN307", x.span, {
          detail: `\`${x.which}\` names no code: name the warning it suppresses, e.g. \`# ${x.which} RN303\``,
        }),
      );
      continue;
    }
    for (const c of x.codes) {
      const entry = (messages as Record<string, { severity: string }>)[c.code];
      if (!entry) extra.push(diag("RN307", c.span, { detail: `\`${c.code}\` is not a resnetc diagnostic code` }));
      else if (entry.severity === "error")
        extra.push(
          diag("RN307", c.span, { detail: `${c.code} is an error, and errors cannot be suppressed (only warnings)` }),
        );
      else if (!used.has(`${x.file}:${x.span.start}:${c.code}`))
        extra.push(diag("RN306", c.span, { code: c.code as Code, which: x.which }));
    }
  }
  return [...kept, ...extra];
}
