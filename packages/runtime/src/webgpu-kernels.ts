// Kernels the WebGPU backend (@tensorflow/tfjs-backend-webgpu 4.22) has that do not run
// everywhere, replaced through tfjs's public kernel API.
// - AddN: the stock kernel compiles one shader that indexes its inputs dynamically; on Dawn's
//   Vulkan path over SwiftShader the pipeline is invalid ("Invalid ComputePipeline
//   AddNPackedProgram"), and every gradient of a tensor used twice (each residual unit's input:
//   branch and shortcut) goes through AddN. Here it is a chain of the backend's own Add kernels,
//   the same sums in the same order (float addition of n terms left to right).
// Takes: the webgpu backend, registered. Gives: the replacements. Must not: change results.
import * as tf from "@tensorflow/tfjs";
import type { KernelArgs } from "./kernel-args.js";

type Backend = { disposeData(dataId: object): void };

function addN({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const xs = Object.values(inputs);
  const add = tf.getKernel("Add", "webgpu")!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo;
  const identity = tf.getKernel("Identity", "webgpu")!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo;
  if (xs.length === 1) return identity({ inputs: { x: xs[0]! }, backend });
  let acc = add({ inputs: { a: xs[0]!, b: xs[1]! }, backend });
  for (let i = 2; i < xs.length; i++) {
    const next = add({ inputs: { a: acc, b: xs[i]! }, backend });
    (backend as Backend).disposeData(acc.dataId);
    acc = next;
  }
  return acc;
}

let registered = false;

export function registerWebGpuKernels(): void {
  if (registered) return;
  registered = true;
  const stock = tf.getKernel("AddN", "webgpu");
  if (stock) tf.unregisterKernel("AddN", "webgpu");
  tf.registerKernel({
    kernelName: "AddN",
    backendName: "webgpu",
    kernelFunc: addN as unknown as tf.KernelFunc,
    ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}),
  });
}
