// Custom tfjs layers for 1, 2 and 3 spatial dims, channels last ([N, L, C], [N, H, W, C],
// [N, D, H, W, C]): constant padding, convolution (tfjs weights; 3-D or dilated), grouped
// convolution (canonical weight), max pooling,
// average pooling with ceil_mode, global average pooling, hardswish, SEW IAND, upsampling
// (nearest and linear), pixel shuffle, group norm and PReLU; and the tensor functions they use.
// Takes: canonical configuration (per spatial dim in D, H, W order; ONNX pads [begins..., ends...]).
// Gives: layers registered with tfjs serialization (names "Resnetc..."), whose calls use only ops
// with gradients on the cpu, wasm and webgpu backends (no stridedSlice; tensors of rank <= 5).
// Must not: initialise weights (params.ts does), nor read tensors back to the CPU inside call().

import * as tf from "@tensorflow/tfjs";

type Shape = (number | null)[];

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function prod(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** Pads the spatial axes (1..n) of a channels-last tensor, ONNX-style pads [b_0..b_{n-1}, e_0..e_{n-1}]. */
export function padSpatial(x: tf.Tensor, pads: number[], value = 0): tf.Tensor {
  const n = pads.length / 2;
  if (pads.every((p) => p === 0)) return x;
  const p: [number, number][] = [[0, 0]];
  for (let i = 0; i < n; i++) p.push([pads[i]!, pads[i + n]!]);
  p.push([0, 0]);
  return tf.pad(x, p, value);
}

/** x taking every s-th entry along `axis` from 0: reshape + slice (rank 4), no stridedSlice. */
export function subsampleAxis(x: tf.Tensor, axis: number, s: number): tf.Tensor {
  if (s === 1) return x;
  const shape = x.shape;
  const len = shape[axis]!;
  const out = Math.ceil(len / s);
  if (out * s > len) {
    const p: [number, number][] = shape.map(() => [0, 0]);
    p[axis] = [0, out * s - len];
    x = tf.pad(x, p);
  }
  const pre = prod(shape.slice(0, axis));
  const post = prod(shape.slice(axis + 1));
  const kept = tf.slice(tf.reshape(x, [pre, out, s, post]), [0, 0, 0, 0], [pre, out, 1, post]);
  const outShape = [...shape];
  outShape[axis] = out;
  return tf.reshape(kept, outShape);
}

/** x[:, ::s_0, ..., ::s_{n-1}, :] for a channels-last tensor. */
export function subsample(x: tf.Tensor, strides: number[]): tf.Tensor {
  strides.forEach((s, i) => (x = subsampleAxis(x, i + 1, s)));
  return x;
}

/** Pads the spatial dims with a constant (ONNX pads); value -3.4e38 before a max pool. */
export class ConstantPadND extends tf.layers.Layer {
  static className = "ResnetcConstantPad";
  private readonly pads: number[];
  private readonly value: number;
  constructor(config: { pads: number[]; value: number; name?: string }) {
    super(config);
    this.pads = config.pads;
    this.value = config.value;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    const n = this.pads.length / 2;
    return shape.map((d, i) =>
      i === 0 || i > n || d == null ? d : d + this.pads[i - 1]! + this.pads[i - 1 + n]!,
    ) as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => padSpatial(first(inputs), this.pads, this.value));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), pads: this.pads, value: this.value };
  }
}

/** Output length of a valid convolution or pool along one axis. */
function convOut(len: number, k: number, s: number, d: number): number {
  return Math.floor((len - d * (k - 1) - 1) / s) + 1;
}

/**
 * Dilated stride-1 valid depthwise conv without tfjs's dilation (whose gradient tfjs lacks):
 * split each axis into its d phases (moved into the batch), convolve undilated, interleave back.
 */
