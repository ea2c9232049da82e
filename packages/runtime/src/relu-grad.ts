// ReLU's gradient as one kernel on the cpu and wasm backends (ReLU itself on wasm is in
// wasm-kernels.ts). tfjs computes the gradient as dy * cast(step(x)): three kernels and three full passes (on wasm the
// cast to the same type is a copy), for each of the 19 ReLUs of a ResNet-20 step. `registerReluGrad` registers the
// kernel for a backend and, once, a gradient for Relu that uses it where the running backend has
// it and tfjs's formula elsewhere (tfjs-node, webgl).
// Takes: nothing. Gives: `registerReluGrad(backendName)`, `RELU_GRAD` (the kernel's name).
// Must not: change results (x > 0 ? dy : 0 is exactly dy * step(x) for finite dy).

import * as tf from "@tensorflow/tfjs";
import { simdKernels } from "./simd.js";

export const RELU_GRAD = "ResnetcReluGrad";
import type { KernelArgs } from "./kernel-args.js";
type CpuBackend = {
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
};
type WasmBackend = {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
};

function reluGradLoop(dy: Float32Array, x: Float32Array, out: Float32Array, from: number): void {
  for (let i = from; i < x.length; i++) out[i] = x[i]! > 0 ? dy[i]! : 0;
}

function cpuKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const b = backend as CpuBackend;
  const x = b.data.get(inputs["x"]!.dataId).values;
  const out = new Float32Array(x.length);
  reluGradLoop(b.data.get(inputs["dy"]!.dataId).values, x, out, 0);
  return b.makeTensorInfo(inputs["x"]!.shape, "float32", out);
}

function wasmKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const b = backend as WasmBackend;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const out = b.makeOutput(x.shape, "float32");
  const simd = simdKernels(backend);
  const n4 = simd ? tf.util.sizeFromShape(x.shape) >> 2 : 0;
  if (simd) simd.fn.reluGrad(simd.ptr(dy), simd.ptr(x), simd.ptr(out), n4);
  reluGradLoop(b.typedArrayFromHeap(dy), b.typedArrayFromHeap(x), b.typedArrayFromHeap(out), 4 * n4);
  return out;
}

let gradientRegistered = false;

export function registerReluGrad(backendName: "cpu" | "wasm"): void {
  if (!tf.getKernel(RELU_GRAD, backendName))
    tf.registerKernel({
      kernelName: RELU_GRAD,
      backendName,
      kernelFunc: (backendName === "cpu" ? cpuKernel : wasmKernel) as unknown as tf.KernelFunc,
    });
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const x = saved[0]!;
      const d = dy as tf.Tensor;
      return {
        x: () =>
          x.dtype === "float32" && tf.getKernel(RELU_GRAD, tf.getBackend())
            ? (tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as tf.Tensor)
            : tf.mul(d, tf.cast(tf.step(x), "float32")),
      };
    },
  });
}
