// resnetc's training kernels for the wasm backend (and the block-copy Tile/Slice both backends
// use) against references on the cpu backend: tfjs's stock kernels where they are right, and
// ground truth built from differentiable ops where they are not (the stock cpu depthwise
// gradients ignore dilation). Then one full training step of CIFAR ResNet-20 on both backends.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseBackend } from "../src/backend.js";
import { initParams, type ParamInfo } from "../src/params.js";
import { sliceInto, tileInto } from "../src/copy-kernels.js";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "../src/wasm-kernels.js";
import { simdKernels } from "../src/simd.js";
import { CONV_CASES, type ConvCase, relErr } from "./conv-cases.js";
import { outDir, runCliAsync } from "./helpers.js";

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, "float32", seed);
const values = (t: tf.Tensor) => t.dataSync().slice() as Float32Array;

/** The filter spread out with zeros between taps: a dilated convolution as a plain one. */
function dilateFilter(w: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw, c, m] = w.shape;
  const b = tf.buffer([(kh - 1) * d + 1, (kw - 1) * d + 1, c, m]);
  const v = w.arraySync();
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let a = 0; a < c; a++) for (let q = 0; q < m; q++) b.set(v[i]![j]![a]![q]!, i * d, j * d, a, q);
  return b.toTensor() as tf.Tensor4D;
}

/** Conv2D gradients (through tf.grads), depthwise gradients (multiplier 2; dilation 2 at stride
 * 1) straight from the kernels, and Tile / Slice results, for one case on the current backend. */
function kernelResults(c: ConvCase, dilatedTruth: boolean): Record<string, Float32Array> {
  return tf.tidy(() => {
    const x = rand([c.n, c.h, c.w, c.ci], 1) as tf.Tensor4D;
    const w = rand([...c.k, c.ci, c.co], 2) as tf.Tensor4D;
    const dy = rand(tf.conv2d(x, w, c.stride, c.pad).shape, 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)),
    )([x, w]);

    const dil = c.stride[0] === 1 && c.stride[1] === 1 ? 2 : 1;
    const pad = c.pad === "same" ? "same" : "valid";
    const f = rand([3, 3, c.ci, 2], 4) as tf.Tensor4D;
    const dyd = rand(tf.depthwiseConv2d(x, f, c.stride, pad, "NHWC", dil).shape, 5);
    let ddx: tf.Tensor;
    let ddw: tf.Tensor;
    if (dilatedTruth && dil > 1) {
      // Ground truth: the same sums as an undilated depthwise conv with a zero-spread filter.
      const big = dilateFilter(f, dil);
      const [gx, gBig] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad), dyd)),
      )([x, big]);
      ddx = gx!;
      ddw = tf.stridedSlice(gBig!, [0, 0, 0, 0], big.shape, [dil, dil, 1, 1]);
    } else {
      const attrs = { strides: c.stride, pad, dilations: [dil, dil] };
      ddx = tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy: dyd, filter: f }, {
        ...attrs,
        inputShape: x.shape,
      } as never) as tf.Tensor;
      ddw = tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy: dyd }, {
        ...attrs,
        filterShape: f.shape,
      } as never) as tf.Tensor;
    }
    const h2 = c.h - (c.h % 2);
    const w2 = c.w - (c.w % 2);
    const sub = tf.reshape(tf.slice(x, [0, 0, 0, 0], [c.n, h2, w2, c.ci]), [c.n, h2 / 2, 2, w2 / 2, 2, c.ci]);
    return {
      dx: values(dx!),
      dw: values(dw!),
      depthwiseDx: values(ddx),
      depthwiseDw: values(ddw),
      tileChannels: values(tf.tile(rand([1, 1, 1, c.ci], 6), [c.n, c.h, c.w, 1])),
      tileMixed: values(tf.tile(x, [2, 1, 3, 1])),
      tileInt: values(tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), [3, 2])),
      slice6d: values(tf.slice(sub, [0, 0, 0, 0, 0, 0], [-1, -1, 1, -1, 1, -1])),
      sliceInner: values(tf.slice(x, [0, 1, 1, 1], [1, 2, -1, 1])),
    };
  });
}

