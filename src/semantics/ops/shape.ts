// Ops that move data around or combine tensors: flatten, reshape, transpose, upsample,
// pixel_shuffle, slice, and the merges add / sub / mul / concat.
// Takes: input shapes and checked args. Gives: output shapes. Must not: count parameters
// (none of these has any).

import { dimAdd, dimDivExact, dimEq, dimMul, dimProduct, dimStr, isConst, shapeStr, type Dim } from "../../ir/dims.js";
import { checkAxis, expectRank } from "./common.js";
import type { InferCtx, InferResult, OpDef } from "./registry.js";
import { ANY_RANK, SPATIAL } from "./registry.js";

/** NumPy-style broadcasting, as ONNX Add/Mul do it. */
export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (dimEq(x, y) || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else return undefined;
  }
  return out;
}

function elementwise(ctx: InferCtx): InferResult | undefined {
  if (ctx.inputs.length < 2)
    return ctx.error("RN207", { op: ctx.op, expected: "at least 2 tensors", found: `${ctx.inputs.length}` });
  let acc: Dim[] = [...ctx.inputs[0]!];
  for (const s of ctx.inputs.slice(1)) {
    const b = broadcast(acc, s);
    if (!b)
      return ctx.error("RN202", {
        op: ctx.op,
        detail: `shapes ${shapeStr(acc)} and ${shapeStr(s)} do not match and do not broadcast`,
      });
    acc = b;
  }
  return { shape: acc };
}

