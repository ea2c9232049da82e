// The TypeScript emitter: graph IR -> `model.ts` (a tfjs LayersModel builder with one function
// per distinct block instantiation, layer names equal to the ONNX node names) and `train.ts`
// (the training program, a thin call into @resnetc/runtime).
// Takes: one checked graph. Gives: source texts (unformatted; the CLI runs prettier) and
// diagnostics for what tfjs cannot express yet. Must not: touch files.
//
// tfjs computes in NHWC; the IR is NCHW. The conversion happens here and in the runtime's
// helpers: inputs are declared [H, W, C], channel axes become -1, flatten permutes back to NCHW
// order first, weights are transposed when they are set or saved (runtime/params.ts).

import { diag, type Diagnostic, type Span } from "../../diagnostics/diagnostic.js";
import { dimStr } from "../../ir/dims.js";
import type { BlockInstance, Graph, IrNode, IrNodeOf, OpName } from "../../ir/ir.js";
import { instanceChildren } from "../../ir/ir.js";
import { paramSpecs } from "../../weights/init.js";
import { commentText, IdentAllocator, tsLiteral } from "../escape.js";

export interface TsOptions {
  locate?: (span: Span) => string;
  version?: string;
  /** Module the generated code imports the runtime from (default "@resnetc/runtime"). */
  runtime?: string;
  /** Module it imports TensorFlow.js from (default "@tensorflow/tfjs"). `resnetc train` gives
   * both as file URLs of the installed packages, so the program runs from a temporary folder. */
  tfjs?: string;
}

export interface TsResult {
  files?: { "model.ts": string; "train.ts": string };
  diagnostics: Diagnostic[];
}

/** Most characters of generated TypeScript (model.ts before formatting): prettier needs about
 * 150 bytes of heap per character (7 MB took 1 GB), so 8 MiB keeps formatting near 1.3 GB. The
 * 10,000-block residual MLP of bench/check-scaling.js is 7.1 MB; ResNet-1202 is 1.1 MB.
 * `(relu * 100000) * 4` (34 MB) died of V8 out-of-memory at 4.4 GB before this limit. */
export const TS_MAX_CHARS = 8 * 2 ** 20;

const lit = tsLiteral;

/** Where a value's channel axis is inside tfjs. "id": the declared (NCHW) order; "cl": channels
 * last ([N, L, C], [N, H, W, C], [N, D, H, W, C]), which tfjs's convolutions, pools and batch norm
 * need. Rank-2 tensors are the same either way ("id"). */
export type Layout = "id" | "cl";

/** What an op needs of its inputs' layout: one of them, or "any" (it follows its first input). */
type Wants = Layout | "any";

interface TsNodeCtx<O extends OpName> {
  readonly node: IrNodeOf<O>;
  /** Expressions for its inputs, already in the layout it asked for. */
  readonly ins: string[];
  /** The layout of its inputs (and of its output, unless the lowering says otherwise). */
  readonly layout: Layout;
  /** Expression for its layer's full name (a string literal or `name + ".rel"`). */
  readonly name: string;
  /** `name` with a suffix (`name + ".depthwise"`). */
  sub(suffix: string): string;
  /** A declared (IR) axis as tfjs numbers it in this layout. */
  axis(irAxis: number): number;
  /** The op cannot be expressed in tfjs: one RN503 per `what`, at its first node. */
  unsupported(what: string): string;
}

interface TsLowering<O extends OpName> {
  /** For the README's op table: how tfjs computes it, where that is not one stock layer. */
  note?: string;
  /** The layout its inputs must be in (rank 3 and up). */
  wants: Wants | ((n: IrNodeOf<O>) => Wants);
  /** The call that builds the node, as an expression. */
  emit(c: TsNodeCtx<O>): string;
}

/** The tfjs axis of declared axis `a` of a rank-`rank` tensor in layout `l`. */
function tfAxis(a: number, rank: number, l: Layout): number {
  if (l === "id" || rank <= 2 || a === 0) return a;
  return a === 1 ? rank - 1 : a - 1;
}

/** tf.layers.permute dims (1-based, batch excluded) that take a rank-`rank` value from one layout
 * to the other: id -> cl [2, ..., r-1, 1]; cl -> id [r-1, 1, ..., r-2]. */
function permuteDims(rank: number, to: Layout): number[] {
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 1);
  return to === "cl" ? [...spatial.map((d) => d + 1), 1] : [rank - 1, ...spatial];
}

const windowCfg = (n: { attrs: { kernel: number[]; stride: number[]; pads: number[] } }): string =>
  `kernel: ${lit(n.attrs.kernel)}, strides: ${lit(n.attrs.stride)}, pads: ${lit(n.attrs.pads)}`;

