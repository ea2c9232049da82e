// Training kernels for tfjs's `wasm` backend, registered through tfjs's public kernel API. The
// wasm backend runs convolutions and matrix products through XNNPACK (SIMD, ~20 GFLOP/s on one
// core here) but has no Conv2DBackpropFilter and no depthwise gradients, so it cannot train a
// convolution at all, and its Conv2DBackpropInput is a scalar loop ~10x slower than its forward
// convolution. These kernels rearrange data in JavaScript, directly in the wasm heap, so that the
// heavy arithmetic is one call of the backend's own fast kernels:
//   dW = im2col(x)^T . dy        one BatchMatMul  [kh*kw*Ci, P] x [P, Co]   (P = N*Ho*Wo)
//   dx = conv(pad(dilate(dy)), rot180(W)^T)   one Conv2D, stride 1, "valid"
// Depthwise gradients (a few multiply-adds per element) are direct loops; Tile and Slice, which a
// training step needs (batch-norm gradients, option A shortcuts), are block copies.
// Multi-threading: the backend's kernels use its thread pool where it has one (the threaded wasm
// build runs in browsers with cross-origin isolation; in Node tfjs loads the single-threaded one).
// Takes: nothing (it registers kernels). Gives: `registerWasmTrainingKernels()` and the kernel
// functions (tests compare them with the cpu backend's). Must not: change results beyond float
// rounding; leak wasm heap memory (every temporary is disposed before returning).

import * as tf from "@tensorflow/tfjs";
import { copyPlan } from "./copy-kernels.js";

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
interface WasmBackend {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function conv2DInfo(xShape: number[], filterShape: number[], attrs: Record<string, unknown>, depthwise = false): Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs["strides"] as [number, number],
    (attrs["dilations"] as [number, number] | undefined) ?? 1,
    attrs["pad"] as "same",
    attrs["dimRoundingMode"] as "floor" | undefined,
    depthwise,
    tf.backend_util.convertConv2DDataFormat((attrs["dataFormat"] as "NHWC" | "NCHW" | undefined) ?? "NHWC"),
  );
  // Everything resnetc emits is NHWC (channels last), tfjs's default.
  if (info.dataFormat !== "channelsLast") throw new Error("resnetc's wasm training kernels support NHWC (channels-last) data only");
  return info;
}

/** Runs another kernel of the wasm backend (its XNNPACK convolution or matrix product). */
function run(name: string, backend: unknown, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>): tf.TensorInfo {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
  return (k.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)({ inputs, backend, attrs });
}

/** dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*s - top + kh, ow*s - left + kw, ci] * dy[n, oh, ow, co]. */
export function wasmConv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs["x"]!;
  const dy = args.inputs["dy"]!;
  const info = conv2DInfo(x.shape, args.attrs!["filterShape"] as number[], args.attrs!);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const P = batchSize * outHeight * outWidth;
  const K = filterHeight * filterWidth * inChannels;
  // Fast path: the sum is itself a convolution the backend runs with XNNPACK. With x as
  // [Ci, H, W, N] (batch Ci, channels N) and dy as a filter [Ho, Wo, N, Co] dilated by the stride,
  // out[ci, kh, kw, co] = sum over oh, ow, n of x'[ci, kh + oh*s - top, kw + ow*s - left, n] * dy'[oh, ow, n, co].
  const bottom = (outHeight - 1) * strideHeight + filterHeight - inHeight - top;
  const right = (outWidth - 1) * strideWidth + filterWidth - inWidth - left;
  if (bottom >= 0 && right >= 0 && dilationHeight === 1 && dilationWidth === 1) {
    const xT = run("Transpose", backend, { x }, { perm: [3, 1, 2, 0] });
    const dyT = run("Transpose", backend, { x: dy }, { perm: [1, 2, 0, 3] });
    const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
    const y = run("Conv2D", backend, { x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [strideHeight, strideWidth] });
    backend.disposeData(xT.dataId);
    backend.disposeData(dyT.dataId);
    const dW = run("Transpose", backend, { x: y }, { perm: [1, 2, 0, 3] });
    backend.disposeData(y.dataId);
    return dW;
  }
  // Otherwise (input rows or columns the convolution never reads): im2col, transposed: row (kh, kw, ci) holds that input value for every output position. It
  // is read from x transposed to [Ci, N, H, W] (the backend's Transpose), so each row is filled
  // from contiguous runs of one channel plane.
  const xT = run("Transpose", backend, { x }, { perm: [3, 0, 1, 2] });
  const colT = backend.makeOutput([K, P], "float32");
  const cv = backend.typedArrayFromHeap(colT);
  const xv = backend.typedArrayFromHeap(xT);
  const plane = inHeight * inWidth;
  for (let kh = 0; kh < filterHeight; kh++)
    for (let kw = 0; kw < filterWidth; kw++) {
      // Output columns whose input column is inside the image: ow in [owLo, owHi).
      const dw = kw * dilationWidth - left;
      const owLo = Math.min(outWidth, Math.max(0, Math.ceil(-dw / strideWidth)));
      const owHi = Math.max(owLo, Math.min(outWidth, Math.ceil((inWidth - dw) / strideWidth)));
      for (let ci = 0; ci < inChannels; ci++) {
        let p = ((kh * filterWidth + kw) * inChannels + ci) * P;
        for (let n = 0; n < batchSize; n++)
          for (let oh = 0; oh < outHeight; oh++, p += outWidth) {
            const ih = oh * strideHeight - top + kh * dilationHeight;
            if (ih < 0 || ih >= inHeight) {
              cv.fill(0, p, p + outWidth);
              continue;
            }
            if (owLo > 0) cv.fill(0, p, p + owLo);
            const src = (ci * batchSize + n) * plane + ih * inWidth + dw;
            if (strideWidth === 1) for (let ow = owLo; ow < owHi; ow++) cv[p + ow] = xv[src + ow]!;
            else for (let ow = owLo; ow < owHi; ow++) cv[p + ow] = xv[src + ow * strideWidth]!;
            if (owHi < outWidth) cv.fill(0, p + owHi, p + outWidth);
          }
      }
    }
  backend.disposeData(xT.dataId);
  const dy2 = { dataId: dy.dataId, shape: [P, outChannels], dtype: dy.dtype };
  const out = run("BatchMatMul", backend, { a: colT, b: dy2 }, { transposeA: false, transposeB: false });
  backend.disposeData(colT.dataId);
  return { dataId: out.dataId, shape: [filterHeight, filterWidth, inChannels, outChannels], dtype: "float32" };
}

/** dx = the "full" correlation of dy (stride-dilated, padded) with the filter rotated 180 degrees
 * and its channel axes swapped: a stride-1 "valid" Conv2D the backend runs fast. */
export function wasmConv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs["dy"]!;
  const filter = args.inputs["filter"]!;
  const inputShape = args.attrs!["inputShape"] as number[];
  const info = conv2DInfo(inputShape, filter.shape, args.attrs!);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const padTop = filterHeight - 1 - info.padInfo.top;
  const padLeft = filterWidth - 1 - info.padInfo.left;
  const wf = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], "float32");
  const wfv = backend.typedArrayFromHeap(wf);
  const wv = backend.typedArrayFromHeap(filter);
  for (let a = 0; a < filterHeight; a++)
    for (let b = 0; b < filterWidth; b++) {
      const src = ((filterHeight - 1 - a) * filterWidth + (filterWidth - 1 - b)) * inChannels * outChannels;
      const dst = (a * filterWidth + b) * outChannels * inChannels;
      for (let ci = 0; ci < inChannels; ci++)
        for (let co = 0; co < outChannels; co++) wfv[dst + co * inChannels + ci] = wv[src + ci * outChannels + co]!;
    }
  const conv = (x: tf.TensorInfo, pad: unknown): tf.TensorInfo => {
    const dx = run("Conv2D", backend, { x, filter: wf }, { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [1, 1] });
    backend.disposeData(wf.dataId);
    return dx;
  };
  // Stride 1: no zeros to insert, so the convolution pads dy itself (no copy).
  const padBottom = inHeight + filterHeight - 1 - outHeight - padTop;
  const padRight = inWidth + filterWidth - 1 - outWidth - padLeft;
  if (strideHeight === 1 && strideWidth === 1 && Math.min(padTop, padLeft, padBottom, padRight) >= 0)
    return conv(dy, [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]]);
  const qh = inHeight + filterHeight - 1;
  const qw = inWidth + filterWidth - 1;
  const q = backend.makeOutput([batchSize, qh, qw, outChannels], "float32");
  const qv = backend.typedArrayFromHeap(q);
  const dyv = backend.typedArrayFromHeap(dy);
  qv.fill(0);
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++) {
      const r = oh * strideHeight + padTop;
      if (r < 0 || r >= qh) continue;
      for (let ow = 0; ow < outWidth; ow++) {
        const c = ow * strideWidth + padLeft;
        if (c < 0 || c >= qw) continue;
        const from = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        qv.set(dyv.subarray(from, from + outChannels), ((n * qh + r) * qw + c) * outChannels);
      }
    }
  const dx = conv(q, "valid");
  backend.disposeData(q.dataId);
  return dx;
}

