// Spiking neurons (if_neuron, lif) and time folded into the batch axis (time_repeat, time_mean):
//   1. ONNX Runtime's spikes equal tfjs's exactly, every one, on small spiking nets (the two
//      lowerings order their float ops identically);
//   2. tfjs's gradient through a neuron is the surrogate's formula, computed here by hand on tiny
//      cases (ATan and rectangular; a reset that is detached and one that is not);
//   3. tfjs's spikes equal an independent float32 reference of SpikingJelly's arithmetic, exactly;
//   4. the shape rules: T*N batches, T's range, a static batch that is not a multiple of T.
// Takes: the compiler's emitters and the runtime's layers. Gives: vitest cases.
// Must not: compare spikes with a tolerance.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { emitTs } from "../src/emit/ts/emit.js";
import { dimStr } from "../src/ir/dims.js";
import { caseParams, uniform } from "./reference/data.js";
import { checkSource, codes, graphOf, repoRoot } from "./helpers.js";

const work = join(repoRoot, "out", "spiking-test");
beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const rt = await import("@resnetc/runtime");
  await rt.chooseBackend({ prefer: "cpu" });
});

/** Runs `fn` through the fused neuron kernels (what the cpu and wasm backends use) or through
 * the tfjs ops (what other backends use: the kernel unregistered for the while). */
async function onPath<R>(path: "fused" | "ops", fn: () => R | Promise<R>): Promise<R> {
  const rt = await import("@resnetc/runtime");
  const kernel = tf.getKernel(rt.SPIKE_FORWARD, tf.getBackend());
  expect(kernel, "the backend has the fused neuron kernels").toBeDefined();
  if (path === "fused") return fn();
  tf.unregisterKernel(rt.SPIKE_FORWARD, tf.getBackend());
  try {
    return await fn();
  } finally {
    tf.registerKernel(kernel!);
  }
}

/** Spikes of `source`'s output from ONNX Runtime and from the emitted tfjs model, same seeded
 * parameters (BN statistics perturbed by caseParams) and input. */