const convCall = (
  c: { node: { attrs: { dilation: number[]; kernel: number[]; stride: number[]; pads: number[] } } },
  x: string,
  name: string,
  filters: number,
  groups: number,
  bias: boolean,
): string =>
  `rt.conv(${x}, { name: ${name}, filters: ${filters}, groups: ${groups}, ${windowCfg(c.node)}, ` +
  `dilation: ${lit(c.node.attrs.dilation)}, bias: ${bias} })`;

type WindowAttrs = { kernel: number[]; stride: number[]; pads: number[]; dilation?: number[] };

/**
 * The input of a sliding window and its attributes. padding=same with a stride on a symbolic size
 * leaves pads the compiler cannot know (-1 in the IR): a SamePad layer computes them from the size
 * it sees (TensorFlow's SAME, ONNX's SAME_UPPER), and the window itself pads nothing. `value` is
 * what the padding holds: 0, or -3.4e38 before a max pool.
 */
function windowInput<A extends WindowAttrs>(
  c: { ins: string[]; sub(suffix: string): string; node: { attrs: A } },
  value: number,
): { x: string; node: { attrs: A } } {
  const a = c.node.attrs;
  if (!a.pads.some((p) => p < 0)) return { x: c.ins[0]!, node: c.node };
  const x =
    `rt.samePad(${c.ins[0]}, { name: ${c.sub("/same")}, kernel: ${lit(a.kernel)}, strides: ${lit(a.stride)}, ` +
    `dilation: ${lit(a.dilation ?? a.kernel.map(() => 1))}, value: ${value} })`;
  return { x, node: { attrs: { ...a, pads: a.pads.map(() => 0) } } };
}

/** Ops across the batch: tfjs's layers see one sample at a time (predict and fit cut a batch into
 * pieces of 32), so such a model would compute something else there. */
const BATCH_AXIS = (what: string): string => `${what} the batch axis`;

function neuronCall(c: { ins: string[]; name: string; node: IrNodeOf<"lif"> | IrNodeOf<"if_neuron"> }): string {
  const a = c.node.attrs;
  const tau = c.node.op === "lif" ? `tau: ${(a as IrNodeOf<"lif">["attrs"]).tau}, ` : "";
  return (
    `rt.spikingNeuron(${c.ins[0]}, { name: ${c.name}, T: ${a.T}, ${tau}vTh: ${a.v_th}, vReset: ${a.v_reset}, ` +
    `reset: ${lit(a.reset)}, detachReset: ${a.detach_reset}, surrogate: ${lit(a.surrogate)}, alpha: ${a.alpha}, ` +
    `width: ${a.width} })`
  );
}

const act = (fn: string): TsLowering<OpName> => ({
  wants: "any",
  emit: (c) => `rt.activation(${c.ins[0]}, { name: ${c.name}, fn: ${lit(fn)} })`,
});

/**
 * One lowering per IR op: a record over the closed op set (src/ir/ops.ts), so an op without a
 * TypeScript lowering does not compile. The helpers live in @resnetc/runtime (layers.ts), which
 * documents which tfjs layer holds each parameter (PARAMS below follows the same rules).
 */
