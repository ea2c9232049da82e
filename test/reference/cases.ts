// The op-by-op reference cases: for every IR op, small complete `.resnet` models that exercise
// it at every rank its shape rule accepts, with representative arguments (strides, dilations,
// groups, padding kinds, ceil mode, odd sizes, batch 1 and 2).
// Takes: nothing. Gives: OP_CASES (a record over the closed op set, so an op without cases is a
// tsc error), RANK_PROBES (one model per op and rank, to find the ranks a shape rule accepts)
// and helpers to size a case's inputs. Must not: depend on an emitter or on the interpreter;
// keep every model tiny (a few thousand elements), since all cases run on every test run.

import type { OpName } from "../../src/ir/ops.js";

export interface OpCase {
  name: string;
  /** A complete small model; its batch dim stays the symbolic `N`. */
  source: string;
  /** Batch size of the test input (default 2). */
  batch?: number;
  /** Values of symbolic dims other than N (token counts `T`, spatial sizes `H`, `W`). */
  sizes?: Record<string, number>;
}

export type CaseOp = Exclude<OpName, "input">;

/** A one-input model `x: f32[shape]` with `body` (statements separated by newlines). */
export function model(shape: string, body: string): string {
  return `model T {\n  input x: f32[${shape}]\n  ${body.replace(/\n/g, "\n  ")}\n}\n`;
}

/** A model with several inputs, given as name -> shape. */
export function modelN(inputs: Record<string, string>, body: string): string {
  const ins = Object.entries(inputs).map(([n, s]) => `  input ${n}: f32[${s}]`);
  return `model T {\n${ins.join("\n")}\n  ${body.replace(/\n/g, "\n  ")}\n}\n`;
}

const c = (name: string, shape: string, body: string, extra: Partial<OpCase> = {}): OpCase => ({
  name,
  source: model(shape, body),
  ...extra,
});

/** Small shapes of ranks 2..5 for shape-preserving ops. */
const RANKED: [number, string][] = [
  [2, "N, 6"],
  [3, "N, 3, 7"],
  [4, "N, 3, 4, 5"],
  [5, "N, 2, 3, 3, 4"],
];

/** The same body at every rank 2..5, batch 1 at rank 3 (so both batch sizes are used). */
const everyRank = (what: string, body: string): OpCase[] =>
  RANKED.map(([r, s]) => c(`${what}, rank ${r}`, s, body, r === 3 ? { batch: 1 } : {}));

/** An activation at every rank, its input scaled so values reach past the kinks (hardswish: +-3). */
const activation = (body: string): OpCase[] => [
  ...everyRank(body, `scale(3) ${body}`),
  c(`${body} on tokens [N, T, D]`, "N, T, 6", `scale(3) ${body}`, { sizes: { T: 5 } }),
];