function dilatedByPhases(
  x: tf.Tensor4D,
  f: tf.Tensor4D,
  dil: [number, number],
  op: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const [dh, dw] = dil;
  const [kh, kw] = [f.shape[0], f.shape[1]];
  const ho = h - dh * (kh - 1);
  const wo = w - dw * (kw - 1);
  const hp = Math.ceil(h / dh) * dh;
  const wp = Math.ceil(w / dw) * dw;
  let y: tf.Tensor = tf.pad(x, [
    [0, 0],
    [0, hp - h],
    [0, wp - w],
    [0, 0],
  ]);
  // [b, hp/dh, dh, wp*c] -> [dh, b, hp/dh, wp*c] -> [dh*b*hp/dh, wp/dw, dw, c] -> [dw, dh*b*hp/dh, wp/dw, c]
  y = tf.transpose(tf.reshape(y, [b, hp / dh, dh, wp * c]), [2, 0, 1, 3]);
  y = tf.transpose(tf.reshape(y, [dh * b * (hp / dh), wp / dw, dw, c]), [2, 0, 1, 3]);
  y = tf.reshape(y, [dw * dh * b, hp / dh, wp / dw, c]);
  y = op(y as tf.Tensor4D, f);
  const [qh, qw, co] = [y.shape[1]!, y.shape[2]!, y.shape[3]!];
  // inverse: [dw, dh*b*qh, qw, co] -> [dh*b*qh, qw, dw, co] -> [dh, b, qh, qw*dw*co] -> [b, qh, dh, ...]
  y = tf.transpose(tf.reshape(y, [dw, dh * b * qh, qw, co]), [1, 2, 0, 3]);
  y = tf.transpose(tf.reshape(y, [dh, b, qh, qw * dw * co]), [1, 2, 0, 3]);
  y = tf.reshape(y, [b, qh * dh, qw * dw, co]);
  return tf.slice(y, [0, 0, 0, 0], [b, ho, wo, co]) as tf.Tensor4D;
}

/** Valid depthwise conv with any strides and dilations, gradients included. */
function depthwise(x: tf.Tensor4D, f: tf.Tensor4D, strides: number[], dil: number[]): tf.Tensor4D {
  const s: [number, number] = [strides[0]!, strides[1]!];
  if (dil.every((d) => d === 1)) return tf.depthwiseConv2d(x, f, s, "valid");
  const y = dilatedByPhases(x, f, [dil[0]!, dil[1]!], (a, b) => tf.depthwiseConv2d(a, b, 1, "valid"));
  return subsample(y, s) as tf.Tensor4D;
}

/** Valid conv2d (filter [kh, kw, I, O]) with any strides and dilations, gradients included. */
function conv2dAny(x: tf.Tensor4D, f: tf.Tensor4D, strides: number[], dil: number[]): tf.Tensor4D {
  const s: [number, number] = [strides[0]!, strides[1]!];
  if (dil.every((d) => d === 1)) return tf.conv2d(x, f, s, "valid");
  const y = dilatedByPhases(x, f, [dil[0]!, dil[1]!], (a, b) => tf.conv2d(a, b, 1, "valid"));
  return subsample(y, s) as tf.Tensor4D;
}

/** Valid 3-D conv of [N, D, H, W, C] as the sum over the kd depth taps of 2-D convs of depth slabs
 * (`conv2d(slab, tap)`, tap a = 0..kd-1). */
function overDepthTaps(
  x: tf.Tensor,
  kd: number,
  sd: number,
  dd: number,
  conv2d: (slab: tf.Tensor4D, a: number) => tf.Tensor4D,
): tf.Tensor {
  const [b, d, h, w, c] = x.shape as number[];
  const dOut = convOut(d!, kd, sd, dd);
  let acc: tf.Tensor | null = null;
  for (let a = 0; a < kd; a++) {
    const slab = subsampleAxis(tf.slice(x, [0, a * dd, 0, 0, 0], [b!, (dOut - 1) * sd + 1, h!, w!, c!]), 1, sd);
    const y = conv2d(tf.reshape(slab, [b! * dOut, h!, w!, c!]) as tf.Tensor4D, a);
    acc = acc ? tf.add(acc, y) : y;
  }
  return tf.reshape(acc!, [b!, dOut, acc!.shape[1]!, acc!.shape[2]!, acc!.shape[3]!]);
}

/** [.., g*k_in*m] (channel (gi*k_in + j)*m + t) summed over j: [.., g*m]. */
function groupSum(y: tf.Tensor, g: number, kin: number, m: number): tf.Tensor {
  if (kin === 1) return y;
  const lead = y.shape.slice(0, -1);
  return tf.reshape(tf.sum(tf.reshape(y, [prod(lead), g, kin, m]), 2), [...lead, g * m]);
}

