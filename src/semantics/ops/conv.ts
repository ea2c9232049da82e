// Convolutions and dense layers: conv (1d/2d/3d, chosen by input rank), depthwise and
// separable convs, dense.
// Takes: input shapes and checked args. Gives: output shape, parameter and MAC counts.
// Must not: look beyond its own inputs (bias=auto is settled later, when consumers are known).

import { dimStr, isConst, shapeStr } from "../../ir/dims.js";
import { concreteDim, expectRank, numericProduct, product, slideWindow } from "./common.js";
import type { ArgSpec, InferCtx, InferResult, OpDef } from "./registry.js";
import { ANY_RANK, SPATIAL } from "./registry.js";
import type { OpName } from "../../ir/ops.js";

export const INITS = ["kaiming", "kaiming_fan_in", "xavier", "normal", "zeros", "ones"] as const;

const windowArgs: ArgSpec[] = [
  { name: "k", type: "ints", default: 3, positional: true, doc: "kernel size (one int, or one per spatial dim)" },
  { name: "stride", type: "ints", default: 1, doc: "stride" },
  {
    name: "padding",
    type: { enum: ["auto", "same", "valid"], orInts: true },
    default: "auto",
    doc: "`auto` = dilation*(k-1)/2 per side (PyTorch style), `same`, `valid`, or explicit",
  },
  { name: "dilation", type: "ints", default: 1, doc: "dilation" },
];
const biasArg: ArgSpec = {
  name: "bias",
  type: { enum: ["auto"], orBool: true },
  default: "auto",
  doc: "`auto`: no bias when a normalisation follows (also after dropout or drop_path), else a bias",
};
const initArg: ArgSpec = {
  name: "init",
  type: { enum: INITS },
  default: "kaiming",
  doc: "weight init; `kaiming` = He normal, fan_out, ReLU gain (torchvision)",
};
const gainArg: ArgSpec = {
  name: "gain",
  type: "float",
  default: 1,
  doc: "factor on the weight init (its std, bound or constant; not the bias): Fixup's `1 / sqrt(L)`",
};

/** false for a positive `gain`; otherwise reports RN119 (zero weights are `init=zeros`) and
 * gives undefined, the failed shape rule. */
function badGain(ctx: InferCtx): undefined | false {
  // Convs the compiler makes itself (a projection shortcut) pass no gain: 1.
  const g = ctx.args["gain"] as number | undefined;
  if (g === undefined || (g > 0 && Number.isFinite(g))) return false;
  return ctx.error(
    "RN119",
    { what: `${ctx.op} gain`, value: `positive, found ${g}` },
    "for weights that start at zero, write `init=zeros`",
  );
}

function rankFor(op: string): readonly number[] {
  if (op.endsWith("1d")) return [3];
  if (op.endsWith("2d")) return [4];
  if (op.endsWith("3d")) return [5];
  return SPATIAL;
}

function rankText(ranks: readonly number[]): string {
  return ranks.length === 1
    ? `[N, C, ${["L", "H, W", "D, H, W"][ranks[0]! - 3]}] (rank ${ranks[0]})`
    : "[N, C, L], [N, C, H, W] or [N, C, D, H, W]";
}

/** Shared by conv, dwconv and sepconv: `groups` input-channel groups, `out` output channels. */
function convCore(
  ctx: InferCtx,
  out: number,
  groups: number,
  extraParams: (cin: number, kvol: number) => number,
): InferResult | undefined {
  const ranks = rankFor(ctx.op);
  const s = expectRank(ctx, ranks, rankText(ranks));
  if (!s) return undefined;
  const cin = concreteDim(ctx, s[1]!, "input channels");
  if (cin === undefined) return undefined;
  if (out < 1) return ctx.error("RN204", { what: `${ctx.op} output channels`, found: String(out) });
  if (groups < 1) return ctx.error("RN204", { what: `${ctx.op} groups`, found: String(groups) });
  if (cin % groups !== 0)
    return ctx.error("RN205", {
      what: `${ctx.op} groups`,
      detail: `${cin} input channels do not divide into ${groups} groups`,
    });
  if (out % groups !== 0)
    return ctx.error("RN205", {
      what: `${ctx.op} groups`,
      detail: `${out} output channels do not divide into ${groups} groups`,
    });
  const w = slideWindow(ctx, s, ctx.args["padding"]!);
  if (!w) return undefined;
  const kvol = product(w.kernel);
  const weights = out * (cin / groups) * kvol;
  const bias = ctx.args["bias"] === true ? out : 0; // `auto` is settled when consumers are known
  const spatial = numericProduct(w.out);
  return {
    shape: [s[0]!, out, ...w.out],
    params: weights + bias + extraParams(cin, kvol),
    macs: weights * spatial,
    attrs: { kernel: w.kernel, stride: w.stride, dilation: w.dilation, pads: w.pads, groups, out, in: cin },
  };
}

