// The layers emitted TensorFlow.js programs are built from: one helper per IR op, taking and
// giving symbolic NHWC tensors, plus the custom layers tfjs lacks (option A shortcut, constant
// scale, learned gate, LayerScale, drop-path, padding with a constant). Custom layers are
// registered with tfjs's serialization, so `tf.loadLayersModel` can read a saved model back.
// Takes: canonical (NCHW) configuration from the emitter. Gives: tfjs layers applied to inputs.
// Must not: initialise weights (params.ts does, identically to the ONNX emitter).

import * as tf from "@tensorflow/tfjs";
import { FusedBatchNorm } from "./batchnorm.js";

type T = tf.SymbolicTensor;
type Kwargs = Record<string, unknown>;

/** x[:, ::s, ::s, :] with `before`/`after` zero channels: option A (He et al. 2015, Sec. 4.2). */
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
    const [n, h, w, c] = s as tf.Shape;
    const sub = (d: number | null | undefined): number | null => (d == null ? null : Math.ceil(d / this.stride));
    return [n ?? null, sub(h), sub(w), c == null ? null : c + this.before + this.after];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (this.stride > 1) {
        // x[:, ::s, ::s, :] through reshape + slice, which (unlike stridedSlice) have gradients
        // in every tfjs backend: pad H and W up to multiples of s, view x as [n*H/s, s, W/s, s*c]
        // (row offset, column offset folded with the channels) and keep offset 0 of both. Rank 4
        // throughout: the gradient of a rank-6 slice is a rank-6 pad, whose WGSL in tfjs's webgpu
        // backend does not compile ("cannot index type 'vec6'").
        const s = this.stride;
        const [n, h, w, c] = x.shape as [number, number, number, number];
        const hs = Math.ceil(h / s);
        const ws = Math.ceil(w / s);
        if (hs * s > h || ws * s > w)
          x = tf.pad(x, [
            [0, 0],
            [0, hs * s - h],
            [0, ws * s - w],
            [0, 0],
          ]);
        x = tf.reshape(tf.slice(tf.reshape(x, [n * hs, s, ws, s * c]), [0, 0, 0, 0], [n * hs, 1, ws, c]), [
          n,
          hs,
          ws,
          c,
        ]);
      }
      return this.before || this.after
        ? tf.pad(x, [
            [0, 0],
            [0, 0],
            [0, 0],
            [this.before, this.after],
          ])
        : x;
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
  for (const c of [OptionAShortcut, ConstantPad2D, Scale, LearnedScale, DropPath])
    tf.serialization.registerClass(
      c as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    );
  registered = true;
}

// ---- one helper per IR op; shapes are NHWC, configuration canonical ----

/** The padding tfjs's "same" gives for stride 1 (symmetric, (k-1)/2 * dilation) equals ours. */
function sameMatches(kernel: number[], strides: number[], dilation: number[], pads: number[]): boolean {
  const n = kernel.length;
  return (
    strides.every((s) => s === 1) &&
    kernel.every((k, i) => (k - 1) % 2 === 0 && pads[i] === ((k - 1) / 2) * dilation[i]! && pads[i + n] === pads[i])
  );
}

function pair(xs: number[]): [number, number] {
  return [xs[0]!, xs[1] ?? xs[0]!];
}