async function bothSpikes(source: string, key: string, batch: number): Promise<[Float32Array, Float32Array]> {
  const g = graphOf(source);
  const { f32 } = caseParams(g);
  const dims = g.inputs[0]!.shape.map((d) => (typeof d === "number" ? d : batch));
  const n = dims.reduce((a, b) => a * b, 1);
  const x = uniform(n, 11, -3, 3);
  const onnx = emitOnnx(g, { weights: f32 });
  expect(onnx.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const session = await ort.InferenceSession.create(onnx.bytes!);
  const out = await session.run({ [g.inputs[0]!.name]: new ort.Tensor("float32", x, dims) });
  const want = out[g.outputs[0]!.name]!.data as Float32Array;
  const ts = emitTs(g);
  expect(ts.diagnostics).toEqual([]);
  const file = join(work, `${key}.ts`);
  writeFileSync(file, ts.files!["model.ts"]);
  const mod = await import(file);
  const rt = await import("@resnetc/runtime");
  const model = mod.buildModel() as tf.LayersModel;
  rt.setParams(model, mod.PARAMS, (p: { name: string }) => f32.get(p.name)!.data);
  const got = tf.tidy(() => (model.predict(tf.tensor(x, dims)) as tf.Tensor).dataSync().slice() as Float32Array);
  model.dispose();
  return [got, want];
}

describe("ONNX Runtime's spikes equal tfjs's exactly", () => {
  const nets: [string, string, number[]][] = [
    [
      "SEW-style LIF net, T 4",
      `model S {
  input x: f32[N, 2, 8, 8]
  conv(6, k=3) bn time_repeat(4) lif(4)
  residual { conv(6, k=3) bn lif(4) conv(6, k=3) bn lif(4) } shortcut identity
  conv(8, k=3, stride=2) bn lif(4, tau=3, v_th=0.7)
}`,
      [12, 8, 4, 4],
    ],
    [
      "MS-ResNet-style IF net, soft reset, T 3",
      `model S {
  input x: f32[N, 2, 6, 6]
  conv(6, k=3) bn time_repeat(3)
  residual { if_neuron(3, reset=soft) conv(6, k=3) bn if_neuron(3, v_reset=-0.25) conv(6, k=3) bn } shortcut identity
  if_neuron(3, v_th=0.5, reset=soft, detach_reset=true)
}`,
      [9, 6, 6, 6],
    ],
  ];
  for (const [name, source, dims] of nets)
    it(
      name,
      async () => {
        const [got, want] = await bothSpikes(
          source,
          name.replace(/[^A-Za-z0-9]+/g, "_"),
          dims[0]! / (name.includes("T 4") ? 4 : 3),
        );
        // Emitted models give the declared layout (NCHW), as ONNX does.
        const ours = got;
        expect(want.length).toBe(dims.reduce((a, b) => a * b, 1));
        // Spikes only, and not all alike: the comparison means something.
        expect([...new Set(want)].sort()).toEqual([0, 1]);
        const ones = want.reduce((s, v) => s + v, 0);
        expect(ones).toBeGreaterThan(want.length * 0.02);
        expect(ones).toBeLessThan(want.length * 0.98);
        let differ = 0;
        for (let i = 0; i < want.length; i++) if (ours[i] !== want[i]) differ++;
        expect(differ).toBe(0);
      },
      60_000,
    );
});

const atan = (x: number, alpha = 2): number => alpha / 2 / (1 + ((Math.PI / 2) * alpha * x) ** 2);
const rect = (x: number, a: number): number => (Math.abs(x) < a / 2 ? 1 / a : 0);
const base = { vTh: 1, vReset: 0, reset: "hard" as const, detachReset: false, alpha: 2, width: 1 };

for (const path of ["fused", "ops"] as const)
  describe(`tfjs's gradient through a neuron is the surrogate's, by hand (${path})`, () => {
    it("LIF, T 1, ATan: dL/dx = r * atan'(x / tau - v_th) / tau", () =>
      onPath(path, async () => {
        const rt = await import("@resnetc/runtime");
        const xs = [0.3, 1.9, 2.0, 2.4, -1, 4];
        const r = [1, -2, 0.5, 1.5, 1, 0.25];
        const tau = 2;
        const g = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(rt.neuronSteps(x, { ...base, T: 1, tau, surrogate: "atan" }), tf.tensor(r))),
        )(tf.tensor(xs));
        const got = await g.data();
        xs.forEach((x, i) => expect(got[i]).toBeCloseTo((r[i]! * atan(x / tau - 1)) / tau, 6));
        const spikes = await rt.neuronSteps(tf.tensor(xs), { ...base, T: 1, tau, surrogate: "atan" }).data();
        expect([...spikes]).toEqual(xs.map((x) => (x / tau - 1 >= 0 ? 1 : 0)));
      }));

    it("IF, T 1, rectangular width 0.8: 1/a inside |x - v_th| < a/2, 0 outside", () =>
      onPath(path, async () => {
        const rt = await import("@resnetc/runtime");
        const xs = [0.5, 0.7, 1.0, 1.35, 1.5];
        const g = tf.grad((x: tf.Tensor) =>
          tf.sum(rt.neuronSteps(x, { ...base, T: 1, surrogate: "rect", width: 0.8 })),
        )(tf.tensor(xs));
        const got = await g.data();
        xs.forEach((x, i) => expect(got[i]).toBeCloseTo(rect(x - 1, 0.8), 6));
        expect(got.some((v) => v === 0) && got.some((v) => v > 1)).toBe(true);
      }));

    for (const detach of [true, false])
      it(`IF, T 2, hard reset, detach_reset=${detach}: the gradient through the reset by hand`, () =>
        onPath(path, async () => {
          const rt = await import("@resnetc/runtime");
          // Batch [x0 (step 0); x1 (step 1)], one neuron per column.
          const x0 = [1.2, 0.4, 0.9, 1.05];
          const x1 = [0.3, 0.7, 0.05, -0.2];
          const r0 = [0.5, -1, 2, 1];
          const r1 = [1.5, 0.75, -1, 2];
          const cfg = { ...base, T: 2, surrogate: "atan" as const, detachReset: detach };
          const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(rt.neuronSteps(x, cfg), tf.tensor([r0, r1]))))(
            tf.tensor([x0, x1]),
          );
          const got = await g.data();
          for (let i = 0; i < 4; i++) {
            // h0 = x0; s0 = H(h0 - 1); v1 = h0 (1 - s0); h1 = v1 + x1; s1 = H(h1 - 1).
            const h0 = x0[i]!;
            const s0 = h0 - 1 >= 0 ? 1 : 0;
            const h1 = h0 * (1 - s0) + x1[i]!;
            const g1 = r1[i]! * atan(h1 - 1); // dL/dh1
            // dv1/dh0 = (1 - s0) - h0 * ds0/dh0 (the second term only without detach_reset).
            const dv1 = 1 - s0 - (detach ? 0 : h0 * atan(h0 - 1));
            expect(got[4 + i]).toBeCloseTo(g1, 6);
            expect(got[i]).toBeCloseTo(r0[i]! * atan(h0 - 1) + g1 * dv1, 6);
          }
        }));
  });