export const tsLowerings: { [O in OpName]: TsLowering<O> } = {
  input: { wants: "id", emit: () => "undefined as never" }, // inputs are emitted separately
  conv: {
    note: "tfjs conv1d/2d/3d; groups: custom grouped conv (one depthwise conv + a sum, the same MACs)",
    wants: "cl",
    emit: (c) => {
      const w = windowInput(c, 0);
      return convCall(w, w.x, c.name, c.node.attrs.out, c.node.attrs.groups, c.node.attrs.bias === true);
    },
  },
  dwconv: {
    note: "tfjs depthwiseConv2d; 1-D and 3-D: the grouped conv",
    wants: "cl",
    emit: (c) => {
      const w = windowInput(c, 0);
      return convCall(w, w.x, c.name, c.node.attrs.out, c.node.attrs.in, c.node.attrs.bias === true);
    },
  },
  sepconv: {
    note: "depthwise then pointwise layers, named `.depthwise` and `.pointwise`",
    wants: "cl",
    emit: (c) => {
      const n = c.node;
      const ones = n.attrs.kernel.map(() => 1);
      const w = windowInput(c, 0);
      const depthwise = convCall(w, w.x, c.sub(".depthwise"), n.attrs.in, n.attrs.in, false);
      const point = {
        node: { attrs: { dilation: ones, kernel: ones, stride: ones, pads: [...ones, ...ones].fill(0) } },
      };
      return convCall(point, depthwise, c.sub(".pointwise"), n.attrs.out, 1, n.attrs.bias === true);
    },
  },
  dense: {
    wants: "id",
    emit: (c) =>
      `rt.dense(${c.ins[0]}, { name: ${c.name}, units: ${c.node.attrs.out}, bias: ${c.node.attrs.bias === true} })`,
  },
  bn: {
    wants: "cl",
    emit: (c) =>
      `rt.bn(${c.ins[0]}, { name: ${c.name}, eps: ${c.node.attrs.eps}, momentum: ${c.node.attrs.momentum}` +
      `${c.node.attrs.affine === false ? ", affine: false" : ""} })`,
  },
  groupnorm: {
    note: "custom layer",
    wants: "cl",
    emit: (c) =>
      `rt.groupNorm(${c.ins[0]}, { name: ${c.name}, groups: ${c.node.attrs.groups}, eps: ${c.node.attrs.eps} })`,
  },
  layernorm: {
    note: "over the last dim",
    wants: "id",
    emit: (c) => `rt.layerNorm(${c.ins[0]}, { name: ${c.name}, eps: ${c.node.attrs.eps} })`,
  },
  relu: act("relu"),
  leaky: { wants: "any", emit: (c) => `rt.leaky(${c.ins[0]}, { name: ${c.name}, alpha: ${c.node.attrs.slope} })` },
  prelu: {
    note: "custom layer",
    // One slope per channel: over tfjs's last axis, so channels last.
    wants: (n) => (n.params > 1 ? "cl" : "any"),
    emit: (c) => `rt.prelu(${c.ins[0]}, { name: ${c.name}, size: ${c.node.params} })`,
  },
  gelu: act("gelu"),
  silu: act("swish"),
  sigmoid: act("sigmoid"),
  tanh: act("tanh"),
  hardswish: act("hardswish"),
  softmax: {
    note: "along the declared axis, wherever tfjs holds it; not the batch axis",
    wants: "any",
    emit: (c) =>
      c.node.attrs.axis === 0
        ? c.unsupported(BATCH_AXIS("softmax over"))
        : `rt.softmax(${c.ins[0]}, { name: ${c.name}, axis: ${c.axis(c.node.attrs.axis)} })`,
  },
  maxpool: { note: "explicit pads as a constant pad layer", wants: "cl", emit: (c) => pool(c, "max") },
  avgpool: {
    note: "PyTorch count_include_pad (true or false); ceil_mode where the compiler keeps it",
    wants: "cl",
    emit: (c) => pool(c, "avg"),
  },
  gap: { note: "keeps size-1 dims", wants: "cl", emit: (c) => `rt.globalAvgPool(${c.ins[0]}, { name: ${c.name} })` },
  dropout: { wants: "any", emit: (c) => `rt.dropout(${c.ins[0]}, { name: ${c.name}, rate: ${c.node.attrs.p} })` },
  drop_path: { wants: "any", emit: (c) => `rt.dropPath(${c.ins[0]}, { name: ${c.name}, p: ${c.node.attrs.p} })` },
  scale: { wants: "any", emit: (c) => `rt.scale(${c.ins[0]}, { name: ${c.name}, factor: ${c.node.attrs.by} })` },
  gate: { wants: "any", emit: (c) => `rt.learnedScale(${c.ins[0]}, { name: ${c.name}, size: 1 })` },
  shift: { wants: "any", emit: (c) => `rt.learnedShift(${c.ins[0]}, { name: ${c.name} })` },
  layerscale: {
    // A vector over the declared axis 1 (channels: last when channels last) or the last axis.
    wants: (n) => (n.attrs.axis === 1 ? "cl" : "id"),
    emit: (c) => `rt.learnedScale(${c.ins[0]}, { name: ${c.name}, size: ${c.node.params} })`,
  },
  flatten: { wants: "id", emit: (c) => `rt.flatten(${c.ins[0]}, { name: ${c.name} })` },
  reshape: {
    note: "at most one symbolic dim",
    wants: "id",
    emit: (c) => {
      const dims = c.node.shape.slice(1);
      const symbolic = dims.filter((d) => typeof d !== "number").length;
      if (symbolic > 1) return c.unsupported("reshape to more than one symbolic dim");
      const shape = dims.map((d) => (typeof d === "number" ? d : -1));
      return `rt.reshape(${c.ins[0]}, { name: ${c.name}, shape: ${lit(shape)} })`;
    },
  },
  transpose: {
    note: "the batch dim stays first",
    wants: "id",
    emit: (c) =>
      c.node.attrs.perm[0] !== 0
        ? c.unsupported(BATCH_AXIS("transpose that moves"))
        : `rt.permute(${c.ins[0]}, { name: ${c.name}, dims: ${lit(c.node.attrs.perm.slice(1))} })`,
  },
  upsample: {
    note: "nearest repeats; linear is PyTorch align_corners=False, or True with align_corners=true",
    wants: "cl",
    emit: (c) =>
      `rt.upsample(${c.ins[0]}, { name: ${c.name}, size: ${c.node.attrs.scale}, mode: ${lit(c.node.attrs.mode)}` +
      (c.node.attrs.align_corners ? ", alignCorners: true })" : " })"),
  },
  pixel_shuffle: {
    note: "custom layer, PyTorch order (DepthToSpace CRD)",
    wants: "cl",
    emit: (c) => `rt.pixelShuffle(${c.ins[0]}, { name: ${c.name}, r: ${c.node.attrs.r} })`,
  },
  add: { wants: "any", emit: (c) => `rt.add([${c.ins.join(", ")}], { name: ${c.name} })` },
  sub: {
    note: "custom layer (tfjs has no subtract layer)",
    wants: "any",
    emit: (c) => `rt.subtract([${c.ins.join(", ")}], { name: ${c.name} })`,
  },
  mul: { wants: "any", emit: (c) => `rt.multiply([${c.ins.join(", ")}], { name: ${c.name} })` },
  slice: {
    note: "custom layer (tf.slice), not along the batch axis",
    wants: "any",
    emit: (c) =>
      c.node.attrs.axis === 0
        ? c.unsupported(BATCH_AXIS("slice along"))
        : `rt.slice(${c.ins[0]}, { name: ${c.name}, axis: ${c.axis(c.node.attrs.axis)}, ` +
          `start: ${c.node.attrs.start}, end: ${c.node.attrs.end} })`,
  },
  concat: {
    note: "not along the batch axis",
    wants: "any",
    emit: (c) =>
      c.node.attrs.axis === 0
        ? c.unsupported(BATCH_AXIS("concat along"))
        : `rt.concat([${c.ins.join(", ")}], { name: ${c.name}, axis: ${c.axis(c.node.attrs.axis)} })`,
  },
  sew_and: { wants: "any", emit: (c) => `rt.multiply([${c.ins.join(", ")}], { name: ${c.name} })` },
  sew_iand: {
    note: "(1 - a) * s",
    wants: "any",
    emit: (c) => `rt.sewIand([${c.ins.join(", ")}], { name: ${c.name} })`,
  },
  attention: {
    note: "custom layer (matMul, softmax; nn.MultiheadAttention's weights)",
    wants: "id",
    emit: (c) =>
      `rt.attention(${c.ins[0]}, { name: ${c.name}, dim: ${c.node.attrs.dim}, heads: ${c.node.attrs.heads} })`,
  },
  cls_token: {
    note: "custom layer (tile + concat)",
    wants: "id",
    emit: (c) => `rt.clsToken(${c.ins[0]}, { name: ${c.name}, dim: ${c.node.attrs.dim} })`,
  },
  pos_embed: {
    note: "custom layer",
    wants: "id",
    emit: (c) =>
      `rt.posEmbed(${c.ins[0]}, { name: ${c.name}, tokens: ${c.node.attrs.tokens}, dim: ${c.node.attrs.dim} })`,
  },
  // CaiT and ResMLP (packages/runtime/src/layers-tokens.ts).
  affine: {
    note: "custom layer (mul + add over the last dim)",
    wants: "id",
    emit: (c) => `rt.affine(${c.ins[0]}, { name: ${c.name}, dim: ${c.node.attrs.dim}, rank: ${c.node.attrs.rank} })`,
  },
  talking_heads_attention: {
    note: "custom layer (matMul, softmax; timm TalkingHeadAttn's weights)",
    wants: "id",
    emit: (c) => {
      const { dim, heads } = c.node.attrs;
      return `rt.talkingHeadsAttention(${c.ins[0]}, { name: ${c.name}, dim: ${dim}, heads: ${heads} })`;
    },
  },
  class_attention: {
    note: "custom layer (matMul, softmax; timm ClassAttn's weights)",
    wants: "id",
    emit: (c) =>
      `rt.classAttention(${c.ins[0]}, { name: ${c.name}, dim: ${c.node.attrs.dim}, heads: ${c.node.attrs.heads} })`,
  },
  // Spiking ops (packages/runtime/src/layers-spike.ts): the batch axis holds T time slices.
  if_neuron: { note: "custom layer (unrolled over T, surrogate gradient)", wants: "any", emit: (c) => neuronCall(c) },
  lif: { note: "custom layer (unrolled over T, surrogate gradient)", wants: "any", emit: (c) => neuronCall(c) },
  time_repeat: {
    note: "custom layer (tile)",
    wants: "any",
    emit: (c) => `rt.timeRepeat(${c.ins[0]}, { name: ${c.name}, T: ${c.node.attrs.T} })`,
  },
  time_mean: {
    note: "custom layer (mean over T)",
    wants: "any",
    emit: (c) => `rt.timeMean(${c.ins[0]}, { name: ${c.name}, T: ${c.node.attrs.T} })`,
  },
  shortcut_pad: {
    note: "custom layer (option A)",
    wants: "cl",
    emit: (c) =>
      `rt.optionA(${c.ins[0]}, { name: ${c.name}, stride: ${c.node.attrs.stride}, ` +
      `before: ${c.node.attrs.pad_before}, after: ${c.node.attrs.pad_after} })`,
  },
};