/** Grouped conv of a padded channels-last tensor with canonical weight [O, I/g, ...k]. */
export function groupedConv(x: tf.Tensor, w: tf.Tensor, groups: number, strides: number[], dil: number[]): tf.Tensor {
  const n = strides.length;
  const [o, kin] = [w.shape[0]!, w.shape[1]!];
  const k = w.shape.slice(2);
  const g = groups;
  const m = o / g;
  const c = g * kin;
  if (n === 1) {
    const [b, l] = [x.shape[0]!, x.shape[1]!];
    const y = groupedConv(
      tf.reshape(x, [b, 1, l, c]),
      tf.reshape(w, [o, kin, 1, k[0]!]),
      g,
      [1, strides[0]!],
      [1, dil[0]!],
    );
    return tf.reshape(y, [b, y.shape[2]!, o]);
  }
  if (n === 2) {
    // depthwise filter [kh, kw, c, m]: entry (c = gi*kin + j, t) is W[gi*m + t, j]
    const f = tf.reshape(tf.transpose(tf.reshape(w, [g, m, kin, k[0]! * k[1]!]), [3, 0, 2, 1]), [k[0]!, k[1]!, c, m]);
    return groupSum(depthwise(x as tf.Tensor4D, f as tf.Tensor4D, strides, dil), g, kin, m);
  }
  // 3-D: sum over the kd depth taps of a 2-D depthwise conv of the matching depth slab.
  const [kd, kh, kw] = k as [number, number, number];
  const f = tf.reshape(tf.transpose(tf.reshape(w, [g, m, kin, kd, kh * kw]), [3, 4, 0, 2, 1]), [kd, kh, kw, c, m]);
  const y = overDepthTaps(x, kd, strides[0]!, dil[0]!, (slab, a) => {
    const fa = tf.reshape(tf.slice(f, [a, 0, 0, 0, 0], [1, kh, kw, c, m]), [kh, kw, c, m]);
    return depthwise(slab, fa as tf.Tensor4D, strides.slice(1), dil.slice(1));
  });
  return groupSum(y, g, kin, m);
}

export interface GroupedConvConfig {
  filters: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilation: number[];
  groups: number;
  bias: boolean;
  name?: string;
}

/**
 * A grouped convolution (1, 2 or 3 spatial dims) holding its weight in PyTorch's layout
 * [O, I/groups, ...k] (index 0) and bias [O] (index 1). 2-D: one depthwise conv with multiplier
 * O/groups and a sum over each group's inputs (exactly the grouped conv's multiply-adds); 1-D: the
 * same with a unit H; 3-D: the sum over the depth taps of such 2-D convs of depth slabs. Dilation
 * splits each axis into phases (tfjs has no gradient for dilated convs).
 */
export class GroupedConv extends tf.layers.Layer {
  static className = "ResnetcGroupedConv";
  private readonly cfg: GroupedConvConfig;
  private kernelVar: tf.LayerVariable | null = null;
  private biasVar: tf.LayerVariable | null = null;
  constructor(config: GroupedConvConfig) {
    super(config);
    const { name: _name, ...cfg } = config;
    this.cfg = cfg;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as Shape;
    const cin = shape[shape.length - 1]!;
    const c = this.cfg;
    this.kernelVar = this.addWeight(
      "kernel",
      [c.filters, cin / c.groups, ...c.kernel],
      "float32",
      tf.initializers.zeros(),
    );
    if (c.bias) this.biasVar = this.addWeight("bias", [c.filters], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    const c = this.cfg;
    const n = c.kernel.length;
    const out: Shape = [shape[0] ?? null];
    for (let i = 0; i < n; i++) {
      const len = shape[i + 1];
      out.push(
        len == null ? null : convOut(len + c.pads[i]! + c.pads[i + n]!, c.kernel[i]!, c.strides[i]!, c.dilation[i]!),
      );
    }
    out.push(c.filters);
    return out as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const c = this.cfg;
      const x = padSpatial(first(inputs), c.pads, 0);
      const y = groupedConv(x, this.kernelVar!.read(), c.groups, c.strides, c.dilation);
      return this.biasVar ? tf.add(y, this.biasVar.read()) : y;
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.cfg } as unknown as tf.serialization.ConfigDict;
  }
}

