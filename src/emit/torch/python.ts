// The one place where text reaches generated Python: string literals, comments, numbers,
// identifiers and attribute paths, and the line fitting that keeps every line within 120 columns.
// Takes: arbitrary strings (hostile: quotes, backslashes, newlines, `"""`, U+2028, lone surrogates,
// 100 KB names) and generated lines. Gives: ASCII-only Python text. Must not: be bypassed; the torch
// emitter never splices user text into code any other way, and identifiers are generated, never
// taken verbatim (a layer named `forward`, `None` or `self` is legal .resnet and must not become
// Python syntax or shadow nn.Module's own attributes).

import { commentText } from "../escape.js";

/** Widest line of generated Python (the house's prettier printWidth). */
export const PY_WIDTH = 120;

const hex = (c: number, n: number): string => c.toString(16).padStart(n, "0");

/**
 * A Python string literal for any string: double-quoted, ASCII only. Backslash and quote are
 * escaped; every character outside U+0020..U+007E becomes \xNN, \uNNNN or \UNNNNNNNN (a lone
 * surrogate stays one, as Python's str allows), so no newline or line separator survives.
 */
export function pyStr(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else if (c <= 0xff) out += `\\x${hex(c, 2)}`;
    else if (c <= 0xffff) out += `\\u${hex(c, 4)}`;
    else out += `\\U${hex(c, 8)}`;
  }
  return `${out}"`;
}

/** A Python float or int literal; the compiler's attributes are finite (anything else is a bug). */
export function pyNum(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`internal: non-finite number ${x} in generated Python`);
  return String(x);
}

export const pyBool = (b: boolean): string => (b ? "True" : "False");

/** A tuple of ints: `(3, 3)`, `(3,)`. */
export const pyTuple = (xs: readonly number[]): string =>
  xs.length === 1 ? `(${pyNum(xs[0]!)},)` : `(${xs.map(pyNum).join(", ")})`;

/** `# text` lines at `indent`, the text made printable ASCII and wrapped within the width. */
export function pyComment(indent: string, text: string): string[] {
  const room = Math.max(PY_WIDTH - indent.length - 2, 20);
  const safe = commentText(text);
  const lines: string[] = [];
  for (let i = 0; i < safe.length || i === 0; i += room) lines.push(`${indent}# ${safe.slice(i, i + room)}`.trimEnd());
  return lines;
}

// Python keywords and the soft ones, and names the generated module itself binds.
const KEYWORDS = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except finally for from " +
    "global if import in is lambda nonlocal not or pass raise return try while with yield match case type _"
  ).split(" "),
);

// Every attribute of torch.nn.Module (torch 1.13 and 2.x) and of the generated classes: a child
// named like one of them is registered and read through _child, never as `self.name`.
const MODULE_ATTRS = new Set(
  (
    "T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches " +
    "eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict " +
    "modules mtia named_buffers named_children named_modules named_parameters parameters register_backward_hook " +
    "register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook " +
    "register_full_backward_pre_hook register_load_state_dict_post_hook register_load_state_dict_pre_hook " +
    "register_module register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ " +
    "set_extra_state set_submodule share_memory smart_apply state_dict to to_empty train training type xpu zero_grad " +
    "INPUTS OUTPUTS NUM_CLASSES"
  ).split(" "),
);

const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Longest name written as an attribute: a longer one is a string (which fitLine can cut). */
const MAX_ATTR = 48;

/** A child name that can be written `self.name`: a short ASCII identifier, not a keyword, not
 * private, not an attribute nn.Module or the generated classes already have. */
export const isPlainAttr = (name: string): boolean =>
  name.length <= MAX_ATTR && IDENT.test(name) && !KEYWORDS.has(name) && !MODULE_ATTRS.has(name);

const CANONICAL_INT = /^(0|[1-9][0-9]{0,8})$/;

/**
 * The expression for the object at dotted `path` below `base`: `self.layer1[0].conv1`. A plain
 * name is an attribute; a number inside a group is `[0]` (the _Group helper's __getitem__); any
 * other name, and a `linked` (shared) layer, is `_child(parent, "name")`.
 */
export function pyPath(base: string, path: string, groups: ReadonlySet<string>, linked = false): string {
  let expr = base;
  let sofar = "";
  const segs = path.split(".");
  for (const [i, seg] of segs.entries()) {
    const inGroup = groups.has(sofar);
    // A linked (shared) layer is found by _child only.
    if (linked && i === segs.length - 1) expr = `_child(${expr}, ${pyStr(seg)})`;
    else if (isPlainAttr(seg)) expr += `.${seg}`;
    else if (inGroup && CANONICAL_INT.test(seg)) expr += `[${seg}]`;
    else expr = `_child(${expr}, ${pyStr(seg)})`;
    sofar = sofar ? `${sofar}.${seg}` : seg;
  }
  return expr;
}

/** Most characters of an identifier taken from a name (a 100 KB stage name stays short). */
const MAX_IDENT_PART = 48;

/**
 * Python identifiers unique within one allocator, never a keyword and never a name the generated
 * module binds (those are given as `taken`). `prefix` is put first when the name alone would not
 * do ("v_" for values; "" for classes, which then get "M_" when the name cannot be used).
 */