describe("the fused neuron kernels equal the tfjs ops", () => {
  // Every combination the language offers, T 5, on 4,000 neurons: the same spikes (bits) and the
  // same gradient through time within float32 rounding (the kernel sums in float64).
  type Config = {
    tau: number | undefined;
    reset: "hard" | "soft";
    detachReset: boolean;
    surrogate: "atan" | "rect";
    vTh: number;
    vReset: number;
  };
  const configs: Config[] = [];
  for (const tau of [undefined, 2, 4 / 3])
    for (const reset of ["hard", "soft"] as const)
      for (const detachReset of [false, true])
        for (const surrogate of ["atan", "rect"] as const)
          configs.push({ tau, reset, detachReset, surrogate, vTh: 0.6, vReset: reset === "hard" ? -0.2 : 0 });
  const title = `${configs.length} configurations: IF and LIF, hard and soft reset, detached or not, ATan and rect`;
  it(title, async () => {
    const rt = await import("@resnetc/runtime");
    const T = 5;
    const x = tf.tensor(uniform(T * 4000, 3, -0.5, 1.5), [T * 2000, 2]);
    const r = tf.tensor(uniform(T * 4000, 4, -1, 1), [T * 2000, 2]);
    let checked = 0;
    for (const c of configs) {
      const cfg = { ...c, T, alpha: 2.5, width: 0.6, ...(c.tau === undefined ? { tau: undefined } : {}) };
      const run = () =>
        tf.tidy(() => {
          const f = (xi: tf.Tensor) => tf.sum(tf.mul(rt.neuronSteps(xi, cfg), r));
          return [rt.neuronSteps(x, cfg).dataSync().slice(), tf.grad(f)(x).dataSync().slice()] as Float32Array[];
        });
      const [s1, g1] = await onPath("fused", run);
      const [s2, g2] = await onPath("ops", run);
      expect([...s1!], JSON.stringify(c)).toEqual([...s2!]);
      expect(s1!.some((v) => v === 1) && s1!.some((v) => v === 0)).toBe(true);
      let scale = 0;
      let worst = 0;
      for (let i = 0; i < g1!.length; i++) {
        scale = Math.max(scale, Math.abs(g2![i]!));
        worst = Math.max(worst, Math.abs(g1![i]! - g2![i]!));
      }
      expect(scale, JSON.stringify(c)).toBeGreaterThan(0.1);
      expect(worst / scale, JSON.stringify(c)).toBeLessThan(1e-5);
      checked++;
    }
    expect(checked).toBe(24);
  });
  it("the cpu backend runs the fused kernels, and onPath('ops') does not", async () => {
    const rt = await import("@resnetc/runtime");
    const cfg = { ...base, T: 2, tau: 2, surrogate: "atan" as const };
    const kernels = (path: "fused" | "ops") =>
      onPath(path, async () => (await tf.profile(() => rt.neuronSteps(tf.ones([4, 3]), cfg))).kernelNames);
    expect(await kernels("fused")).toContain(rt.SPIKE_FORWARD);
    expect(await kernels("ops")).not.toContain(rt.SPIKE_FORWARD);
  });
});

