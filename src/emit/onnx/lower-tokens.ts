// ONNX lowering of CaiT's and ResMLP's token ops (Touvron et al. 2021; timm cait.py, mlp_mixer.py):
// affine, talking_heads_attention, class_attention.
// Takes: one IR node and lower.ts's context. Gives: ONNX nodes of opset 13+ (Softmax over one
// axis, Slice with inputs). Must not: invent parameters (they come from src/weights).

import type { Dim } from "../../ir/dims.js";
import type { LowerCtx, Lowering } from "./lower.js";

/** y = x W^T + b over the last axis (nn.Linear), W [out, in]. */
function linear(c: LowerCtx, x: string, p: string, out: string, shape?: readonly Dim[]): void {
  const wt = c.tmp(`${p}_t`);
  c.emit("Transpose", [c.param(`${p}.weight`)!], wt, { perm: [1, 0] });
  const mm = c.tmp(`${p}_matmul`);
  c.emit("MatMul", [x, wt], mm, {}, shape);
  c.emit("Add", [mm, c.param(`${p}.bias`)!], out, {}, out === c.out ? undefined : shape);
}

/** [N, L, D] -> [N, H, L, Dh] (`perm` [0, 2, 1, 3]) or [N, H, Dh, L] ([0, 2, 3, 1]). */
function heads(c: LowerCtx, x: string, name: string, h: number, dh: number, perm: number[]): string {
  const r = c.tmp(`${name}_heads`);
  c.emit("Reshape", [x, c.constI("heads_shape", [0, 0, h, dh])], r);
  const t = c.tmp(`${name}_split`);
  c.emit("Transpose", [r], t, { perm });
  return t;
}

/** [N, H, L, Dh] -> [N, L, D]. */
function joinHeads(c: LowerCtx, x: string, d: number): string {
  const t = c.tmp("context_t");
  c.emit("Transpose", [x], t, { perm: [0, 2, 1, 3] });
  const m = c.tmp("merged");
  c.emit("Reshape", [t, c.constI("merged_shape", [0, 0, d])], m);
  return m;
}

/** Scores [N, H, T, T] mixed across heads by nn.Linear(H, H) `p` (talking heads). */
function mixHeads(c: LowerCtx, x: string, p: string): string {
  const t = c.tmp(`${p}_in`);
  c.emit("Transpose", [x], t, { perm: [0, 2, 3, 1] });
  const l = c.tmp(`${p}_out`);
  linear(c, t, p, l);
  const back = c.tmp(`${p}_back`);
  c.emit("Transpose", [l], back, { perm: [0, 3, 1, 2] });
  return back;
}

export const tokenLowerings: {
  affine: Lowering<"affine">;
  talking_heads_attention: Lowering<"talking_heads_attention">;
  class_attention: Lowering<"class_attention">;
} = {
  affine: (c) => {
    // timm Affine: addcmul(beta, alpha, x) = alpha * x + beta, both [1, ..., 1, D].
    const m = c.tmp("scaled");
    c.emit("Mul", [c.input(), c.param("alpha")!], m, {}, c.node.shape);
    c.emit("Add", [m, c.param("beta")!], c.out);
  },
  talking_heads_attention: (c) => {
    // timm TalkingHeadAttn: qkv; q scaled by Dh^-0.5; scores q k^T mixed across heads by proj_l,
    // softmax over the keys, mixed again by proj_w; weighted sum of v; heads joined; proj.
    if (!c.need(13)) return;
    const { dim: d, heads: h } = c.node.attrs;
    const dh = d / h;
    const qkv = c.tmp("qkv");
    linear(c, c.input(), "qkv", qkv);
    const part = (i: number, name: string, perm: number[]): string => {
      const s = c.tmp(name);
      c.emit(
        "Slice",
        [qkv, c.constI(`${name}_start`, [i * d]), c.constI(`${name}_end`, [(i + 1) * d]), c.constI("axis2", [2])],
        s,
      );
      return heads(c, s, name, h, dh, perm);
    };
    const q = part(0, "q", [0, 2, 1, 3]);
    const kT = part(1, "k", [0, 2, 3, 1]);
    const v = part(2, "v", [0, 2, 1, 3]);
    const qs = c.tmp("q_scaled");
    c.emit("Mul", [q, c.constF("scale", [], [1 / Math.sqrt(dh)])], qs);
    const scores = c.tmp("scores");
    c.emit("MatMul", [qs, kT], scores);
    const sm = c.tmp("softmax");
    c.emit("Softmax", [mixHeads(c, scores, "proj_l")], sm, { axis: 3 });
    const ctx = c.tmp("context");
    c.emit("MatMul", [mixHeads(c, sm, "proj_w"), v], ctx);
    linear(c, joinHeads(c, ctx, d), "proj", c.out);
  },
  class_attention: (c) => {
    // timm ClassAttn: q from token 0 only, k and v from every token; softmax(q k^T / sqrt(Dh)) v per
    // head; heads joined; proj. The output is one token, [N, 1, D].
    if (!c.need(13)) return;
    const { dim: d, heads: h } = c.node.attrs;
    const dh = d / h;
    const x0 = c.tmp("class_token");
    c.emit("Slice", [c.input(), c.constI("cls_start", [0]), c.constI("cls_end", [1]), c.constI("axis1", [1])], x0);
    const proj = (x: string, p: string, perm: number[]): string => {
      const y = c.tmp(p);
      linear(c, x, p, y);
      return heads(c, y, p, h, dh, perm);
    };
    const q = proj(x0, "q", [0, 2, 1, 3]);
    const kT = proj(c.input(), "k", [0, 2, 3, 1]);
    const v = proj(c.input(), "v", [0, 2, 1, 3]);
    const qs = c.tmp("q_scaled");
    c.emit("Mul", [q, c.constF("scale", [], [1 / Math.sqrt(dh)])], qs);
    const scores = c.tmp("scores");
    c.emit("MatMul", [qs, kT], scores);
    const sm = c.tmp("softmax");
    c.emit("Softmax", [scores], sm, { axis: 3 });
    const ctx = c.tmp("context");
    c.emit("MatMul", [sm, v], ctx);
    linear(c, joinHeads(c, ctx, d), "proj", c.out);
  },
};