/**
 * A convolution holding tfjs's weights: conv1d/conv2d/conv3d's kernel [...k, I, O], or with
 * `multiplier`, depthwiseConv2d's [kh, kw, C, multiplier] (index 0), and bias [O] (index 1);
 * it pads inside (ONNX pads). 1-D runs as 2-D with a unit H, 3-D as the sum over the depth taps of
 * conv2d's of depth slabs, dilation by splitting H and W into phases: the gradients stay right on
 * every backend (tfjs's wasm Conv3DBackpropInputV2 is wrong; tfjs has no dilated-conv gradients).
 */
export class Conv extends tf.layers.Layer {
  static className = "ResnetcConv";
  private readonly cfg: Omit<GroupedConvConfig, "groups" | "name"> & { multiplier?: number };
  private kernelVar: tf.LayerVariable | null = null;
  private biasVar: tf.LayerVariable | null = null;
  constructor(config: Omit<GroupedConvConfig, "groups"> & { multiplier?: number }) {
    super(config);
    const { name: _name, ...cfg } = config;
    this.cfg = cfg;
  }
  private outChannels(cin: number): number {
    return this.cfg.multiplier ? cin * this.cfg.multiplier : this.cfg.filters;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as Shape;
    const cin = shape[shape.length - 1]!;
    const c = this.cfg;
    const dims = c.multiplier ? [...c.kernel, cin, c.multiplier] : [...c.kernel, cin, c.filters];
    this.kernelVar = this.addWeight("kernel", dims, "float32", tf.initializers.zeros());
    if (c.bias) this.biasVar = this.addWeight("bias", [this.outChannels(cin)], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    const c = this.cfg;
    const n = c.kernel.length;
    const out: Shape = [shape[0] ?? null];
    for (let i = 0; i < n; i++) {
      const len = shape[i + 1];
      const padded = len == null ? null : len + c.pads[i]! + c.pads[i + n]!;
      out.push(padded == null ? null : convOut(padded, c.kernel[i]!, c.strides[i]!, c.dilation[i]!));
    }
    const cin = shape[n + 1];
    out.push(cin == null ? null : this.outChannels(cin));
    return out as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const c = this.cfg;
      const n = c.kernel.length;
      let x = padSpatial(first(inputs), c.pads, 0);
      let w = this.kernelVar!.read() as tf.Tensor;
      const op = (xx: tf.Tensor4D, f: tf.Tensor4D, st: number[], dl: number[]) =>
        c.multiplier ? depthwise(xx, f, st, dl) : conv2dAny(xx, f, st, dl);
      let y: tf.Tensor;
      if (n === 1) {
        const [b, l, ci] = x.shape as number[];
        x = tf.reshape(x, [b!, 1, l!, ci!]);
        w = tf.reshape(w, [1, ...w.shape]);
        const y4 = op(x as tf.Tensor4D, w as tf.Tensor4D, [1, c.strides[0]!], [1, c.dilation[0]!]);
        y = tf.reshape(y4, [b!, y4.shape[2], y4.shape[3]]);
      } else if (n === 2) {
        y = op(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.dilation);
      } else {
        const [kd, kh, kw, ci, co] = w.shape as number[];
        y = overDepthTaps(x, kd!, c.strides[0]!, c.dilation[0]!, (slab, a) => {
          const fa = tf.reshape(tf.slice(w, [a, 0, 0, 0, 0], [1, kh!, kw!, ci!, co!]), [kh!, kw!, ci!, co!]);
          return op(slab, fa as tf.Tensor4D, c.strides.slice(1), c.dilation.slice(1));
        });
      }
      return this.biasVar ? tf.add(y, this.biasVar.read()) : y;
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.cfg } as unknown as tf.serialization.ConfigDict;
  }
}

/** Per spatial dim: output size, extra end padding and divisor of ONNX AveragePool(ceil_mode=1,
 * count_include_pad=1) as ONNX Runtime computes it. */
export function ceilPoolGeometry(
  size: number,
  k: number,
  s: number,
  pb: number,
  pe: number,
  ceil = true,
  countPad = true,
): { out: number; extra: number; count: number[] } {
  const total = size + pb + pe;
  let out = ceil ? Math.ceil((total - k) / s) + 1 : Math.floor((total - k) / s) + 1;
  if (ceil && (out - 1) * s >= size + pb) out--;
  const extra = Math.max(0, (out - 1) * s + k - total);
  const count: number[] = [];
  // Counted: the window's cells up to the end pad; not counted: its cells inside the input.
  for (let i = 0; i < out; i++)
    count.push(
      countPad ? Math.min(i * s + k, total) - i * s : Math.min(i * s - pb + k, size) - Math.max(i * s - pb, 0),
    );
  return { out, extra, count };
}

