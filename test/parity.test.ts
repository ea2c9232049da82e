// The op-by-op parity matrix of the TypeScript backend: for every case of
// test/reference/cases.ts (every IR op, at every rank its shape rule accepts, with representative
// strides, dilations, groups, padding kinds, odd sizes and batch 1), the emitted tfjs model
//   1. computes what ONNX Runtime computes on the emitted ONNX graph (inference mode, the same
//      seeded parameters and inputs) within 1e-5 relative (max |a - b| / max(1, max |b|));
//   2. has gradients, with respect to its inputs and every learnable parameter, equal to central
//      finite differences of the float64 reference interpreter (test/reference/interp64.ts) within
//      1e-3 relative, in training mode (batch norm on batch statistics) unless the model drops
//      (dropout, drop-path: random in training; then inference mode).
// The cases are a record over the closed op set, so a new op is covered or tsc fails; a test below
// checks that every op appears here too. tfjs runs on its `cpu` backend with resnetc's kernels, as
// `--backend cpu` trains.
// Spiking neurons (Heaviside spikes) are checked forward only here; their surrogate gradient is
// test/spiking.test.ts's.
// Must not: loosen a tolerance or skip a case to hide a disagreement.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { emitTs } from "../src/emit/ts/emit.js";
import type { Graph } from "../src/ir/ir.js";
import { OP_NAMES } from "../src/ir/ops.js";
import { allCases, type OpCase } from "./reference/cases.js";
import { caseParams, inputDims, prod, relError, uniform } from "./reference/data.js";
import { fdDirectional, fdGradient, type Gradient } from "./reference/fd.js";
import { graphOf, repoRoot } from "./helpers.js";

const FORWARD_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-3;
/** Above this many input and parameter elements, the gradient is checked along random directions
 * (two runs each) instead of element by element (two runs per element). */
const FULL_GRADIENT_MAX = 4000;

const work = join(repoRoot, "out", "parity-test");
beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const rt = await import("@resnetc/runtime");
  await rt.chooseBackend({ prefer: "cpu" });
});

interface Built {
  model: tf.LayersModel;
  params: import("@resnetc/runtime").ParamInfo[];
}

/** Emits the case's model to TypeScript and builds it with the case's parameters. */
async function buildTfjs(g: Graph, key: string, f32: Map<string, { dims: number[]; data: Float32Array }>) {
  const r = emitTs(g);
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  const file = join(work, `${key}.ts`);
  writeFileSync(file, r.files!["model.ts"]);
  const mod = await import(file);
  const rt = await import("@resnetc/runtime");
  const model = mod.buildModel() as tf.LayersModel;
  rt.setParams(model, mod.PARAMS, (p: { name: string }) => f32.get(p.name)!.data);
  return { model, params: mod.PARAMS } as Built;
}

