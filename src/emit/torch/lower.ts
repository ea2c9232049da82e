// Lowering of each IR op to PyTorch: the module that holds its parameters (named as the ONNX
// initializers and resnetc's checkpoints: nn.Conv2d's `weight`, nn.BatchNorm2d's `running_mean`)
// and the expression of its forward pass, in the IR's own layout (NCHW, [N, T, D]). Semantics
// follow the ONNX lowering (src/emit/onnx/lower.ts) so that both targets compute the same thing.
// Takes: one IR node and the Python expressions of its inputs and of its module. Gives: Python
// expressions (already escaped: no user text here). Must not: invent parameters (they come from
// src/weights/init.ts) or touch files.

import type { IrNodeOf, OpName } from "../../ir/ir.js";
import { pyBool, pyNum, pyTuple } from "./python.js";

export interface TorchCtx<O extends OpName> {
  readonly node: IrNodeOf<O>;
  /** Expressions (variable names) of its inputs. */
  readonly ins: string[];
  /** Expression of the object its `build` made (`self.layer1[0].conv1`); "" for ops without one. */
  readonly mod: string;
}

export interface TorchLowering<O extends OpName> {
  /** For the README's op table: how PyTorch computes it, where that is not the stock module. */
  note?: string;
  /** The module (or nn.Parameter, for a free tensor) at the node's name that holds its parameters. */
  build?: (n: IrNodeOf<O>) => string;
  /** Constant initial values its module already has (BatchNorm's weight 1, bias 0, ...), by
   * parameter suffix: a declared constant equal to one needs no init call. */
  built?: (n: IrNodeOf<O>) => Record<string, number>;
  /** The expression of its output. */
  call: (c: TorchCtx<O>) => string;
}

type WindowAttrs = { kernel: number[]; stride: number[]; pads: number[] };

const rankName = (spatial: number): string => `${spatial}d`;
const allEqual = (xs: readonly number[]): boolean => xs.every((x) => x === xs[0]);
/** An int when every entry is the same (`3`), else a tuple (`(1, 3)`): as torchvision writes them. */
const intOrTuple = (xs: readonly number[]): string => (allEqual(xs) ? pyNum(xs[0]!) : pyTuple(xs));

/** Pads PyTorch's own `padding=` can express: the same before and after each spatial dim. */
function symmetric(pads: readonly number[]): number[] | undefined {
  const n = pads.length / 2;
  if (pads.some((p) => p < 0)) return undefined;
  const begin = pads.slice(0, n);
  return begin.every((p, i) => p === pads[n + i]) ? begin : undefined;
}

/** The input of a sliding window: as is, or padded explicitly (asymmetric pads, or `same` on a
 * symbolic size, computed from the size it sees as ONNX's SAME_UPPER does). */
function padded(x: string, a: WindowAttrs & { dilation?: number[] }, value: string): string {
  if (symmetric(a.pads)) return x;
  const v = value === "0.0" ? "" : `, ${value}`;
  if (a.pads.some((p) => p < 0)) {
    const d = a.dilation ?? a.kernel.map(() => 1);
    return `_pad(${x}, _same_pads(${x}, ${pyTuple(a.kernel)}, ${pyTuple(a.stride)}, ${pyTuple(d)})${v})`;
  }
  return `_pad(${x}, ${pyTuple(a.pads)}${v})`;
}

function convModule(
  a: WindowAttrs & { dilation: number[]; bias: boolean },
  cin: number,
  cout: number,
  groups: number,
): string {
  const k = a.kernel;
  const args = [pyNum(cin), pyNum(cout), intOrTuple(k)];
  if (!allEqual(a.stride) || a.stride[0] !== 1) args.push(`stride=${intOrTuple(a.stride)}`);
  const pad = symmetric(a.pads);
  if (pad && pad.some((p) => p !== 0)) args.push(`padding=${intOrTuple(pad)}`);
  if (a.dilation.some((d) => d !== 1)) args.push(`dilation=${intOrTuple(a.dilation)}`);
  if (groups !== 1) args.push(`groups=${pyNum(groups)}`);
  args.push(`bias=${pyBool(a.bias)}`);
  return `nn.Conv${rankName(k.length)}(${args.join(", ")})`;
}

/** nn.BatchNorm, nn.GroupNorm and nn.LayerNorm start as the identity. */
const normBuilt = (): Record<string, number> => ({ weight: 1, bias: 0, running_mean: 0, running_var: 1 });
const zeros = (suffix: string) => (): Record<string, number> => ({ [suffix]: 0 });

const fn = (f: string): TorchLowering<OpName> => ({ call: (c) => `${f}(${c.ins[0]})` });

