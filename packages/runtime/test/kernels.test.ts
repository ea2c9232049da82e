// The faster cpu convolution gradients equal the stock tfjs kernels on random shapes.
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, registerFastCpuKernels } from "../src/kernels.js";
import { CONV_CASES, type ConvCase, relErr } from "./conv-cases.js";

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, "float32", seed);
}

/** conv2d(x, w) (with dilation 2 too), and the gradients of sum(conv2d(x, w) * dy) with respect to x and w. */
function grads(c: ConvCase): [Float32Array, Float32Array, Float32Array, Float32Array] {
  return tf.tidy(() => {
    const x = rand([c.n, c.h, c.w, c.ci], 1);
    const w = rand([...c.k, c.ci, c.co], 2);
    const out = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    const dy = rand(out.shape, 3);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)),
    );
    const [dx, dw] = g([x, w]);
    const dilated =
      c.stride[0] === 1 && c.stride[1] === 1
        ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same", "NHWC", 2)
        : out;
    return [
      dx!.dataSync().slice() as Float32Array,
      dw!.dataSync().slice() as Float32Array,
      out.dataSync().slice() as Float32Array,
      dilated.dataSync().slice() as Float32Array,
    ];
  });
}

describe("cpu Conv2D / Conv2DBackpropFilter / Conv2DBackpropInput", () => {
  // Runs first: it computes with the stock kernels, then registers resnetc's.
  it(
    "match the stock kernels within 1e-4 relative error (strides 1 and 2, same/valid/explicit padding, dilation, " +
      "batch 1 and odd sizes)",
    async () => {
      await tf.setBackend("cpu");
      const stock = CONV_CASES.map(grads);
      registerFastCpuKernels();
      expect(tf.getKernel("Conv2D", "cpu")!.kernelFunc).toBe(conv2D);
      expect(tf.getKernel("Conv2DBackpropFilter", "cpu")!.kernelFunc).toBe(conv2DBackpropFilter);
      expect(tf.getKernel("Conv2DBackpropInput", "cpu")!.kernelFunc).toBe(conv2DBackpropInput);
      const fast = CONV_CASES.map(grads);
      CONV_CASES.forEach((c, i) => {
        expect(fast[i]![0].length).toBe(stock[i]![0].length);
        expect(relErr(fast[i]![0], stock[i]![0]), `dx ${JSON.stringify(c)}`).toBeLessThan(1e-4);
        expect(relErr(fast[i]![1], stock[i]![1]), `dw ${JSON.stringify(c)}`).toBeLessThan(1e-4);
        expect(relErr(fast[i]![2], stock[i]![2]), `y ${JSON.stringify(c)}`).toBeLessThan(1e-4);
        expect(relErr(fast[i]![3], stock[i]![3]), `y dilated ${JSON.stringify(c)}`).toBeLessThan(1e-4);
      });
    },
  );
});

describe("cpu element-wise ops with broadcasting, per-channel Sum and Mean, Tile and Slice", () => {
  const pairs: [number[], number[]][] = [
    [[2, 3, 4, 5], [5]],
    [
      [2, 3, 4, 5],
      [1, 1, 1, 5],
    ],
    [[5], [2, 3, 4, 5]],
    [[2, 3, 4, 5], []],
    [[2, 3, 4, 5], [1]],
    [
      [2, 3, 4, 5],
      [2, 3, 4, 5],
    ],
    [
      [2, 3, 4, 5],
      [2, 1, 1, 5],
    ],
    [
      [2, 1, 1, 5],
      [2, 3, 4, 5],
    ],
    [
      [3, 4],
      [1, 4],
    ],
    [[4], [3, 4]],
  ];
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ["add", tf.add],
    ["sub", tf.sub],
    ["mul", tf.mul],
    ["div", tf.div],
    ["squaredDifference", tf.squaredDifference],
  ];
  const compute = (): Float32Array[] =>
    tf.tidy(() => {
      const out: Float32Array[] = [];
      pairs.forEach(([sa, sb], i) => {
        const a = rand(sa, 10 + i);
        const b = tf.add(rand(sb, 20 + i), 1.5); // away from 0 for div
        for (const [, f] of ops) out.push(f(a, b).dataSync().slice() as Float32Array);
      });
      const x = rand([2, 3, 4, 5], 7);
      for (const keepDims of [false, true]) {
        out.push(tf.sum(x, [0, 1, 2], keepDims).dataSync().slice() as Float32Array);
        out.push(tf.mean(x, [0, 1, 2], keepDims).dataSync().slice() as Float32Array);
        out.push(tf.sum(x, [-2, 0, 1], keepDims).dataSync().slice() as Float32Array);
        out.push(tf.sum(x, [1, 2], keepDims).dataSync().slice() as Float32Array); // not the fast path
        out.push(tf.mean(x, -1, keepDims).dataSync().slice() as Float32Array);
      }
      const m = rand([6, 4], 8);
      out.push(tf.sum(m, 0).dataSync().slice() as Float32Array);
      // Tile and Slice: batch-norm gradient tiling, option A's 6-D slice, ints, a slice to the end.
      out.push(
        tf
          .tile(rand([1, 1, 1, 5], 9), [2, 3, 4, 1])
          .dataSync()
          .slice() as Float32Array,
      );
      out.push(tf.tile(x, [1, 2, 1, 3]).dataSync().slice() as Float32Array);
      out.push(Float32Array.from(tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), [2, 3]).dataSync()));
      out.push(
        tf
          .slice(tf.reshape(rand([2, 4, 6, 3], 10), [2, 2, 2, 3, 2, 3]), [0, 0, 0, 0, 0, 0], [-1, -1, 1, -1, 1, -1])
          .dataSync()
          .slice() as Float32Array,
      );
      out.push(tf.slice(x, [1, 1, 0, 2], [1, -1, 3, 2]).dataSync().slice() as Float32Array);
      return out;
    });
  it("equal the stock kernels (the fast paths and the fallbacks), as do Tile and Slice", async () => {
    await tf.setBackend("cpu");
    // The first describe may already have registered the fast kernels: compare against the
    // stock functions kept by `original`.
    const { original } = await import("../src/kernels.js");
    registerFastCpuKernels();
    for (const n of ["Add", "Sum", "Mean", "Tile", "Slice"])
      expect(tf.getKernel(n, "cpu")!.kernelFunc).not.toBe(original(n));
    const fast = compute();
    const names = ["Add", "Sub", "Multiply", "RealDiv", "SquaredDifference", "Sum", "Mean", "Tile", "Slice"];
    const saved = names.map((n) => tf.getKernel(n, "cpu")!);
    for (const n of names) {
      tf.unregisterKernel(n, "cpu");
      tf.registerKernel({ kernelName: n, backendName: "cpu", kernelFunc: original(n) as unknown as tf.KernelFunc });
    }
    const stock = compute();
    for (const [i, n] of names.entries()) {
      tf.unregisterKernel(n, "cpu");
      tf.registerKernel(saved[i]!);
    }
    expect(fast.length).toBe(stock.length);
    fast.forEach((f, i) => {
      expect(f.length, `result ${i}`).toBe(stock[i]!.length);
      expect(relErr(f, stock[i]!), `result ${i}`).toBeLessThan(1e-5);
    });
  });
});
