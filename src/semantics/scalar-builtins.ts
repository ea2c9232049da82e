// The scalar functions of the language: ceil, floor, round, min, max, sqrt, abs, int, float,
// shape, len. Takes: evaluated arguments. Gives: a value, or a reason string for the caller to
// report. Must not: report or build nodes.

import { fromDim, int, describe, type Value } from "./values.js";

function nums(args: Value[]): number[] | undefined {
  return args.every((a) => a.k === "int" || a.k === "float") ? args.map((a) => (a as { v: number }).v) : undefined;
}

function toInt(x: number): Value | string {
  return Number.isSafeInteger(x) ? int(x) : `result ${x} is not a representable integer`;
}

export function scalarBuiltin(name: string, args: Value[]): Value | string {
  if (name === "shape") {
    const t = args[0];
    if (args.length !== 1 || !t || t.k !== "tensor")
      return `expects one tensor, found ${args.map(describe).join(", ") || "nothing"}`;
    return { k: "list", v: t.shape.map(fromDim) };
  }
  if (name === "len") {
    const l = args[0];
    if (args.length !== 1 || !l || l.k !== "list") return "expects one list";
    return int(l.v.length);
  }
  const xs = nums(args);
  if (!xs) return `expects numbers, found ${args.map(describe).join(", ") || "nothing"}`;
  if (name === "min" || name === "max") {
    if (xs.length === 0) return "expects at least one number";
    const r = name === "min" ? Math.min(...xs) : Math.max(...xs);
    return args.every((a) => a.k === "int") ? int(r) : { k: "float", v: r };
  }
  if (xs.length !== 1) return `expects one number, found ${xs.length}`;
  const x = xs[0]!;
  switch (name) {
    case "ceil":
      return toInt(Math.ceil(x));
    case "floor":
    case "int":
      return toInt(name === "int" ? Math.trunc(x) : Math.floor(x));
    case "round":
      // Half to even, as Python's round() (PyramidNet and others compute widths in Python).
      return toInt(Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
    case "sqrt":
      return x < 0 ? `square root of negative ${x}` : { k: "float", v: Math.sqrt(x) };
    case "abs":
      return args[0]!.k === "int" ? int(Math.abs(x)) : { k: "float", v: Math.abs(x) };
    case "float":
      return { k: "float", v: x };
  }
  return `unknown function ${name}`;
}
