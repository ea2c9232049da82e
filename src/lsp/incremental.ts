// Parsing an edited buffer again without parsing all of it: the language server's parse cache.
// Takes: a file's path and its whole text, after each edit. Gives: the same [FileAst, Diagnostic[]]
// as `parseSource`, built from top-level pieces (an `import`, `block` or `model` starting a line)
// of which only those whose text changed are parsed again; the others are reused, their spans moved.
// Must not: give a clean result a whole-file parse would not: text outside a definition, or a
// clean piece holding other than one item, makes it parse the whole file instead. A piece with
// syntax errors reports the errors of parsing that piece alone (recovery stops at the next item).

import type { Definition, FileAst, Import } from "../ast/ast.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { parseSource } from "../syntax/parse.js";

/** A line that starts a top-level item: the keywords can begin nothing else. */
const PIECE_START = /^(?:import|block|model)\b/gm;

interface Piece {
  /** The piece as parsed at offset 0 (never handed out, so never shared with a result). */
  base: Part;
  /** The last copy handed out, and the offset its spans are at. */
  at: number;
  shifted: Part;
}

interface Part {
  imports: Import[];
  definitions: Definition[];
  diagnostics: Diagnostic[];
}

/** Whether the code before `at` (comments and blank lines aside) ends a top-level item: a
 * definition's `}` or an import's string. A line starting with `block` elsewhere (a parameter's
 * type on a line of its own) does not start a piece. */
function endsItem(text: string, at: number): boolean {
  let end = at;
  while (end > 0) {
    const start = text.lastIndexOf("\n", end - 2) + 1;
    const line = text
      .slice(start, end)
      .replace(/^((?:[^"#\n]|"[^"\n]*")*)#.*$/s, "$1")
      .trim();
    if (line) return line.endsWith("}") || line.endsWith('"');
    end = start;
  }
  return true;
}

/** A copy of an AST fragment with every span (an object with file, start and end) moved by `d`. */
function shift<T>(v: T, d: number): T {
  if (Array.isArray(v)) return v.map((x) => shift(x, d)) as T;
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = shift(o[k], d);
  if (typeof o["file"] === "string" && typeof o["start"] === "number" && typeof o["end"] === "number") {
    out["start"] = (o["start"] as number) + d;
    out["end"] = (o["end"] as number) + d;
  }
  return out as T;
}

export interface IncrementalStats {
  /** Pieces parsed in the last call (0 when every piece was reused). */
  parsed: number;
  reused: number;
  /** Whether the last call fell back to parsing the whole text. */
  whole: boolean;
}

/** One per file: pieces by their text. */
export class IncrementalParser {
  private pieces = new Map<string, Piece>();
  readonly stats: IncrementalStats = { parsed: 0, reused: 0, whole: false };

  constructor(readonly file: string) {}

  parse(text: string): [FileAst, Diagnostic[]] {
    const starts = [...text.matchAll(PIECE_START)].map((m) => m.index).filter((i) => i === 0 || endsItem(text, i));
    // Text before the first item may hold only comments and blank lines.
    const head = text.slice(0, starts[0] ?? text.length);
    if (starts.length === 0 || !/^(?:\s|#[^\n]*)*$/.test(head)) return this.whole(text);
    const next = new Map<string, Piece>();
    const ast: FileAst = { file: this.file, imports: [], definitions: [] };
    const diagnostics: Diagnostic[] = [];
    this.stats.parsed = 0;
    this.stats.reused = 0;
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i]!;
      const piece = text.slice(start, starts[i + 1] ?? text.length);
      let p = next.get(piece) ?? this.pieces.get(piece);
      if (p && next.has(piece)) {
        // The same text twice in one file (a duplicate definition): its own copy at its own place.
        p = { base: p.base, at: start, shifted: shift(p.base, start) };
      } else if (p) {
        this.stats.reused++;
        if (p.at !== start) p = { base: p.base, at: start, shifted: shift(p.base, start) };
      } else {
        const [part, ds] = parseSource(this.file, piece);
        if (ds.length === 0 && part.imports.length + part.definitions.length !== 1) return this.whole(text);
        this.stats.parsed++;
        const base = { imports: part.imports, definitions: part.definitions, diagnostics: ds };
        p = { base, at: start, shifted: shift(base, start) };
      }
      if (!next.has(piece)) next.set(piece, p);
      ast.imports.push(...p.shifted.imports);
      ast.definitions.push(...p.shifted.definitions);
      diagnostics.push(...p.shifted.diagnostics);
    }
    this.pieces = next;
    this.stats.whole = false;
    return [ast, diagnostics];
  }

  private whole(text: string): [FileAst, Diagnostic[]] {
    this.pieces.clear();
    this.stats.parsed = 1;
    this.stats.reused = 0;
    this.stats.whole = true;
    return parseSource(this.file, text);
  }
}