describe("tfjs's spikes equal SpikingJelly's float32 arithmetic exactly", () => {
  // An independent reference: SpikingJelly's multi-step IFNode / LIFNode (decay_input=True), each
  // float op rounded to float32 (Math.fround) in its order, the constants float32 too (as tfjs
  // holds them, and as PyTorch casts a Python scalar to a float32 tensor's type). Two inputs:
  // 100,000 random neurons over 8 steps, and 20,000 whose second step lands within 20 ulps of
  // v_th, where another order of the same real arithmetic rounds to the other side of the
  // threshold; exact equality on those catches a reordering of the ops, which the ONNX Runtime
  // comparison above cannot (both lowerings could change together).
  const f = Math.fround;
  type Cfg = { tau?: number; vTh: number; vReset: number; reset: "hard" | "soft" };
  const f32 = (c: Cfg): Cfg => ({
    ...c,
    vTh: f(c.vTh),
    vReset: f(c.vReset),
    ...(c.tau === undefined ? {} : { tau: f(c.tau) }),
  });
  /** The membrane after charging with x from v, in SpikingJelly's order (or another one). */
  const charge = (v: number, x: number, c: Cfg, reorder: boolean): number =>
    c.tau === undefined
      ? f(v + x)
      : reorder
        ? f(f(v + f(x / c.tau)) - f(f(v - c.vReset) / c.tau)) // equal in real numbers
        : f(v + f(f(x - f(v - c.vReset)) / c.tau));
  function reference(x: Float32Array, T: number, c0: Cfg, reorder = false): Float32Array {
    const c = f32(c0);
    const n = x.length / T;
    const out = new Float32Array(x.length);
    for (let i = 0; i < n; i++) {
      let v = c.reset === "hard" ? c.vReset : 0;
      for (let t = 0; t < T; t++) {
        const h = charge(v, x[t * n + i]!, c, reorder);
        const s = f(h - c.vTh) >= 0 ? 1 : 0;
        out[t * n + i] = s;
        v = c.reset === "soft" ? f(h - f(s * c.vTh)) : f(f(h * (1 - s)) + f(c.vReset * s));
      }
    }
    return out;
  }
  /** T = 2: a first step that stays below v_th, then the input that brings the membrane to v_th
   * in real numbers, moved by -20 ... 20 ulps. */
  function nearThreshold(c0: Cfg, n: number): Float32Array {
    const c = f32(c0);
    const x = new Float32Array(2 * n);
    const first = uniform(n, 7, 0, 0.9);
    const bits = new Float32Array(1);
    const ints = new Int32Array(bits.buffer);
    for (let i = 0; i < n; i++) {
      const v0 = c.reset === "hard" ? c.vReset : 0;
      x[i] = f(first[i]! * (c.tau ?? 1) * (c.vTh - v0));
      const v1 = charge(v0, x[i]!, c, false);
      bits[0] = c.tau === undefined ? c.vTh - v1 : c.tau * (c.vTh - v1) + (v1 - c.vReset);
      ints[0]! += (i % 41) - 20;
      x[n + i] = bits[0]!;
    }
    return x;
  }
  const cases: [string, Cfg][] = [
    ["LIF tau 2, hard reset to 0", { tau: 2, vTh: 0.5, vReset: 0, reset: "hard" }],
    ["LIF tau 3, hard reset to -0.25", { tau: 3, vTh: 0.7, vReset: -0.25, reset: "hard" }],
    ["LIF tau 2, soft reset", { tau: 2, vTh: 0.5, vReset: 0, reset: "soft" }],
    ["IF, hard reset to -0.25", { vTh: 1, vReset: -0.25, reset: "hard" }],
    ["IF, soft reset", { vTh: 0.9, vReset: 0, reset: "soft" }],
  ];
  const random = uniform(8 * 100_000, 5, 0, 2);
  for (const [name, c] of cases)
    it(name, async () => {
      const rt = await import("@resnetc/runtime");
      for (const [T, x, path] of [
        [8, random, "fused"],
        [2, nearThreshold(c, 20_000), "fused"],
        [8, random, "ops"],
        [2, nearThreshold(c, 20_000), "ops"],
      ] as const) {
        const cfg = { ...c, T, detachReset: false, surrogate: "atan" as const, alpha: 2, width: 1 };
        const got = await onPath(path, () =>
          tf.tidy(
            () =>
              rt
                .neuronSteps(tf.tensor(x, [x.length]), cfg)
                .dataSync()
                .slice() as Float32Array,
          ),
        );
        const want = reference(x, T, c);
        let ones = 0;
        let differ = 0;
        for (let i = 0; i < want.length; i++) {
          ones += want[i]!;
          if (got[i] !== want[i]) differ++;
        }
        expect(ones, `T ${T}: spikes, and not all`).toBeGreaterThan(want.length * 0.05);
        expect(ones).toBeLessThan(want.length * 0.95);
        expect(differ, `T ${T}, ${path}: spikes that differ`).toBe(0);
        // The check can fail: the LIF charge in another order flips spikes next to the threshold.
        if (T === 2 && c.tau !== undefined)
          expect(reference(x, T, c, true).filter((v, i) => v !== want[i]).length).toBeGreaterThan(100);
      }
    });
});

