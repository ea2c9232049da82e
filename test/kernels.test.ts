// The faster cpu convolution gradients equal the stock tfjs kernels on random shapes.
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { conv2DBackpropFilter, conv2DBackpropInput, registerFastCpuKernels } from "../src/runtime/kernels.js";

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  stride: [number, number];
  pad: "same" | "valid" | number;
}

const cases: Case[] = [
  { n: 1, h: 7, w: 5, ci: 3, co: 4, k: [3, 3], stride: [1, 1], pad: "same" },
  { n: 2, h: 8, w: 8, ci: 4, co: 6, k: [3, 3], stride: [2, 2], pad: "same" },
  { n: 3, h: 9, w: 6, ci: 5, co: 3, k: [3, 2], stride: [2, 1], pad: "valid" },
  { n: 1, h: 6, w: 6, ci: 2, co: 5, k: [1, 1], stride: [2, 2], pad: "valid" },
  { n: 2, h: 5, w: 7, ci: 3, co: 2, k: [5, 5], stride: [1, 1], pad: 2 },
  { n: 1, h: 11, w: 11, ci: 6, co: 8, k: [7, 7], stride: [2, 2], pad: "same" },
];

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, "float32", seed);
}

/** Gradients of sum(conv2d(x, w) * dy) with respect to x and w. */
function grads(c: Case): [Float32Array, Float32Array] {
  return tf.tidy(() => {
    const x = rand([c.n, c.h, c.w, c.ci], 1);
    const w = rand([...c.k, c.ci, c.co], 2);
    const out = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    const dy = rand(out.shape, 3);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)));
    const [dx, dw] = g([x, w]);
    return [dx!.dataSync().slice() as Float32Array, dw!.dataSync().slice() as Float32Array];
  });
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

describe("cpu Conv2DBackpropFilter / Conv2DBackpropInput", () => {
  it("match the stock kernels within 1e-4 relative error (strides 1 and 2, same/valid/explicit padding, batch 1 and odd sizes)", async () => {
    await tf.setBackend("cpu");
    const stock = cases.map(grads);
    registerFastCpuKernels();
    expect(tf.getKernel("Conv2DBackpropFilter", "cpu")!.kernelFunc).toBe(conv2DBackpropFilter);
    expect(tf.getKernel("Conv2DBackpropInput", "cpu")!.kernelFunc).toBe(conv2DBackpropInput);
    const fast = cases.map(grads);
    cases.forEach((c, i) => {
      expect(fast[i]![0].length).toBe(stock[i]![0].length);
      expect(relErr(fast[i]![0], stock[i]![0]), `dx ${JSON.stringify(c)}`).toBeLessThan(1e-4);
      expect(relErr(fast[i]![1], stock[i]![1]), `dw ${JSON.stringify(c)}`).toBeLessThan(1e-4);
    });
  });
});