function pool(c: TsNodeCtx<"maxpool" | "avgpool">, kind: "max" | "avg"): string {
  const n = c.node;
  if (n.attrs.global) return `rt.globalAvgPool(${c.ins[0]}, { name: ${c.name} })`;
  if (n.op === "avgpool" && n.attrs.count_include_pad === false) {
    // Divided by the cells inside the input: the runtime pads and counts itself.
    if (n.attrs.pads.some((p) => p < 0))
      return c.unsupported("average pooling with count_include_pad=false and `same` padding on symbolic sizes");
    return (
      `rt.pool(${c.ins[0]}, { name: ${c.name}, kind: "avg", ${windowCfg(n)}, ` +
      `ceil: ${n.attrs.ceil}, countPad: false })`
    );
  }
  // Max pooling pads with a value that never wins; average pooling counts padded zeros (PyTorch's
  // count_include_pad, and ONNX Runtime's AveragePool with SAME_UPPER and count_include_pad).
  const w = windowInput(c, kind === "max" ? -3.4e38 : 0);
  return `rt.pool(${w.x}, { name: ${c.name}, kind: ${lit(kind)}, ${windowCfg(w.node)}, ceil: ${n.attrs.ceil} })`;
}

/** The weights of layers-tokens.ts's layers, in their index order (src/weights/init.ts's order). */
const TOKEN_WEIGHTS = {
  affine: ["alpha", "beta"],
  talking_heads_attention: ["qkv", "proj", "proj_l", "proj_w"].flatMap((p) => [`${p}.weight`, `${p}.bias`]),
  class_attention: ["q", "k", "v", "proj"].flatMap((p) => [`${p}.weight`, `${p}.bias`]),
};

