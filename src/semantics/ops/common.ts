// Helpers shared by the shape rules of several op families.
// Takes: shapes and argument values. Gives: checked channel counts, per-spatial-dim lists,
// window output sizes. Must not: hold op definitions.

import { dimAdd, dimCeilDiv, dimFloorDiv, dimStr, isConst, shapeStr, type Dim } from "../../ir/dims.js";
import type { ArgValue, InferCtx } from "./registry.js";

/** Expands an int or per-dim list to one value per spatial dim; reports a wrong list length. */
export function perDim(ctx: InferCtx, name: string, v: ArgValue | undefined, n: number): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return Array(n).fill(v);
  if (Array.isArray(v)) {
    if (v.length !== n)
      return ctx.error("RN115", {
        what: `${ctx.op} ${name}`,
        expected: `${n} value${n === 1 ? "" : "s"} (one per spatial dim)`,
        found: `${v.length}`,
      });
    return v;
  }
  return undefined;
}

/** The input's rank must be one of `ranks`; reports otherwise. */
export function expectRank(ctx: InferCtx, ranks: readonly number[], describe: string): readonly Dim[] | undefined {
  const s = ctx.inputs[0]!;
  if (!ranks.includes(s.length))
    return ctx.error("RN207", { op: ctx.op, expected: describe, found: `${shapeStr(s)} (rank ${s.length})` });
  return s;
}

/** A dimension that must be a known integer for parameter counting (channels, features). */
export function concreteDim(ctx: InferCtx, d: Dim, what: string): number | undefined {
  if (isConst(d)) return d;
  return ctx.error(
    "RN208",
    { op: ctx.op, detail: `${what} must be a known number to size the weights, found \`${dimStr(d)}\`` },
    "give the input a concrete size in this dimension",
  );
}

/**
 * An axis of a rank-`rank` input, normalised to 0..rank-1. Negative axes count from the end, as
 * ONNX's Softmax and Concat accept ("in the range [-r, r-1]", operator specs, opset 13).
 */
export function checkAxis(ctx: InferCtx, name: string, rank: number): number | undefined {
  const given = ctx.args[name] as number;
  const axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank)
    return ctx.error(
      "RN119",
      { what: `${ctx.op} ${name}`, value: `in ${-rank}..${rank - 1} for a rank-${rank} input, found ${given}` },
      `axis ${rank - 1} (or -1) is the last dim`,
    );
  return axis;
}

