// Normalisation, activation, pooling, regularisation and scaling ops: the ones whose output shape
// is their input shape or a window over it.
// Takes: input shapes and checked args. Gives: output shape, parameter and MAC counts.
// Must not: depend on what comes before or after them.

import { isConst, shapeStr } from "../../ir/dims.js";
import { checkAxis, concreteDim, expectRank, slideWindow } from "./common.js";
import type { InferCtx, InferResult, OpDef } from "./registry.js";
import { ANY_RANK, SPATIAL } from "./registry.js";
import type { OpName } from "../../ir/ops.js";

const same = (ctx: InferCtx): InferResult => ({ shape: [...ctx.inputs[0]!] });

/** dropout and drop_path: shape-preserving, with a drop probability `p` in [0, 1). */
function probabilityOp(ctx: InferCtx): InferResult | undefined {
  const p = ctx.args["p"] as number;
  if (!(p >= 0 && p < 1)) return ctx.error("RN119", { what: `${ctx.op} p`, value: `in [0, 1), found ${p}` });
  return same(ctx);
}

function channels(ctx: InferCtx, minRank = 2): number | undefined {
  const s = ctx.inputs[0]!;
  if (s.length < minRank)
    return ctx.error("RN207", { op: ctx.op, expected: `[N, C, ...] (rank at least ${minRank})`, found: shapeStr(s) });
  return concreteDim(ctx, s[1]!, "channels");
}

const activation = (name: OpName, summary: string, args: OpDef["args"] = [], aliases: string[] = []): OpDef => ({
  name,
  aliases,
  family: "activation",
  summary,
  arity: 1,
  ranks: ANY_RANK,
  args,
  infer: same,
});

