// The fused batch-norm training kernels and layer against tfjs's own BatchNormalization layer:
// same output, same gradients for x, gamma and beta, same moving mean, on the cpu and wasm
// backends, through the fused kernels and through the moments path other backends take; the
// moving variance as PyTorch's (the unbiased batch variance, computed here in float64), where
// tfjs's stock layer takes the biased one; and it saves as a plain BatchNormalization.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { BN_FORWARD, FusedBatchNorm, registerFusedBatchNorm } from "../src/batchnorm.js";
import { relErr } from "./conv-cases.js";

const values = (t: tf.Tensor) => t.dataSync().slice() as Float32Array;

/** Output, gradients and moving statistics after one training call of a layer built by `make`. */
function trainOnce(make: () => tf.layers.Layer, shape: number[]): Record<string, Float32Array> {
  return tf.tidy(() => {
    const layer = make();
    const x = tf.randomNormal(shape, 0.5, 2, "float32", 1);
    layer.build(x.shape);
    const c = shape[shape.length - 1]!;
    layer.setWeights([
      tf.randomUniform([c], 0.5, 1.5, "float32", 2),
      tf.randomUniform([c], -1, 1, "float32", 3),
      tf.randomUniform([c], -1, 1, "float32", 4),
      tf.randomUniform([c], 0.5, 2, "float32", 5),
    ]);
    const dy = tf.randomNormal(shape, 0, 1, "float32", 6);
    const xv = tf.variable(x, true, `x${Math.random()}`);
    const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    let y: tf.Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(xv, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(y, dy)) as tf.Scalar;
    }, [xv, gamma!, beta!]);
    const w = layer.getWeights();
    // PyTorch: running_var = (1 - momentum') * running_var + momentum' * unbiased batch variance.
    const xs = Array.from(x.dataSync());
    const rows = xs.length / c;
    const oldVar = tf.randomUniform([c], 0.5, 2, "float32", 5).dataSync();
    const torchVariance = Float32Array.from({ length: c }, (_, k) => {
      let mean = 0;
      for (let r = 0; r < rows; r++) mean += xs[r * c + k]! / rows;
      let ss = 0;
      for (let r = 0; r < rows; r++) ss += (xs[r * c + k]! - mean) ** 2;
      const momentum = (layer.getConfig() as { momentum: number }).momentum;
      return oldVar[k]! * momentum + (1 - momentum) * (ss / (rows - 1));
    });
    const out = {
      torchVariance,
      y: values(y!),
      dx: values(grads[xv.name]!),
      dgamma: values(grads[gamma!.name]!),
      dbeta: values(grads[beta!.name]!),
      movingMean: values(w[2]!),
      movingVariance: values(w[3]!),
    };
    tf.dispose([y!, xv]);
    return out;
  });
}
const config = { axis: -1, epsilon: 1e-5, momentum: 0.9 };

const shapes = [
  [4, 5, 6, 3],
  [1, 3, 3, 16],
  [3, 7, 9, 8], // 189 rows: several of the SIMD sums' 64-row blocks, and a partial one
  [7, 10],
];

for (const backend of ["cpu", "wasm"] as const)
  describe(`fused batch norm on ${backend}`, () => {
    for (const path of ["fused kernels", "moments path"] as const)
      for (const shape of shapes)
        it(
          `through the ${path}: output, gradients and moving mean as tfjs's BatchNormalization, ` +
            `moving variance as PyTorch's (${shape.join("x")})`,
          async () => {
            await tf.setBackend(backend);
            registerFusedBatchNorm(backend);
            expect(tf.getKernel(BN_FORWARD, backend)).toBeDefined();
            const stock = trainOnce(() => tf.layers.batchNormalization(config), shape);
            // The moments path is what a backend without the fused kernels (webgpu) takes.
            const kernel = tf.getKernel(BN_FORWARD, backend)!;
            if (path === "moments path") tf.unregisterKernel(BN_FORWARD, backend);
            let ours: Record<string, Float32Array>;
            try {
              ours = trainOnce(() => new FusedBatchNorm(config), shape);
            } finally {
              if (path === "moments path") tf.registerKernel(kernel);
            }
            for (const key of ["y", "dx", "dgamma", "dbeta", "movingMean"])
              expect(relErr(ours[key]!, stock[key]!), key).toBeLessThan(1e-4);
            expect(relErr(ours["movingVariance"]!, stock["torchVariance"]!)).toBeLessThan(1e-5);
            // The stock layer's biased update is measurably different (n / (n - 1) on the batch term).
            expect(relErr(stock["movingVariance"]!, stock["torchVariance"]!)).toBeGreaterThan(1e-4);
          },
        );

    it("goes through the fused kernel (and inference through the stock path)", async () => {
      await tf.setBackend(backend);
      registerFusedBatchNorm(backend);
      const layer = new FusedBatchNorm(config);
      const x = tf.randomNormal([2, 4, 4, 3]);
      layer.apply(x, { training: false });
      const seen: string[] = [];
      const p = await tf.profile(() => layer.apply(x, { training: true }) as tf.Tensor);
      for (const k of p.kernels) seen.push(k.name);
      expect(seen).toContain(BN_FORWARD);
      const q = await tf.profile(() => layer.apply(x, { training: false }) as tf.Tensor);
      expect(q.kernels.map((k) => k.name)).not.toContain(BN_FORWARD);
    });
  });

describe("FusedBatchNorm in a model", () => {
  it("serializes as a plain BatchNormalization", async () => {
    await tf.setBackend("cpu");
    const input = tf.input({ shape: [4, 4, 3] });
    const model = tf.model({
      inputs: input,
      outputs: new FusedBatchNorm({ ...config, name: "bn1" }).apply(input) as tf.SymbolicTensor,
    });
    const json = model.toJSON(undefined, false) as unknown as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toEqual(["InputLayer", "BatchNormalization"]);
  });
});
