// Transformer ops over token sequences [N, T, D] (ViT, Dosovitskiy et al. 2021): multi-head
// self-attention with PyTorch nn.MultiheadAttention's parameters, a learned class token put
// before the tokens, and a learned positional embedding added to them.
// Takes: input shapes and checked args. Gives: output shape, parameter and MAC counts.
// Must not: depend on what comes before or after them.

import { dimAdd, isConst, shapeStr, type Dim } from "../../ir/dims.js";
import { concreteDim } from "./common.js";
import type { InferCtx, InferResult, OpDef } from "./registry.js";

/** The [N, T, D] input, D known; undefined (reported) otherwise. */
function tokens(ctx: InferCtx): { n: readonly Dim[]; d: number } | undefined {
  const s = ctx.inputs[0]!;
  if (s.length !== 3)
    return ctx.error("RN207", { op: ctx.op, expected: "tokens [N, T, D] (rank 3)", found: shapeStr(s) });
  const d = concreteDim(ctx, s[2]!, "the token width D");
  return d === undefined ? undefined : { n: s, d };
}

const initArgs = (init: "zeros" | "normal"): OpDef["args"] => [
  {
    name: "init",
    type: { enum: ["zeros", "normal"] },
    default: init,
    doc: "initial values: zeros, or normal with standard deviation `std`",
  },
  { name: "std", type: "float", default: 0.02, doc: "standard deviation of `init=normal`" },
];

function checkStd(ctx: InferCtx): boolean {
  const std = ctx.args["std"] as number;
  if (std >= 0) return true;
  ctx.error("RN119", { what: `${ctx.op} std`, value: `at least 0, found ${std}` });
  return false;
}

export const attentionOps: OpDef[] = [
  {
    name: "attention",
    family: "transformer",
    summary:
      "multi-head self-attention over tokens [N, T, D] (Vaswani et al. 2017), PyTorch nn.MultiheadAttention's " +
      "parameters (in_proj_weight [3D, D], in_proj_bias, out_proj.weight, out_proj.bias), no dropout",
    arity: 1,
    ranks: [3],
    args: [{ name: "heads", type: "int", positional: true, doc: "attention heads; D must divide by them" }],
    infer: (ctx): InferResult | undefined => {
      const t = tokens(ctx);
      if (!t) return undefined;
      const h = ctx.args["heads"] as number;
      if (h < 1) return ctx.error("RN204", { what: "attention heads", found: String(h) });
      if (t.d % h !== 0)
        return ctx.error("RN205", { what: "attention", detail: `width ${t.d} does not divide into ${h} heads` });
      const T = isConst(t.n[1]!) ? t.n[1] : NaN;
      // Projections 4 T D^2; scores Q K^T and their weighted sum of V, T^2 D each.
      return {
        shape: [...t.n],
        params: 4 * t.d * t.d + 4 * t.d,
        macs: 4 * T * t.d * t.d + 2 * T * T * t.d,
        attrs: { dim: t.d, heads: h },
      };
    },
  },
  {
    name: "cls_token",
    family: "transformer",
    summary:
      "put a learned token [1, 1, D] before the tokens: [N, T, D] -> [N, T+1, D] (ViT's class token); the " +
      "tensor is named after the layer, without a suffix (`cls_token as class_token`: `class_token`)",
    arity: 1,
    ranks: [3],
    args: initArgs("zeros"),
    infer: (ctx) => {
      const t = tokens(ctx);
      if (!t || !checkStd(ctx)) return undefined;
      return { shape: [t.n[0]!, dimAdd(t.n[1]!, 1), t.d], params: t.d, attrs: { dim: t.d } };
    },
  },
  {
    name: "pos_embed",
    family: "transformer",
    summary:
      "add a learned positional embedding [1, T, D] to tokens [N, T, D] (ViT); T must be known; the tensor " +
      "is named after the layer (`pos_embed as pos_embedding` in `stage encoder`: `encoder.pos_embedding`)",
    arity: 1,
    ranks: [3],
    args: initArgs("normal"),
    infer: (ctx) => {
      const t = tokens(ctx);
      if (!t || !checkStd(ctx)) return undefined;
      const T = concreteDim(ctx, t.n[1]!, "the token count T");
      if (T === undefined) return undefined;
      return { shape: [...t.n], params: T * t.d, attrs: { tokens: T, dim: t.d } };
    },
  },
];
