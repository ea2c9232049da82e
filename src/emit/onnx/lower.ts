// Lowering of each IR op to ONNX nodes: one entry per op, in inference form (BN uses its
// running statistics; dropout and drop-path are removed). Operator semantics follow the ONNX
// operator specs (https://onnx.ai/onnx/operators/), opsets 11 to 21.
// Takes: one IR node and a context that names tensors and makes initializers.
// Gives: ONNX nodes. Must not: invent parameters (they come from src/weights).

import type { Dim } from "../../ir/dims.js";
import type { AttrValue, IrNodeOf, OpName } from "../../ir/ir.js";
import type { Attr } from "./builder.js";
import { tokenLowerings } from "./lower-tokens.js";
import { lowerNeuron, lowerTimeMean, lowerTimeRepeat } from "./lower-spike.js";

export interface LowerCtx<O extends OpName = OpName> {
  readonly node: IrNodeOf<O>;
  readonly opset: number;
  /** Name of the tensor feeding input `i`. */
  input(i?: number): string;
  /** Name of this node's output tensor. */
  readonly out: string;
  /** Initializer name of a parameter of this node (`weight`, `bias`, ...; "" for a free tensor named
   * after the node, as `class_token`), or undefined if absent. */
  param(suffix: string): string | undefined;
  /** A float constant initializer (named after the node). */
  constF(suffix: string, dims: number[], values: number[]): string;
  /** An int64 constant initializer (named after the node). */
  constI(suffix: string, values: number[]): string;
  /** Adds a node. An intermediate output given a `shape` gets value_info like every other tensor. */
  emit(opType: string, inputs: string[], output: string, attrs?: Record<string, Attr>, shape?: readonly Dim[]): void;
  /** A name for an intermediate tensor of this node. */
  tmp(suffix: string): string;
  /** This node's output is just its input: no ONNX node (dropout, drop-path at inference). */
  alias(tensor: string): void;
  /** Reports that the op needs a later opset; returns false if the current one is too low. */
  need(opset: number): boolean;
}

export type Lowering<O extends OpName> = (c: LowerCtx<O>) => void;

type Attrs = { attrs: Record<string, AttrValue> };
const a = (n: Attrs, k: string): number[] => n.attrs[k] as number[];
const num = (n: Attrs, k: string): number => n.attrs[k] as number;

function convAttrs(n: Attrs, group: number): Record<string, Attr> {
  const pads = a(n, "pads");
  const attrs: Record<string, Attr> = {
    kernel_shape: a(n, "kernel"),
    strides: a(n, "stride"),
    dilations: a(n, "dilation"),
    group,
  };
  // Symbolic input with padding=same: the pads depend on the size, so let the runtime compute them.
  if (pads.some((p) => p < 0)) attrs["auto_pad"] = "SAME_UPPER";
  else attrs["pads"] = pads;
  return attrs;
}

function conv(c: LowerCtx, group: number): void {
  const ins = [c.input(), c.param("weight")!];
  const b = c.param("bias");
  if (b) ins.push(b);
  c.emit("Conv", ins, c.out, convAttrs(c.node, group));
}

/** Reshapes a per-channel vector [C] to [C, 1, ...] so it broadcasts over NCHW. */
function perChannel(c: LowerCtx, tensor: string, rank: number, suffix: string): string {
  if (rank <= 2) return tensor;
  const shape = c.constI(`${suffix}_shape`, [-1, ...Array(rank - 2).fill(1)]);
  const t = c.tmp(suffix);
  c.emit("Reshape", [tensor, shape], t);
  return t;
}

function pool(c: LowerCtx, opType: string): void {
  const n = c.node;
  if (n.attrs["global"]) return c.emit("GlobalAveragePool", [c.input()], c.out);
  const attrs: Record<string, Attr> = {
    kernel_shape: a(n, "kernel"),
    strides: a(n, "stride"),
    ceil_mode: n.attrs["ceil"] ? 1 : 0,
  };
  const pads = a(n, "pads");
  if (pads.some((p) => p < 0)) attrs["auto_pad"] = "SAME_UPPER";
  else attrs["pads"] = pads;
  // PyTorch's AvgPool counts padded zeros by default (count_include_pad=True); ONNX does not.
  if (opType === "AveragePool") attrs["count_include_pad"] = n.attrs["count_include_pad"] === false ? 0 : 1;
  c.emit(opType, [c.input()], c.out, attrs);
}

