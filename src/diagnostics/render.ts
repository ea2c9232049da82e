// Diagnostics as text (with the source line and an underline), JSON, GitHub Actions
// annotations, and SARIF 2.1.0.
// Takes: diagnostics and the source files they point into. Gives: strings.
// Must not: print (the CLI decides where output goes); pass a hostile file's control characters
// through to a terminal or a CI log: text and GitHub output show each one as a visible symbol.

import type { Diagnostic, SourceFile, Span } from "./diagnostic.js";
import { messages, type Code } from "./messages.js";

type Sources = ReadonlyMap<string, SourceFile>;

/** Characters a terminal or a CI log would act on rather than show: C0 controls but tab and
 * newline, DEL, C1 controls (ESC [ ... m colours, OSC titles and links, cursor moves that could
 * hide an error), and the Unicode bidirectional and line-separator controls (Trojan Source). */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every such character shown as one visible one, so excerpts stay aligned: a C0
 * control as its Unicode control picture (ESC as U+241B), DEL as U+2421, the rest as U+FFFD. */
export function visible(s: string): string {
  return s.replace(INVISIBLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? "\u2421" : "\ufffd";
  });
}

export function locate(span: Span, sources: Sources): { line: number; col: number; endLine: number; endCol: number } {
  const src = sources.get(span.file);
  if (!src) return { line: 1, col: 1, endLine: 1, endCol: 1 };
  const a = src.position(span.start);
  const b = src.position(Math.max(span.start, span.end));
  return { line: a.line, col: a.col, endLine: b.line, endCol: b.col };
}

function where(span: Span, sources: Sources): string {
  const p = locate(span, sources);
  return `${visible(span.file)}:${p.line}:${p.col}`;
}

/** The offending line with the span underlined (first line of a multi-line span). */
function excerpt(span: Span, sources: Sources): string[] {
  const src = sources.get(span.file);
  if (!src || src.text.length === 0) return [];
  const p = locate(span, sources);
  const text = visible(src.lineText(p.line).replace(/\t/g, " "));
  const num = String(p.line);
  const pad = " ".repeat(num.length);
  const width = p.endLine === p.line ? Math.max(1, p.endCol - p.col) : Math.max(1, text.length - p.col + 1);
  return [`  ${num} | ${text}`, `  ${pad} | ${" ".repeat(p.col - 1)}${"^".repeat(width)}`];
}

export function renderText(d: Diagnostic, sources: Sources): string {
  const lines = [
    `${where(d.span, sources)} ${d.severity} ${d.code} ${visible(d.message)}`,
    ...excerpt(d.span, sources),
  ];
  for (const n of d.notes) {
    lines.push(`  note: ${visible(n.message)}${n.span ? ` (${where(n.span, sources)})` : ""}`);
    if (n.span) lines.push(...excerpt(n.span, sources).map((l) => `  ${l}`));
  }
  if (d.hint) lines.push(`  hint: ${visible(d.hint)}`);
  return lines.join("\n");
}

export function summaryLine(ds: readonly Diagnostic[]): string {
  const e = ds.filter((d) => d.severity === "error").length;
  const w = ds.length - e;
  return `${e} error${e === 1 ? "" : "s"}, ${w} warning${w === 1 ? "" : "s"}`;
}

export function toJson(d: Diagnostic, sources: Sources): object {
  const p = locate(d.span, sources);
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.span.file,
    line: p.line,
    column: p.col,
    endLine: p.endLine,
    endColumn: p.endCol,
    ...(d.hint ? { hint: d.hint } : {}),
    notes: d.notes.map((n) => ({
      message: n.message,
      ...(n.span ? { file: n.span.file, line: locate(n.span, sources).line, column: locate(n.span, sources).col } : {}),
    })),
  };
}

/** GitHub Actions workflow commands; the properties and message are escaped as the runner requires. */
export function renderGithub(d: Diagnostic, sources: Sources): string {
  const p = locate(d.span, sources);
  const prop = (s: string): string =>
    s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/:/g, "%3A").replace(/,/g, "%2C");
  const msg = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const body = visible(`${d.code} ${d.message}${d.hint ? `\nhint: ${d.hint}` : ""}`);
  return (
    `::${d.severity} ` +
    `file=${prop(visible(d.span.file))},line=${p.line},col=${p.col},endLine=${p.endLine},endColumn=${p.endCol},title=` +
    `${prop(`resnetc ${d.code}`)}::${msg(body)}`
  );
}

export interface SarifOptions {
  /** file:// URI of the folder that artifact URIs are relative to (the repository root), ending
   * in "/"; it is recorded as SRCROOT in `originalUriBaseIds`. */
  srcRoot?: string;
  /** How a diagnostic's file is named relative to srcRoot; undefined for a file outside it (then
   * it is given as an absolute file:// URI). Default: the file as the diagnostic names it. */
  relative?: (file: string) => string | undefined;
  /** Absolute file:// URI of a file outside srcRoot. */
  absolute?: (file: string) => string;
  /** The documentation of a code (docs/diagnostics.md#rn303). */
  helpUri?: (code: Code) => string;
}

export function renderSarif(
  ds: readonly Diagnostic[],
  sources: Sources,
  version: string,
  options: SarifOptions = {},
): string {
  const codes = [...new Set(ds.map((d) => d.code))].sort() as Code[];
  const artifact = (file: string): object => {
    const shown = file.split("\\").join("/");
    if (!options.srcRoot) return { uri: shown };
    const rel = options.relative ? options.relative(file) : shown;
    if (rel === undefined) return { uri: options.absolute ? options.absolute(file) : shown };
    return { uri: rel.split("/").map(encodeURIComponent).join("/"), uriBaseId: "SRCROOT" };
  };
  const region = (span: Span): object => {
    const p = locate(span, sources);
    return { startLine: p.line, startColumn: p.col, endLine: p.endLine, endColumn: p.endCol };
  };
  const log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "resnetc",
            version,
            informationUri: "https://www.npmjs.com/package/resnetc",
            rules: codes.map((c) => ({
              id: c,
              shortDescription: { text: messages[c].summary },
              defaultConfiguration: { level: messages[c].severity },
              ...(options.helpUri ? { helpUri: options.helpUri(c) } : {}),
            })),
          },
        },
        ...(options.srcRoot ? { originalUriBaseIds: { SRCROOT: { uri: options.srcRoot } } } : {}),
        results: ds.map((d) => ({
          ruleId: d.code,
          ruleIndex: codes.indexOf(d.code),
          level: d.severity,
          message: { text: d.hint ? `${d.message}\nhint: ${d.hint}` : d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: artifact(d.span.file),
                region: region(d.span),
              },
            },
          ],
          relatedLocations: d.notes
            .filter((n) => n.span)
            .map((n, i) => ({
              id: i,
              message: { text: n.message },
              physicalLocation: {
                artifactLocation: artifact(n.span!.file),
                region: region(n.span!),
              },
            })),
        })),
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}
