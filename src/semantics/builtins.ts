// Names the language knows besides ops: scalar functions, parameter types, the enum words
// (`auto`, `pad`, `zeros`, ...) and resnetc's limits.
// Takes: the op registry. Gives: lookup sets. Must not: evaluate anything.

import { allOps } from "./ops/index.js";
import { INITS } from "./ops/conv.js";

export const SHORTCUT_KINDS = ["auto", "identity", "pad", "avgpad", "project", "avgproject", "none"] as const;
export const MERGE_KINDS = ["add", "mul", "concat", "and", "iand"] as const;

/** Parameter types of blocks and models: scalars, the enum types, and `block` (a block to apply). */
export const PARAM_TYPES: Record<string, readonly string[] | "int" | "float" | "bool" | "str" | "block"> = {
  int: "int",
  float: "float",
  bool: "bool",
  str: "str",
  block: "block",
  shortcut: SHORTCUT_KINDS,
  merge: MERGE_KINDS,
  init: INITS,
};

/** Functions on numbers (and on shapes: `shape(x)`), usable wherever an expression is. */
export const SCALAR_FUNCTIONS = new Set([
  "ceil",
  "floor",
  "round",
  "min",
  "max",
  "sqrt",
  "abs",
  "int",
  "float",
  "shape",
  "len",
]);

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
  /** most IR nodes in one model: keeps checking and emitting each well under 2 s (a 200,000-node
   * model took 10 s to emit, found by the fuzzer). The deepest real networks have a few thousand
   * (CIFAR ResNet-1202: ~4,200; PreAct ResNet-1001: ~3,500); bench/check-scaling's 10,000-block
   * residual MLP has 50,003. */
  nodes: 60_000,
  /** deepest nesting of block instantiations */
  depth: 200,
  /** most learnable parameters in one layer: 2^28 float32 values are 1 GiB, more than 100x the
   * largest layer of the ResNet family (2.4M; VGG's fc6, 103M, fits too), and the most a
   * runtime can hold in one typed array without trouble (`dense(50000)` on 50,000 features,
   * 2.5e9, passed check and died with "Invalid typed array length" after 35 s and 9.8 GB) */
  layerParams: 2 ** 28,
  /** most learnable parameters in one model: as float32, 2.0e9 bytes, which keeps the ONNX file
   * under protobuf's 2 GiB limit (2,147,483,648 bytes) with 147 MB left for the graph and its
   * names (see `layerNameChars`); ResNet-152 has 60M, ResNet-1202 19M, WRN-28-10 36M */
  modelParams: 500_000_000,
  /** most elements in one tensor, symbolic dims (the batch) counted as 1: ONNX Runtime and tfjs
   * index elements with int32; a tensor of 10^8 x 10^8 passed check before */
  tensorElements: 2 ** 31 - 1,
  /** longest structural layer name (`layer1.0.conv1`): stage and block names nest */
  layerName: 1024,
  /** total characters of all layer names in one model: each name is written about five times in
   * an ONNX file (node, output, edges, value_info, initializers), so 16 MiB of names stays well
   * inside the 147 MB that `modelParams` leaves (ResNet-1202's names total 117 KB) */
  layerNameChars: 16 * 2 ** 20,
  /** deepest nesting of `flow` (expressions) and statements once blocks are expanded: the
   * elaborator recurses along it. Bounds a 200-deep block nesting whose blocks each nest
   * statements, and left-deep sums (`x + x + ...`, one level per term) */
  expandDepth: 500,
};

/**
 * Edit distance for "did you mean" hints: insertions, deletions, substitutions and swaps of two
 * adjacent characters each cost 1 (optimal string alignment), so the typo `rleu` is 1 from `relu`
 * and 2 from `len`.
 */
export function editDistance(a: string, b: string): number {
  // Three rows: the one before the previous is needed for a swap.
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
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
