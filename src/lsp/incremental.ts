// Parsing an edited buffer again without parsing all of it: the language server's parse cache.
// Takes: a file's path and its whole text, after each edit. Gives: the same [FileAst, Diagnostic[]]
// as `parseSource`, built from top-level pieces (an `import`, `block` or `model` starting a line)
// of which only those whose text changed are parsed again; the others are reused, their spans
// moved in place (so an AST handed out earlier changes: use only the latest result of a file).
// Must not: give a clean result a whole-file parse would not: text outside a definition, or a
// clean piece holding other than one item, makes it parse the whole file instead. A piece with
// syntax errors reports the errors of parsing that piece alone (recovery stops at the next item).

import type { Definition, FileAst, Import, Stmt } from "../ast/ast.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { parseSource } from "../syntax/parse.js";

/** A line that starts a top-level item: the keywords can begin nothing else. */
const PIECE_START = /^(?:import|block|model)\b/gm;

interface Piece {
  /** The piece's items, their spans at offset `at` of the file's text. */
  part: Part;
  at: number;
  /** Every span object in `part`, each once, so moving the piece is one pass over them. */
  spans: { start: number; end: number }[];
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

/** Every span (an object with file, start and end) in an AST fragment, each object once (two
 * nodes may share one). Spans are moved in place through this list: copying ten thousand spans
 * on each keystroke cost more than parsing the edited piece. */
function spansOf(v: unknown, out: { start: number; end: number }[] = [], seen = new Set<object>()) {
  if (v === null || typeof v !== "object" || seen.has(v)) return out;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const x of v) spansOf(x, out, seen);
    return out;
  }
  const o = v as Record<string, unknown>;
  if (typeof o["file"] === "string" && typeof o["start"] === "number" && typeof o["end"] === "number")
    out.push(o as unknown as { start: number; end: number });
  for (const k in o) spansOf(o[k], out, seen);
  return out;
}

/** A deep copy of an AST fragment (plain objects, arrays and primitives) with every span moved by
 * `d`, in one pass: what reusing a chunk of a long body costs (structuredClone and a second pass
 * over the spans took 35 ms for a 1,000-line body). Objects the fragment shares are copied apart,
 * which changes nothing a reader of the AST sees (spans are compared by value). */
function shiftedCopy<T>(v: T, d: number, spans: { start: number; end: number }[]): T {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = shiftedCopy(v[i], d, spans);
    return out as T;
  }
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = shiftedCopy(o[k], d, spans);
  if (typeof o["file"] === "string" && typeof o["start"] === "number" && typeof o["end"] === "number") {
    out["start"] = (o["start"] as number) + d;
    out["end"] = (o["end"] as number) + d;
    spans.push(out as unknown as { start: number; end: number });
  }
  return out as T;
}

function move(p: Piece, to: number): void {
  const d = to - p.at;
  if (d !== 0) for (const s of p.spans) ((s.start += d), (s.end += d));
  p.at = to;
}

/** A definition body at least this many lines long is parsed in chunks of CHUNK_LINES lines. */
const LONG_BODY_LINES = 64;
const CHUNK_LINES = 32;

/** Where a definition's body opens and closes in a piece, and the line starts inside it that are
 * outside any bracket (where one statement ends and the next begins); undefined when the brackets
 * do not balance or anything but comments follows the closing brace. */