export class PyIdents {
  private readonly used: Set<string>;
  private readonly next = new Map<string, number>();
  constructor(
    private readonly prefix: string,
    taken: Iterable<string> = [],
  ) {
    this.used = new Set(taken);
  }

  fresh(name: string): string {
    let base = this.prefix + name.slice(0, MAX_IDENT_PART).replace(/[^A-Za-z0-9_]/g, "_");
    if (!/^[A-Za-z]/.test(base) || KEYWORDS.has(base)) base = `M_${base}`;
    let id = base;
    let n = this.next.get(base) ?? 2;
    while (this.used.has(id) || KEYWORDS.has(id)) id = `${base}_${n++}`;
    this.next.set(base, n);
    this.used.add(id);
    return id;
  }
}

// ---- line fitting ----

type Tok = { kind: "str" | "open" | "close" | "comma" | "code"; text: string };

function tokens(line: string): Tok[] {
  const out: Tok[] = [];
  const re = /"(?:[^"\\]|\\.)*"|[([{]|[)\]}]|,|[^"()[\]{},]+/g;
  for (const m of line.matchAll(re)) {
    const t = m[0];
    const kind =
      t[0] === '"' ? "str" : "([{".includes(t) ? "open" : ")]}".includes(t) ? "close" : t === "," ? "comma" : "code";
    out.push({ kind, text: t });
  }
  return out;
}

const join = (ts: readonly Tok[]): string => ts.map((t) => t.text).join("");

/** Pieces of a long string literal, each a literal of at most `room` characters, never cutting an escape. */
function chunkString(lit: string, room: number): string[] {
  const body = lit.slice(1, -1);
  const units = body.match(/\\U[0-9a-f]{8}|\\u[0-9a-f]{4}|\\x[0-9a-f]{2}|\\.|[^\\]/g) ?? [];
  const pieces: string[] = [];
  let cur = "";
  for (const u of units) {
    if (cur.length + u.length > Math.max(room - 2, 12)) {
      pieces.push(`"${cur}"`);
      cur = "";
    }
    cur += u;
  }
  pieces.push(`"${cur}"`);
  return pieces;
}

/**
 * One generated statement as lines within PY_WIDTH: a line that is too long is split at its last
 * bracket pair (black's right-hand split): the head, one element per line (each fitted again,
 * a long string literal cut into implicitly concatenated pieces), the closing bracket. Splitting
 * inside brackets never changes the meaning; a trailing comma is added only where it cannot make
 * a tuple (calls, lists, several elements).
 */
export function fitLine(indent: string, text: string): string[] {
  if (indent.length + text.length <= PY_WIDTH) return [indent + text];
  const ts = tokens(text);
  // Matching pairs at depth 0.
  const pairs: [number, number][] = [];
  const stack: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    if (ts[i]!.kind === "open") stack.push(i);
    else if (ts[i]!.kind === "close") {
      const o = stack.pop();
      if (o !== undefined && stack.length === 0) pairs.push([o, i]);
    }
  }
  // The last pair whose head fits, else the first with something inside.
  const usable = pairs.filter(([o, c]) => c > o + 1);
  const fits = usable.filter(([o]) => indent.length + join(ts.slice(0, o + 1)).length <= PY_WIDTH);
  const pick = fits.length ? fits[fits.length - 1] : usable[0];
  if (pick) {
    const [o, c] = pick;
    const head = join(ts.slice(0, o + 1));
    const tail = join(ts.slice(c));
    const inner = ts.slice(o + 1, c);
    const elems: Tok[][] = [[]];
    let depth = 0;
    for (const t of inner) {
      if (t.kind === "open") depth++;
      if (t.kind === "close") depth--;
      if (t.kind === "comma" && depth === 0) elems.push([]);
      else elems[elems.length - 1]!.push(t);
    }
    const hadTrailing = elems.length > 1 && join(elems[elems.length - 1]!).trim() === "";
    if (hadTrailing) elems.pop();
    const before = o > 0 ? ts[o - 1]!.text : "";
    const callOrSubscript = /[A-Za-z0-9_)\]]$/.test(before);
    const isCall = ts[o]!.text === "(" && callOrSubscript;
    const isList = ts[o]!.text === "[" && !callOrSubscript;
    const trailing = hadTrailing || elems.length > 1 || isCall || isList;
    const inner4 = indent + "    ";
    const lines = [indent + head];
    elems.forEach((e, i) => {
      const text = join(e).trim();
      const comma = i < elems.length - 1 || trailing ? "," : "";
      const solid = e.filter((t) => t.kind !== "code" || t.text.trim() !== "");
      if (solid.length === 1 && solid[0]!.kind === "str" && inner4.length + text.length + comma.length > PY_WIDTH) {
        const pieces = chunkString(text, PY_WIDTH - inner4.length - 1);
        pieces.forEach((s, k) => lines.push(inner4 + s + (k === pieces.length - 1 ? comma : "")));
      } else lines.push(...fitLine(inner4, text + comma));
    });
    lines.push(...fitLine(indent, tail.trimStart()));
    return lines;
  }
  return [indent + text];
}