function avgPoolValid(x: tf.Tensor, kernel: number[], strides: number[]): tf.Tensor {
  const n = kernel.length;
  if (n === 2) return tf.avgPool(x as tf.Tensor4D, kernel as [number, number], strides as [number, number], "valid");
  if (n === 3)
    return tf.avgPool3d(
      x as tf.Tensor5D,
      kernel as [number, number, number],
      strides as [number, number, number],
      "valid",
    );
  const [b, l, c] = x.shape as number[];
  const y = tf.avgPool(tf.reshape(x, [b!, 1, l!, c!]) as tf.Tensor4D, [1, kernel[0]!], [1, strides[0]!], "valid");
  return tf.reshape(y, [b!, y.shape[2]!, c!]);
}

/** Average pool (count_include_pad) with ceil_mode: zero padding, a sum pool and a constant map
 * of divisors (the last windows count only positions inside input + pads). */
export class AvgPoolCeil extends tf.layers.Layer {
  static className = "ResnetcAvgPoolCeil";
  private readonly kernel: number[];
  private readonly strides: number[];
  private readonly pads: number[];
  private readonly ceil: boolean;
  private readonly countPad: boolean;
  constructor(config: {
    kernel: number[];
    strides: number[];
    pads: number[];
    name?: string;
    /** ceil_mode (true when absent: the layer's first use). */
    ceil?: boolean;
    /** count_include_pad (true when absent); false divides by the cells inside the input. */
    countPad?: boolean;
  }) {
    super(config);
    this.kernel = config.kernel;
    this.strides = config.strides;
    this.pads = config.pads;
    this.ceil = config.ceil ?? true;
    this.countPad = config.countPad ?? true;
  }
  private geometry(shape: Shape) {
    const n = this.kernel.length;
    return this.kernel.map((k, i) =>
      ceilPoolGeometry(shape[i + 1]!, k, this.strides[i]!, this.pads[i]!, this.pads[i + n]!, this.ceil, this.countPad),
    );
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    return [shape[0] ?? null, ...this.geometry(shape).map((g) => g.out), shape[shape.length - 1] ?? null] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const n = this.kernel.length;
      const geo = this.geometry(x.shape);
      const pads = [...this.pads.slice(0, n), ...this.pads.slice(n).map((p, i) => p + geo[i]!.extra)];
      const y = avgPoolValid(padSpatial(x, pads, 0), this.kernel, this.strides);
      // factor prod(k) / prod(count): outer product over the spatial dims
      const outs = geo.map((g) => g.out);
      const factor = new Float32Array(prod(outs));
      const kk = prod(this.kernel);
      for (let idx = 0; idx < factor.length; idx++) {
        let rem = idx;
        let cnt = 1;
        for (let i = n - 1; i >= 0; i--) {
          cnt *= geo[i]!.count[rem % outs[i]!]!;
          rem = Math.floor(rem / outs[i]!);
        }
        factor[idx] = kk / cnt;
      }
      return tf.mul(y, tf.tensor(factor, [1, ...outs, 1]));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      kernel: this.kernel,
      strides: this.strides,
      pads: this.pads,
      ceil: this.ceil,
      countPad: this.countPad,
    };
  }
}

/** Max over windows of `k` entries `s` apart along one axis: slices and tf.maximum. */
function maxAlongAxis(x: tf.Tensor, axis: number, k: number, s: number): tf.Tensor {
  const len = x.shape[axis]!;
  const out = convOut(len, k, s, 1);
  let acc: tf.Tensor | null = null;
  for (let a = 0; a < k; a++) {
    const begin = x.shape.map((_, i) => (i === axis ? a : 0));
    const size = x.shape.map((d, i) => (i === axis ? (out - 1) * s + 1 : d));
    const tap = subsampleAxis(tf.slice(x, begin, size), axis, s);
    acc = acc ? tf.maximum(acc, tap) : tap;
  }
  return acc!;
}

/**
 * Valid max pool at 1, 2 or 3 spatial dims whose gradient is right on every backend: tfjs's
 * MaxPool3DGrad (cpu) is wrong for kernels or strides that differ per axis, and the wasm
 * MaxPoolGrad for non-square windows (maxPooling1d's [k, 1] included). A square window over
 * (H, W) uses tf.maxPool with the leading spatial dims folded into the batch; every other axis
 * takes the maximum of its k strided slices.
 */
