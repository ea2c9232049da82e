// Faster kernels for tfjs's pure-JS `cpu` backend, registered through tfjs's public kernel API
// in place of the stock ones: convolution gradients, element-wise ops with a broadcast vector,
// per-channel sums and means, and Tile / Slice as block copies (copy-kernels.ts). The stock
// Conv2DBackpropFilter reads every element through TensorBuffer.get in a loop nest whose
// innermost index strides through memory; it takes ~90% of a training step. These loop over the
// same sums with the output channel innermost, contiguous in x/dy/filter for NHWC, so each inner
// loop is a dense dot or axpy.
// Takes: nothing (it registers kernels). Gives: `registerFastCpuKernels()` and the kernel
// functions (tests compare them with the originals). Must not: change results beyond float
// rounding (the sums are the same sums in another order).

import * as tf from "@tensorflow/tfjs";
import { copyPlan } from "./copy-kernels.js";

import type { KernelArgs } from "./kernel-args.js";
interface CpuBackend {
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

function convInfo(xShape: number[], filterShape: number[], attrs: Record<string, unknown>) {
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs["dataFormat"] as "NHWC" | "NCHW");
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs["strides"] as [number, number],
    1,
    attrs["pad"] as "same",
    attrs["dimRoundingMode"] as "floor" | undefined,
    false,
    dataFormat,
  );
}

/** y[n, oh, ow, co] = sum over kh, kw, ci of x[n, ih, iw, ci] * W[kh, kw, ci, co] (NHWC, any dilation). */
export function conv2D(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const x = args.inputs["x"]!;
  const filter = args.inputs["filter"]!;
  const attrs = args.attrs!;
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs["dataFormat"] as "NHWC" | "NCHW");
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs["strides"] as [number, number],
    attrs["dilations"] as [number, number],
    attrs["pad"] as "same",
    attrs["dimRoundingMode"] as "floor" | undefined,
    false,
    dataFormat,
  );
  if (info.dataFormat !== "channelsLast" || x.dtype !== "float32") return original("Conv2D")(args);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
    dilationHeight,
    dilationWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xv = backend.data.get(x.dataId).values;
  const wv = backend.data.get(filter.dataId).values;
  const y = new Float32Array(batchSize * outHeight * outWidth * outChannels);
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const yOff = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - top + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - left + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xOff = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (kh * filterWidth + kw) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xval = xv[xOff + ci]!;
              if (xval === 0) continue; // post-ReLU activations are often exactly zero
              const wOff = wBase + ci * outChannels;
              for (let co = 0; co < outChannels; co++) y[yOff + co] += xval * wv[wOff + co]!;
            }
          }
        }
      }
  return backend.makeTensorInfo(info.outShape as number[], "float32", y);
}

/** dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, ih, iw, ci] * dy[n, oh, ow, co]. */
export function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const x = args.inputs["x"]!;
  const dy = args.inputs["dy"]!;
  const attrs = args.attrs!;
  const info = convInfo(x.shape, attrs["filterShape"] as number[], attrs);
  if (info.dataFormat !== "channelsLast") return original("Conv2DBackpropFilter")(args);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xv = backend.data.get(x.dataId).values;
  const dyv = backend.data.get(dy.dataId).values;
  const dw = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const dyOff = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - top + kh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - left + kw;
            if (iw < 0 || iw >= inWidth) continue;
            const xOff = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (kh * filterWidth + kw) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xval = xv[xOff + ci]!;
              if (xval === 0) continue; // post-ReLU activations are often exactly zero
              const wOff = wBase + ci * outChannels;
              for (let co = 0; co < outChannels; co++) dw[wOff + co] += xval * dyv[dyOff + co]!;
            }
          }
        }
      }
  return backend.makeTensorInfo([filterHeight, filterWidth, inChannels, outChannels], "float32", dw);
}

/** dx[n, ih, iw, ci] = sum over kh, kw, co of dy[n, oh, ow, co] * W[kh, kw, ci, co]. */
export function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const dy = args.inputs["dy"]!;
  const filter = args.inputs["filter"]!;
  const attrs = args.attrs!;
  const inputShape = attrs["inputShape"] as number[];
  const info = convInfo(inputShape, filter.shape, attrs);
  if (info.dataFormat !== "channelsLast") return original("Conv2DBackpropInput")(args);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dyv = backend.data.get(dy.dataId).values;
  const wv = backend.data.get(filter.dataId).values;
  const dx = new Float32Array(batchSize * inHeight * inWidth * inChannels);
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const dyOff = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - top + kh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - left + kw;
            if (iw < 0 || iw >= inWidth) continue;
            const xOff = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (kh * filterWidth + kw) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const wOff = wBase + ci * outChannels;
              let acc = 0;
              for (let co = 0; co < outChannels; co++) acc += dyv[dyOff + co]! * wv[wOff + co]!;
              dx[xOff + ci] += acc;
            }
          }
        }
      }
  return backend.makeTensorInfo(inputShape, "float32", dx);
}

// ---- element-wise ops with a broadcast vector, and per-channel reductions ----
// Batch norm in channels-last layout combines [N, H, W, C] with [C] and sums over N, H, W. The
// stock kernels handle broadcasting by computing a multi-index per element (allocating arrays)
// and reduce over leading axes by transposing the whole tensor first. The fast paths below take
// the shapes these cases have and hand everything else to the stock kernel.

type Binary = (a: number, b: number) => number;
const BINARY: [string, Binary][] = [
  ["Add", (a, b) => a + b],
  ["Sub", (a, b) => a - b],
  ["Multiply", (a, b) => a * b],
  ["RealDiv", (a, b) => a / b],
  ["SquaredDifference", (a, b) => (a - b) * (a - b)],
];