describe("Tile and Slice as block copies", () => {
  it("equal the definition on small arrays", () => {
    const out = new Float32Array(12);
    tileInto(Float32Array.from([1, 2, 3]), [1, 3], [2, 2], out);
    expect([...out]).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    const x = Float32Array.from({ length: 24 }, (_, i) => i); // [2, 3, 4]
    const s = new Float32Array(4);
    sliceInto(x, [2, 3, 4], [1, 1, 1], [1, 2, 2], s);
    expect([...s]).toEqual([17, 18, 21, 22]);
  });
});

// With resnetc's SIMD module (simd.wat: the filter gradient's own product where the output
// channels are a multiple of 4, stride-phase input gradients) and without it (the backend's
// kernels only: one BatchMatMul per tap, zero-dilated input gradients).
describe.each([
  ["with resnetc's SIMD kernels", "1"],
  ["with the backend's kernels only (RESNETC_WASM_SIMD=0)", "0"],
])("wasm training kernels %s", (_mode, simdEnv) => {
  let reference: Record<string, Float32Array>[];
  let truth: Record<string, Float32Array>[];
  const saved = process.env["RESNETC_WASM_SIMD"];
  beforeAll(async () => {
    await tf.setBackend("cpu");
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no "install tfjs-node" banner
    reference = CONV_CASES.map((c) => kernelResults(c, false));
    truth = CONV_CASES.map((c) => kernelResults(c, true));
    await tf.setBackend("wasm");
    registerWasmTrainingKernels();
    process.env["RESNETC_WASM_SIMD"] = simdEnv;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env["RESNETC_WASM_SIMD"];
    else process.env["RESNETC_WASM_SIMD"] = saved;
  });

  it("are registered for the wasm backend, which lacks or has slow versions of them", () => {
    for (const [name, fn] of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, "wasm")!.kernelFunc, name).toBe(fn);
    expect(simdKernels(tf.backend()) !== undefined).toBe(simdEnv === "1");
  });

  CONV_CASES.forEach((c, i) =>
    it(`match the cpu backend within 1e-4 relative error: ${JSON.stringify(c)}`, () => {
      const got = kernelResults(c, false);
      for (const key of Object.keys(got)) {
        // The stock cpu depthwise gradients ignore dilation: dilated cases compare with ground truth.
        const ref = key.startsWith("depthwise") ? truth[i]![key]! : reference[i]![key]!;
        expect(relErr(got[key]!, ref), key).toBeLessThan(1e-4);
      }
    }),
  );

  it("free every temporary: no wasm tensors are left after a gradient", () => {
    for (const c of [CONV_CASES[1]!, CONV_CASES[7]!]) {
      const before = tf.engine().backend.numDataIds();
      kernelResults(c, false);
      expect(tf.engine().backend.numDataIds()).toBe(before);
    }
  });
});

describe("3x3 convolutions by Winograd on wasm", () => {
  // Forward (FusedConv2D) and input gradient by F(2x2, 3x3), filter gradient by F(3x3, 2x2):
  // resnetc's SIMD Winograd against XNNPACK's direct convolution and one BatchMatMul per tap
  // (RESNETC_WASM_SIMD=0), on shapes big enough to take the Winograd path (n*h*w*c*co >= 2^20):
  // channel counts 16 to 64, an odd number of tiles a row, tile counts that leave a partial last
  // block (forward: 8 tiles a block, filter gradient: 32); and a shape it declines (odd size).
  const saved = process.env["RESNETC_WASM_SIMD"];
  afterAll(() => {
    if (saved === undefined) delete process.env["RESNETC_WASM_SIMD"];
    else process.env["RESNETC_WASM_SIMD"] = saved;
  });
  const shapes: [number, number, number, number, number][] = [
    [4, 32, 32, 16, 16],
    [4, 8, 8, 64, 64],
    [6, 16, 8, 32, 64],
    [5, 10, 14, 32, 48],
    [2, 15, 15, 16, 16],
  ];
  for (const [n, h, w, c, co] of shapes)
    it(`match XNNPACK's direct convolution within 1e-5: ${n}x${h}x${w}x${c} -> ${co}`, async () => {
      await tf.setBackend("wasm");
      registerWasmTrainingKernels();
      const run = (simd: string) => {
        process.env["RESNETC_WASM_SIMD"] = simd;
        return tf.tidy(() => {
          const x = rand([n, h, w, c], 21) as tf.Tensor4D;
          const g = rand([3, 3, c, co], 22) as tf.Tensor4D;
          const dy = rand([n, h, w, co], 23);
          const y = tf.fused.conv2d({ x, filter: g, strides: 1, pad: "same" });
          const [dx, dg] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"), dy)),
          )([x, g]);
          return { y: values(y), dx: values(dx!), dw: values(dg!) };
        });
      };
      const direct = run("0");
      const wino = run("1");
      expect(relErr(wino.y, direct.y)).toBeLessThan(1e-5);
      expect(relErr(wino.dx, direct.dx)).toBeLessThan(1e-5);
      expect(relErr(wino.dw, direct.dw)).toBeLessThan(1e-5);
    });
});