export class MaxPool extends tf.layers.Layer {
  static className = "ResnetcMaxPool";
  private readonly kernel: number[];
  private readonly strides: number[];
  constructor(config: { kernel: number[]; strides: number[]; name?: string }) {
    super(config);
    this.kernel = config.kernel;
    this.strides = config.strides;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    const n = this.kernel.length;
    return shape.map((d, i) =>
      i === 0 || i > n || d == null ? d : convOut(d, this.kernel[i - 1]!, this.strides[i - 1]!, 1),
    ) as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = first(inputs);
      const n = this.kernel.length;
      const [k, s] = [this.kernel, this.strides];
      let sliced = n;
      if (n >= 2 && k[n - 2] === k[n - 1] && s[n - 2] === s[n - 1]) {
        const shape = x.shape;
        const [h, w, c] = shape.slice(-3) as [number, number, number];
        const lead = shape.slice(0, -3);
        const y = tf.maxPool(
          tf.reshape(x, [prod(lead), h, w, c]) as tf.Tensor4D,
          [k[n - 2]!, k[n - 1]!],
          [s[n - 2]!, s[n - 1]!],
          "valid",
        );
        x = tf.reshape(y, [...lead, y.shape[1], y.shape[2], c]);
        sliced = n - 2;
      }
      for (let i = 0; i < sliced; i++) x = maxAlongAxis(x, i + 1, k[i]!, s[i]!);
      return x;
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernel: this.kernel, strides: this.strides };
  }
}

/** Softmax over any axis (tfjs's softmax takes only the last): transpose, softmax, transpose back. */
export class Softmax extends tf.layers.Layer {
  static className = "ResnetcSoftmax";
  private readonly axis: number;
  constructor(config: { axis: number; name?: string }) {
    super(config);
    this.axis = config.axis;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const r = x.rank;
      const axis = this.axis < 0 ? this.axis + r : this.axis;
      if (axis === r - 1) return tf.softmax(x);
      const perm = x.shape.map((_, i) => i);
      perm[axis] = r - 1;
      perm[r - 1] = axis;
      return tf.transpose(tf.softmax(tf.transpose(x, perm)), perm);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis };
  }
}

/** Mean over the spatial dims keeping them as size 1: [N, 1, C], [N, 1, 1, C], [N, 1, 1, 1, C]. */
export class GlobalAvgPool extends tf.layers.Layer {
  static className = "ResnetcGlobalAvgPool";
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    return shape.map((d, i) => (i === 0 || i === shape.length - 1 ? d : 1)) as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = first(inputs);
    const axes = x.shape.slice(1, -1).map((_, i) => i + 1);
    return tf.mean(x, axes, true);
  }
}

/** Activations tfjs lacks: "hardswish" (PyTorch: x * clamp(x + 3, 0, 6) / 6). */
export class ExtraActivation extends tf.layers.Layer {
  static className = "ResnetcActivation";
  private readonly fn: "hardswish";
  constructor(config: { fn: "hardswish"; name?: string }) {
    super(config);
    this.fn = config.fn;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      return tf.mul(x, tf.div(tf.clipByValue(tf.add(x, 3), 0, 6), 6));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), fn: this.fn };
  }
}

/** SEW-ResNet's IAND connection: (1 - a) * b. */
export class SewIand extends tf.layers.Layer {
  static className = "ResnetcSewIand";
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    return (s as tf.Shape[])[1]!;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [a, b] = inputs as tf.Tensor[];
    return tf.tidy(() => tf.mul(tf.sub(1, a!), b!));
  }
}

/** a - b with NumPy broadcasting (ONNX Sub); tf.sub's gradient sums over broadcast dims. */
export class Subtract extends tf.layers.Layer {
  static className = "ResnetcSubtract";
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [a, b] = s as Shape[];
    const n = Math.max(a!.length, b!.length);
    const out: Shape = [];
    for (let i = 0; i < n; i++) {
      const x = i - (n - a!.length) >= 0 ? a![i - (n - a!.length)]! : 1;
      const y = i - (n - b!.length) >= 0 ? b![i - (n - b!.length)]! : 1;
      out.push(x === 1 ? y : y === 1 ? x : (x ?? y));
    }
    return out as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [a, b] = inputs as tf.Tensor[];
    return tf.tidy(() => tf.sub(a!, b!));
  }
}