/** Size of `small` when, left-padded with 1s, it equals the trailing dims of `big` after a run
 * of 1s (so it repeats with period = its size); undefined otherwise. */
function suffixPeriod(small: number[], big: number[]): number | undefined {
  const pad = big.length - small.length;
  if (pad < 0) return undefined;
  let i = 0;
  while (i < small.length && small[i] === 1 && big[pad + i] !== 1) i++;
  for (let j = i; j < small.length; j++) if (small[j] !== big[pad + j]) return undefined;
  return small.slice(i).reduce((p, d) => p * d, 1);
}

function binaryKernel(name: string, op: Binary): (args: KernelArgs) => tf.TensorInfo {
  return (args) => {
    const backend = args.backend as CpuBackend;
    const a = args.inputs["a"]!;
    const b = args.inputs["b"]!;
    if (a.dtype !== "float32" || b.dtype !== "float32") return original(name)(args);
    const sizeA = a.shape.reduce((p, d) => p * d, 1);
    const sizeB = b.shape.reduce((p, d) => p * d, 1);
    const av = backend.data.get(a.dataId).values;
    const bv = backend.data.get(b.dataId).values;
    if (sizeA >= sizeB && a.shape.length >= b.shape.length) {
      const period = sizeA === sizeB && a.shape.join() === b.shape.join() ? sizeA : suffixPeriod(b.shape, a.shape);
      if (period !== undefined && period > 0) {
        const out = new Float32Array(sizeA);
        for (let i = 0; i < sizeA; i++) out[i] = op(av[i]!, bv[i % period]!);
        return backend.makeTensorInfo(a.shape, "float32", out);
      }
    } else if (b.shape.length >= a.shape.length) {
      const period = suffixPeriod(a.shape, b.shape);
      if (period !== undefined && period > 0) {
        const out = new Float32Array(sizeB);
        for (let i = 0; i < sizeB; i++) out[i] = op(av[i % period]!, bv[i]!);
        return backend.makeTensorInfo(b.shape, "float32", out);
      }
    }
    return original(name)(args);
  };
}

/** Sum or mean over every axis but the last (per-channel statistics in NHWC). */
function channelReduce(name: "Sum" | "Mean"): (args: KernelArgs) => tf.TensorInfo {
  return (args) => {
    const backend = args.backend as CpuBackend;
    const x = args.inputs["x"]!;
    const rank = x.shape.length;
    const axisAttr = args.attrs!["axis"] as number | number[];
    const axes = [
      ...new Set((Array.isArray(axisAttr) ? axisAttr : [axisAttr]).map((ax) => (ax < 0 ? ax + rank : ax))),
    ].sort((p, q) => p - q);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((ax, i) => ax === i);
    if (x.dtype !== "float32" || !leading) return original(name)(args);
    const c = x.shape[rank - 1]!;
    const xv = backend.data.get(x.dataId).values;
    const acc = new Float64Array(c);
    for (let i = 0, k = 0; i < xv.length; i++) {
      acc[k] += xv[i]!;
      if (++k === c) k = 0;
    }
    const count = xv.length / c;
    const out = Float32Array.from(acc, (v) => (name === "Mean" ? v / count : v));
    const shape = args.attrs!["keepDims"] ? [...x.shape.slice(0, -1).map(() => 1), c] : [c];
    return backend.makeTensorInfo(shape, "float32", out);
  };
}

/** Tile and Slice as block copies (copy-kernels.ts); strings and complex numbers go to the stock kernel. */
function copyKernel(name: "Tile" | "Slice"): (args: KernelArgs) => tf.TensorInfo {
  return (args) => {
    const backend = args.backend as CpuBackend;
    const x = args.inputs["x"]!;
    if (x.dtype === "string" || x.dtype === "complex64") return original(name)(args);
    const xv = backend.data.get(x.dataId).values;
    const { shape, fill } = copyPlan(name, x, args.attrs!);
    // A fresh array of the input's kind (Float32Array, Int32Array or Uint8Array for bool).
    const out = new (xv.constructor as new (n: number) => Float32Array)(shape.reduce((p, d) => p * d, 1));
    fill(xv, out);
    return backend.makeTensorInfo(shape, x.dtype, out);
  };
}

const originals = new Map<string, tf.KernelConfig>();

/** The stock kernel this module replaced (for NCHW data, and for tests). */
export function original(name: string): (args: KernelArgs) => tf.TensorInfo {
  const k = originals.get(name) ?? tf.getKernel(name, "cpu");
  if (!k) throw new Error(`no cpu kernel ${name}`);
  return k.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;
}

/** Replaces the cpu backend's convolution gradients; safe to call more than once. */
export function registerFastCpuKernels(): void {
  const mine: [string, (a: KernelArgs) => tf.TensorInfo][] = [
    ["Conv2D", conv2D],
    ["Conv2DBackpropFilter", conv2DBackpropFilter],
    ["Conv2DBackpropInput", conv2DBackpropInput],
    ...BINARY.map(([name, op]): [string, (a: KernelArgs) => tf.TensorInfo] => [name, binaryKernel(name, op)]),
    ["Sum", channelReduce("Sum")],
    ["Mean", channelReduce("Mean")],
    ["Tile", copyKernel("Tile")],
    ["Slice", copyKernel("Slice")],
  ];
  for (const [name, fn] of mine) {
    if (originals.has(name)) continue;
    const stock = tf.getKernel(name, "cpu");
    if (!stock) continue;
    originals.set(name, stock);
    tf.unregisterKernel(name, "cpu");
    tf.registerKernel({ kernelName: name, backendName: "cpu", kernelFunc: fn as unknown as tf.KernelFunc });
  }
}
