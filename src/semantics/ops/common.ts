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
    if (v.length !== n) return ctx.error("RN115", { what: `${ctx.op} ${name}`, expected: `${n} value${n === 1 ? "" : "s"} (one per spatial dim)`, found: `${v.length}` });
    return v;
  }
  return undefined;
}

/** The input's rank must be one of `ranks`; reports otherwise. */
export function expectRank(ctx: InferCtx, ranks: readonly number[], describe: string): readonly Dim[] | undefined {
  const s = ctx.inputs[0]!;
  if (!ranks.includes(s.length)) return ctx.error("RN207", { op: ctx.op, expected: describe, found: `${shapeStr(s)} (rank ${s.length})` });
  return s;
}

/** A dimension that must be a known integer for parameter counting (channels, features). */
export function concreteDim(ctx: InferCtx, d: Dim, what: string): number | undefined {
  if (isConst(d)) return d;
  return ctx.error("RN208", { op: ctx.op, detail: `${what} must be a known number to size the weights, found \`${dimStr(d)}\`` }, "give the input a concrete size in this dimension");
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
}

/**
 * Output sizes of a sliding window (conv or pool) over the spatial dims of `shape`.
 * padding: int/list (symmetric), `auto` (dilation*(k-1)/2 each side: PyTorch's usual choice,
 * which keeps the size at stride 1 for odd kernels), `same` (TensorFlow: out = ceil(in/stride)),
 * `valid` (none).
 */
export function slideWindow(ctx: InferCtx, shape: readonly Dim[], padding: ArgValue, ceilMode = false): Window | undefined {
  const n = shape.length - 2;
  const kernel = perDim(ctx, "k", ctx.args["k"], n);
  const stride = perDim(ctx, "stride", ctx.args["stride"] ?? ctx.args["k"], n);
  const dilation = perDim(ctx, "dilation", ctx.args["dilation"] ?? 1, n);
  if (!kernel || !stride || !dilation) return undefined;
  for (const [name, list] of [["k", kernel], ["stride", stride], ["dilation", dilation]] as const)
    for (const v of list) if (v < 1) return ctx.error("RN204", { what: `${ctx.op} ${name}`, found: String(v) });
  const begin: number[] = [];
  const end: number[] = [];
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const size = shape[i + 2]!;
    const k = kernel[i]!;
    const s = stride[i]!;
    const d = dilation[i]!;
    const eff = d * (k - 1) + 1;
    if (padding === "same") {
      const o = dimCeilDiv(size, s);
      out.push(o);
      if (isConst(size)) {
        const total = Math.max(0, ((o as number) - 1) * s + eff - size);
        begin.push(Math.floor(total / 2));
        end.push(total - Math.floor(total / 2));
      } else {
        // Symbolic input size: pads depend on it; emitters use auto_pad=SAME_UPPER.
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
    const padded = dimAdd(size, 2 * p);
    if (isConst(padded) && padded < eff)
      return ctx.error("RN203", { op: ctx.op, kernel: kernel.length === 1 ? String(eff) : kernel.map((kk, j) => dilation[j]! * (kk - 1) + 1).join("x"), input: `${shapeStr(shape.slice(2))}${p ? ` (padding ${p})` : ""}` }, "use a smaller kernel or stride earlier in the network, or a larger input");
    const span = dimAdd(padded, -eff);
    const o = dimAdd(ceilMode ? dimCeilDiv(span, s) : dimFloorDiv(span, s), 1);
    out.push(o);
    begin.push(p);
    end.push(p);
  }
  for (const o of out) if (isConst(o) && o <= 0) return ctx.error("RN204", { what: `${ctx.op} output size`, found: String(o) });
  return { kernel, stride, dilation, pads: [...begin, ...end], out };
}