/** Max or average pooling over a window: PyTorch's own call when its padding can say it, else the
 * input padded explicitly (-inf before a max; before an average, zeros counted or not as asked). */
function pool(c: TorchCtx<"maxpool" | "avgpool">): string {
  const n = c.node;
  const a = n.attrs;
  const x = c.ins[0]!;
  if (a.global) return `${x}.mean(dim=${pyTuple(n.shape.slice(2).map((_, i) => i + 2))}, keepdim=True)`;
  const d = a.kernel.length;
  const pad = symmetric(a.pads);
  const native = pad !== undefined && pad.every((p, i) => p <= Math.floor(a.kernel[i]! / 2));
  const countPad = n.op === "avgpool" ? n.attrs.count_include_pad !== false : true;
  const k = intOrTuple(a.kernel);
  const s = intOrTuple(a.stride);
  if (n.op === "maxpool") {
    if (native) return `F.max_pool${d}d(${x}, ${k}, ${s}, ${intOrTuple(pad)}${a.ceil ? ", ceil_mode=True" : ""})`;
    return `F.max_pool${d}d(${padded(x, a, '-float("inf")')}, ${k}, ${s}${a.ceil ? ", ceil_mode=True" : ""})`;
  }
  if (native)
    return (
      `F.avg_pool${d}d(${x}, ${k}, ${s}, ${intOrTuple(pad)}, ceil_mode=${pyBool(a.ceil)}, ` +
      `count_include_pad=${pyBool(countPad)})`
    );
  // Padded zeros counted: pad, then pool; not counted: the same sum divided by the cells inside.
  const pads = a.pads.some((p) => p < 0) ? "None" : pyTuple(a.pads);
  return `_avg_pool(${x}, ${pyTuple(a.kernel)}, ${pyTuple(a.stride)}, ${pads}, ${pyBool(a.ceil)}, ${pyBool(countPad)})`;
}

/** `_neuron(x, T, tau, v_th, v_reset, hard, detach_reset, surrogate, alpha, width)` (prelude). */
function neuron(c: TorchCtx<"if_neuron" | "lif">): string {
  const a = c.node.attrs;
  const tau = c.node.op === "lif" ? pyNum((a as IrNodeOf<"lif">["attrs"]).tau) : "None";
  const args = [pyNum(a.T), tau, pyNum(a.v_th), pyNum(a.v_reset), pyBool(a.reset === "hard")];
  args.push(pyBool(a.detach_reset), `"${a.surrogate === "rect" ? "rect" : "atan"}"`, pyNum(a.alpha), pyNum(a.width));
  return `_neuron(${c.ins[0]}, ${args.join(", ")})`;
}

/**
 * One lowering per IR op: a record over the closed op set (src/ir/ops.ts), so an op without a
 * PyTorch lowering does not compile.
 */