/** The part [start, end) along `axis` (a tfjs axis of the symbolic tensor, never the batch). */
export class Slice extends tf.layers.Layer {
  static className = "ResnetcSlice";
  private readonly axis: number;
  private readonly start: number;
  private readonly end: number;
  constructor(config: { axis: number; start: number; end: number; name?: string }) {
    super(config);
    this.axis = config.axis;
    this.start = config.start;
    this.end = config.end;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = [...(s as Shape)];
    shape[this.axis < 0 ? shape.length + this.axis : this.axis] = this.end - this.start;
    return shape as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const axis = this.axis < 0 ? x.rank + this.axis : this.axis;
      const begin = x.shape.map((_, i) => (i === axis ? this.start : 0));
      const size = x.shape.map((_, i) => (i === axis ? this.end - this.start : -1));
      return tf.slice(x, begin, size);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, start: this.start, end: this.end };
  }
}

/** [out, in] matrix of PyTorch's linear interpolation (align_corners=False) by an integer factor. */
export function linearMatrix(len: number, size: number, alignCorners = false): Float32Array {
  const out = len * size;
  const m = new Float32Array(out * len);
  for (let o = 0; o < out; o++) {
    // align_corners (PyTorch align_corners=True, ONNX "align_corners"): in = o * (len - 1) / (out - 1).
    const src = alignCorners ? (out > 1 ? (o * (len - 1)) / (out - 1) : 0) : Math.max(0, (o + 0.5) / size - 0.5);
    const i0 = Math.min(Math.floor(src), len - 1);
    const i1 = Math.min(i0 + 1, len - 1);
    const f = src - i0;
    m[o * len + i0] += 1 - f;
    m[o * len + i1] += f;
  }
  return m;
}

/** Upsampling of every spatial dim by an integer factor, as ONNX Resize: "nearest" (asymmetric,
 * floor: each entry repeated) or "linear" (half-pixel, PyTorch align_corners=False; with
 * alignCorners, PyTorch align_corners=True): per axis a product with a constant [out, in] matrix. */
export class Upsample extends tf.layers.Layer {
  static className = "ResnetcUpsample";
  private readonly size: number;
  private readonly mode: "nearest" | "linear";
  private readonly alignCorners: boolean;
  constructor(config: { size: number; mode: "nearest" | "linear"; alignCorners?: boolean; name?: string }) {
    super(config);
    this.size = config.size;
    this.mode = config.mode;
    this.alignCorners = config.alignCorners ?? false;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    return shape.map((d, i) => (i === 0 || i === shape.length - 1 || d == null ? d : d * this.size)) as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = first(inputs);
      const r = this.size;
      for (let axis = 1; axis < x.rank - 1; axis++) {
        const shape = x.shape;
        const len = shape[axis]!;
        const pre = prod(shape.slice(0, axis));
        const post = prod(shape.slice(axis + 1));
        const outShape = [...shape];
        outShape[axis] = len * r;
        if (this.mode === "nearest") {
          x = tf.reshape(tf.tile(tf.reshape(x, [pre, len, 1, post]), [1, 1, r, 1]), outShape);
        } else {
          const m = tf.tensor(linearMatrix(len, r, this.alignCorners), [len * r, len]);
          // [pre, len, post] -> [len, pre*post] -> m @ . -> [len*r, pre, post] -> [pre, len*r, post]
          const cols = tf.reshape(tf.transpose(tf.reshape(x, [pre, len, post]), [1, 0, 2]), [len, pre * post]);
          const y = tf.reshape(tf.matMul(m, cols), [len * r, pre, post]);
          x = tf.reshape(tf.transpose(y, [1, 0, 2]), outShape);
        }
      }
      return x;
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size, mode: this.mode, alignCorners: this.alignCorners };
  }
}

/** PyTorch PixelShuffle / ONNX DepthToSpace (CRD), channels last:
 * out[n, h*r + i, w*r + j, c] = in[n, h, w, c*r*r + i*r + j]. */
