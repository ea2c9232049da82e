// The layers emitted TensorFlow.js programs are built from: one helper per IR op, taking and
// giving symbolic CHANNELS-LAST tensors ([N, L, C], [N, H, W, C], [N, D, H, W, C]; the number of
// spatial dims is kernel.length), plus the custom layers tfjs lacks (option A shortcut, constant
// scale, learned gate, LayerScale, learned scalar shift (Fixup), drop-path, padding with a
// constant, and those of layers-nd.ts: conv (3-D or dilated), grouped conv, max pool, ceil average
// pool, group norm, PReLU, upsampling, pixel shuffle...). Custom layers
// are registered with tfjs's serialization, so `tf.loadLayersModel` can read a saved model back.
// Takes: canonical configuration from the emitter (kernel/strides/dilation per spatial dim in
// L / H,W / D,H,W order; pads ONNX-style [begin_0..begin_{n-1}, end_0..end_{n-1}]).
// Gives: tfjs layers applied to inputs.
// Must not: initialise weights (params.ts does, identically to the ONNX emitter).
//
// PARAMS rules: which tfjs layer holds which canonical (PyTorch state_dict) tensor.
//   conv, groups == 1, 1 or 2 spatial dims, no dilation: tfjs conv1d/conv2d named `name`: weight
//                          index 0 layout "oihw" ([O, I, ...k] <-> [...k, I, O]), bias index 1
//                          "same". Pads other than tfjs "same" at stride 1 go to a zero-padding
//                          layer `${name}/pad` before it (ZeroPadding2D for 2-D, ResnetcConstantPad
//                          for 1-D).
//   conv, groups == 1, 3 spatial dims or dilated: ResnetcConv named `name` with the same weights as
//                          tfjs's conv layer: kernel index 0 "oihw" ([...k, I, O]), bias index 1
//                          "same"; it pads inside (no `${name}/pad`). (tfjs's conv3d has wrong input
//                          gradients on wasm, and tfjs has no gradient for dilated convolutions.)
//   conv, groups == C_in, 2 spatial dims: tfjs depthwiseConv2d named `name` (depthMultiplier
//                          filters / C_in; ResnetcConv with the same weights if dilated): weight
//                          index 0 layout "dw" (ParamInfo.channels = C_in), bias index 1 "same";
//                          padding layer as above.
//   conv, any other groups > 1 (any rank, depthwise 1-D/3-D included): ResnetcGroupedConv named
//                          `name`: weight index 0 layout "same" (canonical [O, I/groups, ...k]),
//                          bias index 1 "same". It pads inside (no `${name}/pad` layer).
//   dense (any rank, last axis): tfjs dense `name`: weight index 0 "oi", bias index 1 "same".
//   bn (any rank, last axis): `name`: gamma 0, beta 1, running mean 2, running var 3, all "same".
//   groupNorm: ResnetcGroupNorm `name`: gamma 0, beta 1, "same".
//   layerNorm: tfjs layerNormalization `name`: gamma 0, beta 1, "same". (bn and layerNorm at rank 5:
//                          reshapes `${name}/r4` before and `${name}/r5` after, no weights.)
//   prelu: ResnetcPReLU `name`: weight index 0 "same", dims [size].
//   learnedScale: ResnetcLearnedScale `name`: weight index 0 "same", dims [size].
//   learnedShift: ResnetcLearnedShift `name`: weight index 0 "same" (the canonical `bias`), dims [1].
//   attention, clsToken, posEmbed: see layers-attn.ts (every weight "same").
//   affine, talkingHeadsAttention, classAttention: see layers-tokens.ts (every weight "same").
//   spikingNeuron, timeRepeat, timeMean: see layers-spike.ts (no weights).

import * as tf from "@tensorflow/tfjs";
import { FusedBatchNorm } from "./batchnorm.js";
import {
  ExtraActivation,
  AvgPoolCeil,
  ConstantPadND,
  Conv,
  GlobalAvgPool,
  GroupedConv,
  GroupNorm,
  MaxPool,
  ND_LAYERS,
  Softmax,
  PixelShuffle,
  PReLU,
  SamePad,
  SewIand,
  Slice,
  Subtract,
  subsample,
  Upsample,
} from "./layers-nd.js";