export function product(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/** Product of dims as a number, NaN when any is symbolic (an unknown MAC count). */
export function numericProduct(ds: readonly Dim[]): number {
  let p = 1;
  for (const d of ds) p *= isConst(d) ? d : NaN;
  return p;
}

export interface Window {
  kernel: number[];
  stride: number[];
  dilation: number[];
  /** pads as [begin..., end...] per spatial dim, as ONNX wants them */
  pads: number[];
  out: Dim[];
  /** Whether rounding up still matters once the end pads are tight (see tightCeil); pools only. */
  ceil: boolean;
}

/** A pooling window: `ceil` rounds output sizes up (PyTorch's ceil_mode, ONNX's ceil_mode). */
export interface PoolMode {
  ceil: boolean;
  /** Padding never enters the result (max pooling), so pads may stand in for ceil_mode. */
  padsIgnored: boolean;
}

/**
 * Output sizes of a sliding window (conv or pool) over the spatial dims of `shape`.
 * padding: int/list (symmetric), `auto` (dilation*(k-1)/2 each side: PyTorch's usual choice,
 * which keeps the size at stride 1 for odd kernels), `same` (TensorFlow: out = ceil(in/stride)),
 * `valid` (none). `pool` marks a pooling window, whose padding must stay below the kernel.
 */
export function slideWindow(
  ctx: InferCtx,
  shape: readonly Dim[],
  padding: ArgValue,
  pool?: PoolMode,
): Window | undefined {
  const n = shape.length - 2;
  const kernel = perDim(ctx, "k", ctx.args["k"], n);
  const stride = perDim(ctx, "stride", ctx.args["stride"] ?? ctx.args["k"], n);
  const dilation = perDim(ctx, "dilation", ctx.args["dilation"] ?? 1, n);
  if (!kernel || !stride || !dilation) return undefined;
  for (const [name, list] of [
    ["k", kernel],
    ["stride", stride],
    ["dilation", dilation],
  ] as const)
    for (const v of list) if (v < 1) return ctx.error("RN204", { what: `${ctx.op} ${name}`, found: String(v) });
  const begin: number[] = [];
  const end: number[] = [];
  const out: Dim[] = [];
  let ceil = false;
  for (let i = 0; i < n; i++) {
    const size = shape[i + 2]!;
    const k = kernel[i]!;
    const s = stride[i]!;
    const d = dilation[i]!;
    const eff = d * (k - 1) + 1;
    if (padding === "same") {
      const o = dimCeilDiv(size, s);
      out.push(o);
      // At stride 1 the pads are eff - 1 whatever the size, so symbolic sizes get them too
      // (ONNX Runtime's Conv refuses auto_pad SAME with a dilation: keep explicit pads where we can).
      if (isConst(size) || s === 1) {
        const total = isConst(size) ? Math.max(0, ((o as number) - 1) * s + eff - size) : eff - 1;
        begin.push(Math.floor(total / 2));
        end.push(total - Math.floor(total / 2));
      } else {
        // Symbolic input size and a stride: pads depend on the size; emitters use auto_pad=SAME_UPPER,
        // which ONNX Runtime refuses together with a dilation ("Dilation not supported for
        // AutoPadType::SAME_UPPER"): an error here rather than a model that does not load.
        if (d > 1)
          return ctx.error("RN119", {
            what: `${ctx.op} with padding=same, stride ${s} and dilation ${d} on the symbolic size ${dimStr(size)}`,
            value:
              "given a fixed size, stride 1 or dilation 1 (the pads would depend on the size, and ONNX Runtime " +
              "cannot run SAME padding with a dilation)",
          });
        begin.push(-1);
        end.push(-1);
      }
      continue;
    }
    let p: number;
    if (padding === "auto") p = Math.floor((d * (k - 1)) / 2);
    else if (padding === "valid") p = 0;
    else if (typeof padding === "number") p = padding;
    else if (Array.isArray(padding)) {
      const list = perDim(ctx, "padding", padding, n);
      if (!list) return undefined;
      p = list[i]!;
    } else p = 0;
    if (p < 0) return ctx.error("RN119", { what: `${ctx.op} padding`, value: `at least 0, found ${p}` });
    // ONNX MaxPool/AveragePool: "Pad should be smaller than kernel" (ONNX Runtime refuses the model
    // otherwise); below it, every window overlaps the input. PyTorch is stricter still (pad <= k/2).
    if (pool && p >= eff)
      return ctx.error(
        "RN119",
        { what: `${ctx.op} padding`, value: `smaller than the kernel (${eff}), found ${p}` },
        `use padding ${eff - 1} or less, or a larger kernel`,
      );
    const padded = dimAdd(size, 2 * p);
    if (isConst(padded) && padded < eff)
      return ctx.error(
        "RN203",
        {
          op: ctx.op,
          kernel: kernel.length === 1 ? String(eff) : kernel.map((kk, j) => dilation[j]! * (kk - 1) + 1).join("x"),
          input: `${shapeStr(shape.slice(2))}${p ? ` (padding ${p})` : ""}`,
        },
        "use a smaller kernel or stride earlier in the network, or a larger input",
      );
    const o = pool?.ceil ? ceilWindows(size, p, eff, s) : dimAdd(dimFloorDiv(dimAdd(padded, -eff), s), 1);
    out.push(o);
    begin.push(p);
    if (pool?.ceil && isConst(size) && isConst(o)) {
      const tight = tightCeil(size, p, eff, s, o, pool.padsIgnored);
      end.push(tight.end);
      ceil ||= tight.ceil;
    } else {
      end.push(p);
      ceil ||= pool?.ceil ?? false;
    }
  }
  for (const o of out)
    if (isConst(o) && o <= 0) return ctx.error("RN204", { what: `${ctx.op} output size`, found: String(o) });
  return { kernel, stride, dilation, pads: [...begin, ...end], out, ceil };
}

/**
 * A ceil_mode pool's end pad set to where its last window ends, and whether ceil_mode is still
 * needed then. The windows are the same, and so are the values: with count_include_pad, average
 * pooling divides by min(start + k, size + pad) - start (PyTorch's avg_pool2d), unchanged as long
 * as the end pad covers the last window, and max pooling never picks a pad, so there the pad may
 * grow up to the last window's end (below the kernel, as ONNX requires, since that window starts
 * inside the input). Why: onnx's shape inference, which onnx.checker's full_check runs (onnx 1.12
 * here, and the one ONNX Runtime 1.30 bundles, which warns at load), counts ceil_mode windows
 * without the last-window rule, one more than ONNX Runtime's kernels and PyTorch; once the end
 * pad is where the last window ends, floor and ceil agree and neither rule drops anything. Max
 * pooling then never needs ceil_mode. Average pooling still does where its last window reaches
 * past the user's pad, and where that dim needs ceil_mode and another dim would lose a window to
 * it (a stride above the kernel), onnx's inference still differs from the runtimes.
 * Symbolic sizes keep the user's pads and ceil_mode.
 */
function tightCeil(
  size: number,
  p: number,
  eff: number,
  s: number,
  out: number,
  padsIgnored: boolean,
): { end: number; ceil: boolean } {
  const over = (out - 1) * s - p + eff - size; // how far the last window reaches past the input
  const end = Math.max(0, padsIgnored ? over : Math.min(over, p));
  return { end, ceil: Math.floor((size + p + end - eff) / s) + 1 !== out };
}

/**
 * Windows of a ceil_mode pool over `size` with `p` padding on each side: ceil((size + 2p - eff) / s)
 * + 1, less the last window when it would start in the right padding. PyTorch
 * (`pooling_output_shape` in aten/src/ATen/native/Pool.h) and ONNX Runtime (`PoolAttributes::
 * ComputeOutputSize`) both drop it: "ensure that the last pooling starts inside the image",
 * i.e. keep it only when (out - 1) * s < size + p. Given p < eff that is exactly
 * min(ceil((size + 2p - eff) / s), floor((size + p - 1) / s)) + 1, and which term is the smaller
 * depends only on s, eff and p (the numerators differ by s - (eff - p)), so the rule stays exact
 * for symbolic sizes.
 */
function ceilWindows(size: Dim, p: number, eff: number, s: number): Dim {
  if (s > eff - p) return dimAdd(dimFloorDiv(dimAdd(size, p - 1), s), 1);
  return dimAdd(dimCeilDiv(dimAdd(size, 2 * p - eff), s), 1);
}