export class PixelShuffle extends tf.layers.Layer {
  static className = "ResnetcPixelShuffle";
  private readonly r: number;
  constructor(config: { r: number; name?: string }) {
    super(config);
    this.r = config.r;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = s as Shape;
    const r = this.r;
    return [n ?? null, h == null ? null : h * r, w == null ? null : w * r, c == null ? null : c / (r * r)];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const [n, h, w, cc] = x.shape as number[];
      const r = this.r;
      const c = cc! / (r * r);
      const y = tf.transpose(tf.reshape(x, [n! * h!, w!, c, r, r]), [0, 3, 1, 4, 2]);
      return tf.reshape(y, [n!, h! * r, w! * r, c]);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), r: this.r };
  }
}

/** PyTorch GroupNorm, channels last, any rank: gamma (index 0) and beta (index 1), [C] each. */
export class GroupNorm extends tf.layers.Layer {
  static className = "ResnetcGroupNorm";
  private readonly groups: number;
  private readonly eps: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;
  constructor(config: { groups: number; eps: number; name?: string }) {
    super(config);
    this.groups = config.groups;
    this.eps = config.eps;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as Shape;
    const c = shape[shape.length - 1]!;
    this.gamma = this.addWeight("gamma", [c], "float32", tf.initializers.ones());
    this.beta = this.addWeight("beta", [c], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const shape = x.shape;
      const c = shape[shape.length - 1]!;
      const g = this.groups;
      const xg = tf.reshape(x, [shape[0]!, prod(shape.slice(1, -1)), g, c / g]);
      const mean = tf.mean(xg, [1, 3], true);
      const centered = tf.sub(xg, mean);
      const variance = tf.mean(tf.square(centered), [1, 3], true);
      const norm = tf.reshape(tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps))), shape);
      return tf.add(tf.mul(norm, this.gamma!.read()), this.beta!.read());
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, eps: this.eps };
  }
}

/** PReLU with `size` slopes (1, or one per channel over the last axis): weight index 0, [size]. */
export class PReLU extends tf.layers.Layer {
  static className = "ResnetcPReLU";
  private readonly size: number;
  private alpha: tf.LayerVariable | null = null;
  constructor(config: { size: number; name?: string }) {
    super(config);
    this.size = config.size;
  }
  override build(): void {
    this.alpha = this.addWeight("alpha", [this.size], "float32", tf.initializers.constant({ value: 0.25 }));
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      // max(0, x) + a * min(0, x)
      return tf.sub(tf.relu(x), tf.mul(this.alpha!.read(), tf.relu(tf.neg(x))));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size };
  }
}

/** TensorFlow's (and ONNX's SAME_UPPER) padding, computed from the size the layer sees: for a
 * spatial size n, stride s and dilated kernel e, (ceil(n / s) - 1) * s + e - n in all, the odd one
 * at the end. For `padding=same` with a stride on a symbolic size, whose pads the compiler cannot
 * know; the conv or pool after it then pads nothing. `value`: 0, or -3.4e38 before a max pool. */
export class SamePad extends tf.layers.Layer {
  static className = "ResnetcSamePad";
  private readonly kernel: number[];
  private readonly strides: number[];
  private readonly dilation: number[];
  private readonly value: number;
  constructor(config: { kernel: number[]; strides: number[]; dilation: number[]; value: number; name?: string }) {
    super(config);
    this.kernel = config.kernel;
    this.strides = config.strides;
    this.dilation = config.dilation;
    this.value = config.value;
  }
  private total(i: number, n: number): number {
    const s = this.strides[i]!;
    const eff = this.dilation[i]! * (this.kernel[i]! - 1) + 1;
    return Math.max(0, (Math.ceil(n / s) - 1) * s + eff - n);
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as Shape;
    return shape.map((d, i) =>
      i === 0 || i === shape.length - 1 || d == null ? d : d + this.total(i - 1, d),
    ) as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = first(inputs);
    const n = this.kernel.length;
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.total(i, x.shape[i + 1]!);
      begin.push(Math.floor(t / 2));
      end.push(t - Math.floor(t / 2));
    }
    return padSpatial(x, [...begin, ...end], this.value);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      kernel: this.kernel,
      strides: this.strides,
      dilation: this.dilation,
      value: this.value,
    };
  }
}

export const ND_LAYERS = [
  SamePad,
  ConstantPadND,
  GroupedConv,
  Conv,
  AvgPoolCeil,
  MaxPool,
  Softmax,
  GlobalAvgPool,
  ExtraActivation,
  SewIand,
  Subtract,
  Slice,
  Upsample,
  PixelShuffle,
  GroupNorm,
  PReLU,
];