export const OP_CASES: { [O in CaseOp]: OpCase[] } = {
  conv: [
    c("1d k5 s2 padding 2", "N, 3, 17", "conv(4, k=5, stride=2, padding=2)"),
    c("1d dilation 2, groups 3, bias", "N, 6, 13", "conv(3, k=3, dilation=2, groups=3, bias=true)", { batch: 1 }),
    c("1d same stride 2 on an even size (asymmetric pads)", "N, 2, 10", "conv(3, k=4, stride=2, padding=same)"),
    c("2d k3 s2 auto, odd sizes", "N, 3, 7, 9", "conv(4, k=3, stride=2)", { batch: 1 }),
    c(
      "2d per-dim k, stride, padding, dilation, groups 2",
      "N, 6, 7, 9",
      "conv(4, k=[3, 2], stride=[2, 1], padding=[1, 0], dilation=[2, 1], groups=2)",
    ),
    c("2d same stride 2 on even sizes (asymmetric pads)", "N, 2, 8, 6", "conv(3, k=3, stride=2, padding=same)"),
    c("2d same, even kernel, stride 1", "N, 2, 5, 6", "conv(3, k=4, padding=same)"),
    c("2d same, dilated", "N, 2, 7, 7", "conv(3, k=3, dilation=2, padding=same)"),
    c("2d valid k5 s3", "N, 1, 12, 13", "conv(2, k=5, stride=3, padding=valid)"),
    c("2d explicit padding 2, stride 2", "N, 2, 6, 5", "conv(3, k=3, stride=2, padding=2)"),
    c("2d depthwise-style groups = channels, bias", "N, 4, 5, 5", "conv(8, k=3, groups=4, bias=true)"),
    c(
      "2d 1x1, groups 2, kaiming_fan_in with bias",
      "N, 4, 5, 5",
      "conv(6, k=1, groups=2, bias=true, init=kaiming_fan_in)",
    ),
    c("2d same stride 3 on symbolic sizes (SAME_UPPER)", "N, 2, H, W", "conv(3, k=4, stride=3, padding=same)", {
      sizes: { H: 9, W: 8 },
    }),
    c("2d then bn (bias auto: none)", "N, 3, 6, 6", "conv(4, k=3) bn"),
    c("3d k3 s2, odd sizes", "N, 2, 5, 6, 7", "conv(2, k=3, stride=2)"),
    c(
      "3d per-dim kernel, same stride 2, groups 2",
      "N, 4, 4, 5, 6",
      "conv(4, k=[1, 3, 3], stride=2, padding=same, groups=2)",
      { batch: 1 },
    ),
    c("3d dilated, valid", "N, 2, 5, 5, 5", "conv(2, k=2, dilation=[1, 2, 2], padding=valid, bias=true)"),
    // Weight sharing: one conv's parameters at two uses (`share`), bias=auto settled across uses.
    {
      name: "a shared block's conv applied twice (one set of parameters)",
      source: `block C() {\n  conv(4, k=3)\n}\n${model("N, 3, 5, 5", "let c = share C\nconv(4, k=1) c relu c")}`,
    },
  ],
  dwconv: [
    c("1d k5 s2", "N, 3, 11", "dwconv(k=5, stride=2)"),
    c("2d k3 s2, multiplier 2", "N, 3, 9, 9", "dwconv(k=3, stride=2, multiplier=2)", { batch: 1 }),
    c("2d same stride 2 on even sizes, bias", "N, 4, 8, 8", "dwconv(k=3, stride=2, padding=same, bias=true)"),
    c("2d explicit padding, dilation 2", "N, 2, 7, 6", "dwconv(k=3, padding=[1, 2], dilation=2)"),
    c("3d per-dim dilation", "N, 2, 4, 5, 5", "dwconv(k=3, dilation=[1, 2, 1])"),
    c("2d same stride 2 on symbolic sizes (SAME_UPPER)", "N, 3, H, W", "dwconv(k=3, stride=2, padding=same)", {
      sizes: { H: 7, W: 8 },
    }),
  ],
  sepconv: [
    c("1d k13 (MatchboxNet)", "N, 8, 33", "sepconv(6, k=13)", { batch: 1 }),
    c("2d same, dilated", "N, 4, 12, 11", "sepconv(8, k=5, dilation=2, padding=same)"),
    c("2d stride 2, bias", "N, 3, 7, 7", "sepconv(5, k=3, stride=2, bias=true)"),
    c("2d valid", "N, 3, 6, 5", "sepconv(2, k=[3, 2], padding=valid)"),
    c("3d k3", "N, 2, 4, 4, 4", "sepconv(3, k=3)"),
  ],
  dense: [
    c("rank 2", "N, 7", "dense(5)"),
    c("rank 2, batch 1", "N, 7", "dense(5)", { batch: 1 }),
    c("rank 2, no bias, xavier", "N, 6", "dense(4, bias=false, init=xavier)"),
    c("rank 3 tokens [N, T, D]", "N, T, 6", "dense(5)", { sizes: { T: 4 } }),
    c("rank 3, no bias", "N, 3, 7", "dense(5, bias=false)"),
    c("rank 4", "N, 2, 3, 5", "dense(4)"),
    c("rank 5", "N, 2, 2, 3, 4", "dense(3)"),
    c("after flatten", "N, 2, 3, 3", "flatten dense(4)"),
  ],
  bn: [
    c("rank 2 features", "N, 6", "bn"),
    c("rank 3", "N, 4, 7", "bn", { batch: 1 }),
    c("rank 4, eps 1e-3", "N, 3, 5, 5", "bn(eps=1e-3)"),
    c("rank 4, gamma zeros", "N, 3, 4, 4", "bn(gamma=zeros)"),
    c("rank 5", "N, 2, 3, 4, 5", "bn"),
    c("rank 4, affine=false (running statistics only)", "N, 3, 4, 4", "bn(affine=false)"),
    c("rank 4, conv then affine=false (folds)", "N, 2, 5, 5", "conv(3, k=3) bn(affine=false)"),
    // A shared residual body with BN (statistics shared too) at two spatial sizes: MDSR's pattern.
    {
      name: "a shared residual body with BN, applied to two inputs of different sizes",
      source:
        "block R() {\n  residual { conv(4, k=3) bn relu conv(4, k=3) bn }\n  relu\n}\n" +
        modelN({ a: "N, 4, 5, 5", b: "N, 4, 3, 6" }, "let r = share R\noutput ya = a r\noutput yb = b r conv(2, k=1)"),
    },
  ],
  groupnorm: [
    c("rank 2", "N, 6", "groupnorm(3)"),
    c("rank 3", "N, 4, 7", "groupnorm(2)", { batch: 1 }),
    c("rank 4, 2 groups", "N, 4, 5, 3", "groupnorm(2)"),
    c("rank 4, groups = channels", "N, 4, 3, 3", "groupnorm(4)"),
    c("rank 4, one group, eps 1e-3", "N, 4, 3, 3", "groupnorm(1, eps=1e-3)"),
    c("rank 5", "N, 6, 2, 3, 3", "groupnorm(3)"),
    c("rank 4 on symbolic sizes", "N, 4, H, W", "groupnorm(2)", { sizes: { H: 3, W: 5 } }),
  ],
  layernorm: [
    c("rank 2", "N, 8", "layernorm"),
    c("rank 3 tokens [N, T, D]", "N, T, 8", "layernorm", { sizes: { T: 5 } }),
    c("rank 3", "N, 5, 8", "layernorm", { batch: 1 }),
    c("rank 4", "N, 2, 3, 6", "layernorm"),
    c("rank 5, eps 1e-6", "N, 2, 2, 2, 5", "layernorm(eps=1e-6)"),
  ],
  relu: activation("relu"),
  leaky: [...activation("leaky"), c("slope 0.2", "N, 3, 4, 4", "leaky(0.2)")],
  prelu: [
    ...activation("prelu"),
    ...everyRank("prelu per channel", "prelu(per_channel=true)"),
    c("per channel, init 0.1", "N, 3, 4, 4", "prelu(per_channel=true, init=0.1)"),
  ],
  gelu: activation("gelu"),
  silu: activation("silu"),
  sigmoid: activation("sigmoid"),
  tanh: activation("tanh"),
  hardswish: activation("hardswish"),
  softmax: [
    c("rank 2, over channels", "N, 10", "scale(3) softmax"),
    c("rank 3, axis -1", "N, 3, 7", "scale(3) softmax(axis=-1)", { batch: 1 }),
    c("rank 3 tokens, axis -1", "N, T, 6", "scale(3) softmax(axis=-1)", { sizes: { T: 4 } }),
    c("rank 4, axis 2", "N, 2, 3, 5", "scale(3) softmax(axis=2)"),
    c("rank 4, over channels", "N, 4, 3, 3", "scale(3) softmax"),
    c("rank 5, axis 1", "N, 3, 2, 2, 3", "softmax(axis=1)"),
    c("rank 3, axis 0 (the batch)", "N, 3, 4", "softmax(axis=0)"),
  ],
  maxpool: [
    c("1d ceil", "N, 2, 10", "maxpool(k=3, stride=2, padding=1, ceil=true)"),
    c("1d same stride 2 on an even size", "N, 2, 8", "maxpool(k=3, stride=2, padding=same)"),
    c("2d k3 s2 p1 (ResNet stem), odd size", "N, 2, 9, 9", "maxpool(k=3, stride=2, padding=1)", { batch: 1 }),
    c("2d ceil, last window in the padding", "N, 1, 9, 9", "maxpool(k=2, stride=2, padding=1, ceil=true)"),
    c("2d ceil, stride above kernel", "N, 1, 5, 8", "maxpool(k=1, stride=3, ceil=true)"),
    c("2d ceil, stride below kernel", "N, 2, 10, 10", "maxpool(k=3, stride=2, padding=1, ceil=true)"),
    c("2d per-dim window", "N, 2, 9, 8", "maxpool(k=[2, 3], stride=[1, 2], padding=[1, 1])"),
    c("2d same stride 2 on even sizes", "N, 2, 8, 6", "maxpool(k=3, stride=2, padding=same)"),
    c("2d k2 default stride", "N, 2, 7, 7", "maxpool(2)"),
    c("2d ceil on symbolic sizes", "N, 1, H, W", "maxpool(k=2, stride=2, padding=1, ceil=true)", {
      sizes: { H: 9, W: 8 },
    }),
    c("2d same on symbolic sizes (SAME_UPPER)", "N, 2, H, W", "maxpool(k=3, stride=2, padding=same)", {
      sizes: { H: 8, W: 7 },
    }),
    c("3d ceil", "N, 1, 3, 5, 7", "maxpool(k=2, ceil=true)"),
  ],
  avgpool: [
    c("1d k3 s2 padding 1", "N, 2, 9", "avgpool(k=3, stride=2, padding=1)"),
    c("1d global", "N, 3, 5", "avgpool"),
    c("2d ceil, padding k-1", "N, 1, 8, 8", "avgpool(k=3, stride=3, padding=2, ceil=true)"),
    c("2d ceil k2 (ResNet-D), odd size: ceil remains", "N, 1, 7, 7", "avgpool(k=2, ceil=true)", { batch: 1 }),
    c("2d ceil k3 s2 padding 1, even size", "N, 1, 8, 6", "avgpool(k=3, stride=2, padding=1, ceil=true)"),
    c("2d same stride 2 (asymmetric pads, counted)", "N, 2, 8, 7", "avgpool(k=3, stride=2, padding=same)"),
    c("2d explicit padding, count_include_pad", "N, 2, 5, 5", "avgpool(k=3, stride=1, padding=1)"),
    // count_include_pad=false: divided by the window's cells inside the input (Inception's pools).
    c(
      "1d k3 s2 padding 1, padded cells not counted",
      "N, 2, 9",
      "avgpool(k=3, stride=2, padding=1, count_include_pad=false)",
    ),
    c(
      "2d k3 s1 padding 1, padded cells not counted",
      "N, 2, 5, 6",
      "avgpool(k=3, stride=1, padding=1, count_include_pad=false)",
    ),
    c(
      "2d ceil k3 s2 padding 1, padded cells not counted",
      "N, 1, 8, 6",
      "avgpool(k=3, stride=2, padding=1, ceil=true, count_include_pad=false)",
      { batch: 1 },
    ),
    c(
      "3d k3 padding 1, padded cells not counted",
      "N, 1, 3, 4, 4",
      "avgpool(k=3, stride=2, padding=1, count_include_pad=false)",
    ),
    c("2d global", "N, 3, 5, 7", "avgpool"),
    c("2d ceil on symbolic sizes", "N, 1, H, W", "avgpool(k=3, stride=2, padding=1, ceil=true)", {
      sizes: { H: 8, W: 9 },
    }),
    c("2d same on symbolic sizes (SAME_UPPER, counted)", "N, 2, H, W", "avgpool(k=3, stride=2, padding=same)", {
      sizes: { H: 8, W: 7 },
    }),
    c("3d k2", "N, 2, 4, 5, 5", "avgpool(k=2, stride=2)"),
    c("3d ceil: ceil remains", "N, 1, 5, 5, 5", "avgpool(k=2, ceil=true)"),
    c("3d global", "N, 2, 3, 3, 3", "avgpool"),
    c("shortcut avgproject (ResNet-D)", "N, 4, 9, 9", "residual { conv(8, k=3, stride=2) bn } shortcut avgproject"),
  ],
  gap: [
    c("rank 3", "N, 3, 5", "gap"),
    c("rank 4", "N, 3, 5, 7", "gap", { batch: 1 }),
    c("rank 5", "N, 2, 3, 3, 4", "gap"),
  ],
  dropout: everyRank("dropout", "dropout(0.1)"),
  drop_path: [
    ...everyRank("drop_path", "drop_path(0.2)"),
    c(
      "residual modifiers scale, gate, layerscale, drop_path",
      "N, 4, 5, 5",
      "residual(scale=0.5, gate=0.2, layerscale=0.1, drop_path=0.1) { conv(4, k=3) bn relu } shortcut identity",
    ),
  ],
  scale: [...everyRank("scale", "scale(0.5)"), c("negative factor", "N, 3, 4, 4", "scale(-1.5)")],
  gate: [
    ...everyRank("gate", "gate(0.3)"),
    c("ReZero residual", "N, 3, 4, 4", "residual(gate=0) { conv(3, k=3) } shortcut identity"),
  ],
  shift: [
    ...everyRank("shift", "shift(0.3)"),
    c("negative init", "N, 3, 4, 4", "shift(-1.25)"),
    c(
      "Fixup basic block (scalar biases, gained conv1, zero conv2, scalar multiplier)",
      "N, 4, 5, 5",
      "residual { shift conv(4, k=3, bias=false, gain=0.5) shift relu shift conv(4, k=3, bias=false, init=zeros) " +
        "gate(1) shift } shortcut identity\nrelu",
    ),
  ],
  layerscale: [
    c("rank 2", "N, 6", "layerscale"),
    c("rank 3 channels", "N, 4, 7", "layerscale(0.1)", { batch: 1 }),
    c("rank 3 tokens [N, T, D] (last axis)", "N, T, 8", "layerscale", { sizes: { T: 5 } }),
    c("rank 4", "N, 3, 4, 4", "layerscale"),
    c("rank 5", "N, 2, 2, 3, 3", "layerscale(0.1)"),
    c("tokens [N, 5, 8] with axis=-1 (CaiT's gamma_1)", "N, 5, 8", "layerscale(0.5, axis=-1, bare=true)"),
    c("rank 2 axis=1 bare", "N, 6", "layerscale(0.3, axis=1, bare=true)", { batch: 1 }),
    c("rank 4 axis=-1", "N, 2, 3, 4", "layerscale(0.2, axis=3)"),
  ],
  flatten: everyRank("flatten", "flatten"),
  reshape: [
    c("rank 2", "N, 12", "reshape([3, 4])"),
    c("rank 3, -1", "N, 2, 6", "reshape(-1)", { batch: 1 }),
    c("rank 4, [5, -1]", "N, 2, 3, 5", "reshape([5, -1])"),
    c("rank 5", "N, 2, 2, 3, 2", "reshape([4, 6])"),
  ],
  transpose: [
    c("rank 2, batch moved", "N, 5", "transpose([1, 0])"),
    c("rank 3", "N, 3, 7", "transpose([0, 2, 1])", { batch: 1 }),
    c("rank 4, channels last", "N, 2, 3, 5", "transpose([0, 2, 3, 1])"),
    c("rank 4, batch moved", "N, 2, 3, 4", "transpose([2, 0, 3, 1])"),
    c("rank 5", "N, 2, 3, 2, 4", "transpose([0, 4, 1, 3, 2])"),
  ],
  upsample: [
    c("1d nearest x2", "N, 2, 7", "upsample(2)"),
    c("1d linear x3", "N, 2, 5", "upsample(3, mode=linear)"),
    c("2d nearest x2", "N, 2, 3, 5", "upsample(2)", { batch: 1 }),
    c("2d nearest x3", "N, 1, 3, 2", "upsample(3)"),
    c("2d linear x2", "N, 2, 3, 5", "upsample(2, mode=linear)"),
    c("2d linear x3", "N, 2, 3, 4", "upsample(3, mode=linear)"),
    c("2d x1 (identity)", "N, 2, 3, 3", "upsample(1, mode=linear)"),
    c("3d nearest x2", "N, 2, 2, 3, 3", "upsample(2)"),
    c("3d linear x2", "N, 1, 2, 3, 3", "upsample(2, mode=linear)"),
    c("1d linear x3 align_corners", "N, 2, 5", "upsample(3, mode=linear, align_corners=true)"),
    c("2d linear x2 align_corners", "N, 2, 3, 5", "upsample(2, mode=linear, align_corners=true)"),
    c("2d linear x3 align_corners, one row", "N, 2, 1, 4", "upsample(3, mode=linear, align_corners=true)"),
    c("3d linear x2 align_corners", "N, 1, 2, 3, 3", "upsample(2, mode=linear, align_corners=true)"),
  ],
  pixel_shuffle: [
    c("r2", "N, 8, 3, 5", "pixel_shuffle(2)"),
    c("r3", "N, 9, 2, 3", "pixel_shuffle(3)", { batch: 1 }),
    c("r1", "N, 2, 3, 3", "pixel_shuffle(1)"),
  ],
  add: [
    c("residual rank 2 (dense branch)", "N, 6", "residual { dense(6) } shortcut identity"),
    c("residual rank 3", "N, 3, 7", "residual { conv(3, k=3) bn } shortcut identity", { batch: 1 }),
    c(
      "residual rank 4 (basic block)",
      "N, 3, 5, 5",
      "residual { conv(3, k=3) bn relu conv(3, k=3) bn } shortcut identity\nrelu",
    ),
    c("residual rank 5", "N, 2, 3, 3, 3", "residual { conv(2, k=3) } shortcut identity"),
    c("residual with projection shortcut", "N, 4, 9, 7", "residual { conv(8, k=3, stride=2) bn } shortcut project"),
    c("residual add broadcasting a pooled branch", "N, 3, 4, 5", "residual { gap conv(3, k=1) } shortcut identity"),
    c(
      "residual rank 5, anisotropic stride [1, 2, 2] (auto projects with it)",
      "N, 2, 3, 4, 5",
      "residual { conv(4, k=3, stride=[1, 2, 2]) bn }",
    ),
    c(
      "residual rank 5, stride [1, 2, 2], avgproject",
      "N, 2, 3, 4, 4",
      "residual { conv(4, k=3, stride=[1, 2, 2]) } shortcut avgproject",
    ),
    c("`+` operator", "N, 3, 4, 4", "let a = x relu\noutput a + x"),
    c("`+` broadcasting a gap", "N, 3, 4, 5", "let g = x gap\noutput x + g"),
    c("`+` broadcasting, the smaller operand first", "N, 3, 4, 5", "let g = x gap\noutput g + x"),
    {
      name: "add of three inputs",
      source: modelN({ x: "N, 3, 4", y: "N, 3, 4", z: "N, 3, 4" }, "output add(x, y, z)"),
    },
  ],
  sub: [
    c("`-` rank 2", "N, 6", "let a = x tanh\noutput x - a"),
    c("`-` rank 3", "N, 3, 7", "let a = x relu\noutput a - x", { batch: 1 }),
    c("`-` rank 4, global residual (DnCNN)", "N, 2, 5, 5", "output x - (conv(4, k=3) relu conv(2, k=3))(x)"),
    c("`-` rank 5", "N, 2, 2, 3, 3", "let a = x sigmoid\noutput x - a"),
    c("`-` broadcasting a gap", "N, 3, 4, 5", "let g = x gap\noutput x - g"),
    c("`-` broadcasting, the smaller operand first", "N, 3, 4, 5", "let g = x gap\noutput g - x"),
    c("`-` broadcasting rank 3", "N, 3, 7", "let g = x gap\noutput g - x"),
    c("`-` broadcasting rank 5", "N, 2, 2, 3, 3", "let g = x gap\noutput x - g"),
    { name: "sub(a, b)", source: modelN({ x: "N, 3, 4", y: "N, 3, 4" }, "output sub(x, y)") },
  ],
  mul: [
    c("`*` rank 2", "N, 6", "let a = x tanh\noutput a * x"),
    c("SE gate rank 3 (broadcast)", "N, 3, 7", "let g = x gap sigmoid\noutput x * g", { batch: 1 }),
    c("SE gate rank 4 (broadcast)", "N, 4, 3, 5", "let g = x gap conv(4, k=1) sigmoid\noutput x * g"),
    c("SE gate rank 5 (broadcast)", "N, 2, 2, 3, 3", "let g = x gap sigmoid\noutput x * g"),
    c("residual merge=mul", "N, 3, 4, 4", "residual(merge=mul) { tanh } shortcut identity"),
    c(
      "residual merge=mul, SE gate broadcast (shortcut auto keeps x)",
      "N, 4, 5, 6",
      "residual(merge=mul) { gap conv(2, k=1) relu conv(4, k=1) sigmoid }",
    ),
    c("residual merge=mul, SE gate rank 3", "N, 3, 7", "residual(merge=mul) { gap sigmoid } shortcut identity", {
      batch: 1,
    }),
    // One tensor twice in one merge and used elsewhere too (tfjs freed it after the first slot).
    c("a * a, a used again", "N, 3, 4", "let a = x tanh\nlet b = a * a\noutput a + b"),
    {
      name: "mul of three inputs",
      source: modelN({ x: "N, 3, 4", y: "N, 3, 4", z: "N, 3, 4" }, "output mul(x, y, z)"),
    },
  ],
  concat: [
    { name: "rank 2, channels", source: modelN({ x: "N, 3", y: "N, 4" }, "output concat(x, y)") },
    {
      name: "rank 3, axis -1",
      source: modelN({ x: "N, 2, 5", y: "N, 2, 3" }, "output concat(x, y, axis=-1)"),
      batch: 1,
    },
    { name: "rank 4, channels", source: modelN({ x: "N, 2, 3, 5", y: "N, 3, 3, 5" }, "output concat(x, y)") },
    { name: "rank 4, axis 2", source: modelN({ x: "N, 2, 3, 4", y: "N, 2, 2, 4" }, "output concat(x, y, axis=2)") },
    {
      name: "rank 5, axis 3",
      source: modelN({ x: "N, 2, 2, 2, 3", y: "N, 2, 2, 1, 3" }, "output concat(x, y, axis=3)"),
    },
    { name: "three inputs", source: modelN({ x: "N, 1, 4", y: "N, 2, 4", z: "N, 3, 4" }, "output concat(x, y, z)") },
    { name: "rank 2, axis 0 (the batch)", source: modelN({ x: "N, 3", y: "N, 3" }, "output concat(x, y, axis=0)") },
    c(
      "residual merge=concat (DenseNet)",
      "N, 4, 5, 5",
      "residual(merge=concat) { bn relu conv(3, k=3) } shortcut identity",
    ),
  ],
  slice: [
    c("chunk rank 2", "N, 6", "let xs = chunk(3)\noutput concat(xs[2], xs[0])"),
    c("chunk rank 3, the last part", "N, 4, 7", "chunk(2)[-1] relu", { batch: 1 }),
    c("split rank 4", "N, 6, 3, 4", "let xs = split([1, 2, 3])\noutput xs[1] - xs[0] * xs[1]"),
    c("chunk rank 4 along H", "N, 2, 6, 5", "let xs = chunk(3, axis=2)\noutput xs[1] + xs[2]"),
    c("split rank 5 along the last axis", "N, 2, 2, 3, 5", "let xs = split([2, 3], axis=-1)\noutput xs[1]"),
    c("slice op, rank 4", "N, 5, 3, 3", "slice(1, 4)"),
    c("slice op, rank 5, axis 2", "N, 2, 4, 3, 3", "slice(2, 4, axis=2)"),
    c(
      "Res2Net-style hierarchy (scale 3)",
      "N, 6, 4, 4",
      "let xs = chunk(3)\nlet a = xs[0] conv(2, k=3) relu\nlet b = (xs[1] + a) conv(2, k=3) relu\n" +
        "output concat(a, b, xs[2]) conv(6, k=1)",
    ),
  ],
  sew_and: [
    ...everyRank("merge=and", "residual(merge=and) { sigmoid } shortcut identity"),
    c("merge=and, conv branch", "N, 2, 5, 5", "residual(merge=and) { conv(2, k=3) bn sigmoid } shortcut identity"),
  ],
  sew_iand: [
    ...everyRank("merge=iand", "residual(merge=iand) { sigmoid } shortcut identity"),
    c("merge=iand, conv branch", "N, 2, 5, 5", "residual(merge=iand) { conv(2, k=3) bn sigmoid } shortcut identity"),
  ],
  shortcut_pad: [
    c("rank 2 (dense branch, channels only)", "N, 4", "residual { dense(8) } shortcut pad"),
    c("rank 3, stride 2", "N, 4, 9", "residual { conv(8, k=3, stride=2) bn } shortcut pad", { batch: 1 }),
    c("rank 4, stride 2, odd size", "N, 4, 9, 9", "residual { conv(8, k=3, stride=2) bn } shortcut pad"),
    c("rank 4, stride 2, odd channel difference", "N, 3, 8, 8", "residual { conv(6, k=3, stride=2) } shortcut pad"),
    c("rank 4, stride 1, channels only", "N, 4, 5, 5", "residual { conv(6, k=3) } shortcut pad"),
    c("rank 5, stride 2", "N, 2, 5, 5, 5", "residual { conv(4, k=3, stride=2) } shortcut pad"),
    // PyramidNet (Han et al. 2017): 2x2 average pool (ceil mode), then zero-padded channels.
    c("avgpad rank 4, stride 2 (PyramidNet)", "N, 3, 8, 6", "residual { conv(5, k=3, stride=2) bn } shortcut avgpad"),
    c("avgpad rank 4, stride 2, odd sizes", "N, 2, 7, 5", "residual { conv(4, k=3, stride=2) } shortcut avgpad", {
      batch: 1,
    }),
    c("avgpad rank 3, stride 1, channels only", "N, 2, 6", "residual { conv(5, k=3) } shortcut avgpad"),
    c(
      "avgpad rank 5, stride [1, 2, 2]",
      "N, 2, 3, 4, 4",
      "residual { conv(3, k=3, stride=[1, 2, 2]) } shortcut avgpad",
    ),
  ],
  // Token sequences [N, T, D]; T symbolic where the op allows it.
  attention: [
    c("attention, 2 heads, symbolic T", "N, T, 8", "attention(2)", { sizes: { T: 5 } }),
    c("attention, 1 head, batch 1", "N, 3, 6", "attention(heads=1)", { batch: 1 }),
    c(
      "attention, ViT encoder block (pre-norm, residual)",
      "N, 4, 8",
      "residual { layernorm(eps=1e-6) attention(4) dropout(0) }\nresidual { layernorm dense(16) gelu dense(8) }",
    ),
  ],
  cls_token: [
    c("cls_token, symbolic T", "N, T, 6", "cls_token", { sizes: { T: 3 } }),
    c("cls_token then slice it back (ViT's head)", "N, 4, 6", "cls_token(init=normal) slice(0, 1, axis=1) flatten", {
      batch: 1,
    }),
  ],
  // CaiT and ResMLP (Touvron et al. 2021), timm's blocks.
  affine: [
    c("affine on tokens, symbolic T", "N, T, 6", "affine", { sizes: { T: 4 } }),
    c("affine rank 2", "N, 5", "affine", { batch: 1 }),
    c("affine rank 4 (last dim)", "N, 2, 3, 4", "affine"),
    c("affine rank 5 (last dim)", "N, 2, 2, 3, 4", "affine"),
    c(
      "ResMLP block: affine, token-mixing dense over T, layerscale; affine, MLP",
      "N, 4, 6",
      "residual { affine transpose([0, 2, 1]) dense(4) transpose([0, 2, 1]) layerscale(0.5, axis=-1, bare=true) }\n" +
        "residual { affine dense(12) gelu dense(6) layerscale(0.5, axis=-1) }",
    ),
  ],
  talking_heads_attention: [
    c("talking heads, 2 heads, symbolic T", "N, T, 8", "talking_heads_attention(2)", { sizes: { T: 5 } }),
    c("talking heads, 3 heads, batch 1", "N, 4, 6", "talking_heads_attention(heads=3)", { batch: 1 }),
    c("talking heads, 1 head", "N, 3, 4", "talking_heads_attention(1)"),
    c(
      "CaiT block (pre-norm, layerscale, residual)",
      "N, 4, 8",
      "residual { layernorm(eps=1e-6) talking_heads_attention(4) layerscale(0.5, axis=-1, bare=true) }\n" +
        "residual { layernorm dense(16) gelu dense(8) layerscale(0.5, axis=-1) }",
    ),
  ],
  class_attention: [
    c("class attention, 2 heads, symbolic T", "N, T, 8", "class_attention(2)", { sizes: { T: 5 } }),
    c("class attention, 1 head, batch 1", "N, 3, 6", "class_attention(heads=1)", { batch: 1 }),
    c(
      "CaiT class-attention block: only the class token changes",
      "N, 4, 8",
      "cls_token(init=normal, std=0.5)\nlet t = shape()[1]\nlet pts = slice(1, t, axis=1)\n" +
        "let u = identity\n" +
        "let cls = u slice(0, 1, axis=1) + u layernorm(eps=1e-6) class_attention(2) layerscale(0.5, axis=-1)\n" +
        "cls = cls + cls layernorm dense(16) gelu dense(8) layerscale(0.5, axis=-1)\nconcat(cls, pts, axis=1)",
    ),
  ],
  pos_embed: [
    c("pos_embed", "N, 5, 6", "pos_embed"),
    c("pos_embed after cls_token, then attention", "N, 3, 4", "cls_token pos_embed(std=0.5) attention(2)", {
      batch: 1,
    }),
  ],
  // Spiking ops: the batch axis holds T time slices (time-major). A neuron on the raw batch sees
  // different inputs per step; after time_repeat the same input every step.
  if_neuron: [
    c("IF on the raw batch, T 2, rank 4", "N, 3, 4, 5", "scale(2) if_neuron(2)", { batch: 4 }),
    c("IF, T 3, soft reset, v_th 0.5", "N, 6", "scale(2) if_neuron(3, v_th=0.5, reset=soft)", { batch: 6 }),
    c(
      "IF after time_repeat, rank 3, v_reset -0.5",
      "N, 3, 7",
      "time_repeat(4) if_neuron(4, v_reset=-0.5)\ntime_mean(4)",
    ),
    c("IF, T 1, rank 5", "N, 2, 3, 3, 4", "scale(3) if_neuron(1, detach_reset=true)", { batch: 1 }),
  ],
  lif: [
    c("LIF, T 2, rank 5, detach_reset", "N, 2, 3, 3, 2", "scale(3) lif(2, detach_reset=true)"),
    c("LIF on the raw batch, T 2, rank 4", "N, 3, 4, 5", "scale(3) lif(2)", { batch: 4 }),
    c("LIF, T 4, tau 3, v_th 0.5, soft reset", "N, 6", "scale(3) lif(4, tau=3, v_th=0.5, reset=soft)", { batch: 4 }),
    c(
      "LIF after time_repeat, rank 3, v_reset 0.25, rect",
      "N, 3, 7",
      "time_repeat(3) scale(4)\nlif(3, v_reset=0.25, surrogate=rect) time_mean(3)",
    ),
    c(
      "SEW basic block (ADD), T 2",
      "N, 2, 5, 5",
      "conv(4, k=3) bn time_repeat(2) lif(2)\n" +
        "residual { conv(4, k=3) bn lif(2) conv(4, k=3) bn lif(2) } shortcut identity\ntime_mean(2)",
    ),
    c(
      "MS-ResNet membrane shortcut, T 2",
      "N, 2, 5, 5",
      "conv(4, k=3) bn time_repeat(2)\n" +
        "residual { lif(2) conv(4, k=3) bn lif(2) conv(4, k=3) bn } shortcut identity\nlif(2) time_mean(2)",
    ),
  ],
  time_repeat: [...everyRank("time_repeat", "time_repeat(3)"), c("time_repeat, T 1", "N, 2, 3, 3", "time_repeat(1)")],
  time_mean: [
    ...everyRank("time_repeat then time_mean", "time_repeat(2) scale(2) time_mean(2)"),
    c("time_mean of a conv over time", "N, 2, 4, 4", "time_repeat(3) conv(3, k=3) time_mean(3)"),
  ],
};

