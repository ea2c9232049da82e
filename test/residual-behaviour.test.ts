// Residual units that start as (nearly) the identity, and stochastic depth, as their papers define
// them, checked on the ONNX graph in ONNX Runtime at the declared initialisation:
// - ReZero (Bachlechner et al. 2020) and SkipInit (De & Smith 2020): the branch times a learned
//   scalar that starts at 0 (`residual(gate=0)`), so a fresh unit returns its input exactly;
// - LayerScale (Touvron et al. 2021, CaiT): a per-channel vector that starts at 1e-5, so a fresh
//   unit moves its input by at most 1e-5 of the branch;
// - stochastic depth with the linear decay rule (Huang et al. 2016, Sec. 3: survival 1 - l/L * 0.5,
//   down to 0.5 for the last block): drop probabilities l/L * 0.5, and nothing of them at inference.
// Must not: compare against values copied from a run (every expectation follows from the paper).
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import type { Graph } from "../src/ir/ir.js";
import { uniform } from "./reference/data.js";
import { graphOf } from "./helpers.js";

const DIMS = [2, 8, 6, 6];

async function run(g: Graph, x: Float32Array): Promise<Float32Array> {
  const r = emitOnnx(g, { seed: 5 });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const session = await ort.InferenceSession.create(r.bytes!);
  const out = await session.run({ [g.inputs[0]!.name]: new ort.Tensor("float32", x, DIMS) });
  return out[g.outputs[0]!.name]!.data as Float32Array;
}

const unit = (mods: string, depth = 4): string =>
  `model M {\n  input x: f32[N, 8, 6, 6]\n  for i in 1..${depth} {\n    residual(${mods}) ` +
  `{ conv(8, k=3) bn relu conv(8, k=3) bn } shortcut identity\n  }\n}\n`;

describe("residual units that start as the identity", () => {
  const x = uniform(
    DIMS.reduce((a, b) => a * b, 1),
    3,
  );

  for (const [paper, source] of [
    ["ReZero", unit("gate=0")],
    // SkipInit: no normalisation in the branch, the same zero-initialised scalar.
    [
      "SkipInit",
      "model M {\n  input x: f32[N, 8, 6, 6]\n  for i in 1..4 {\n    residual(gate=0) " +
        "{ conv(8, k=3) relu conv(8, k=3) } shortcut identity\n  }\n}\n",
    ],
  ] as const)
    it(`${paper}: a fresh network of 4 gated units returns its input exactly`, async () => {
      const g = graphOf(source);
      expect(g.nodes.filter((n) => n.op === "gate")).toHaveLength(4);
      const y = await run(g, x);
      expect(Array.from(y)).toEqual(Array.from(x));
    });

  it("LayerScale: a fresh unit moves its input by at most 1e-5 of its branch, and does move it", async () => {
    const scaled = graphOf(unit("layerscale=1e-5", 1));
    const plain = graphOf(unit("", 1));
    const y = await run(scaled, x);
    const branchPlusX = await run(plain, x); // x + branch(x), the same seeded weights
    let moved = 0;
    for (let i = 0; i < x.length; i++) {
      const branch = branchPlusX[i]! - x[i]!;
      const d = y[i]! - x[i]!;
      expect(Math.abs(d - 1e-5 * branch)).toBeLessThan(1e-6 * Math.max(1, Math.abs(x[i]!)));
      if (d !== 0) moved++;
    }
    expect(moved).toBeGreaterThan(0);
  });
});

describe("stochastic depth, linear decay (Huang et al. 2016)", () => {
  const L = 6;
  const source =
    `model M {\n  input x: f32[N, 8, 6, 6]\n  for l in 1..${L} {\n    residual(drop_path=0.5 * l / ${L}) ` +
    `{ conv(8, k=3) bn relu conv(8, k=3) bn } shortcut identity\n  }\n}\n`;

  it("drops block l with probability l/L * 0.5: the last one survives half the time", () => {
    const ps = graphOf(source)
      .nodes.filter((n) => n.op === "drop_path")
      .map((n) => n.attrs.p as number);
    expect(ps).toHaveLength(L);
    ps.forEach((p, i) => expect(p).toBeCloseTo((0.5 * (i + 1)) / L, 12));
  });

  it("is the identity at inference: the ONNX graph equals the same network without it", async () => {
    const x = uniform(
      DIMS.reduce((a, b) => a * b, 1),
      9,
    );
    const withDrop = graphOf(source);
    const without = graphOf(source.replace(/residual\(drop_path=[^)]*\)/, "residual"));
    expect(await run(withDrop, x)).toEqual(await run(without, x));
  });
});