export const shapeOps: OpDef[] = [
  {
    name: "flatten",
    family: "shape",
    summary: "[N, d1, d2, ...] -> [N, d1*d2*...]",
    arity: 1,
    ranks: ANY_RANK,
    args: [],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      if (s.length < 2) return ctx.error("RN207", { op: "flatten", expected: "rank at least 2", found: shapeStr(s) });
      return { shape: [s[0]!, dimProduct(s.slice(1))] };
    },
  },
  {
    name: "reshape",
    family: "shape",
    summary: "reshape the non-batch dims; one entry may be -1",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "shape", type: "ints", positional: true, doc: "new non-batch dims" }],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      const target = ctx.args["shape"];
      const dims = typeof target === "number" ? [target] : (target as number[]);
      const total = dimProduct(s.slice(1));
      const holes = dims.filter((d) => d === -1).length;
      if (holes > 1) return ctx.error("RN119", { what: "reshape", value: "given at most one -1" });
      for (const d of dims) if (d === 0 || d < -1) return ctx.error("RN204", { what: "reshape dim", found: String(d) });
      const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      if (holes === 1) {
        const rest = dimDivExact(total, known);
        if (rest === undefined)
          return ctx.error("RN205", {
            what: "reshape",
            detail: `${dimStr(total)} elements per sample do not divide by ${known}`,
          });
        return { shape: [s[0]!, ...dims.map((d) => (d === -1 ? rest : d))] };
      }
      if (!dimEq(total, known))
        return ctx.error("RN205", {
          what: "reshape",
          detail: `${dimStr(total)} elements per sample cannot become ${known}`,
        });
      return { shape: [s[0]!, ...dims] };
    },
  },
  {
    name: "transpose",
    family: "shape",
    summary: "permute dims; `perm` lists every dim, the batch dim 0 included",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "perm", type: "ints", positional: true, doc: "permutation" }],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      const p = ctx.args["perm"];
      const perm = typeof p === "number" ? [p] : (p as number[]);
      const sorted = [...perm].sort((a, b) => a - b);
      if (perm.length !== s.length || sorted.some((v, i) => v !== i))
        return ctx.error("RN119", {
          what: "transpose perm",
          value: `a permutation of 0..${s.length - 1}, found [${perm.join(", ")}]`,
        });
      return { shape: perm.map((i) => s[i]!), attrs: { perm } };
    },
  },
  {
    name: "upsample",
    family: "shape",
    summary: "scale spatial dims by an integer factor",
    arity: 1,
    ranks: SPATIAL,
    args: [
      { name: "scale", type: "int", default: 2, positional: true, doc: "factor" },
      { name: "mode", type: { enum: ["nearest", "linear"] }, default: "nearest", doc: "interpolation" },
      {
        name: "align_corners",
        type: "bool",
        default: false,
        doc:
          "`linear` only: the corner samples of input and output coincide (PyTorch align_corners=True, " +
          "nn.UpsamplingBilinear2d); `false`: half-pixel centres",
      },
    ],
    infer: (ctx) => {
      const s = expectRank(ctx, [3, 4, 5], "[N, C, spatial...]");
      if (!s) return undefined;
      const f = ctx.args["scale"] as number;
      if (f < 1) return ctx.error("RN204", { what: "upsample scale", found: String(f) });
      if (ctx.args["align_corners"] === true && ctx.args["mode"] !== "linear")
        return ctx.error("RN208", { op: "upsample", detail: "align_corners=true needs mode=linear" });
      return { shape: [s[0]!, s[1]!, ...s.slice(2).map((d) => dimMul(d, f))] };
    },
  },
  {
    name: "pixel_shuffle",
    family: "shape",
    summary: "[N, C*r*r, H, W] -> [N, C, H*r, W*r] (sub-pixel convolution, Shi et al. 2016; EDSR)",
    arity: 1,
    ranks: [4],
    args: [{ name: "r", type: "int", positional: true, doc: "upscale factor" }],
    infer: (ctx) => {
      const s = expectRank(ctx, [4], "[N, C, H, W]");
      if (!s) return undefined;
      const r = ctx.args["r"] as number;
      if (r < 1) return ctx.error("RN204", { what: "pixel_shuffle r", found: String(r) });
      const c = dimDivExact(s[1]!, r * r);
      if (c === undefined)
        return ctx.error("RN205", {
          what: "pixel_shuffle",
          detail: `${dimStr(s[1]!)} channels do not divide by r*r = ${r * r}`,
        });
      return { shape: [s[0]!, c, dimMul(s[2]!, r), dimMul(s[3]!, r)] };
    },
  },
  {
    name: "slice",
    family: "shape",
    summary: "the part [start, end) along `axis` (channels by default); what `chunk` and `split` give",
    arity: 1,
    ranks: ANY_RANK,
    args: [
      { name: "start", type: "int", positional: true, doc: "first index" },
      { name: "end", type: "int", positional: true, doc: "one past the last index" },
      { name: "axis", type: "int", default: 1, doc: "axis" },
    ],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      const axis = checkAxis(ctx, "axis", s.length);
      if (axis === undefined) return undefined;
      const size = s[axis]!;
      if (!isConst(size))
        return ctx.error(
          "RN208",
          { op: ctx.op, detail: `dim ${axis} must be a known number to cut it, found \`${dimStr(size)}\`` },
          "give the input a concrete size in this dimension",
        );
      const start = ctx.args["start"] as number;
      const end = ctx.args["end"] as number;
      if (start < 0 || start >= size)
        return ctx.error("RN119", { what: `${ctx.op} start`, value: `in 0..${size - 1}, found ${start}` });
      if (end <= start || end > size)
        return ctx.error("RN119", { what: `${ctx.op} end`, value: `in ${start + 1}..${size}, found ${end}` });
      const shape = [...s];
      shape[axis] = end - start;
      return { shape, attrs: { axis } };
    },
  },
  {
    name: "add",
    family: "merge",
    summary: "element-wise sum (broadcasting)",
    arity: "many",
    ranks: ANY_RANK,
    args: [],
    infer: elementwise,
  },
  {
    name: "sub",
    family: "merge",
    summary: "element-wise difference a - b (broadcasting); `a - b` between tensors (DnCNN)",
    arity: "many",
    ranks: ANY_RANK,
    args: [],
    infer: (ctx) => {
      if (ctx.inputs.length !== 2)
        return ctx.error("RN207", { op: ctx.op, expected: "exactly 2 tensors", found: `${ctx.inputs.length}` });
      return elementwise(ctx);
    },
  },
  {
    name: "mul",
    family: "merge",
    summary: "element-wise product (broadcasting); squeeze-excitation gates",
    arity: "many",
    ranks: ANY_RANK,
    args: [],
    infer: elementwise,
  },
  {
    name: "concat",
    family: "merge",
    summary: "join tensors along `axis` (channels by default; DenseNet)",
    arity: "many",
    ranks: ANY_RANK,
    args: [{ name: "axis", type: "int", default: 1, doc: "axis" }],
    infer: (ctx) => {
      const first = ctx.inputs[0]!;
      const rank = first.length;
      const axis = checkAxis(ctx, "axis", rank);
      if (axis === undefined) return undefined;
      let total: Dim = 0;
      for (const s of ctx.inputs) {
        if (s.length !== rank || s.some((d, i) => i !== axis && !dimEq(d, first[i]!)))
          return ctx.error("RN202", {
            op: "concat",
            detail: `shapes ${shapeStr(first)} and ${shapeStr(s)} differ outside axis ${axis}`,
          });
        total = dimAdd(total, s[axis]!);
      }
      const shape = [...first];
      shape[axis] = total;
      return { shape, attrs: { axis } };
    },
  },
];
