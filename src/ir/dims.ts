// Symbolic tensor dimensions: integers, names such as `N` or `H`, and the few expressions shape
// rules build from them (sums, products by constants, products of names, floor and ceil division).
// Takes: numbers and symbols. Gives: canonical forms, so two dims are equal exactly when their
// printed forms are. Must not: report diagnostics (callers decide what a failure means).

/** A polynomial with integer coefficients over atoms; an atom is a symbol or an opaque division. */
export interface Sym {
  /** monomial key (atom keys sorted, joined by "*", "" for the constant) -> coefficient */
  readonly terms: ReadonlyMap<string, number>;
  readonly key: string;
}

export type Dim = number | Sym;

function make(terms: Map<string, number>): Dim {
  for (const [k, v] of terms) if (v === 0) terms.delete(k);
  if (terms.size === 0) return 0;
  if (terms.size === 1 && terms.has("")) return terms.get("")!;
  const keys = [...terms.keys()].sort((a, b) => (a === "" ? 1 : b === "" ? -1 : a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  for (const k of keys) {
    const c = terms.get(k)!;
    const mag = Math.abs(c);
    const atoms = k.split(SEP);
    // A compound atom such as `(H - 1) // 2` is bracketed when it is multiplied.
    const shown = atoms.map((a) => (a.includes(" ") && (atoms.length > 1 || mag !== 1) ? `(${a})` : a)).join("*");
    const body = k === "" ? String(mag) : mag === 1 ? shown : `${mag}*${shown}`;
    parts.push(parts.length === 0 ? (c < 0 ? `-${body}` : body) : c < 0 ? ` - ${body}` : ` + ${body}`);
  }
  return { terms, key: parts.join("") };
}

function termsOf(d: Dim): Map<string, number> {
  return typeof d === "number" ? new Map(d === 0 ? [] : [["", d]]) : new Map(d.terms);
}

export function sym(name: string): Dim {
  return make(new Map([[name, 1]]));
}

export function isConst(d: Dim): d is number {
  return typeof d === "number";
}

export function dimEq(a: Dim, b: Dim): boolean {
  if (typeof a === "number" || typeof b === "number") return a === b;
  return a.key === b.key;
}

export function dimStr(d: Dim): string {
  return typeof d === "number" ? String(d) : d.key;
}

export function shapeStr(s: readonly Dim[]): string {
  return `[${s.map(dimStr).join(", ")}]`;
}

export function shapeEq(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEq(d, b[i]!));
}

export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a + b;
  const t = termsOf(a);
  for (const [k, v] of termsOf(b)) t.set(k, (t.get(k) ?? 0) + v);
  return make(t);
}

export function dimSub(a: Dim, b: Dim): Dim {
  return dimAdd(a, dimMul(b, -1));
}

/** Separates the atoms of a monomial key; never part of an atom's text. */
const SEP = "\u0001";

function mulKeys(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return [...a.split(SEP), ...b.split(SEP)].sort().join(SEP);
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a * b;
  const out = new Map<string, number>();
  for (const [ka, va] of termsOf(a))
    for (const [kb, vb] of termsOf(b)) {
      const k = mulKeys(ka, kb);
      out.set(k, (out.get(k) ?? 0) + va * vb);
    }
  return make(out);
}

/** Exact division by a positive integer, or undefined when it does not divide. */
export function dimDivExact(a: Dim, k: number): Dim | undefined {
  if (typeof a === "number") return a % k === 0 ? a / k : undefined;
  const out = new Map<string, number>();
  for (const [key, v] of a.terms) {
    if (v % k !== 0) return undefined;
    out.set(key, v / k);
  }
  return make(out);
}

function opaque(text: string): Dim {
  return make(new Map([[text, 1]]));
}

/** `H` stays `H`; a compound dim is bracketed before an operator is applied to it. */
function operand(a: Dim): string {
  const s = dimStr(a);
  return /^[A-Za-z_0-9]+$/.test(s) ? s : `(${s})`;
}

/** floor(a / k) for a positive integer k. */
export function dimFloorDiv(a: Dim, k: number): Dim {
  if (typeof a === "number") return Math.floor(a / k);
  return dimDivExact(a, k) ?? opaque(`${operand(a)} // ${k}`);
}

/** ceil(a / k) for a positive integer k. */
export function dimCeilDiv(a: Dim, k: number): Dim {
  if (typeof a === "number") return Math.ceil(a / k);
  return dimDivExact(a, k) ?? opaque(`ceil(${operand(a)} / ${k})`);
}

/** The product of dims, e.g. the feature count of a flatten. */
export function dimProduct(ds: readonly Dim[]): Dim {
  let acc: Dim = 1;
  for (const d of ds) acc = dimMul(acc, d);
  return acc;
}