async function onnxOutputs(
  g: Graph,
  f32: Map<string, { dims: number[]; data: Float32Array }>,
  xs: Float32Array[],
  dims: number[][],
) {
  const r = emitOnnx(g, { weights: f32 });
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`)).toEqual([]);
  const session = await ort.InferenceSession.create(r.bytes!);
  const feeds: Record<string, ort.Tensor> = {};
  g.inputs.forEach((io, i) => (feeds[io.name] = new ort.Tensor("float32", xs[i]!, dims[i]!)));
  const out = await session.run(feeds);
  return g.outputs.map((io) => out[io.name]!.data as Float32Array);
}

/** Cases tfjs truly cannot express: ops across the batch axis (tfjs layers see samples in pieces
 * of 32 in predict and fit). Each must be one RN503, naming the batch axis, and nothing emitted. */
const crossesBatch = (g: Graph): boolean =>
  g.nodes.some(
    (n) =>
      ((n.op === "softmax" || n.op === "concat") && n.attrs.axis === 0) ||
      (n.op === "transpose" && n.attrs.perm[0] !== 0),
  );

const slug = (s: string): string => s.replace(/[^A-Za-z0-9]+/g, "_").slice(0, 80);

function caseData(g: Graph, c: OpCase) {
  const b = c.batch ?? 2;
  const dims = inputDims(g, b, c.sizes);
  const xs = dims.map((d, i) => uniform(prod(d), 100 + i));
  return { b, dims, xs };
}

const expressible = () => allCases().filter(([, c]) => !crossesBatch(graphOf(c.source)));

/** Spiking neurons fire through a Heaviside: its finite differences are 0 or infinite, and tfjs
 * trains with a surrogate gradient instead, so their cases are left out of the FD check (the
 * forward check above still runs them). test/spiking.test.ts checks the surrogate gradient
 * against its formula by hand. */
const spikes = (g: Graph): boolean => g.nodes.some((n) => n.op === "lif" || n.op === "if_neuron");
const differentiable = () => expressible().filter(([, c]) => !spikes(graphOf(c.source)));

describe("what tfjs cannot express", () => {
  const cases = allCases().filter(([, c]) => crossesBatch(graphOf(c.source)));
  it("is only ops across the batch axis, each one RN503 naming it, with no files", () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const [, c] of cases) {
      const r = emitTs(graphOf(c.source));
      expect(r.files).toBeUndefined();
      expect(r.diagnostics.map((d) => d.code)).toEqual(["RN503"]);
      expect(r.diagnostics[0]!.message).toMatch(/the batch axis cannot be emitted to TypeScript/);
    }
  });
});

describe("the parity matrix covers every op", () => {
  it("every IR op but input has at least one case", () => {
    const seen = new Set(allCases().map(([op]) => op));
    expect(OP_NAMES.filter((op) => op !== "input" && !seen.has(op))).toEqual([]);
  });
});

describe("tfjs forward equals ONNX Runtime, op by op", () => {
  for (const [op, c] of expressible())
    it(`${op}: ${c.name}`, async () => {
      const g = graphOf(c.source);
      const { f32 } = caseParams(g);
      const { dims, xs } = caseData(g, c);
      const { model } = await buildTfjs(g, `fwd_${slug(`${op}_${c.name}`)}`, f32);
      const want = await onnxOutputs(g, f32, xs, dims);
      const got = tf.tidy(() => {
        const ins = xs.map((x, i) => tf.tensor(x, dims[i]!));
        const out = model.predict(ins.length === 1 ? ins[0]! : ins) as tf.Tensor | tf.Tensor[];
        return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync().slice() as Float32Array);
      });
      expect(got.length).toBe(want.length);
      got.forEach((o, k) => {
        expect(o.length).toBe(want[k]!.length);
        expect(relError(o, want[k]!), `output ${k}`).toBeLessThan(FORWARD_TOLERANCE);
      });
      model.dispose();
    }, 60_000);
});

describe("tfjs gradients equal float64 finite differences, op by op", () => {
  it("leaves out only the cases with a spiking neuron, and not all of the spiking ops' cases", () => {
    const out = expressible().filter(([, c]) => spikes(graphOf(c.source)));
    expect(out.length).toBeGreaterThan(0);
    expect(new Set(out.map(([op]) => op))).toEqual(new Set(["if_neuron", "lif"]));
    expect(differentiable().some(([op]) => op === "time_repeat" || op === "time_mean")).toBe(true);
  });
  for (const [op, c] of differentiable())
    it(`${op}: ${c.name}`, async () => {
      const rt = await import("@resnetc/runtime");
      const g = graphOf(c.source);
      const { f32, f64 } = caseParams(g);
      const { b, dims, xs } = caseData(g, c);
      const drops = g.nodes.some((n) => n.op === "dropout" || n.op === "drop_path");
      const training = !drops;
      const { model, params } = await buildTfjs(g, `grad_${slug(`${op}_${c.name}`)}`, f32);
      // Output sizes from a forward pass (a symbolic output dim may be an expression of N and H).
      const outDims = tf.tidy(() => {
        const ins = xs.map((x, i) => tf.tensor(x, dims[i]!));
        const out = model.predict(ins.length === 1 ? ins[0]! : ins) as tf.Tensor | tf.Tensor[];
        return (Array.isArray(out) ? out : [out]).map((t) => t.shape);
      });
      const r = outDims.map((d, k) => uniform(prod(d), 500 + k));

      // tfjs: L = sum_k sum(out_k * r_k), differentiated w.r.t. the inputs and the learnable weights.
      const learnable = params.filter((p) => p.learnable);
      const vars = learnable.map((p) => model.getLayer(p.layer).weights[p.index]!.read() as tf.Variable);
      const lossOf = (ins: tf.Tensor[]): tf.Scalar => {
        const out = model.apply(ins.length === 1 ? ins[0]! : ins, { training }) as tf.Tensor | tf.Tensor[];
        const outs = Array.isArray(out) ? out : [out];
        return tf.addN(outs.map((o, k) => tf.sum(tf.mul(o, tf.tensor(r[k]!, o.shape))))) as tf.Scalar;
      };
      const xsT = xs.map((x, i) => tf.tensor(x, dims[i]!));
      const inputGrads = tf.grads((...ins: tf.Tensor[]) => lossOf(ins))(xsT);
      const grads = vars.length ? tf.variableGrads(() => lossOf(xsT), vars).grads : {};
      const got: Gradient = {
        inputs: await Promise.all(inputGrads.map(async (t) => Float64Array.from(await t.data()))),
        params: new Map(),
      };
      for (const [i, p] of learnable.entries()) {
        const gt = grads[vars[i]!.name]!;
        got.params.set(p.name, Float64Array.from(await rt.fromTfjs(p, gt)));
      }
      tf.dispose([...xsT, ...inputGrads, ...Object.values(grads)]);

      // float64 reference: only the learnable parameters vary (running statistics are constants).
      const learnableNames = learnable.map((p) => p.name);
      const problem = {
        graph: g,
        params: f64,
        inputs: xs.map((x) => Float64Array.from(x)),
        b,
        r: r.map((v) => Float64Array.from(v)),
        mode: training ? ("training" as const) : ("inference" as const),
        sizes: c.sizes,
      };
      const elements = xs.reduce((s, x) => s + x.length, 0) + learnable.reduce((s, p) => s + prod(p.dims), 0);
      if (elements <= FULL_GRADIENT_MAX) {
        const want = fdGradient(problem, { params: learnableNames });
        want.inputs.forEach((w, k) =>
          expect(relError(got.inputs[k]!, w), `d/d input ${k}`).toBeLessThan(GRADIENT_TOLERANCE),
        );
        for (const name of learnableNames)
          expect(relError(got.params.get(name)!, want.params.get(name)!), `d/d ${name}`).toBeLessThan(
            GRADIENT_TOLERANCE,
          );
      } else {
        for (let d = 0; d < 3; d++) {
          const dir: Gradient = {
            inputs: xs.map((x, k) => Float64Array.from(uniform(x.length, 900 + 10 * d + k))),
            params: new Map(
              learnable.map((p, k) => [p.name, Float64Array.from(uniform(prod(p.dims), 700 + 10 * d + k))]),
            ),
          };
          const want = fdDirectional(problem, dir);
          let have = 0;
          dir.inputs.forEach((v, k) => v.forEach((e, i) => (have += e * got.inputs[k]![i]!)));
          for (const [name, v] of dir.params) v.forEach((e, i) => (have += e * got.params.get(name)![i]!));
          expect(Math.abs(have - want) / Math.max(1, Math.abs(want)), `direction ${d}`).toBeLessThan(
            GRADIENT_TOLERANCE,
          );
        }
      }
      model.dispose();
    }, 120_000);
});
