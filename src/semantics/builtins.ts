// Names the language knows besides ops: scalar functions, parameter types, the enum words
// (`auto`, `pad`, `zeros`, ...) and resnetc's limits.
// Takes: the op registry. Gives: lookup sets. Must not: evaluate anything.

import { allOps } from "./ops/index.js";
import { INITS } from "./ops/conv.js";

export const SHORTCUT_KINDS = ["auto", "identity", "pad", "project", "avgproject", "none"] as const;
export const MERGE_KINDS = ["add", "mul", "concat", "and", "iand"] as const;

/** Parameter types of blocks and models: scalars and the enum types. */
export const PARAM_TYPES: Record<string, readonly string[] | "int" | "float" | "bool" | "str"> = {
  int: "int",
  float: "float",
  bool: "bool",
  str: "str",
  shortcut: SHORTCUT_KINDS,
  merge: MERGE_KINDS,
  init: INITS,
};

/** Functions on numbers (and on shapes: `shape(x)`), usable wherever an expression is. */
export const SCALAR_FUNCTIONS = new Set(["ceil", "floor", "round", "min", "max", "sqrt", "abs", "int", "float", "shape", "len"]);

/** Every enum word some argument or parameter accepts. */
export const ATOMS: ReadonlySet<string> = (() => {
  const s = new Set<string>([...SHORTCUT_KINDS, ...MERGE_KINDS, ...INITS]);
  for (const op of allOps())
    for (const a of op.args) if (typeof a.type === "object") for (const v of a.type.enum) s.add(v);
  return s;
})();

export const LIMITS = {
  /** largest size of one dimension (ONNX and tfjs index with int32) */
  dim: 2 ** 31 - 1,
  /** largest `* n` repeat or `for` range */
  repeat: 100_000,
  /** most IR nodes in one model: keeps memory bounded for absurd programs */
  nodes: 500_000,
  /** deepest nesting of block instantiations */
  depth: 200,
  /** most learnable parameters in one layer (exact in a double, far above any real layer) */
  layerParams: 1e12,
};

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = name.length <= 3 ? 1 : 2;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}