/** Walks every (output position, tap, input channel, multiplier) of a depthwise convolution. */
function depthwiseTaps(info: Conv2DInfo, visit: (xi: number, yi: number, wi: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
  const mult = outChannels / inChannels;
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const yBase = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - info.padInfo.top + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - info.padInfo.left + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (kh * filterWidth + kw) * outChannels;
            for (let ci = 0; ci < inChannels; ci++)
              for (let m = 0; m < mult; m++) visit(xBase + ci, yBase + ci * mult + m, wBase + ci * mult + m);
          }
        }
      }
}

/** dW[kh, kw, ci, m] = sum over n, oh, ow of x[n, ih, iw, ci] * dy[n, oh, ow, ci*mult + m]. */
export function wasmDepthwiseBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs["x"]!;
  const dy = args.inputs["dy"]!;
  const filterShape = args.attrs!["filterShape"] as number[];
  const info = conv2DInfo(x.shape, filterShape, args.attrs!, true);
  const out = backend.makeOutput(filterShape, "float32");
  const dw = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  dw.fill(0);
  depthwiseTaps(info, (xi, yi, wi) => (dw[wi] += xv[xi]! * dyv[yi]!));
  return out;
}

/** dx[n, ih, iw, ci] = sum over taps and multipliers of dy[n, oh, ow, ci*mult + m] * W[kh, kw, ci, m]. */
export function wasmDepthwiseBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs["dy"]!;
  const filter = args.inputs["filter"]!;
  const inputShape = args.attrs!["inputShape"] as number[];
  const info = conv2DInfo(inputShape, filter.shape, args.attrs!, true);
  const out = backend.makeOutput(inputShape, "float32");
  const dx = backend.typedArrayFromHeap(out);
  const dyv = backend.typedArrayFromHeap(dy);
  const wv = backend.typedArrayFromHeap(filter);
  dx.fill(0);
  depthwiseTaps(info, (xi, yi, wi) => (dx[xi] += dyv[yi]! * wv[wi]!));
  return out;
}

function copyKernel(name: "Tile" | "Slice"): (args: KernelArgs) => tf.TensorInfo {
  const stock = tf.getKernel(name, "wasm");
  return (args) => {
    const backend = args.backend as WasmBackend;
    const x = args.inputs["x"]!;
    if (x.dtype === "string" || x.dtype === "complex64") return (stock!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)(args);
    const { shape, fill } = copyPlan(name, x, args.attrs!);
    const out = backend.makeOutput(shape, x.dtype as "float32");
    fill(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out));
    return out;
  };
}

export const WASM_TRAINING_KERNELS: [string, (a: KernelArgs) => tf.TensorInfo][] = [
  ["Conv2DBackpropFilter", wasmConv2DBackpropFilter],
  ["Conv2DBackpropInput", wasmConv2DBackpropInput],
  ["DepthwiseConv2dNativeBackpropFilter", wasmDepthwiseBackpropFilter],
  ["DepthwiseConv2dNativeBackpropInput", wasmDepthwiseBackpropInput],
];

let copyKernelsMade: [string, (a: KernelArgs) => tf.TensorInfo][] | undefined;

/** Registers (or replaces) the wasm backend's training kernels; safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  // Made once, after the wasm backend registered its own (kept for string tensors).
  copyKernelsMade ??= [["Tile", copyKernel("Tile")], ["Slice", copyKernel("Slice")]];
  for (const [name, fn] of [...WASM_TRAINING_KERNELS, ...copyKernelsMade]) {
    if (tf.getKernel(name, "wasm")?.kernelFunc === (fn as unknown)) continue;
    if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  }
}
