// The closed set of IR operations and the typed attributes each carries. Every emitter's lowering
// table and the parameter table in src/weights are records over `OpName`, so an op added here
// without a lowering in every target is a `tsc` error, not a runtime diagnostic.
// Takes: nothing (types only, plus the list of names). Gives: `OpName`, `OpAttrs`, `OP_NAMES`.
// Must not: import from syntax, semantics or an emitter.

/** Window attributes the shape rules resolve for convolutions and pools: one entry per spatial
 * dim; `pads` is ONNX style [begin..., end...], -1 everywhere for `same` on a symbolic size. */
interface Window {
  kernel: number[];
  stride: number[];
  pads: number[];
}

interface ConvLike extends Window {
  dilation: number[];
  /** Input and output channels. */
  in: number;
  out: number;
  groups: number;
  /** Settled to true/false once consumers are known (`auto`: no bias before a norm). */
  bias: boolean;
  init: string;
  /** Factor on the weight initialiser (its std, bound or constant); 1 by default (Fixup: L^-0.5). */
  gain: number;
}

interface Pool extends Window {
  /** True for global average pooling (avgpool without `k`); the window fields are then absent. */
  global: boolean;
  /** ceil_mode still needed after the end pads were tightened (average pooling only). */
  ceil: boolean;
}

type Empty = Record<never, never>;

/** A spiking neuron over time folded into the batch axis ([T*N, ...], time-major, as
 * SpikingJelly's multi-step mode): membrane state kept across the T slices, Heaviside spikes,
 * hard reset to `v_reset` or soft reset (subtract `v_th`), a surrogate gradient for training. */
interface Neuron {
  T: number;
  v_th: number;
  v_reset: number;
  reset: "hard" | "soft";
  detach_reset: boolean;
  surrogate: "atan" | "rect";
  /** ATan's alpha (SpikingJelly surrogate.ATan). */
  alpha: number;
  /** The rectangular surrogate's width a: gradient 1/a on |x| < a/2. */
  width: number;
}

/** The attributes of each op, as the elaborator records them (the op's checked arguments plus
 * what its shape rule resolved). */