describe("shape rules", () => {
  it("time_repeat multiplies the batch, a neuron keeps it, time_mean divides it", () => {
    const g = graphOf(`model M {
  input x: f32[N, 3, 8, 8]
  conv(4, k=3) bn time_repeat(4) lif(4) conv(4, k=3) if_neuron(4) avgpool flatten time_mean(4) dense(2)
}`);
    const shapes = Object.fromEntries(g.nodes.map((n) => [n.name, `[${n.shape.map(dimStr).join(", ")}]`]));
    expect(shapes["time_repeat1"]).toBe("[4*N, 4, 8, 8]");
    expect(shapes["if_neuron1"]).toBe("[4*N, 4, 8, 8]");
    expect(shapes["time_mean1"]).toBe("[N, 4]");
    // conv2 has a bias (bias=auto: no norm after it).
    expect(g.params).toBe(4 * 3 * 9 + 8 + (4 * 4 * 9 + 4) + 2 * 4 + 2);
  });
  it("rejects a static batch that is not a multiple of T, and time_mean of a batch not written as one", () => {
    expect(codes(`model M { input x: f32[6, 4]; lif(4) }`)).toEqual(["RN205"]);
    expect(codes(`model M { input x: f32[8, 4]; lif(4) time_mean(4) }`)).toEqual([]);
    expect(codes(`model M { input x: f32[N, 4]; time_mean(2) }`)).toEqual(["RN205"]);
    expect(codes(`model M { input x: f32[N, 4]; time_repeat(3) time_mean(2) }`)).toEqual(["RN205"]);
    expect(codes(`model M { input x: f32[N, 4]; time_repeat(6) time_mean(2) time_mean(3) }`)).toEqual([]);
  });
  it("T is an int from 1 to 64; tau at least 1; alpha and width positive", () => {
    for (const bad of [
      "lif(0)",
      "lif(65)",
      "time_repeat(0)",
      "lif(2, tau=0.5)",
      "if_neuron(2, alpha=0)",
      "lif(1, width=-1)",
    ])
      expect(codes(`model M { input x: f32[N, 4]; time_repeat(2) ${bad} }`), bad).toEqual(["RN119"]);
    expect(checkSource(`model M { input x: f32[N, 4]; time_repeat(64) lif(64) }`).diagnostics).toEqual([]);
  });
});