/** For the README's op table: the ONNX operators an op becomes, where that is not one of the same
 * name, and what it needs. */
export const ONNX_NOTES: Partial<Record<OpName, string>> = {
  conv: "Conv (group)",
  dwconv: "Conv (group = channels)",
  sepconv: "two Convs",
  dense: "Gemm; MatMul + Add over the last dim of rank 3+",
  bn: "BatchNormalization (running statistics)",
  groupnorm: "Reshape + InstanceNormalization + Mul + Add (every opset)",
  layernorm: "LayerNormalization, opset 17+",
  prelu: "PRelu",
  gelu: "exact (Erf)",
  silu: "Sigmoid + Mul",
  hardswish: "HardSwish, opset 14+",
  softmax: "Softmax, opset 13+",
  maxpool: "MaxPool",
  avgpool: "AveragePool (count_include_pad as given); GlobalAveragePool",
  gap: "GlobalAveragePool",
  upsample: "Resize (nearest floor / pytorch_half_pixel or align_corners linear)",
  pixel_shuffle: "DepthToSpace (CRD)",
  dropout: "removed at inference",
  drop_path: "removed at inference",
  scale: "Mul by a constant",
  gate: "Mul",
  shift: "Add",
  layerscale: "Mul",
  sew_and: "Mul",
  sew_iand: "Sub + Mul",
  shortcut_pad: "Slice + Pad",
  slice: "Slice",
  attention: "MatMul + Add projections, Slice + Reshape + Transpose per head, MatMul, Softmax (opset 13+)",
  cls_token: "Shape + Expand + Concat",
  pos_embed: "Add",
  affine: "Mul + Add",
  talking_heads_attention: "MatMul + Add projections, Transpose + MatMul head mixing around Softmax (opset 13+)",
  class_attention: "Slice (token 0) + MatMul projections, MatMul, Softmax (opset 13+)",
  if_neuron: "unrolled over T: Reshape [T, -1], Gather per step, Add, Sub, Less + Where, Concat, Reshape",
  lif: "unrolled over T: Reshape [T, -1], Gather per step, Sub + Div + Add, Less + Where, Concat, Reshape",
  time_repeat: "Tile",
  time_mean: "Reshape + ReduceMean + Reshape",
};

/** One lowering per IR op (inputs become graph inputs, not nodes): a record over the closed op
 * set, so an op without a lowering does not compile. */