import { weightLayer } from "./shared-layers.js";
import { ATTN_LAYERS } from "./layers-attn.js";
import { TOKEN_LAYERS } from "./layers-tokens.js";
import { SPIKE_LAYERS } from "./layers-spike.js";

export * from "./layers-nd.js";
export * from "./layers-attn.js";
export * from "./layers-tokens.js";
export * from "./layers-spike.js";
export { shareLayers } from "./shared-layers.js";

type T = tf.SymbolicTensor;
type Kwargs = Record<string, unknown>;

/** x[:, ::s, ::s, :] (every spatial dim) with `before`/`after` zero channels: option A (He et al.
 * 2015, Sec. 4.2), channels last at 1, 2 or 3 spatial dims. */
export class OptionAShortcut extends tf.layers.Layer {
  static className = "ResnetcOptionAShortcut";
  private readonly stride: number;
  private readonly before: number;
  private readonly after: number;
  constructor(config: { stride: number; before: number; after: number; name?: string }) {
    super(config);
    this.stride = config.stride;
    this.before = config.before;
    this.after = config.after;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as (number | null)[];
    const last = shape.length - 1;
    return shape.map((d, i) =>
      d == null ? null : i === 0 ? d : i === last ? d + this.before + this.after : Math.ceil(d / this.stride),
    ) as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      // x[:, ::s, ..., :] one axis at a time through pad + reshape to [pre, L/s, s, post] + slice,
      // which (unlike stridedSlice) have gradients in every tfjs backend. Rank 4 throughout: the
      // gradient of a rank-6 slice is a rank-6 pad, whose WGSL in tfjs's webgpu backend does not
      // compile ("cannot index type 'vec6'").
      if (this.stride > 1)
        x = subsample(
          x,
          x.shape.slice(1, -1).map(() => this.stride),
        );
      if (!this.before && !this.after) return x;
      const p: [number, number][] = x.shape.map(() => [0, 0]);
      p[p.length - 1] = [this.before, this.after];
      return tf.pad(x, p);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stride: this.stride, before: this.before, after: this.after };
  }
}

/** Pads H and W with a constant: -3.4e38 before a max pool, so PyTorch-style explicit padding
 * never wins the max (tfjs pools only know "same" and "valid"). */
export class ConstantPad2D extends tf.layers.Layer {
  static className = "ResnetcConstantPad2D";
  private readonly pads: number[];
  private readonly value: number;
  constructor(config: { pads: number[]; value: number; name?: string }) {
    super(config);
    this.pads = config.pads;
    this.value = config.value;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = s as tf.Shape;
    const [t, l, b, r] = this.pads as [number, number, number, number];
    return [n ?? null, h == null ? null : h + t + b, w == null ? null : w + l + r, c ?? null];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const [t, l, b, r] = this.pads as [number, number, number, number];
    return tf.pad(
      x,
      [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ],
      this.value,
    );
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), pads: this.pads, value: this.value };
  }
}