describe("Identity on wasm", () => {
  it("shares the memory (no copy), and each reference outlives the other's disposal", async () => {
    await tf.setBackend("wasm");
    registerWasmTrainingKernels();
    const b = tf.backend() as unknown as { getMemoryOffset(id: object): number };
    const x = tf.tensor([1, 2, 3, 4]);
    const y = tf.clone(x);
    expect(b.getMemoryOffset(y.dataId)).toBe(b.getMemoryOffset(x.dataId));
    x.dispose();
    expect([...y.dataSync()]).toEqual([1, 2, 3, 4]);
    const z = tf.add(y, 1); // new allocations must not land on y's memory
    expect([...y.dataSync()]).toEqual([1, 2, 3, 4]);
    tf.dispose([y, z]);
  });
});

describe("a training step of CIFAR ResNet-20 (32x32, batch 4)", () => {
  const dir = join(outDir, "wasm-kernels-test");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "gives the same loss and gradients on the cpu and wasm backends, each with resnetc's " + "kernels, within 1e-3",
    async () => {
      mkdirSync(dir, { recursive: true });
      const r = await runCliAsync([
        "compile",
        "examples/cifar-resnet.resnet",
        "--target",
        "ts",
        "--model",
        "ResNet20",
        "-o",
        dir,
      ]);
      expect(r.code).toBe(0);
      const mod = (await import(join(dir, "model.ts"))) as { buildModel(): tf.LayersModel; PARAMS: ParamInfo[] };
      const step = () =>
        tf.tidy(() => {
          const model = mod.buildModel();
          initParams(model, mod.PARAMS, 7);
          const x = tf.randomUniform([4, 3, 32, 32], 0, 1, "float32", 11); // the declared NCHW
          const y = tf.oneHot(tf.tensor1d([3, 1, 4, 1], "int32"), 10);
          const { value, grads } = tf.variableGrads(
            () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
            model.trainableWeights.map((w) => w.read() as tf.Variable),
          );
          const out = {
            loss: value.dataSync()[0]!,
            grads: model.trainableWeights.map((w) => ({
              name: w.name,
              g: values(grads[(w.read() as tf.Variable).name]!),
            })),
          };
          model.dispose();
          return out;
        });
      await chooseBackend({ prefer: "cpu" });
      const onCpu = step();
      await chooseBackend({ prefer: "wasm" });
      expect(tf.getBackend()).toBe("wasm");
      const onWasm = step();
      expect(Number.isFinite(onCpu.loss)).toBe(true);
      expect(Math.abs(onWasm.loss - onCpu.loss) / Math.abs(onCpu.loss)).toBeLessThan(1e-3);
      expect(onWasm.grads.length).toBe(onCpu.grads.length);
      expect(onCpu.grads.length).toBeGreaterThanOrEqual(19 + 2 * 19 + 2);
      onCpu.grads.forEach((c, i) => expect(relErr(onWasm.grads[i]!.g, c.g), c.name).toBeLessThan(1e-3));
    },
    120_000,
  );
});

// Every example taking a training step on wasm is test/examples-train.test.ts's (through
// `resnetc train --backend wasm`, each model in its own process, then tfjs and ONNX Runtime compared).