export const lowerings: { [O in Exclude<OpName, "input">]: Lowering<O> } = {
  conv: (c) => conv(c, num(c.node, "groups")),
  dwconv: (c) => conv(c, num(c.node, "in")),
  sepconv: (c) => {
    const n = c.node;
    const mid = c.tmp("depthwise");
    const k = a(n, "kernel");
    c.emit("Conv", [c.input(), c.param("depthwise.weight")!], mid, convAttrs(n, num(n, "in")));
    const ins = [mid, c.param("pointwise.weight")!];
    const b = c.param("pointwise.bias");
    if (b) ins.push(b);
    c.emit("Conv", ins, c.out, {
      kernel_shape: k.map(() => 1),
      strides: k.map(() => 1),
      dilations: k.map(() => 1),
      group: 1,
      pads: k.flatMap(() => [0, 0]),
    });
  },
  dense: (c) => {
    const n = c.node;
    const w = c.param("weight")!;
    const b = c.param("bias");
    if (n.shape.length === 2) {
      const ins = [c.input(), w];
      if (b) ins.push(b);
      return c.emit("Gemm", ins, c.out, { transB: 1 });
    }
    // Over the last dim of a rank-3+ tensor: x @ W^T (+ b).
    const wt = c.tmp("weight_t");
    c.emit("Transpose", [w], wt, { perm: [1, 0] });
    if (!b) return c.emit("MatMul", [c.input(), wt], c.out);
    const mm = c.tmp("matmul");
    c.emit("MatMul", [c.input(), wt], mm, {}, n.shape);
    c.emit("Add", [mm, b], c.out);
  },
  bn: (c) => {
    const n = c.node;
    // affine=false: ONNX still wants scale and bias, so constant ones and zeros.
    const ch = num(n, "channels");
    const scale = c.param("weight") ?? c.constF("ones", [ch], Array(ch).fill(1));
    const bias = c.param("bias") ?? c.constF("zeros", [ch], Array(ch).fill(0));
    c.emit("BatchNormalization", [c.input(), scale, bias, c.param("running_mean")!, c.param("running_var")!], c.out, {
      epsilon: { float: num(n, "eps") },
      // ONNX's momentum weights the old running value; PyTorch's weights the new batch.
      momentum: { float: 1 - num(n, "momentum") },
    });
  },
  groupnorm: (c) => {
    // GroupNormalization is opset 18 (and changed in 21): decompose for every opset instead.
    // x -> [N, G, -1] -> InstanceNormalization (per group) -> back to x's shape -> * gamma + beta.
    const n = c.node;
    const g = num(n, "groups");
    const grouped = c.tmp("grouped");
    c.emit("Reshape", [c.input(), c.constI("group_shape", [0, g, -1])], grouped);
    const normed = c.tmp("normalized");
    c.emit(
      "InstanceNormalization",
      [grouped, c.constF("ones", [g], Array(g).fill(1)), c.constF("zeros", [g], Array(g).fill(0))],
      normed,
      { epsilon: { float: num(n, "eps") } },
    );
    const shape = c.tmp("input_shape");
    c.emit("Shape", [c.input()], shape);
    const back = c.tmp("ungrouped");
    c.emit("Reshape", [normed, shape], back);
    const scaled = c.tmp("scaled");
    c.emit("Mul", [back, perChannel(c, c.param("weight")!, n.shape.length, "weight_c")], scaled);
    c.emit("Add", [scaled, perChannel(c, c.param("bias")!, n.shape.length, "bias_c")], c.out);
  },
  layernorm: (c) => {
    if (!c.need(17)) return;
    c.emit("LayerNormalization", [c.input(), c.param("weight")!, c.param("bias")!], c.out, {
      axis: -1,
      epsilon: { float: num(c.node, "eps") },
    });
  },
  relu: (c) => c.emit("Relu", [c.input()], c.out),
  leaky: (c) => c.emit("LeakyRelu", [c.input()], c.out, { alpha: { float: num(c.node, "slope") } }),
  prelu: (c) =>
    c.emit(
      "PRelu",
      [c.input(), perChannel(c, c.param("weight")!, c.node.params > 1 ? c.node.shape.length : 2, "slope")],
      c.out,
    ),
  gelu: (c) => {
    // Exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)) (Hendrycks & Gimpel 2016); Gelu itself is opset 20.
    const sh = c.node.shape;
    const d = c.tmp("div");
    c.emit("Div", [c.input(), c.constF("sqrt2", [], [Math.SQRT2])], d, {}, sh);
    const e = c.tmp("erf");
    c.emit("Erf", [d], e, {}, sh);
    const p = c.tmp("add");
    c.emit("Add", [e, c.constF("one", [], [1])], p, {}, sh);
    const m = c.tmp("mul");
    c.emit("Mul", [c.input(), p], m, {}, sh);
    c.emit("Mul", [m, c.constF("half", [], [0.5])], c.out);
  },
  silu: (c) => {
    const s = c.tmp("sigmoid");
    c.emit("Sigmoid", [c.input()], s, {}, c.node.shape);
    c.emit("Mul", [c.input(), s], c.out);
  },
  sigmoid: (c) => c.emit("Sigmoid", [c.input()], c.out),
  tanh: (c) => c.emit("Tanh", [c.input()], c.out),
  hardswish: (c) => {
    if (c.need(14)) c.emit("HardSwish", [c.input()], c.out);
  },
  softmax: (c) => {
    // Before opset 13 Softmax flattened the trailing dims; 13 normalises along one axis as we mean.
    if (c.need(13)) c.emit("Softmax", [c.input()], c.out, { axis: num(c.node, "axis") });
  },
  maxpool: (c) => pool(c, "MaxPool"),
  avgpool: (c) => pool(c, "AveragePool"),
  gap: (c) => c.emit("GlobalAveragePool", [c.input()], c.out),
  flatten: (c) => c.emit("Flatten", [c.input()], c.out, { axis: 1 }),
  reshape: (c) => {
    const s = c.node.attrs["shape"];
    c.emit("Reshape", [c.input(), c.constI("shape", [0, ...(typeof s === "number" ? [s] : (s as number[]))])], c.out);
  },
  transpose: (c) => c.emit("Transpose", [c.input()], c.out, { perm: a(c.node, "perm") }),
  upsample: (c) => {
    const n = c.node;
    const f = num(n, "scale");
    const scales = c.constF("scales", [n.shape.length], [1, 1, ...Array(n.shape.length - 2).fill(f)]);
    const linear = n.attrs["mode"] === "linear";
    // PyTorch: nearest = floor of (out / scale); linear with align_corners=False = half_pixel,
    // with align_corners=True the ONNX mode of that name: in = out * (in_len - 1) / (out_len - 1).
    const corners = n.attrs["align_corners"] === true;
    c.emit(
      "Resize",
      [c.input(), c.constF("roi", [0], []), scales],
      c.out,
      linear
        ? { mode: "linear", coordinate_transformation_mode: corners ? "align_corners" : "pytorch_half_pixel" }
        : { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" },
    );
  },
  pixel_shuffle: (c) => c.emit("DepthToSpace", [c.input()], c.out, { blocksize: num(c.node, "r"), mode: "CRD" }),
  dropout: (c) => c.alias(c.input()),
  drop_path: (c) => c.alias(c.input()),
  scale: (c) => c.emit("Mul", [c.input(), c.constF("factor", [], [num(c.node, "by")])], c.out),
  gate: (c) => c.emit("Mul", [c.input(), c.param("weight")!], c.out),
  shift: (c) => c.emit("Add", [c.input(), c.param("bias")!], c.out),
  layerscale: (c) => {
    const v = c.param(c.node.attrs.bare === true ? "" : "weight")!;
    const w = num(c.node, "axis") === 1 ? perChannel(c, v, c.node.shape.length, "weight_c") : v;
    c.emit("Mul", [c.input(), w], c.out);
  },
  // Sum and a chain of Muls take every input (`add(a, b, c)`), not just the first two.
  add: (c) =>
    c.node.inputs.length === 2
      ? c.emit("Add", [c.input(0), c.input(1)], c.out)
      : c.emit(
          "Sum",
          c.node.inputs.map((_, i) => c.input(i)),
          c.out,
        ),
  sub: (c) => c.emit("Sub", [c.input(0), c.input(1)], c.out),
  slice: (c) => {
    const n = c.node.attrs;
    c.emit(
      "Slice",
      [c.input(), c.constI("starts", [n.start]), c.constI("ends", [n.end]), c.constI("axes", [n.axis])],
      c.out,
    );
  },
  mul: (c) => {
    let acc = c.input(0);
    for (let i = 1; i < c.node.inputs.length; i++) {
      const last = i === c.node.inputs.length - 1;
      const out = last ? c.out : c.tmp(`mul${i}`);
      c.emit("Mul", [acc, c.input(i)], out);
      acc = out;
    }
  },
  concat: (c) =>
    c.emit(
      "Concat",
      c.node.inputs.map((_, i) => c.input(i)),
      c.out,
      { axis: num(c.node, "axis") },
    ),
  // SEW ResNet (Fang et al. 2021) merges of spike tensors: AND = a*s, IAND = (1-a)*s.
  sew_and: (c) => c.emit("Mul", [c.input(0), c.input(1)], c.out),
  sew_iand: (c) => {
    const inv = c.tmp("not");
    c.emit("Sub", [c.constF("one", [], [1]), c.input(0)], inv, {}, c.node.shape);
    c.emit("Mul", [inv, c.input(1)], c.out);
  },
  attention: (c) => {
    // PyTorch nn.MultiheadAttention(D, H, batch_first=True) on (x, x, x), dropout 0, no mask:
    // [q k v] = x W_in^T + b_in; per head softmax(q k^T / sqrt(D/H)) v; heads joined, then the
    // output projection.
    if (!c.need(13)) return;
    const n = c.node;
    const { dim: d, heads: h } = n.attrs;
    const dh = d / h;
    const [N, T] = n.shape as [Dim, Dim, Dim];
    const linear = (x: string, w: string, b: string, name: string, out: string, width: number): void => {
      const wt = c.tmp(`${name}_t`);
      c.emit("Transpose", [w], wt, { perm: [1, 0] }, [d, width]);
      const mm = c.tmp(`${name}_matmul`);
      c.emit("MatMul", [x, wt], mm, {}, [N, T, width]);
      c.emit("Add", [mm, b], out, {}, [N, T, width]);
    };
    const qkv = c.tmp("qkv");
    linear(c.input(), c.param("in_proj_weight")!, c.param("in_proj_bias")!, "in_proj_weight", qkv, 3 * d);
    const part = (i: number, name: string, perm: number[]): string => {
      const s = c.tmp(name);
      const ax = c.constI("axis2", [2]);
      c.emit("Slice", [qkv, c.constI(`${name}_start`, [i * d]), c.constI(`${name}_end`, [(i + 1) * d]), ax], s, {}, [
        N,
        T,
        d,
      ]);
      const r = c.tmp(`${name}_heads`);
      c.emit("Reshape", [s, c.constI("heads_shape", [0, 0, h, dh])], r, {}, [N, T, h, dh]);
      const t = c.tmp(`${name}_t`);
      const split: Dim[] = [N, T, h, dh];
      c.emit(
        "Transpose",
        [r],
        t,
        { perm },
        perm.map((p) => split[p]!),
      );
      return t;
    };
    const q = part(0, "q", [0, 2, 1, 3]);
    const kT = part(1, "k", [0, 2, 3, 1]);
    const v = part(2, "v", [0, 2, 1, 3]);
    const qs = c.tmp("q_scaled");
    c.emit("Mul", [q, c.constF("scale", [], [1 / Math.sqrt(dh)])], qs, {}, [N, h, T, dh]);
    const scores = c.tmp("scores");
    c.emit("MatMul", [qs, kT], scores, {}, [N, h, T, T]);
    const attn = c.tmp("softmax");
    c.emit("Softmax", [scores], attn, { axis: 3 }, [N, h, T, T]);
    const ctx = c.tmp("context");
    c.emit("MatMul", [attn, v], ctx, {}, [N, h, T, dh]);
    const ctxT = c.tmp("context_t");
    c.emit("Transpose", [ctx], ctxT, { perm: [0, 2, 1, 3] }, [N, T, h, dh]);
    const merged = c.tmp("merged");
    c.emit("Reshape", [ctxT, c.constI("merged_shape", [0, 0, d])], merged, {}, [N, T, d]);
    linear(merged, c.param("out_proj.weight")!, c.param("out_proj.bias")!, "out_proj.weight", c.out, d);
  },
  cls_token: (c) => {
    // The [1, 1, D] token expanded to [N, 1, D], then put before the tokens along axis 1 (the
    // int64 shape tensors get no value_info: it is float only).
    const n = c.node;
    const shape = c.tmp("input_shape");
    c.emit("Shape", [c.input()], shape);
    const batch = c.tmp("batch");
    c.emit("Slice", [shape, c.constI("batch_start", [0]), c.constI("batch_end", [1])], batch);
    const target = c.tmp("expand_shape");
    c.emit("Concat", [batch, c.constI("token_dims", [1, n.attrs.dim])], target, { axis: 0 });
    const tok = c.tmp("expanded");
    c.emit("Expand", [c.param("")!, target], tok, {}, [n.shape[0]!, 1, n.attrs.dim]);
    c.emit("Concat", [tok, c.input()], c.out, { axis: 1 });
  },
  pos_embed: (c) => c.emit("Add", [c.input(), c.param("")!], c.out),
  ...tokenLowerings,
  shortcut_pad: (c) => {
    // Option A (He et al. 2015): x[:, :, ::s, ::s], then zero channels before and after.
    const n = c.node;
    const rank = n.shape.length;
    const s = num(n, "stride");
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    let x = c.input();
    if (s > 1) {
      const sub = c.tmp("subsample");
      const subShape = [
        n.shape[0]!,
        (n.shape[1]! as number) - num(n, "pad_before") - num(n, "pad_after"),
        ...n.shape.slice(2),
      ];
      c.emit(
        "Slice",
        [
          x,
          c.constI(
            "starts",
            spatial.map(() => 0),
          ),
          c.constI(
            "ends",
            spatial.map(() => Number.MAX_SAFE_INTEGER),
          ),
          c.constI("axes", spatial),
          c.constI(
            "steps",
            spatial.map(() => s),
          ),
        ],
        sub,
        {},
        subShape,
      );
      x = sub;
    }
    const begin = Array(rank).fill(0);
    const end = Array(rank).fill(0);
    begin[1] = num(n, "pad_before");
    end[1] = num(n, "pad_after");
    c.emit("Pad", [x, c.constI("pads", [...begin, ...end])], c.out, { mode: "constant" });
  },
  // Spiking ops: lower-spike.ts.
  if_neuron: lowerNeuron,
  lif: lowerNeuron,
  time_repeat: lowerTimeRepeat,
  time_mean: lowerTimeMean,
};