/** Which tfjs layer holds a parameter, at which index of its weights, in which layout (the
 * runtime's layers.ts states the same rules). */
function paramPlace(n: IrNode, suffix: string): { layer: string; index: number; layout: string; channels?: number } {
  const convLayout = (groups: number, cin: number, spatial: number): { layout: string; channels?: number } =>
    groups === 1
      ? { layout: "oihw" }
      : groups === cin && spatial === 2
        ? { layout: "dw", channels: cin }
        : { layout: "same" };
  switch (n.op) {
    case "conv":
    case "dwconv": {
      const groups = n.op === "conv" ? n.attrs.groups : n.attrs.in;
      if (suffix === "bias") return { layer: n.name, index: 1, layout: "same" };
      return { layer: n.name, index: 0, ...convLayout(groups, n.attrs.in, n.attrs.kernel.length) };
    }
    case "sepconv": {
      if (suffix === "depthwise.weight")
        return { layer: `${n.name}.depthwise`, index: 0, ...convLayout(n.attrs.in, n.attrs.in, n.attrs.kernel.length) };
      return {
        layer: `${n.name}.pointwise`,
        index: suffix === "pointwise.bias" ? 1 : 0,
        layout: suffix === "pointwise.bias" ? "same" : "oihw",
      };
    }
    case "dense":
      return { layer: n.name, index: suffix === "bias" ? 1 : 0, layout: suffix === "bias" ? "same" : "oi" };
    case "bn":
      return {
        layer: n.name,
        // tfjs's BatchNormalization keeps [gamma, beta, movingMean, movingVariance]; with
        // center=false and scale=false (affine=false) only the last two.
        index: (n.attrs.affine === false
          ? ["running_mean", "running_var"]
          : ["weight", "bias", "running_mean", "running_var"]
        ).indexOf(suffix),
        layout: "same",
      };
    case "shift": // its one tensor is `bias`, the layer's only weight
      return { layer: n.name, index: 0, layout: "same" };
    case "affine":
    case "talking_heads_attention":
    case "class_attention":
      // layers-tokens.ts keeps timm's tensors as they are, in paramSpecs' order.
      return { layer: n.name, index: TOKEN_WEIGHTS[n.op].indexOf(suffix), layout: "same" };
    case "attention":
      // ResnetcAttention keeps nn.MultiheadAttention's four tensors as they are.
      return {
        layer: n.name,
        index: ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"].indexOf(suffix),
        layout: "same",
      };
    default:
      return { layer: n.name, index: suffix === "bias" ? 1 : 0, layout: "same" };
  }
}

