// Values of the evaluator, scalar arithmetic, and checking values against argument types.
// Takes: values. Gives: results or a reason string for the caller to report.
// Must not: report diagnostics itself or build graph nodes.

import { dimAdd, dimEq, dimFloorDiv, dimMul, dimStr, isConst, type Dim } from "../ir/dims.js";
import type { Definition } from "../ast/ast.js";
import type { Span } from "../diagnostics/diagnostic.js";
import type { IrNode } from "../ir/ir.js";
import { describeArgType, type ArgType, type ArgValue } from "./ops/index.js";

export type Value =
  | { k: "int"; v: number }
  | { k: "float"; v: number }
  | { k: "bool"; v: boolean }
  | { k: "str"; v: string }
  /** an enum word: `auto`, `pad`, `zeros`, ... */
  | { k: "atom"; v: string }
  | { k: "list"; v: Value[] }
  /** a symbolic dimension, e.g. from `shape(x)[0]` */
  | { k: "dim"; v: Dim }
  | { k: "tensor"; id: number; shape: Dim[] }
  /** the parts of `chunk` / `split`: a list of tensors, each sliced from `of` when first indexed */
  | {
      k: "parts";
      of: { k: "tensor"; id: number; shape: Dim[] };
      axis: number;
      bounds: [number, number][];
      made: Value[];
    }
  /** a block passed as an argument (`attn=SE(r=16)`): its definition and the arguments given
   * there; no definition for `none`, which applies nothing */
  | { k: "block"; def: Definition | undefined; bound: Map<string, unknown>; text: string; shared?: SharedBlock }
  /** the result of something that already reported an error: used silently from then on */
  | { k: "poison" };

/** A block made with `let NAME = share Block(...)`: every application uses the parameters of the
 * first. Each use records its layers that have parameters, in order; they are tied position by
 * position once the graph is complete (bias=auto settled, dead layers left out). */
export interface SharedBlock {
  /** The `let` name: the applications are the instances `NAME`, `NAME2`, ... */
  name: string;
  /** The `share` keyword. */
  span: Span;
  uses: { at: Span; nodes: IrNode[] }[];
}

export const POISON: Value = { k: "poison" };

export function int(v: number): Value {
  return { k: "int", v };
}

export function isScalar(v: Value): boolean {
  return v.k !== "tensor" && v.k !== "parts" && v.k !== "poison" && v.k !== "block";
}

export function describe(v: Value): string {
  switch (v.k) {
    case "int":
      return `number ${v.v}`;
    case "float":
      return `number ${Number.isInteger(v.v) ? v.v.toFixed(1) : v.v}`;
    case "bool":
      return `\`${v.v}\``;
    case "str":
      // A message quotes a string, not a file: a long one is cut (a hostile file's megabyte
      // string would otherwise become a megabyte-long diagnostic).
      return v.v.length > 40 ? `string "${v.v.slice(0, 40)}..." (${v.v.length} characters)` : `string "${v.v}"`;
    case "atom":
      return `\`${v.v}\``;
    case "list":
      return `list [${v.v
        .slice(0, 8)
        .map((x) => describe(x).replace(/^number /, ""))
        .join(", ")}${v.v.length > 8 ? `, ... (${v.v.length} items)` : ""}]`;
    case "dim":
      return `dimension \`${dimStr(v.v)}\``;
    case "tensor":
      return "a tensor";
    case "parts":
      return `a list of ${v.bounds.length} tensors (pick one with \`[i]\`)`;
    case "block":
      return v.def ? `the block \`${v.text}\`` : "`none` (no block)";
    case "poison":
      return "an invalid value";
  }
}

/** A dim value that is a known integer collapses to an int. */
export function fromDim(d: Dim): Value {
  return isConst(d) ? int(d) : { k: "dim", v: d };
}

type Num = { k: "int" | "float"; v: number };