export interface OpAttrs {
  input: { dtype: string };
  conv: ConvLike;
  dwconv: ConvLike;
  sepconv: ConvLike;
  dense: { in: number; out: number; bias: boolean; init: string; gain: number };
  bn: { channels: number; eps: number; momentum: number; gamma: "ones" | "zeros"; affine: boolean };
  groupnorm: { channels: number; groups: number; eps: number };
  layernorm: { features: number; eps: number };
  relu: Empty;
  leaky: { slope: number };
  prelu: { per_channel: boolean; init: number };
  gelu: Empty;
  silu: Empty;
  sigmoid: Empty;
  tanh: Empty;
  hardswish: Empty;
  /** Non-negative axis. */
  softmax: { axis: number };
  maxpool: Pool;
  avgpool: Pool & {
    /** PyTorch's count_include_pad: divide by the whole window (true) or by its cells inside the input. */
    count_include_pad: boolean;
  };
  gap: { global: true };
  dropout: { p: number };
  drop_path: { p: number };
  scale: { by: number };
  gate: { init: number };
  /** One learned scalar added (Fixup's scalar biases, Zhang et al. 2019). */
  shift: { init: number };
  /** `axis` 1 for channels-first tensors, or the last (token sequences [N, L, D]); `bare`: the vector
   * is a free tensor named after the layer (timm's `gamma_1`, `ls1`), not `NAME.weight`. */
  layerscale: { init: number; axis: number; bare?: boolean };
  flatten: Empty;
  reshape: { shape: number | number[] };
  transpose: { perm: number[] };
  /** align_corners: linear only; PyTorch align_corners=True (ONNX Resize "align_corners"). */
  upsample: { scale: number; mode: "nearest" | "linear"; align_corners: boolean };
  pixel_shuffle: { r: number };
  add: Empty;
  /** a - b, broadcasting as add does (DnCNN: `x - noise`). */
  sub: Empty;
  mul: Empty;
  /** Non-negative axis. */
  concat: { axis: number };
  /** [start, end) along a non-negative `axis` of known size; the parts of `chunk` and `split`. */
  slice: { axis: number; start: number; end: number };
  /** SEW ResNet merges of spike tensors (Fang et al. 2021): AND = a*s, IAND = (1-a)*s. */
  sew_and: { merge: string };
  sew_iand: { merge: string };
  /** Option A shortcut (He et al. 2015): subsample by `stride`, zero channels before and after. */
  shortcut_pad: { stride: number; pad_before: number; pad_after: number };
  /** Multi-head self-attention over [N, T, D]: `dim` D, `heads` dividing it (nn.MultiheadAttention). */
  attention: { dim: number; heads: number };
  /** A learned [1, 1, D] token put first along the token axis: [N, T, D] -> [N, T+1, D]. */
  cls_token: { dim: number; init: "zeros" | "normal"; std: number };
  /** A learned [1, T, D] tensor added to [N, T, D]. */
  pos_embed: { tokens: number; dim: number; init: "zeros" | "normal"; std: number };
  // CaiT and ResMLP (Touvron et al. 2021), timm's parameter names: see semantics/ops/tokens.ts.
  /** ResMLP's Affine over the last dim D: alpha * x + beta, both [1, ..., 1, D]. */
  affine: { dim: number; rank: number };
  /** timm TalkingHeadAttn over [N, T, D]: qkv, proj_l and proj_w (mixing the heads before and after
   * the softmax), proj. */
  talking_heads_attention: { dim: number; heads: number };
  /** timm ClassAttn over [N, T, D] -> [N, 1, D]: only token 0 queries (q, k, v, proj). */
  class_attention: { dim: number; heads: number };
  // Spiking neurons (SEW ResNet, Fang et al. 2021; MS-ResNet, Hu et al.): time folded into the batch.
  /** Integrate-and-fire: v = v + x. */
  if_neuron: Neuron;
  /** Leaky integrate-and-fire, SpikingJelly's decay_input form: v = v + (x - (v - v_reset)) / tau. */
  lif: Neuron & { tau: number };
  /** [N, ...] -> [T*N, ...]: the batch repeated T times, time-major (direct encoding). */
  time_repeat: { T: number };
  /** [T*N, ...] -> [N, ...]: the mean over the T time slices. */
  time_mean: { T: number };
}

export type OpName = keyof OpAttrs;

/** Every op name, in a fixed order (a test checks it against the registry and the merges). The
 * record form makes a missing or extra name a type error. */
const NAMES: Record<OpName, true> = {
  input: true,
  conv: true,
  dwconv: true,
  sepconv: true,
  dense: true,
  bn: true,
  groupnorm: true,
  layernorm: true,
  relu: true,
  leaky: true,
  prelu: true,
  gelu: true,
  silu: true,
  sigmoid: true,
  tanh: true,
  hardswish: true,
  softmax: true,
  maxpool: true,
  avgpool: true,
  gap: true,
  dropout: true,
  drop_path: true,
  scale: true,
  gate: true,
  shift: true,
  layerscale: true,
  flatten: true,
  reshape: true,
  transpose: true,
  upsample: true,
  pixel_shuffle: true,
  add: true,
  sub: true,
  mul: true,
  concat: true,
  slice: true,
  sew_and: true,
  sew_iand: true,
  shortcut_pad: true,
  attention: true,
  cls_token: true,
  pos_embed: true,
  affine: true,
  talking_heads_attention: true,
  class_attention: true,
  if_neuron: true,
  lif: true,
  time_repeat: true,
  time_mean: true,
};
export const OP_NAMES = Object.keys(NAMES) as OpName[];

export function isOpName(s: string): s is OpName {
  return Object.prototype.hasOwnProperty.call(NAMES, s);
}