function splitBody(piece: string): { open: number; close: number; cuts: number[] } | undefined {
  let open = -1;
  let depth = 0; // ( and [
  let braces = 0;
  const cuts: number[] = [];
  for (let i = 0; i < piece.length; i++) {
    const c = piece[i]!;
    if (c === "#") {
      while (i < piece.length && piece[i] !== "\n") i++;
      i--;
    } else if (c === '"') {
      i++;
      while (i < piece.length && piece[i] !== '"' && piece[i] !== "\n") i++;
      if (piece[i] !== '"') return undefined;
    } else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "{") {
      if (open < 0 && depth === 0) open = i;
      else braces++;
    } else if (c === "}") {
      if (open < 0) return undefined;
      if (braces === 0) {
        if (!/^(?:\s|#[^\n]*)*$/.test(piece.slice(i + 1))) return undefined;
        return depth === 0 ? { open, close: i, cuts } : undefined;
      }
      braces--;
    } else if (c === "\n" && open >= 0 && depth === 0 && braces === 0) cuts.push(i + 1);
  }
  return undefined;
}

export interface IncrementalStats {
  /** Pieces parsed in the last call (0 when every piece was reused). */
  parsed: number;
  reused: number;
  /** Whether the last call fell back to parsing the whole text. */
  whole: boolean;
  /** Chunks of long definition bodies parsed and reused in the last call. */
  chunksParsed: number;
  chunksReused: number;
}

/** One per file: pieces by their text. */
export class IncrementalParser {
  private pieces = new Map<string, Piece>();
  /** Chunks of long bodies by header and text, with their statements as parsed at `at`. */
  private chunks = new Map<string, { def: Definition; at: number }>();
  private nextChunks = new Map<string, { def: Definition; at: number }>();
  readonly stats: IncrementalStats = { parsed: 0, reused: 0, whole: false, chunksParsed: 0, chunksReused: 0 };

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
    this.nextChunks = new Map();
    this.stats.chunksParsed = 0;
    this.stats.chunksReused = 0;
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i]!;
      const piece = text.slice(start, starts[i + 1] ?? text.length);
      let p = this.pieces.get(piece);
      if (p && !next.has(piece)) {
        this.stats.reused++;
        move(p, start);
      } else if (p) {
        // The same text twice in one file (a duplicate definition): a copy of its own.
        const part = structuredClone(p.part);
        const copy: Piece = { part, at: p.at, spans: spansOf(part) };
        move(copy, start);
        p = copy;
      } else {
        const [parsed, ds, spans] = this.parsePiece(piece);
        if (ds.length === 0 && parsed.imports.length + parsed.definitions.length !== 1) return this.whole(text);
        this.stats.parsed++;
        const part = { imports: parsed.imports, definitions: parsed.definitions, diagnostics: ds };
        p = { part, at: 0, spans: spans ?? spansOf(part) };
        move(p, start);
      }
      if (!next.has(piece)) next.set(piece, p);
      ast.imports.push(...p.part.imports);
      ast.definitions.push(...p.part.definitions);
      diagnostics.push(...p.part.diagnostics);
    }
    this.pieces = next;
    // Chunks of bodies not parsed again this time stay for the next (an edit elsewhere in a piece).
    for (const [k, c] of this.nextChunks) this.chunks.set(k, c);
    if (this.chunks.size > 4 * this.nextChunks.size + 64) this.chunks = this.nextChunks;
    this.stats.whole = false;
    return [ast, diagnostics];
  }

  /** One piece, at offset 0: a long definition body chunk by chunk (each chunk parsed as the
   * definition's header followed by those statements), reusing chunks whose text is unchanged;
   * any chunk that does not parse cleanly makes it parse the piece whole. */
  private parsePiece(piece: string): [FileAst, Diagnostic[], { start: number; end: number }[]?] {
    const whole = (): [FileAst, Diagnostic[]] => parseSource(this.file, piece);
    if (!/^(?:block|model)\b/.test(piece)) return whole();
    const split = splitBody(piece);
    if (!split || split.cuts.length < LONG_BODY_LINES) return whole();
    const header = piece.slice(0, split.open + 1);
    const bounds = [split.open + 1];
    for (let i = CHUNK_LINES; i < split.cuts.length - CHUNK_LINES / 2; i += CHUNK_LINES) bounds.push(split.cuts[i]!);
    bounds.push(split.close);
    const body: Stmt[] = [];
    // The spans of the copies, collected as they are made (the piece's: see Piece.spans).
    const spans: { start: number; end: number }[] = [];
    let first: Definition | undefined;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [a, b] = [bounds[i]!, bounds[i + 1]!];
      const chunk = piece.slice(a, b);
      const key = `${header}\0${chunk}`;
      let c = this.nextChunks.get(key) ?? this.chunks.get(key);
      if (!c) {
        const [f, ds] = parseSource(this.file, `${header}${" ".repeat(a - header.length)}${chunk}\n}`);
        if (ds.length || f.imports.length || f.definitions.length !== 1) return whole();
        c = { def: f.definitions[0]!, at: a };
        this.stats.chunksParsed++;
      } else this.stats.chunksReused++;
      this.nextChunks.set(key, c);
      for (const st of c.def.body) body.push(shiftedCopy(st, a - c.at, spans));
      first ??= c.def;
    }
    const def: Definition = shiftedCopy({ ...first!, body: [] }, 0, spans);
    def.span.end = split.close + 1;
    def.body = body;
    return [{ file: this.file, imports: [], definitions: [def] }, [], spans];
  }

  private whole(text: string): [FileAst, Diagnostic[]] {
    this.pieces.clear();
    this.stats.parsed = 1;
    this.stats.reused = 0;
    this.stats.whole = true;
    return parseSource(this.file, text);
  }
}