/** Arithmetic on numbers and symbolic dims; returns a reason string on failure. */
export function arith(op: string, a: Value, b: Value): Value | string {
  if (a.k === "dim" || b.k === "dim") {
    const da = a.k === "dim" ? a.v : a.k === "int" ? a.v : undefined;
    const db = b.k === "dim" ? b.v : b.k === "int" ? b.v : undefined;
    if (da === undefined || db === undefined) return `cannot combine ${describe(a)} and ${describe(b)} with \`${op}\``;
    if (op === "+") return fromDim(dimAdd(da, db));
    if (op === "-") return fromDim(dimAdd(da, dimMul(db, -1)));
    if (op === "*") return fromDim(dimMul(da, db));
    if (op === "//" && typeof db === "number" && db > 0) return fromDim(dimFloorDiv(da, db));
    if (op === "==") return { k: "bool", v: dimEq(da, db) };
    if (op === "!=") return { k: "bool", v: !dimEq(da, db) };
    return `\`${op}\` needs known numbers, found ${describe(a)} and ${describe(b)}`;
  }
  if (op === "and" || op === "or") {
    if (a.k !== "bool" || b.k !== "bool")
      return `\`${op}\` needs two booleans, found ${describe(a)} and ${describe(b)}`;
    return { k: "bool", v: op === "and" ? a.v && b.v : a.v || b.v };
  }
  if (op === "==" || op === "!=") {
    const eq = equalValues(a, b);
    return { k: "bool", v: op === "==" ? eq : !eq };
  }
  if ((a.k !== "int" && a.k !== "float") || (b.k !== "int" && b.k !== "float"))
    return `\`${op}\` needs numbers, found ${describe(a)} and ${describe(b)}`;
  const x = a as Num;
  const y = b as Num;
  const bothInt = x.k === "int" && y.k === "int";
  const num = (v: number, isInt: boolean): Value | string => {
    if (!Number.isFinite(v)) return "the result is not a finite number";
    if (isInt && !Number.isSafeInteger(v)) return `integer overflow (${v})`;
    return isInt ? int(v) : { k: "float", v };
  };
  switch (op) {
    case "+":
      return num(x.v + y.v, bothInt);
    case "-":
      return num(x.v - y.v, bothInt);
    case "*":
      return num(x.v * y.v, bothInt);
    case "/":
      if (y.v === 0) return "division by zero";
      return num(x.v / y.v, false);
    case "//":
      if (y.v === 0) return "division by zero";
      return num(Math.floor(x.v / y.v), bothInt);
    case "%":
      if (y.v === 0) return "division by zero";
      return num(x.v - Math.floor(x.v / y.v) * y.v, bothInt);
    case "<":
      return { k: "bool", v: x.v < y.v };
    case "<=":
      return { k: "bool", v: x.v <= y.v };
    case ">":
      return { k: "bool", v: x.v > y.v };
    case ">=":
      return { k: "bool", v: x.v >= y.v };
  }
  return `unknown operator ${op}`;
}

function equalValues(a: Value, b: Value): boolean {
  if ((a.k === "int" || a.k === "float") && (b.k === "int" || b.k === "float")) return a.v === b.v;
  if (a.k !== b.k) return false;
  if (a.k === "list" && b.k === "list")
    return a.v.length === b.v.length && a.v.every((x, i) => equalValues(x, b.v[i]!));
  return (a as { v: unknown }).v === (b as { v: unknown }).v;
}

/** Checks a value against an op argument type; gives the argument value or a description of what was expected. */
export function toArgValue(v: Value, t: ArgType): ArgValue | { expected: string } {
  const expected = { expected: describeArgType(t) };
  const ints = (x: Value): number[] | undefined =>
    x.k === "list" && x.v.every((i) => i.k === "int") ? x.v.map((i) => (i as { v: number }).v) : undefined;
  if (t === "int") return v.k === "int" ? v.v : expected;
  if (t === "float") return v.k === "int" || v.k === "float" ? v.v : expected;
  if (t === "bool") return v.k === "bool" ? v.v : expected;
  if (t === "ints") return v.k === "int" ? v.v : (ints(v) ?? expected);
  if (v.k === "atom" && t.enum.includes(v.v)) return v.v;
  if (t.orInts && v.k === "int") return v.v;
  if (t.orInts && ints(v)) return ints(v)!;
  if (t.orFloat && (v.k === "int" || v.k === "float")) return v.v;
  if (t.orBool && v.k === "bool") return v.v;
  return expected;
}