function zeroPad(x: T, pads: number[], name: string): T {
  const [t, l, b, r] = pads as [number, number, number, number];
  if (!t && !l && !b && !r) return x;
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

export interface ConvConfig {
  name: string;
  filters: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilation: number[];
  bias: boolean;
}

export function conv(x: T, c: ConvConfig): T {
  const same = sameMatches(c.kernel, c.strides, c.dilation, c.pads);
  const input = same ? x : zeroPad(x, c.pads, c.name);
  return tf.layers
    .conv2d({
      name: c.name,
      filters: c.filters,
      kernelSize: pair(c.kernel),
      strides: pair(c.strides),
      dilationRate: pair(c.dilation),
      padding: same ? "same" : "valid",
      useBias: c.bias,
      kernelInitializer: "zeros",
    })
    .apply(input) as T;
}

export function dwconv(x: T, c: ConvConfig & { multiplier: number }): T {
  const same = sameMatches(c.kernel, c.strides, c.dilation, c.pads);
  const input = same ? x : zeroPad(x, c.pads, c.name);
  return tf.layers
    .depthwiseConv2d({
      name: c.name,
      kernelSize: pair(c.kernel),
      depthMultiplier: c.multiplier,
      strides: pair(c.strides),
      dilationRate: pair(c.dilation),
      padding: same ? "same" : "valid",
      useBias: c.bias,
      depthwiseInitializer: "zeros",
    })
    .apply(input) as T;
}

export function dense(x: T, c: { name: string; units: number; bias: boolean }): T {
  return tf.layers.dense({ name: c.name, units: c.units, useBias: c.bias, kernelInitializer: "zeros" }).apply(x) as T;
}

export function bn(x: T, c: { name: string; eps: number; momentum: number }): T {
  // PyTorch's momentum weights the new batch statistic; Keras's weights the running value.
  // FusedBatchNorm is tfjs's layer (it saves as one) with a faster training step on cpu and wasm.
  return new FusedBatchNorm({ name: c.name, axis: -1, epsilon: c.eps, momentum: 1 - c.momentum }).apply(x) as T;
}

export function activation(
  x: T,
  c: { name: string; fn: "relu" | "sigmoid" | "tanh" | "gelu" | "swish" | "softmax" },
): T {
  if (c.fn === "relu") return tf.layers.reLU({ name: c.name }).apply(x) as T;
  if (c.fn === "softmax") return tf.layers.softmax({ name: c.name, axis: -1 }).apply(x) as T;
  return tf.layers.activation({ name: c.name, activation: c.fn }).apply(x) as T;
}

export function leaky(x: T, c: { name: string; alpha: number }): T {
  return tf.layers.leakyReLU({ name: c.name, alpha: c.alpha }).apply(x) as T;
}

export function pool(
  x: T,
  c: { name: string; kind: "max" | "avg"; kernel: number[]; strides: number[]; pads: number[] },
): T {
  let input = x;
  if (c.pads.some((p) => p > 0)) {
    // Max: pad with a very negative value so padding never wins. Average: PyTorch counts
    // padded zeros (count_include_pad=True), so pad with zeros.
    input = new ConstantPad2D({ name: `${c.name}/pad`, pads: c.pads, value: c.kind === "max" ? -3.4e38 : 0 }).apply(
      x,
    ) as T;
  }
  const cfg = {
    name: c.name,
    poolSize: c.kernel as [number, number],
    strides: c.strides as [number, number],
    padding: "valid" as const,
  };
  return (c.kind === "max" ? tf.layers.maxPooling2d(cfg) : tf.layers.averagePooling2d(cfg)).apply(input) as T;
}

/** Global average pooling that keeps the 1x1 spatial dims, as the canonical graph does. */
export function globalAvgPool(x: T, c: { name: string; channels: number }): T {
  const pooled = tf.layers.globalAveragePooling2d({ name: `${c.name}/gap` }).apply(x) as T;
  return tf.layers.reshape({ name: c.name, targetShape: [1, 1, c.channels] }).apply(pooled) as T;
}

/** Flattens in canonical (NCHW) order, so a dense layer after it has PyTorch's weight layout. */
export function flatten(x: T, c: { name: string; spatial: number }): T {
  const input = c.spatial > 1 ? (tf.layers.permute({ name: `${c.name}/nchw`, dims: [3, 1, 2] }).apply(x) as T) : x;
  return tf.layers.flatten({ name: c.name }).apply(input) as T;
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
  return new LearnedScale({ name: c.name, size: c.size }).apply(x) as T;
}

export function add(xs: T[], c: { name: string }): T {
  return tf.layers.add({ name: c.name }).apply(xs) as T;
}

export function multiply(xs: T[], c: { name: string }): T {
  return tf.layers.multiply({ name: c.name }).apply(xs) as T;
}

export function concat(xs: T[], c: { name: string }): T {
  return tf.layers.concatenate({ name: c.name, axis: -1 }).apply(xs) as T;
}

export function optionA(x: T, c: { name: string; stride: number; before: number; after: number }): T {
  return new OptionAShortcut({ name: c.name, stride: c.stride, before: c.before, after: c.after }).apply(x) as T;
}

export function upsample(x: T, c: { name: string; size: number; mode: "nearest" | "bilinear" }): T {
  return tf.layers.upSampling2d({ name: c.name, size: [c.size, c.size], interpolation: c.mode }).apply(x) as T;
}

/** An input layer: canonical [C, H, W] becomes tfjs's [H, W, C]. */
export function input(c: { name: string; shape: (number | null)[] }): T {
  const s = c.shape.length === 3 ? [c.shape[1]!, c.shape[2]!, c.shape[0]!] : c.shape;
  return tf.input({ name: c.name, shape: s });
}