export const torchLowerings: { [O in OpName]: TorchLowering<O> } = {
  input: { call: () => "None" }, // inputs are forward's arguments
  conv: {
    build: (n) => convModule(n.attrs, n.attrs.in, n.attrs.out, n.attrs.groups),
    call: (c) => `${c.mod}(${padded(c.ins[0]!, c.node.attrs, "0.0")})`,
  },
  dwconv: {
    note: "ConvNd with groups = channels",
    build: (n) => convModule(n.attrs, n.attrs.in, n.attrs.out, n.attrs.in),
    call: (c) => `${c.mod}(${padded(c.ins[0]!, c.node.attrs, "0.0")})`,
  },
  sepconv: {
    note: "`depthwise` and `pointwise` ConvNd in a group",
    build: (n) => {
      const a = n.attrs;
      const ones = a.kernel.map(() => 1);
      const dw = convModule({ ...a, bias: false }, a.in, a.in, a.in);
      const pw = convModule(
        { kernel: ones, stride: ones, pads: [...ones, ...ones].fill(0), dilation: ones, bias: a.bias },
        a.in,
        a.out,
        1,
      );
      return `_Group(depthwise=${dw}, pointwise=${pw})`;
    },
    call: (c) => `${c.mod}.pointwise(${c.mod}.depthwise(${padded(c.ins[0]!, c.node.attrs, "0.0")}))`,
  },
  dense: {
    note: "Linear (over the last dim)",
    build: (n) => `nn.Linear(${pyNum(n.attrs.in)}, ${pyNum(n.attrs.out)}, bias=${pyBool(n.attrs.bias)})`,
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  bn: {
    note: "BatchNorm1d/2d/3d (running statistics as buffers)",
    build: (n) => {
      const rank = n.shape.length;
      const kind = rank <= 3 ? "1d" : rankName(rank - 2);
      const affine = n.attrs.affine === false ? ", affine=False" : "";
      const eps = `eps=${pyNum(n.attrs.eps)}, momentum=${pyNum(n.attrs.momentum)}`;
      return `nn.BatchNorm${kind}(${pyNum(n.attrs.channels)}, ${eps}${affine})`;
    },
    built: normBuilt,
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  groupnorm: {
    build: (n) => `nn.GroupNorm(${pyNum(n.attrs.groups)}, ${pyNum(n.attrs.channels)}, eps=${pyNum(n.attrs.eps)})`,
    built: normBuilt,
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  layernorm: {
    build: (n) => `nn.LayerNorm(${pyNum(n.attrs.features)}, eps=${pyNum(n.attrs.eps)})`,
    built: normBuilt,
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  relu: fn("F.relu"),
  leaky: { call: (c) => `F.leaky_relu(${c.ins[0]}, ${pyNum(c.node.attrs.slope)})` },
  prelu: {
    // One slope, or one per channel (axis 1), as nn.PReLU.
    build: (n) => `nn.PReLU(${pyNum(n.params)}, init=${pyNum(n.attrs.init)})`,
    built: (n) => ({ weight: n.attrs.init }),
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  gelu: fn("F.gelu"),
  silu: fn("F.silu"),
  sigmoid: fn("torch.sigmoid"),
  tanh: fn("torch.tanh"),
  hardswish: fn("F.hardswish"),
  softmax: { call: (c) => `torch.softmax(${c.ins[0]}, dim=${pyNum(c.node.attrs.axis)})` },
  maxpool: { note: "explicit pads as F.pad with -inf", call: pool },
  avgpool: { note: "count_include_pad as given; explicit pads as F.pad", call: pool },
  gap: { note: "mean over the spatial dims, kept", call: (c) => pool(c as never) },
  dropout: { call: (c) => `F.dropout(${c.ins[0]}, ${pyNum(c.node.attrs.p)}, self.training)` },
  drop_path: {
    note: "per-sample mask scaled by 1/(1-p), in training only",
    call: (c) => `_drop_path(${c.ins[0]}, ${pyNum(c.node.attrs.p)}, self.training)`,
  },
  scale: { call: (c) => `${c.ins[0]} * ${pyNum(c.node.attrs.by)}` },
  gate: { build: () => `_Weight(1)`, built: () => ({ weight: 1 }), call: (c) => `${c.mod}(${c.ins[0]})` },
  shift: { build: () => `_Bias(1)`, built: zeros("bias"), call: (c) => `${c.mod}(${c.ins[0]})` },
  layerscale: {
    note: "`bare`: an nn.Parameter named after the layer (timm's `gamma_1`)",
    build: (n) =>
      n.attrs.bare === true
        ? `nn.Parameter(torch.ones(${pyNum(n.params)}))`
        : `_Weight(${pyNum(n.params)}, axis=${pyNum(n.attrs.axis)})`,
    built: (n): Record<string, number> => (n.attrs.bare === true ? { "": 1 } : { weight: 1 }),
    call: (c) => {
      if (c.node.attrs.bare !== true) return `${c.mod}(${c.ins[0]})`;
      const rank = c.node.shape.length;
      // Over the channels of [N, C, ...]: the vector as [C, 1, ...]; over the last axis it broadcasts.
      if (c.node.attrs.axis === 1 && rank > 2) return `${c.ins[0]} * ${c.mod}.view(-1${", 1".repeat(rank - 2)})`;
      return `${c.ins[0]} * ${c.mod}`;
    },
  },
  flatten: { call: (c) => `torch.flatten(${c.ins[0]}, 1)` },
  reshape: {
    call: (c) => {
      const s = c.node.attrs.shape;
      const dims = typeof s === "number" ? [s] : s;
      return `${c.ins[0]}.reshape(${c.ins[0]}.shape[0], ${dims.map(pyNum).join(", ")})`;
    },
  },
  transpose: { call: (c) => `${c.ins[0]}.permute(${c.node.attrs.perm.map(pyNum).join(", ")})` },
  upsample: {
    note: "F.interpolate: nearest, or (bi/tri)linear with align_corners as given",
    call: (c) => {
      const a = c.node.attrs;
      const x = c.ins[0]!;
      if (a.mode === "nearest") return `F.interpolate(${x}, scale_factor=${pyNum(a.scale)}, mode="nearest")`;
      const mode = ["linear", "bilinear", "trilinear"][c.node.shape.length - 3] ?? "linear";
      const corners = `align_corners=${pyBool(a.align_corners)}`;
      return `F.interpolate(${x}, scale_factor=${pyNum(a.scale)}, mode="${mode}", ${corners})`;
    },
  },
  pixel_shuffle: { call: (c) => `F.pixel_shuffle(${c.ins[0]}, ${pyNum(c.node.attrs.r)})` },
  add: { call: (c) => c.ins.join(" + ") },
  sub: { call: (c) => `${c.ins[0]} - ${c.ins[1]}` },
  mul: { call: (c) => c.ins.join(" * ") },
  concat: { call: (c) => `torch.cat([${c.ins.join(", ")}], dim=${pyNum(c.node.attrs.axis)})` },
  slice: {
    call: (c) => {
      const a = c.node.attrs;
      return `${c.ins[0]}.narrow(${pyNum(a.axis)}, ${pyNum(a.start)}, ${pyNum(a.end - a.start)})`;
    },
  },
  // SEW ResNet (Fang et al. 2021) merges of spike tensors: AND = a*s, IAND = (1-a)*s.
  sew_and: { call: (c) => `${c.ins[0]} * ${c.ins[1]}` },
  sew_iand: { call: (c) => `(1.0 - ${c.ins[0]}) * ${c.ins[1]}` },
  shortcut_pad: {
    note: "strided slice + F.pad of the channels (option A)",
    call: (c) => {
      const a = c.node.attrs;
      const spatial = c.node.shape.length - 2;
      const x = c.ins[0]!;
      const sub = a.stride > 1 ? `${x}[:, :${`, ::${a.stride}`.repeat(spatial)}]` : x;
      return `F.pad(${sub}, ${pyTuple([...Array(2 * spatial).fill(0), a.pad_before, a.pad_after])})`;
    },
  },
  attention: {
    note: "nn.MultiheadAttention(batch_first=True) on (x, x, x)",
    build: (n) => `nn.MultiheadAttention(${pyNum(n.attrs.dim)}, ${pyNum(n.attrs.heads)}, batch_first=True)`,
    call: (c) => `${c.mod}(${c.ins[0]}, ${c.ins[0]}, ${c.ins[0]}, need_weights=False)[0]`,
  },
  cls_token: {
    note: "an nn.Parameter [1, 1, D], expanded over the batch and put first",
    build: (n) => `nn.Parameter(torch.zeros(1, 1, ${pyNum(n.attrs.dim)}))`,
    built: zeros(""),
    call: (c) => `torch.cat([${c.mod}.expand(${c.ins[0]}.shape[0], -1, -1), ${c.ins[0]}], dim=1)`,
  },
  pos_embed: {
    note: "an nn.Parameter [1, T, D] added",
    build: (n) => `nn.Parameter(torch.zeros(1, ${pyNum(n.attrs.tokens)}, ${pyNum(n.attrs.dim)}))`,
    built: zeros(""),
    call: (c) => `${c.ins[0]} + ${c.mod}`,
  },
  // CaiT and ResMLP (Touvron et al. 2021) with timm's module and parameter names.
  affine: {
    note: "alpha * x + beta, both [1, ..., 1, D] (timm Affine)",
    build: (n) => `_Affine(${pyTuple([...Array<number>(n.attrs.rank - 1).fill(1), n.attrs.dim])})`,
    built: () => ({ alpha: 1, beta: 0 }),
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  talking_heads_attention: {
    note: "timm TalkingHeadAttn: Linear qkv, proj_l / proj_w mixing the heads around the softmax, proj",
    build: (n) => `_TalkingHeadAttn(${pyNum(n.attrs.dim)}, ${pyNum(n.attrs.heads)})`,
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  class_attention: {
    note: "timm ClassAttn: Linear q (token 0), k, v, proj",
    build: (n) => `_ClassAttn(${pyNum(n.attrs.dim)}, ${pyNum(n.attrs.heads)})`,
    call: (c) => `${c.mod}(${c.ins[0]})`,
  },
  // Spiking neurons: the float ops in the ONNX lowering's and the tfjs runtime's order (prelude).
  if_neuron: { note: "unrolled over T; surrogate gradient as a torch.autograd.Function", call: neuron },
  lif: { note: "unrolled over T; surrogate gradient as a torch.autograd.Function", call: neuron },
  time_repeat: {
    note: "the batch repeated T times, time-major",
    call: (c) => `torch.cat([${c.ins[0]}] * ${pyNum(c.node.attrs.T)}, dim=0)`,
  },
  time_mean: {
    note: "reshape to [T, N, ...] and the mean over T",
    call: (c) => {
      const x = c.ins[0]!;
      return `${x}.reshape((${pyNum(c.node.attrs.T)}, -1) + ${x}.shape[1:]).mean(dim=0)`;
    },
  },
};
