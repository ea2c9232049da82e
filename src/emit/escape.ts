// The one place where text from a `.resnet` file (strings, names, file paths) is made safe to
// place inside generated code, comments, ONNX doc strings and printed listings.
// Takes: arbitrary strings (hostile: `*/`, newlines, backticks, `${`, U+2028, control bytes).
// Gives: a TypeScript string literal, a comment-safe printable text, or a fresh identifier.
// Must not: be bypassed. Emitters never splice user text into code any other way; identifiers
// are generated here, never taken verbatim (a model input named `class`, `rt` or `yield` is a
// legal .resnet name and must not become a TypeScript keyword or shadow the emitter's own names).

const hex4 = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * A TypeScript/JavaScript literal for any JSON value (string, number, array, object). JSON
 * escapes quotes, backslashes and C0 controls; U+2028/U+2029 are escaped too (line terminators
 * in older engines and in tools that split lines), so the literal is always one line of code.
 */
export function tsLiteral(v: unknown): string {
  return JSON.stringify(v).replace(/[\u2028\u2029]/g, hex4);
}

/**
 * Printable ASCII text for a comment, a doc string or a listing: every character outside
 * U+0020..U+007E becomes a `\uXXXX` escape (so no newline, carriage return, line separator or
 * terminal escape survives) and `*` + `/` is broken so a block comment cannot be closed. It is
 * idempotent (the ONNX listing escapes doc strings that were escaped when emitted) and leaves
 * ordinary paths and names (`examples/a.resnet:3:5`, `C:\models\a.resnet`) unchanged.
 */
export function commentText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, hex4).replace(/\*\//g, "*\\/");
}

/** Longest part of a generated identifier taken from a name (a 100 KB stage name stays short). */
const MAX_IDENT_PART = 48;

/**
 * Generates identifiers that are unique within one allocator, valid in TypeScript, never a
 * reserved word and never equal to a name the emitter itself uses: every identifier starts with
 * the allocator's prefix (`v_` for values, `b_` for block functions), which no keyword, global
 * or emitter name has. The rest is the name with other characters replaced by `_`, so the code
 * stays readable (`v_layer1_0_conv1`); collisions (`a.b` and `a_b`) get a numeric suffix.
 */
export class IdentAllocator {
  private readonly used = new Set<string>();
  /** Next suffix to try per base, so many names sharing a base stay linear, not quadratic. */
  private readonly next = new Map<string, number>();
  constructor(private readonly prefix: string) {}

  fresh(name: string): string {
    const base = this.prefix + name.slice(0, MAX_IDENT_PART).replace(/[^A-Za-z0-9_]/g, "_");
    let id = base;
    let n = this.next.get(base) ?? 2;
    while (this.used.has(id)) id = `${base}_${n++}`;
    this.next.set(base, n);
    this.used.add(id);
    return id;
  }
}
