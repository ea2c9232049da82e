// ReLU's gradient as one kernel on the cpu and wasm backends, and ReLU itself on wasm. tfjs
// computes the gradient as dy * cast(step(x)): three kernels and three full passes (on wasm the
// cast to the same type is a copy), for each of the 19 ReLUs of a ResNet-20 step. `registerReluGrad` registers the
// kernel for a backend and, once, a gradient for Relu that uses it where the running backend has
// it and tfjs's formula elsewhere (tfjs-node, webgl).
// Takes: nothing. Gives: `registerReluGrad(backendName)` (which also registers wasm's ReLU),
// `RELU_GRAD` (the kernel's name).
// Must not: change results (x > 0 ? dy : 0 is exactly dy * step(x) for finite dy).

import * as tf from "@tensorflow/tfjs";
import { simdKernels } from "./simd.js";

export const RELU_GRAD = "ResnetcReluGrad";
type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown };
type CpuBackend = { data: { get(id: object): { values: Float32Array } }; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };
type WasmBackend = { makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };

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

/** ReLU on wasm in the SIMD module: one pass on the main thread; tfjs's goes through XNNPACK's
 * thread pool, whose wake-up costs more than the pass on a 2 MB tensor. */
function wasmRelu(stock: tf.KernelFunc | undefined) {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const x = inputs["x"]!;
    const simd = simdKernels(backend);
    if (!simd || x.dtype !== "float32") return (stock as unknown as (a: KernelArgs) => tf.TensorInfo)({ inputs, backend });
    const b = backend as WasmBackend;
    const out = b.makeOutput(x.shape, "float32");
    const n4 = tf.util.sizeFromShape(x.shape) >> 2;
    simd.fn.relu(simd.ptr(x), simd.ptr(out), n4);
    const xv = b.typedArrayFromHeap(x);
    const ov = b.typedArrayFromHeap(out);
    for (let i = 4 * n4; i < xv.length; i++) ov[i] = xv[i]! > 0 || Number.isNaN(xv[i]!) ? xv[i]! : 0;
    return out;
  };
}

let gradientRegistered = false;

export function registerReluGrad(backendName: "cpu" | "wasm"): void {
  if (!tf.getKernel(RELU_GRAD, backendName))
    tf.registerKernel({ kernelName: RELU_GRAD, backendName, kernelFunc: (backendName === "cpu" ? cpuKernel : wasmKernel) as unknown as tf.KernelFunc });
  const relu = tf.getKernel("Relu", "wasm");
  if (backendName === "wasm" && relu && !(relu.kernelFunc as { resnetc?: boolean }).resnetc) {
    const f = wasmRelu(relu.kernelFunc) as unknown as tf.KernelFunc & { resnetc?: boolean };
    f.resnetc = true;
    tf.unregisterKernel("Relu", "wasm");
    tf.registerKernel({ kernelName: "Relu", backendName: "wasm", kernelFunc: f, setupFunc: relu.setupFunc, disposeFunc: relu.disposeFunc });
  }
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