export const layerOps: OpDef[] = [
  {
    name: "bn",
    aliases: ["batchnorm"],
    family: "norm",
    summary: "batch normalisation over channels (dim 1); running statistics are not counted as parameters",
    arity: 1,
    ranks: ANY_RANK,
    args: [
      {
        name: "gamma",
        type: { enum: ["ones", "zeros"] },
        default: "ones",
        doc: "scale init; `zeros` on a residual branch's last BN (Goyal et al. 2017)",
      },
      { name: "eps", type: "float", default: 1e-5, doc: "epsilon" },
      { name: "momentum", type: "float", default: 0.1, doc: "running-average momentum (PyTorch convention)" },
      {
        name: "affine",
        type: "bool",
        default: true,
        doc: "learned scale and shift; `false`: running statistics only (PyTorch's affine=False)",
      },
    ],
    infer: (ctx) => {
      const c = channels(ctx);
      if (c === undefined) return undefined;
      if (ctx.args["affine"] === false && ctx.args["gamma"] === "zeros")
        return ctx.error("RN208", { op: "bn", detail: "gamma=zeros needs a gamma: affine=false has none" });
      return { shape: [...ctx.inputs[0]!], params: ctx.args["affine"] === false ? 0 : 2 * c, attrs: { channels: c } };
    },
  },
  {
    name: "groupnorm",
    family: "norm",
    summary: "group normalisation (Wu & He 2018)",
    arity: 1,
    ranks: ANY_RANK,
    args: [
      { name: "groups", type: "int", default: 32, positional: true, doc: "channel groups" },
      { name: "eps", type: "float", default: 1e-5, doc: "epsilon" },
    ],
    infer: (ctx) => {
      const c = channels(ctx);
      if (c === undefined) return undefined;
      const g = ctx.args["groups"] as number;
      if (g < 1) return ctx.error("RN204", { what: "groupnorm groups", found: String(g) });
      if (c % g !== 0)
        return ctx.error("RN205", { what: "groupnorm", detail: `${c} channels do not divide into ${g} groups` });
      return { shape: [...ctx.inputs[0]!], params: 2 * c, attrs: { channels: c } };
    },
  },
  {
    name: "layernorm",
    family: "norm",
    summary: "layer normalisation over the last dim (transformer blocks)",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "eps", type: "float", default: 1e-5, doc: "epsilon" }],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      const d = concreteDim(ctx, s[s.length - 1]!, "the last dim");
      return d === undefined ? undefined : { shape: [...s], params: 2 * d, attrs: { features: d } };
    },
  },
  activation("relu", "max(x, 0)"),
  activation("leaky", "leaky ReLU", [
    { name: "slope", type: "float", default: 0.01, positional: true, doc: "negative slope" },
  ]),
  {
    name: "prelu",
    family: "activation",
    summary: "parametric ReLU (He et al. 2015), one learned slope, or one per channel",
    arity: 1,
    ranks: ANY_RANK,
    args: [
      { name: "per_channel", type: "bool", default: false, doc: "one slope per channel" },
      { name: "init", type: "float", default: 0.25, doc: "initial slope" },
    ],
    infer: (ctx) => {
      if (!ctx.args["per_channel"]) return { shape: [...ctx.inputs[0]!], params: 1 };
      const c = channels(ctx);
      return c === undefined ? undefined : { shape: [...ctx.inputs[0]!], params: c };
    },
  },
  activation("gelu", "Gaussian error linear unit"),
  activation("silu", "x * sigmoid(x) (swish)", [], ["swish"]),
  activation("sigmoid", "logistic sigmoid"),
  activation("tanh", "hyperbolic tangent"),
  activation("hardswish", "hard swish (MobileNetV3)"),
  {
    name: "softmax",
    family: "activation",
    summary: "softmax along `axis`",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "axis", type: "int", default: 1, doc: "axis (default: channels); negative counts from the end" }],
    infer: (ctx) => {
      const axis = checkAxis(ctx, "axis", ctx.inputs[0]!.length);
      return axis === undefined ? undefined : { shape: [...ctx.inputs[0]!], attrs: { axis } };
    },
  },
  ...(["maxpool", "avgpool"] as const).map((name): OpDef => ({
    name,
    aliases: [`${name}1d`, `${name}2d`, `${name}3d`].filter((a) => a !== name),
    family: "pool",
    summary: name === "avgpool" ? "average pooling; without `k`, global average pooling to size 1" : "max pooling",
    arity: 1,
    ranks: SPATIAL,
    args: [
      {
        name: "k",
        type: "ints",
        positional: true,
        ...(name === "avgpool" ? { default: 0 } : {}),
        doc: "window size" + (name === "avgpool" ? " (0 or absent: global)" : ""),
      },
      { name: "stride", type: "ints", default: 0, doc: "stride (default: the window size)" },
      {
        name: "padding",
        type: { enum: ["auto", "same", "valid"], orInts: true },
        default: 0,
        doc:
          "0 by default, as PyTorch's MaxPool/AvgPool; `auto` = (k-1)/2 per side; explicit padding must be " +
          "smaller than k (ONNX)",
      },
      {
        name: "ceil",
        type: "bool",
        default: false,
        doc: "round output sizes up (PyTorch ceil_mode), without a last window that would start in the padding",
      },
      ...(name === "avgpool"
        ? [
            {
              name: "count_include_pad",
              type: "bool" as const,
              default: true,
              doc:
                "divide by the whole window, padded cells included (PyTorch's default); `false`: by the cells " +
                "inside the input (Inception's pools)",
            },
          ]
        : []),
    ],
    infer: (ctx): InferResult | undefined => {
      const s = expectRank(ctx, [3, 4, 5], "[N, C, L], [N, C, H, W] or [N, C, D, H, W]");
      if (!s) return undefined;
      if (name === "avgpool" && ctx.args["k"] === 0)
        return { shape: [s[0]!, s[1]!, ...s.slice(2).map(() => 1)], attrs: { global: true } };
      const args = { ...ctx.args };
      if (args["stride"] === 0) args["stride"] = args["k"]!;
      const w = slideWindow({ ...ctx, args }, s, args["padding"]!, {
        ceil: args["ceil"] as boolean,
        padsIgnored: name === "maxpool",
      });
      if (!w) return undefined;
      // `ceil` as the emitters need it: only where it still changes a size (see tightCeil).
      return {
        shape: [s[0]!, s[1]!, ...w.out],
        attrs: { kernel: w.kernel, stride: w.stride, pads: w.pads, ceil: w.ceil, global: false },
      };
    },
  })),
  {
    name: "gap",
    family: "pool",
    summary: "global average pooling, keeping size-1 spatial dims",
    arity: 1,
    ranks: SPATIAL,
    args: [],
    infer: (ctx) => {
      const s = expectRank(ctx, [3, 4, 5], "[N, C, L], [N, C, H, W] or [N, C, D, H, W]");
      return s ? { shape: [s[0]!, s[1]!, ...s.slice(2).map(() => 1)], attrs: { global: true } } : undefined;
    },
  },
  {
    name: "dropout",
    family: "regularize",
    summary: "dropout (training only)",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "p", type: "float", default: 0.5, positional: true, doc: "drop probability" }],
    infer: probabilityOp,
  },
  {
    name: "drop_path",
    family: "regularize",
    summary: "stochastic depth: drops the whole sample's branch (training only; Huang et al. 2016)",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "p", type: "float", positional: true, doc: "drop probability" }],
    infer: probabilityOp,
  },
  {
    name: "scale",
    family: "scale",
    summary: "multiply by a constant (EDSR residual scaling 0.1; Inception-ResNet)",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "by", type: "float", positional: true, doc: "factor" }],
    infer: same,
  },
  {
    name: "gate",
    family: "scale",
    summary: "multiply by one learned scalar (ReZero, SkipInit); `init` 0 makes the block start as identity",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "init", type: "float", default: 0, positional: true, doc: "initial value" }],
    infer: (ctx) => ({ shape: [...ctx.inputs[0]!], params: 1 }),
  },
  {
    name: "shift",
    family: "scale",
    summary: "add one learned scalar (Fixup's scalar biases, Zhang et al. 2019); `init` 0 starts as the identity",
    arity: 1,
    ranks: ANY_RANK,
    args: [{ name: "init", type: "float", default: 0, positional: true, doc: "initial value" }],
    infer: (ctx) => ({ shape: [...ctx.inputs[0]!], params: 1 }),
  },
  {
    name: "layerscale",
    family: "scale",
    summary: "multiply by a learned per-channel vector (CaiT, Touvron et al. 2021)",
    arity: 1,
    ranks: ANY_RANK,
    args: [
      { name: "init", type: "float", default: 1e-5, positional: true, doc: "initial value of every entry" },
      {
        name: "axis",
        type: { enum: ["auto"], orInts: true },
        default: "auto",
        doc:
          "the dim the vector runs along: 1 (channels) or the last (-1: D of tokens [N, T, D]); `auto` is dim 1, " +
          "or the last dim of [N, T, D] when T is symbolic",
      },
      {
        name: "bare",
        type: "bool",
        default: false,
        doc: "name the vector after the layer itself (timm's `gamma_1`, `ls1`) instead of `NAME.weight`",
      },
    ],
    infer: (ctx) => {
      const s = ctx.inputs[0]!;
      let axis: number;
      // Absent: the residual modifier `layerscale=F` (semantics/residual.ts) passes only `init`.
      if (ctx.args["axis"] === "auto" || ctx.args["axis"] === undefined) {
        // Channels-first tensors scale dim 1; token sequences [N, L, D] with symbolic L the last dim.
        axis = s.length === 3 && !isConst(s[1]!) ? 2 : 1;
      } else {
        const a = checkAxis(ctx, "axis", s.length);
        if (a === undefined) return undefined;
        // The emitted programs scale dim 1 (channels) or the last dim; nothing between.
        if (a !== 1 && a !== s.length - 1)
          return ctx.error("RN119", {
            what: "layerscale axis",
            value:
              `1 or the last dim (${s.length - 1}, -1) for a rank-${s.length} input, ` +
              `found ${String(ctx.args["axis"])}`,
          });
        axis = a;
      }
      const c = concreteDim(ctx, s[axis]!, "channels");
      // `bare` reaches the IR with the other arguments.
      return c === undefined ? undefined : { shape: [...s], params: c, attrs: { axis } };
    },
  },
];
