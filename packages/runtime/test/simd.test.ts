// resnetc's SIMD module (src/simd.wat): the assembled bytes in simd-wasm.ts are those of
// the .wat (so the reviewed source is what runs), ReLU on wasm is max(x, 0), and ReLU's fused
// gradient (relu-grad.ts, a SIMD loop on wasm) equals tfjs's dy * step(x) on both CPU backends. The module's other
// kernels are checked where they are used: batchnorm.test.ts, wasm-kernels.test.ts and, with the
// helper thread, wasm-threads.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { RELU_GRAD, registerReluGrad } from "../src/relu-grad.js";
import { registerWasmTrainingKernels } from "../src/wasm-kernels.js";
import { pkgRoot } from "./helpers.js";

describe("simd-wasm.ts", () => {
  it("holds exactly what scripts/build-simd.js assembles from simd.wat (run it after editing the .wat)", async () => {
    const { simdModuleSource } = (await import(join(pkgRoot, "scripts", "build-simd.js"))) as {
      simdModuleSource(): Promise<string>;
    };
    expect(readFileSync(join(pkgRoot, "src", "simd-wasm.ts"), "utf8")).toBe(await simdModuleSource());
  });
});

describe("ReLU on wasm", () => {
  it("equals max(x, 0) for every length (SIMD body and scalar tail), NaN staying NaN", async () => {
    await tf.setBackend("wasm");
    const stock = tf.getKernel("Relu", "wasm")!.kernelFunc;
    registerWasmTrainingKernels();
    expect(tf.getKernel("Relu", "wasm")!.kernelFunc).not.toBe(stock);
    for (const n of [1, 5, 8, 1003]) {
      const xs = Array.from({ length: n }, (_, i) => (i === 2 ? NaN : i % 5 === 0 ? 0 : Math.sin(i * 1.3)));
      const y = tf.relu(tf.tensor1d(xs));
      expect(
        [...y.dataSync()].map((v) => v + 0),
        `length ${n}`,
      ).toEqual(xs.map((v) => (Number.isNaN(v) ? NaN : Math.max(v, 0)) + 0).map((v) => Math.fround(v)));
      y.dispose();
    }
  });
});

for (const backend of ["cpu", "wasm"] as const)
  describe(`ReLU's gradient on ${backend}`, () => {
    it("equals dy * step(x) for every length (SIMD body and scalar tail), with zeros and negatives", async () => {
      await tf.setBackend(backend);
      registerReluGrad(backend);
      expect(tf.getKernel(RELU_GRAD, backend)).toBeDefined();
      for (const n of [1, 3, 4, 7, 1001]) {
        const x = tf.tensor1d(Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : Math.sin(i * 1.7))));
        const dy = tf.randomNormal([n], 0, 1, "float32", n);
        // (+0 and -0 are the same gradient: dy * 0 is -0 for a negative dy, the fused kernel writes +0)
        const vals = (t: tf.Tensor) => [...t.dataSync()].map((v) => v + 0);
        const fused = tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
        const expected = tf.mul(dy, tf.cast(tf.step(x), "float32"));
        expect(vals(fused), `length ${n}`).toEqual(vals(expected));
        // And tf.grad of relu goes through it.
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), dy)))(x);
        expect(vals(g), `grad, length ${n}`).toEqual(vals(expected));
        tf.dispose([x, dy, fused, expected, g]);
      }
      const x = tf.randomNormal([8]);
      const p = await tf.profile(() => tf.grad((a: tf.Tensor) => tf.sum(tf.relu(a)))(x));
      expect(p.kernels.map((k) => k.name)).toContain(RELU_GRAD);
      expect(p.kernels.map((k) => k.name)).not.toContain("Step");
    });
  });
