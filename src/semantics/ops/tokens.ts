// Token-sequence ops of CaiT and ResMLP (Touvron et al. 2021, "Going deeper with Image
// Transformers" and "ResMLP"), with timm's parameter names (cait.py, mlp_mixer.py): ResMLP's
// Affine "norm", CaiT's talking-heads self-attention and its class attention (only the class
// token, token 0, queries; the output is that one token).
// Takes: input shapes and checked args. Gives: output shape, parameter and MAC counts.
// Must not: depend on what comes before or after them.

import { isConst, shapeStr, type Dim } from "../../ir/dims.js";
import { concreteDim } from "./common.js";
import type { InferCtx, InferResult, OpDef } from "./registry.js";

/** The [N, T, D] input with D known and `heads` dividing it; undefined (reported) otherwise. */
function headsOf(ctx: InferCtx): { s: readonly Dim[]; d: number; h: number; t: number } | undefined {
  const s = ctx.inputs[0]!;
  if (s.length !== 3)
    return ctx.error("RN207", { op: ctx.op, expected: "tokens [N, T, D] (rank 3)", found: shapeStr(s) });
  const d = concreteDim(ctx, s[2]!, "the token width D");
  if (d === undefined) return undefined;
  const h = ctx.args["heads"] as number;
  if (h < 1) return ctx.error("RN204", { what: `${ctx.op} heads`, found: String(h) });
  if (d % h !== 0) return ctx.error("RN205", { what: ctx.op, detail: `width ${d} does not divide into ${h} heads` });
  return { s, d, h, t: isConst(s[1]!) ? s[1] : NaN };
}

const headsArg: OpDef["args"] = [
  { name: "heads", type: "int", positional: true, doc: "attention heads; D must divide by them" },
];

export const tokenOps: OpDef[] = [
  {
    name: "affine",
    family: "norm",
    summary:
      "ResMLP's Affine (Touvron et al. 2021) over the last dim D: alpha * x + beta, alpha [1, ..., 1, D] " +
      "initialised to ones and beta to zeros (timm's `alpha`, `beta`)",
    arity: 1,
    ranks: [2, 3, 4, 5],
    args: [],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      const d = concreteDim(ctx, s[s.length - 1]!, "the last dim");
      return d === undefined ? undefined : { shape: [...s], params: 2 * d, attrs: { dim: d, rank: s.length } };
    },
  },
  {
    name: "talking_heads_attention",
    family: "transformer",
    summary:
      "CaiT's talking-heads self-attention over tokens [N, T, D] (Shazeer et al. 2020; timm TalkingHeadAttn): " +
      "qkv [3D, D], the scores mixed across heads by proj_l [H, H] before the softmax and proj_w [H, H] after " +
      "it, then proj [D, D]; every Linear with a bias",
    arity: 1,
    ranks: [3],
    args: headsArg,
    infer: (ctx): InferResult | undefined => {
      const a = headsOf(ctx);
      if (!a) return undefined;
      const { d, h, t } = a;
      return {
        shape: [...a.s],
        params: 4 * d * d + 4 * d + 2 * (h * h + h),
        // qkv and proj 4 T D^2; scores and their weighted sum 2 T^2 D; the two head mixings 2 T^2 H^2.
        macs: 4 * t * d * d + 2 * t * t * d + 2 * t * t * h * h,
        attrs: { dim: d, heads: h },
      };
    },
  },
  {
    name: "class_attention",
    family: "transformer",
    summary:
      "CaiT's class attention (timm ClassAttn): tokens [N, T, D] -> [N, 1, D], the class token (token 0) the " +
      "only query, every token a key and a value; q, k, v, proj [D, D], each with a bias",
    arity: 1,
    ranks: [3],
    args: headsArg,
    infer: (ctx): InferResult | undefined => {
      const a = headsOf(ctx);
      if (!a) return undefined;
      const { d, h, t } = a;
      return {
        shape: [a.s[0]!, 1, d],
        params: 4 * d * d + 4 * d,
        // q and proj on one token, k and v on T; the scores and the sum 2 T D.
        macs: 2 * d * d + 2 * t * d * d + 2 * t * d,
        attrs: { dim: d, heads: h },
      };
    },
  },
];
