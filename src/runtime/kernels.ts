// Faster convolution gradients for tfjs's pure-JS `cpu` backend, registered through tfjs's public
// kernel API in place of the stock ones. The stock Conv2DBackpropFilter reads every element
// through TensorBuffer.get in a loop nest whose innermost index strides through memory; it
// takes ~90% of a training step. These loop over the same sums with the output channel
// innermost, contiguous in x/dy/filter for NHWC, so each inner loop is a dense dot or axpy.
// Takes: nothing (it registers kernels). Gives: `registerFastCpuKernels()` and the kernel
// functions (tests compare them with the originals). Must not: change results beyond float
// rounding (the sums are the same sums in another order).

import * as tf from "@tensorflow/tfjs";

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
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

/** dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, ih, iw, ci] * dy[n, oh, ow, co]. */
export function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const x = args.inputs["x"]!;
  const dy = args.inputs["dy"]!;
  const attrs = args.attrs!;
  const info = convInfo(x.shape, attrs["filterShape"] as number[], attrs);
  if (info.dataFormat !== "channelsLast") return original("Conv2DBackpropFilter")(args);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
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
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
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
    ["Conv2DBackpropFilter", conv2DBackpropFilter],
    ["Conv2DBackpropInput", conv2DBackpropInput],
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