const conv = (name: OpName, aliases: string[] = []): OpDef => ({
  name,
  aliases,
  family: "conv",
  summary: "convolution; the number of spatial dims follows the input rank for `conv`",
  arity: 1,
  ranks: rankFor(name),
  args: [
    { name: "out", type: "int", positional: true, doc: "output channels" },
    ...windowArgs,
    { name: "groups", type: "int", default: 1, doc: "channel groups (ResNeXt cardinality)" },
    biasArg,
    initArg,
    gainArg,
  ],
  infer: (ctx) => {
    const bad = badGain(ctx);
    return bad !== false ? bad : convCore(ctx, ctx.args["out"] as number, ctx.args["groups"] as number, () => 0);
  },
});

export const convOps: OpDef[] = [
  conv("conv", ["conv1d", "conv2d", "conv3d"]),
  {
    name: "dwconv",
    family: "conv",
    summary: "depthwise convolution: one filter per input channel (times `multiplier`)",
    arity: 1,
    ranks: SPATIAL,
    args: [
      ...windowArgs,
      { name: "multiplier", type: "int", default: 1, doc: "filters per input channel" },
      biasArg,
      initArg,
      gainArg,
    ],
    infer: (ctx) => {
      const bad = badGain(ctx);
      if (bad !== false) return bad;
      const c = ctx.inputs[0]![1];
      if (c === undefined || !isConst(c)) return convCore(ctx, 1, 1, () => 0);
      return convCore(ctx, c * (ctx.args["multiplier"] as number), c, () => 0);
    },
  },
  {
    name: "sepconv",
    family: "conv",
    summary:
      "separable convolution: depthwise k-conv then pointwise 1x1 to `out` channels (MobileNet; MatchboxNet's " +
      "time-channel separable conv)",
    arity: 1,
    ranks: SPATIAL,
    args: [
      { name: "out", type: "int", positional: true, doc: "output channels" },
      ...windowArgs,
      biasArg,
      initArg,
      gainArg,
    ],
    infer: (ctx) => {
      const bad = badGain(ctx);
      if (bad !== false) return bad;
      const out = ctx.args["out"] as number;
      const r = convCore(ctx, out, 1, () => 0);
      if (!r) return undefined;
      // convCore counted a full conv; replace with depthwise (cin*k) + pointwise (cin*out).
      const cin = r.attrs!["in"] as number;
      const kvol = product(r.attrs!["kernel"] as number[]);
      const spatial = numericProduct(r.shape.slice(2));
      const bias = ctx.args["bias"] === true ? out : 0;
      return { ...r, params: cin * kvol + cin * out + bias, macs: (cin * kvol + cin * out) * spatial };
    },
  },
  {
    name: "dense",
    aliases: ["linear"],
    family: "linear",
    summary: "fully connected layer over the last dim",
    arity: 1,
    ranks: ANY_RANK,
    args: [
      { name: "out", type: "int", positional: true, doc: "output features" },
      biasArg,
      {
        name: "init",
        type: { enum: INITS },
        default: "kaiming_fan_in",
        doc: "weight init (default: PyTorch Linear's)",
      },
      gainArg,
    ],
    infer: (ctx) => {
      const bad = badGain(ctx);
      if (bad !== false) return bad;
      const s = ctx.inputs[0]!;
      if (s.length < 2)
        return ctx.error("RN207", { op: ctx.op, expected: "[N, ..., features] (rank at least 2)", found: shapeStr(s) });
      const last = s[s.length - 1]!;
      if (!isConst(last))
        return ctx.error(
          "RN208",
          { op: ctx.op, detail: `input features must be a known number, found \`${dimStr(last)}\`` },
          "flatten a tensor with concrete spatial sizes, or pool it first",
        );
      const out = ctx.args["out"] as number;
      if (out < 1) return ctx.error("RN204", { what: `${ctx.op} output features`, found: String(out) });
      const bias = ctx.args["bias"] === true ? out : 0;
      return {
        shape: [...s.slice(0, -1), out],
        params: last * out + bias,
        macs: last * out * numericProduct(s.slice(1, -1)),
        attrs: { in: last, out },
      };
    },
  },
];