/** Every case as [op, case], in table order. */
export function allCases(): [CaseOp, OpCase][] {
  return (Object.keys(OP_CASES) as CaseOp[]).flatMap((op) => OP_CASES[op].map((k): [CaseOp, OpCase] => [op, k]));
}

// ---- rank probes ----

const probeShape = (rank: number): string => ["N", ...Array(rank - 1).fill("4")].join(", ");
const probe = (body: string) => (rank: number) => model(probeShape(rank), body);

/**
 * One model per op and input rank (2..5, input [N, 4, 4, ...]); an op accepts a rank when its
 * probe compiles to a graph with a node of that op whose first input has that rank.
 */
export const RANK_PROBES: { [O in CaseOp]: (rank: number) => string } = {
  conv: probe("conv(4, k=1)"),
  dwconv: probe("dwconv(k=1)"),
  sepconv: probe("sepconv(4, k=1)"),
  dense: probe("dense(3)"),
  bn: probe("bn"),
  groupnorm: probe("groupnorm(2)"),
  layernorm: probe("layernorm"),
  relu: probe("relu"),
  leaky: probe("leaky"),
  prelu: probe("prelu(per_channel=true)"),
  gelu: probe("gelu"),
  silu: probe("silu"),
  sigmoid: probe("sigmoid"),
  tanh: probe("tanh"),
  hardswish: probe("hardswish"),
  softmax: probe("softmax"),
  maxpool: probe("maxpool(2)"),
  avgpool: probe("avgpool(2)"),
  gap: probe("gap"),
  dropout: probe("dropout(0.1)"),
  drop_path: probe("drop_path(0.1)"),
  scale: probe("scale(2)"),
  gate: probe("gate"),
  shift: probe("shift"),
  layerscale: probe("layerscale"),
  flatten: probe("flatten"),
  reshape: probe("reshape(-1)"),
  transpose: (r) => model(probeShape(r), `transpose([${Array.from({ length: r }, (_, i) => i).join(", ")}])`),
  upsample: probe("upsample(2)"),
  pixel_shuffle: probe("pixel_shuffle(2)"),
  add: probe("let a = x relu\noutput a + x"),
  sub: probe("let a = x relu\noutput a - x"),
  mul: probe("let a = x relu\noutput a * x"),
  slice: probe("slice(1, 3)"),
  concat: probe("output concat(x, x)"),
  sew_and: probe("residual(merge=and) { relu } shortcut identity"),
  sew_iand: probe("residual(merge=iand) { relu } shortcut identity"),
  attention: probe("attention(2)"),
  cls_token: probe("cls_token"),
  pos_embed: probe("pos_embed"),
  affine: probe("affine"),
  talking_heads_attention: probe("talking_heads_attention(2)"),
  class_attention: probe("class_attention(2)"),
  // The branch must change the channel count: a dense layer on [N, C], a 1x1 conv above.
  shortcut_pad: (r) => model(probeShape(r), `residual { ${r === 2 ? "dense(8)" : "conv(8, k=1)"} } shortcut pad`),
  if_neuron: probe("if_neuron(1)"),
  lif: probe("lif(1)"),
  time_repeat: probe("time_repeat(2)"),
  time_mean: probe("time_repeat(2) time_mean(2)"),
};