interface Val {
  /** The variable holding it. */
  v: string;
  layout: Layout;
}

interface Scope {
  /** Expression for a layer's full name from its name relative to the scope: a string literal
   * at top level, `name + ".rel"` inside a block function (whose `name` parameter is its prefix). */
  nameExpr: (rel: string) => string;
  /** Structural-name prefix to strip: "layer1.0." inside that instance's function. */
  strip: string;
  vars: Map<number, Val>;
  /** Values already converted to the other layout, by node id. */
  converted: Map<number, string>;
  /** Variable names of this function (or of buildModel): generated, never user text. */
  idents: IdentAllocator;
}

export function emitTs(g: Graph, o: TsOptions = {}): TsResult {
  const ds: Diagnostic[] = [];
  const runtime = o.runtime ?? "@resnetc/runtime";
  const functions: string[] = [];
  const fnByBody = new Map<string, { fn: string; out: Layout }>();
  const fnNames = new IdentAllocator("b_");
  // Characters of emitted text so far (top-level statements, distinct functions, PARAMS rows):
  // emission stops at the first one over TS_MAX_CHARS, before prettier ever sees it.
  let size = 0;
  const tooBig = (text: string, span: Span): boolean => {
    if (size > TS_MAX_CHARS) return true;
    size += text.length + 1;
    if (size <= TS_MAX_CHARS) return false;
    ds.push(
      diag(
        "RN406",
        span,
        { what: "TypeScript", limit: `${TS_MAX_CHARS.toLocaleString("en-US")} characters` },
        { hint: "compile to ONNX instead, or repeat blocks fewer times" },
      ),
    );
    return true;
  };

  // The instance tree: each instance's direct children.
  const children = instanceChildren(g.blocks);

  // What tfjs cannot express: one diagnostic per kind, at its first node, counting the rest.
  const unsupported = new Map<string, { span: Span; others: number }>();
  const rankOf = (id: number): number => g.nodes[id]!.shape.length;

  /** `val` in layout `want`: a permute layer named after the consumer, made once per scope. */
  function inLayout(id: number, val: Val, want: Layout, consumer: string, scope: Scope, lines: string[]): string {
    const rank = rankOf(id);
    if (rank <= 2 || val.layout === want) return val.v;
    const known = scope.converted.get(id);
    if (known) return known;
    const v = scope.idents.fresh(`${want === "cl" ? "cl" : "nchw"}`);
    lines.push(`const ${v} = rt.permute(${val.v}, { name: ${consumer}, dims: ${lit(permuteDims(rank, want))} });`);
    scope.converted.set(id, v);
    return v;
  }

  /** The statement for one IR node; returns its value. */
  function nodeStatement(n: IrNode, scope: Scope, lines: string[]): Val {
    const lowering = tsLowerings[n.op] as TsLowering<OpName>;
    const rel = n.name.slice(scope.strip.length);
    const name = scope.nameExpr(rel);
    const inVals = n.inputs.map((id) => scope.vars.get(id) ?? { v: "undefined as never", layout: "id" as Layout });
    const wants = typeof lowering.wants === "function" ? lowering.wants(n) : lowering.wants;
    // "any": the first input's layout, or channels last when any input has it (a residual sum
    // of a convolution branch and its shortcut stays channels last).
    const layout: Layout =
      wants !== "any" ? wants : inVals.some((v, i) => v.layout === "cl" && rankOf(n.inputs[i]!) > 2) ? "cl" : "id";
    const ins = n.inputs.map((id, i) =>
      inLayout(
        id,
        inVals[i]!,
        layout,
        scope.nameExpr(`${rel}/to_${layout}${n.inputs.length > 1 ? i : ""}`),
        scope,
        lines,
      ),
    );
    const expr = lowering.emit({
      node: n,
      ins,
      layout,
      name,
      sub: (suffix) => scope.nameExpr(`${rel}${suffix}`),
      axis: (a) => tfAxis(a, n.shape.length, layout),
      unsupported: (what) => {
        const seen = unsupported.get(what);
        if (seen) seen.others++;
        else unsupported.set(what, { span: n.span, others: 0 });
        return "undefined as never";
      },
    });
    const v = scope.idents.fresh(rel);
    const where = o.locate ? ` // ${commentText(o.locate(n.span))}` : "";
    lines.push(`const ${v} = ${expr};${where}`);
    return { v, layout: n.shape.length <= 2 ? "id" : layout };
  }

  /** Statements for the nodes in [start, end) of one scope; nested instances become calls. */
  function body(start: number, end: number, kids: BlockInstance[], scope: Scope, lines: string[]): void {
    let k = 0;
    for (let i = start; i < end; i++) {
      const kid = kids[k];
      if (kid && kid.start === i) {
        const input = scope.vars.get(kid.input)!;
        const { fn, out } = blockFunction(kid, input.layout);
        const rel = kid.name.slice(scope.strip.length);
        const v = scope.idents.fresh(rel);
        lines.push(`const ${v} = ${fn}(${input.v}, ${scope.nameExpr(rel)});`);
        if (scope === topScope && tooBig(lines[lines.length - 1]!, kid.span)) return;
        scope.vars.set(kid.output, { v, layout: out });
        i = kid.end - 1;
        k++;
        continue;
      }
      const n = g.nodes[i]!;
      const before = lines.length;
      scope.vars.set(n.id, nodeStatement(n, scope, lines));
      if (scope === topScope && tooBig(lines.slice(before).join("\n"), n.span)) return;
    }
    // Identity blocks (no nodes) pass their input through.
    for (; k < kids.length; k++) scope.vars.set(kids[k]!.output, scope.vars.get(kids[k]!.input)!);
  }

  /** The function for one block instance whose input arrives in `inLayout`; instances with the
   * same body share it. */
  function blockFunction(b: BlockInstance, inLayoutOf: Layout): { fn: string; out: Layout } {
    const lines: string[] = [];
    const scope: Scope = {
      nameExpr: (rel) => `name + ${lit(`.${rel}`)}`,
      strip: `${b.name}.`,
      vars: new Map([[b.input, { v: "x", layout: inLayoutOf }]]),
      converted: new Map(),
      idents: new IdentAllocator("v_"),
    };
    body(b.start, b.end, children.get(b) ?? [], scope, lines);
    const result = scope.vars.get(b.output) ?? { v: "x", layout: inLayoutOf };
    lines.push(`return ${result.v};`);
    const text = lines.join("\n");
    const key = `${b.block}\n${inLayoutOf}\n${text}`;
    const known = fnByBody.get(key);
    if (known) return known;
    const fn = fnNames.fresh(b.block);
    fnByBody.set(key, { fn, out: result.layout });
    const where = o.locate ? `, ${o.locate(b.span)}` : "";
    if (tooBig(text, b.span)) return { fn, out: result.layout };
    const layoutNote = inLayoutOf === "cl" ? " (x channels last)" : "";
    const doc = `/** ${commentText(`${b.block}(${b.args})${where}${layoutNote}`)} */`;
    functions.push(`${doc}\nfunction ${fn}(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {\n${text}\n}`);
    return { fn, out: result.layout };
  }

  const top: string[] = [];
  const scope: Scope = {
    nameExpr: lit,
    strip: "",
    vars: new Map(),
    converted: new Map(),
    idents: new IdentAllocator("v_"),
  };
  const topScope = scope;
  for (const io of g.inputs) {
    const n = g.nodes[io.node]!;
    const v = scope.idents.fresh(n.name);
    const shape = io.shape.slice(1).map((d) => (typeof d === "number" ? d : null));
    top.push(`const ${v} = rt.input({ name: ${lit(n.name)}, shape: ${lit(shape)} });`);
    scope.vars.set(n.id, { v, layout: "id" });
  }
  const firstNonInput = g.nodes.findIndex((n) => n.op !== "input");
  if (firstNonInput >= 0) body(firstNonInput, g.nodes.length, children.get(null) ?? [], scope, top);
  if (size > TS_MAX_CHARS) return { diagnostics: ds };
  // Outputs in the declared layout: whoever calls predict sees what the .resnet file says.
  const outputs = g.outputs.map((io) =>
    inLayout(io.node, scope.vars.get(io.node)!, "id", lit(`${io.name}/output`), scope, top),
  );
  for (const [what, { span, others }] of unsupported)
    ds.push(diag("RN503", span, { op: what, target: "TypeScript (tfjs)", others }));

  if (size > TS_MAX_CHARS) return { diagnostics: ds };
  // A later use of a `share`d block reads the first use's parameters: no rows of its own, and its
  // layers that hold weights are the first use's layer objects (SHARED, read by the runtime).
  const shared: string[] = [];
  for (const n of g.nodes) {
    if (n.shares === undefined) continue;
    const owner = g.nodes[n.shares]!;
    const layers = new Map<string, string>();
    for (const p of paramSpecs(owner)) {
      const suffix = p.name.slice(owner.name.length + 1);
      layers.set(paramPlace(n, suffix).layer, paramPlace(owner, suffix).layer);
    }
    for (const [layer, of] of layers) {
      const row = `${lit(layer)}: ${lit(of)},`;
      if (tooBig(row, n.span)) break;
      shared.push(row);
    }
  }
  const params = g.nodes.flatMap((n) =>
    (n.shares === undefined ? paramSpecs(n) : []).map((p) => {
      const suffix = p.name.slice(n.name.length + 1);
      const place = paramPlace(n, suffix);
      const extra = place.channels !== undefined ? `, channels: ${place.channels}` : "";
      if (size > TS_MAX_CHARS) return "";
      const row =
        `{ name: ${lit(p.name)}, layer: ${lit(place.layer)}, index: ${place.index}, dims: ${lit(p.dims)}, ` +
        `layout: ${lit(place.layout)}, init: ${lit(p.init)}, learnable: ${p.learnable}${extra} }`;
      return tooBig(row, n.span) ? "" : row;
    }),
  );
  if (ds.length) return { diagnostics: ds };

  const inputs = g.inputs.map(
    (io) =>
      `{ name: ${lit(io.name)}, shape: ${lit(io.shape.slice(1).map((d) => (typeof d === "number" ? d : dimStr(d))))} }`,
  );
  const out0 = g.outputs[0]?.shape;
  const classes = out0 && out0.length === 2 && typeof out0[1] === "number" ? out0[1] : 0;
  const header =
    `// Generated by resnetc${o.version ? ` ${commentText(o.version)}` : ""} ` +
    `from ${commentText(g.file)}, model ${commentText(g.name)}. DO NOT EDIT:\n// change the .resnet file and run ` +
    `\`resnetc compile --target ts\` again.`;
  const model = [
    header,
    `import * as tf from ${lit(o.tfjs ?? "@tensorflow/tfjs")};`,
    `import * as rt from ${lit(runtime)};`,
    ``,
    `rt.registerCustomLayers();`,
    ``,
    `export const MODEL_NAME = ${lit(g.name)};`,
    `/** Inputs as declared, without the batch dim: the model takes and gives the declared (NCHW) layout. */`,
    `export const INPUTS: rt.InputInfo[] = [${inputs.join(", ")}];`,
    `/** Classes of the first output (0 when it is not a class score vector). */`,
    `export const CLASSES = ${classes};`,
    `/** Every parameter in canonical (PyTorch state_dict) naming and layout, with its initialisation. */`,
    `// prettier-ignore`,
    // One entry per line, each with its comma: a model without parameters gets `[]`, not `[,]`
    // (an array with a hole, which tsc types as undefined[]).
    `export const PARAMS: rt.ParamInfo[] = [\n${params.map((p) => `${p},\n`).join("")}];`,
    ``,
    ...(shared.length
      ? [
          `/** Layers of a shared block's later uses, each with the layer whose weights it uses. */`,
          `// prettier-ignore`,
          `const SHARED: Record<string, string> = {\n${shared.map((r) => `${r}\n`).join("")}};`,
          ``,
        ]
      : []),
    ...functions.flatMap((f) => [f, ""]),
    `/** Builds ${commentText(g.name)}: ${g.params.toLocaleString("en-US")} learnable parameters. */`,
    `export function buildModel(): tf.LayersModel {`,
    ...(shared.length ? [`rt.shareLayers(SHARED);`] : []),
    ...top,
    ...(shared.length
      ? [
          `const model = tf.model({ name: ${lit(g.name)}, inputs: ` +
            `[${g.inputs.map((io) => scope.vars.get(io.node)!.v).join(", ")}], outputs: [${outputs.join(", ")}] });`,
          `rt.shareLayers({});`,
          `return model;`,
        ]
      : [
          `return tf.model({ name: ${lit(g.name)}, inputs: ` +
            `[${g.inputs.map((io) => scope.vars.get(io.node)!.v).join(", ")}], outputs: [${outputs.join(", ")}] });`,
        ]),
    `}`,
    ``,
  ].join("\n");
  const train = [
    header,
    `import { runTraining } from ${lit(runtime)};`,
    `import { buildModel, CLASSES, INPUTS, MODEL_NAME, PARAMS } from "./model.js";`,
    ``,
    `// Options: --help lists them (data, epochs, steps, batch, lr and schedule, optimizer, out, resume, seed).`,
    `process.exitCode = await runTraining({ name: MODEL_NAME, buildModel, inputs: INPUTS, params: PARAMS, ` +
      `classes: CLASSES, argv: process.argv.slice(2) });`,
    ``,
  ].join("\n");
  return { files: { "model.ts": model, "train.ts": train }, diagnostics: ds };
}