/** Multiplies by a constant (EDSR's residual scaling 0.1). */
export class Scale extends tf.layers.Layer {
  static className = "ResnetcScale";
  private readonly factor: number;
  constructor(config: { factor: number; name?: string }) {
    super(config);
    this.factor = config.factor;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.mul(x, this.factor);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

/** Multiplies by a learned vector of `size` entries over the last axis (size 1: ReZero's gate;
 * size C: LayerScale). Its initial value comes from the checkpoint or params.ts. */
export class LearnedScale extends tf.layers.Layer {
  static className = "ResnetcLearnedScale";
  private readonly size: number;
  private w: tf.LayerVariable | null = null;
  constructor(config: { size: number; name?: string }) {
    super(config);
    this.size = config.size;
  }
  override build(): void {
    this.w = this.addWeight("weight", [this.size], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.mul(x, this.w!.read());
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size };
  }
}

/** Adds one learned scalar (Fixup's scalar biases). Its initial value comes from the checkpoint
 * or params.ts. */
export class LearnedShift extends tf.layers.Layer {
  static className = "ResnetcLearnedShift";
  private b: tf.LayerVariable | null = null;
  override build(): void {
    this.b = this.addWeight("bias", [1], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.add(x, this.b!.read());
  }
}

/** Stochastic depth (Huang et al. 2016): while training, zero the whole sample with
 * probability p and scale survivors by 1/(1-p); at inference, the identity. */
export class DropPath extends tf.layers.Layer {
  static className = "ResnetcDropPath";
  private readonly p: number;
  constructor(config: { p: number; name?: string }) {
    super(config);
    this.p = config.p;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs["training"] || this.p === 0) return x;
    return tf.tidy(() => {
      const keep = 1 - this.p;
      const mask = tf.floor(tf.add(tf.randomUniform([x.shape[0]!, ...x.shape.slice(1).map(() => 1)]), keep));
      return tf.mul(x, tf.div(mask, keep));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), p: this.p };
  }
}

let registered = false;
/** Makes the custom layers known to `tf.loadLayersModel`. Safe to call more than once. */
export function registerCustomLayers(): void {
  if (registered) return;
  for (const c of [
    OptionAShortcut,
    ConstantPad2D,
    Scale,
    LearnedScale,
    LearnedShift,
    DropPath,
    ...ND_LAYERS,
    ...ATTN_LAYERS,
    ...TOKEN_LAYERS,
    ...SPIKE_LAYERS,
  ])
    tf.serialization.registerClass(
      c as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    );
  registered = true;
}

// ---- one helper per IR op; shapes channels last, configuration canonical ----

/** The padding tfjs's "same" gives for stride 1 (symmetric, (k-1)/2 * dilation) equals ours. */
function sameMatches(kernel: number[], strides: number[], dilation: number[], pads: number[]): boolean {
  const n = kernel.length;
  return (
    strides.every((s) => s === 1) &&
    kernel.every((k, i) => (k - 1) % 2 === 0 && pads[i] === ((k - 1) / 2) * dilation[i]! && pads[i + n] === pads[i])
  );
}

/** Zero padding `${name}/pad` of the spatial dims (none if every pad is 0). */
function zeroPad(x: T, pads: number[], name: string): T {
  if (pads.every((p) => p === 0)) return x;
  if (pads.length === 4) {
    const [t, l, b, r] = pads as [number, number, number, number];
    return tf.layers
      .zeroPadding2d({
        padding: [
          [t, b],
          [l, r],
        ],
        name: `${name}/pad`,
      })
      .apply(x) as T;
  }
  return new ConstantPadND({ name: `${name}/pad`, pads, value: 0 }).apply(x) as T;
}

export interface ConvConfig {
  name: string;
  filters: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilation: number[];
  bias: boolean;
  /** 1 if absent. */
  groups?: number;
}

const dilated = (c: ConvConfig) => c.dilation.some((d) => d > 1);

/** A convolution with 1, 2 or 3 spatial dims (kernel.length); see the PARAMS rules at the top. */
export function conv(x: T, c: ConvConfig): T {
  const groups = c.groups ?? 1;
  const n = c.kernel.length;
  const cin = x.shape[x.shape.length - 1]!;
  if (groups > 1 && groups === cin && n === 2) return dwconv(x, { ...c, multiplier: c.filters / cin });
  if (groups > 1) {
    const { name, ...rest } = c;
    return weightLayer(name, () => new GroupedConv({ ...rest, name, groups })).apply(x) as T;
  }
  if (n === 3 || dilated(c)) {
    const { groups: _g, ...rest } = c;
    return weightLayer(c.name, () => new Conv(rest)).apply(x) as T;
  }
  const same = sameMatches(c.kernel, c.strides, c.dilation, c.pads);
  const input = same ? x : zeroPad(x, c.pads, c.name);
  const common = {
    name: c.name,
    filters: c.filters,
    padding: same ? ("same" as const) : ("valid" as const),
    useBias: c.bias,
    kernelInitializer: "zeros" as const,
  };
  const layer = weightLayer(c.name, () =>
    n === 1
      ? tf.layers.conv1d({ ...common, kernelSize: c.kernel[0]!, strides: c.strides[0]! })
      : tf.layers.conv2d({
          ...common,
          kernelSize: c.kernel as [number, number],
          strides: c.strides as [number, number],
        }),
  );
  return layer.apply(input) as T;
}

/** 2-D depthwise conv (groups == C_in): tfjs depthwiseConv2d (ResnetcConv if dilated), layout "dw". */
export function dwconv(x: T, c: ConvConfig & { multiplier: number }): T {
  if (dilated(c)) {
    const { groups: _g, ...rest } = c;
    return weightLayer(c.name, () => new Conv(rest)).apply(x) as T;
  }
  const same = sameMatches(c.kernel, c.strides, c.dilation, c.pads);
  const input = same ? x : zeroPad(x, c.pads, c.name);
  return weightLayer(c.name, () =>
    tf.layers.depthwiseConv2d({
      name: c.name,
      kernelSize: c.kernel as [number, number],
      depthMultiplier: c.multiplier,
      strides: c.strides as [number, number],
      padding: same ? "same" : "valid",
      useBias: c.bias,
      depthwiseInitializer: "zeros",
    }),
  ).apply(input) as T;
}

/** Dense over the last axis (any rank). */
export function dense(x: T, c: { name: string; units: number; bias: boolean }): T {
  return weightLayer(c.name, () =>
    tf.layers.dense({ name: c.name, units: c.units, useBias: c.bias, kernelInitializer: "zeros" }),
  ).apply(x) as T;
}

/** tfjs's batch and layer normalization layers take rank <= 4: a rank-5 input [N, D, H, W, C] goes
 * through reshapes `${name}/r4` (to [N, D*H, W, C]) and `${name}/r5` (back) around the layer. */
function atRank4(x: T, name: string, layer: tf.layers.Layer): T {
  if (x.shape.length <= 4) return layer.apply(x) as T;
  const inner = x.shape.slice(1) as number[];
  const flat = [inner.slice(0, -2).reduce((a, b) => a * b, 1), ...inner.slice(-2)];
  const x4 = tf.layers.reshape({ name: `${name}/r4`, targetShape: flat }).apply(x) as T;
  return tf.layers.reshape({ name: `${name}/r5`, targetShape: inner }).apply(layer.apply(x4)) as T;
}

/** Batch norm over the last axis (any rank; rank 5 through `${name}/r4` and `${name}/r5`). */
export function bn(x: T, c: { name: string; eps: number; momentum: number; affine?: boolean }): T {
  // PyTorch's momentum weights the new batch statistic; Keras's weights the running value.
  // FusedBatchNorm is tfjs's layer (it saves as one) with a faster training step on cpu and wasm.
  // affine=false (PyTorch's BatchNorm(affine=False)): no gamma and beta, tfjs's center/scale off.
  const affine = c.affine !== false;
  const layer = weightLayer(
    c.name,
    () =>
      new FusedBatchNorm({
        name: c.name,
        axis: -1,
        epsilon: c.eps,
        momentum: 1 - c.momentum,
        center: affine,
        scale: affine,
      }),
  );
  return atRank4(x, c.name, layer);
}

/** PyTorch GroupNorm over channels-last input of any rank. */
export function groupNorm(x: T, c: { name: string; groups: number; eps: number }): T {
  return weightLayer(c.name, () => new GroupNorm({ name: c.name, groups: c.groups, eps: c.eps })).apply(x) as T;
}

/** PyTorch LayerNorm over the last axis (biased variance, as tfjs's layerNormalization). */
export function layerNorm(x: T, c: { name: string; eps: number }): T {
  return atRank4(
    x,
    c.name,
    weightLayer(c.name, () => tf.layers.layerNormalization({ name: c.name, axis: -1, epsilon: c.eps })),
  );
}

/** PReLU with one slope (size 1) or one per channel of the last axis (size C). */
export function prelu(x: T, c: { name: string; size: number }): T {
  return weightLayer(c.name, () => new PReLU({ name: c.name, size: c.size })).apply(x) as T;
}

export type ActivationFn = "relu" | "sigmoid" | "tanh" | "gelu" | "swish" | "softmax" | "hardswish";

/** "gelu" is the exact erf GELU (tfjs's "gelu", PyTorch's default); "softmax" over the last axis. */
export function activation(x: T, c: { name: string; fn: ActivationFn }): T {
  if (c.fn === "relu") return tf.layers.reLU({ name: c.name }).apply(x) as T;
  if (c.fn === "softmax") return tf.layers.softmax({ name: c.name, axis: -1 }).apply(x) as T;
  if (c.fn === "hardswish") return new ExtraActivation({ name: c.name, fn: c.fn }).apply(x) as T;
  return tf.layers.activation({ name: c.name, activation: c.fn }).apply(x) as T;
}

/** Softmax over a tfjs axis (default -1): tfjs's softmax layer on the last axis, else ResnetcSoftmax. */
export function softmax(x: T, c: { name: string; axis?: number }): T {
  const axis = c.axis ?? -1;
  if (axis === -1 || axis === x.shape.length - 1) return tf.layers.softmax({ name: c.name, axis: -1 }).apply(x) as T;
  return new Softmax({ name: c.name, axis }).apply(x) as T;
}

export function leaky(x: T, c: { name: string; alpha: number }): T {
  return tf.layers.leakyReLU({ name: c.name, alpha: c.alpha }).apply(x) as T;
}

export interface PoolConfig {
  name: string;
  kind: "max" | "avg";
  kernel: number[];
  strides: number[];
  pads: number[];
  /** ceil_mode: ONNX AveragePool(ceil_mode=1, count_include_pad=1) as ONNX Runtime computes it. */
  ceil?: boolean;
  /** Average only: false divides by the window's cells inside the input (count_include_pad=False). */
  countPad?: boolean;
}

/** Max or average pooling (count_include_pad) at 1, 2 or 3 spatial dims, explicit pads. */
export function pool(x: T, c: PoolConfig): T {
  const n = c.kernel.length;
  if (c.kind === "avg" && (c.ceil || c.countPad === false)) {
    const cfg = { name: c.name, kernel: c.kernel, strides: c.strides, pads: c.pads };
    return new AvgPoolCeil({ ...cfg, ceil: c.ceil === true, countPad: c.countPad !== false }).apply(x) as T;
  }
  let pads = c.pads;
  if (c.ceil) {
    // max: more padding at the ends (never the max) covers the last, partial windows
    const extra = c.kernel.map((k, i) => {
      const size = x.shape[i + 1]!;
      const total = size + pads[i]! + pads[i + n]!;
      let out = Math.ceil((total - k) / c.strides[i]!) + 1;
      if ((out - 1) * c.strides[i]! >= size + pads[i]!) out--;
      return Math.max(0, (out - 1) * c.strides[i]! + k - total);
    });
    pads = [...pads.slice(0, n), ...pads.slice(n).map((p, i) => p + extra[i]!)];
  }
  let input = x;
  if (pads.some((p) => p > 0)) {
    // Max: pad with a very negative value so padding never wins. Average: PyTorch counts
    // padded zeros (count_include_pad=True), so pad with zeros.
    const value = c.kind === "max" ? -3.4e38 : 0;
    input = (
      n === 2
        ? new ConstantPad2D({ name: `${c.name}/pad`, pads: [pads[0]!, pads[1]!, pads[2]!, pads[3]!], value })
        : new ConstantPadND({ name: `${c.name}/pad`, pads, value })
    ).apply(x) as T;
  }
  const max = c.kind === "max";
  const square = n === 2 && c.kernel[0] === c.kernel[1] && c.strides[0] === c.strides[1];
  let layer: tf.layers.Layer;
  if (max && !square) {
    // tfjs's MaxPool3DGrad (cpu) and MaxPoolGrad for non-square windows (wasm) are wrong
    layer = new MaxPool({ name: c.name, kernel: c.kernel, strides: c.strides });
  } else if (n === 1) {
    const cfg = { name: c.name, poolSize: c.kernel[0]!, strides: c.strides[0]!, padding: "valid" as const };
    layer = tf.layers.averagePooling1d(cfg);
  } else if (n === 2) {
    const cfg = {
      name: c.name,
      poolSize: c.kernel as [number, number],
      strides: c.strides as [number, number],
      padding: "valid" as const,
    };
    layer = max ? tf.layers.maxPooling2d(cfg) : tf.layers.averagePooling2d(cfg);
  } else {
    const cfg = {
      name: c.name,
      poolSize: c.kernel as [number, number, number],
      strides: c.strides as [number, number, number],
      padding: "valid" as const,
    };
    layer = tf.layers.averagePooling3d(cfg);
  }
  return layer.apply(input) as T;
}

/** Global average pooling that keeps the spatial dims as 1: [N,1,C], [N,1,1,C], [N,1,1,1,C].
 * Rank 4 as before (tfjs's globalAveragePooling2d `${name}/gap` + reshape `name`); else one layer. */
export function globalAvgPool(x: T, c: { name: string; channels?: number }): T {
  if (x.shape.length !== 4) return new GlobalAvgPool({ name: c.name }).apply(x) as T;
  const channels = c.channels ?? x.shape[3]!;
  const pooled = tf.layers.globalAveragePooling2d({ name: `${c.name}/gap` }).apply(x) as T;
  return tf.layers.reshape({ name: c.name, targetShape: [1, 1, channels] }).apply(pooled) as T;
}

/** Plain flatten (row-major over the tfjs dims). With `spatial` > 1 (the old emitter's form): first
 * permute NHWC to NCHW, so a dense layer after it has PyTorch's weight layout. */
export function flatten(x: T, c: { name: string; spatial?: number }): T {
  // tfjs's Flatten wants rank 3 or more; a batch of vectors is already flat.
  if (x.shape.length === 2) return tf.layers.reshape({ name: c.name, targetShape: [x.shape[1]!] }).apply(x) as T;
  const input =
    c.spatial !== undefined && c.spatial > 1
      ? (tf.layers.permute({ name: `${c.name}/nchw`, dims: [3, 1, 2] }).apply(x) as T)
      : x;
  return tf.layers.flatten({ name: c.name }).apply(input) as T;
}

/** TensorFlow-style SAME padding computed at run time (padding=same with a stride on a symbolic
 * size): the op after it is then given zero pads. */
export function samePad(
  x: T,
  c: { name: string; kernel: number[]; strides: number[]; dilation: number[]; value: number },
): T {
  return new SamePad(c).apply(x) as T;
}

/** tfjs permute: `dims` 1-based, excluding the batch axis. */
export function permute(x: T, c: { name: string; dims: number[] }): T {
  return tf.layers.permute({ name: c.name, dims: c.dims }).apply(x) as T;
}

/** Reshape to a non-batch target shape. */
export function reshape(x: T, c: { name: string; shape: number[] }): T {
  return tf.layers.reshape({ name: c.name, targetShape: c.shape }).apply(x) as T;
}

export function dropout(x: T, c: { name: string; rate: number }): T {
  return tf.layers.dropout({ name: c.name, rate: c.rate }).apply(x) as T;
}

export function dropPath(x: T, c: { name: string; p: number }): T {
  return new DropPath({ name: c.name, p: c.p }).apply(x) as T;
}

export function scale(x: T, c: { name: string; factor: number }): T {
  return new Scale({ name: c.name, factor: c.factor }).apply(x) as T;
}

export function learnedScale(x: T, c: { name: string; size: number }): T {
  return weightLayer(c.name, () => new LearnedScale({ name: c.name, size: c.size })).apply(x) as T;
}

export function learnedShift(x: T, c: { name: string }): T {
  return weightLayer(c.name, () => new LearnedShift({ name: c.name })).apply(x) as T;
}

/**
 * The inputs of a merge with repeats (`a * a`) given distinct tensors: tfjs's model execution
 * counts a layer's uses of a tensor once per input slot but frees it after the first, so a tensor
 * given twice to one layer and used elsewhere too ended "disposed" (`let b = a * a; output a + b`).
 * Each repeat goes through an identity (linear activation) layer of its own.
 */
function distinct(xs: T[], name: string): T[] {
  const seen = new Set<T>();
  return xs.map((x, i) => {
    if (!seen.has(x)) return (seen.add(x), x);
    return tf.layers.activation({ name: `${name}/repeat${i}`, activation: "linear" }).apply(x) as T;
  });
}

export function add(xs: T[], c: { name: string }): T {
  return tf.layers.add({ name: c.name }).apply(distinct(xs, c.name)) as T;
}

export function multiply(xs: T[], c: { name: string }): T {
  return tf.layers.multiply({ name: c.name }).apply(distinct(xs, c.name)) as T;
}

/** xs[0] - xs[1], broadcasting (tf.layers has no subtract layer). */
export function subtract(xs: T[], c: { name: string }): T {
  return new Subtract({ name: c.name }).apply(distinct(xs, c.name)) as T;
}

/** The part [start, end) of x along a tfjs axis (not the batch). */
export function slice(x: T, c: { name: string; axis: number; start: number; end: number }): T {
  return new Slice({ name: c.name, axis: c.axis, start: c.start, end: c.end }).apply(x) as T;
}

/** SEW IAND: (1 - xs[0]) * xs[1]. */
export function sewIand(xs: T[], c: { name: string }): T {
  return new SewIand({ name: c.name }).apply(distinct(xs, c.name)) as T;
}

/** Concatenation over a tfjs axis (default -1, the channels). */
export function concat(xs: T[], c: { name: string; axis?: number }): T {
  return tf.layers.concatenate({ name: c.name, axis: c.axis ?? -1 }).apply(distinct(xs, c.name)) as T;
}

export function optionA(x: T, c: { name: string; stride: number; before: number; after: number }): T {
  return new OptionAShortcut({ name: c.name, stride: c.stride, before: c.before, after: c.after }).apply(x) as T;
}

/** Upsampling by an integer factor of every spatial dim, as ONNX Resize: "nearest" (asymmetric,
 * floor) or "linear" (half-pixel; PyTorch align_corners=False; with alignCorners, PyTorch
 * align_corners=True, ONNX "align_corners"). "bilinear" is read as "linear".
 * 2-D nearest is tfjs's upSampling2d (the same values); everything else one ResnetcUpsample. */
export function upsample(
  x: T,
  c: { name: string; size: number; mode: "nearest" | "linear" | "bilinear"; alignCorners?: boolean },
): T {
  // Not tf.layers.upSampling2d: on the cpu backend its gradient (ResizeNearestNeighborGrad) is
  // wrong at scale 3 (the parity matrix's "2d nearest x3": 1.15 relative error); Upsample's tile
  // has a correct gradient on every backend.
  const mode = c.mode === "nearest" ? "nearest" : "linear";
  return new Upsample({ name: c.name, size: c.size, mode, alignCorners: c.alignCorners ?? false }).apply(x) as T;
}

/** PyTorch PixelShuffle (ONNX DepthToSpace CRD) on [N, H, W, C*r*r]. */
export function pixelShuffle(x: T, c: { name: string; r: number }): T {
  return new PixelShuffle({ name: c.name, r: c.r }).apply(x) as T;
}

/** An input layer of exactly the declared (non-batch) shape; the model permutes internally. */
export function input(c: { name: string; shape: (number | null)[] }): T {
  return tf.input({ name: c.name, shape: c.shape });
}
