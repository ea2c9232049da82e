// Issue 16, finding 5: programs that `check` accepted although their ONNX was wrong or invalid.
// Each is now either a located diagnostic or a model whose sizes match PyTorch and ONNX Runtime
// and which onnx.checker (full_check) accepts. Run-time shapes of every op: onnx-shapes.test.ts.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { dimStr, shapeStr } from "../src/ir/dims.js";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { checkSource, graphOf, itPassesOnnxChecker } from "./helpers.js";

const errors = (src: string): string[] =>
  checkSource(src)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => `${d.code} ${d.message}`);

async function ortShapes(src: string, feeds: Record<string, number[]>): Promise<Record<string, readonly number[]>> {
  const r = emitOnnx(graphOf(src));
  expect(r.diagnostics).toEqual([]);
  const session = await ort.InferenceSession.create(r.bytes!);
  const inputs: Record<string, ort.Tensor> = {};
  for (const [name, dims] of Object.entries(feeds))
    inputs[name] = new ort.Tensor("float32", new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const out = await session.run(inputs);
  return Object.fromEntries(session.outputNames.map((n) => [n, out[n]!.dims]));
}

describe("ceil_mode pooling drops a last window that would start in the padding", () => {
  it("the issue's case is 5x5, as in ONNX Runtime, not 6x6", async () => {
    const src = "model M { input x: f32[N, 1, 9, 9]; maxpool(k=2, stride=2, padding=1, ceil=true) }";
    expect(shapeStr(graphOf(src).outputs[0]!.shape)).toBe("[N, 1, 5, 5]");
    expect(await ortShapes(src, { x: [1, 1, 9, 9] })).toEqual({ output: [1, 1, 5, 5] });
  });

  // [size, k, stride, padding] -> torch.nn.functional.max_pool1d(..., ceil_mode=True).shape[-1]
  // (PyTorch 1.13), and without ceil_mode for comparison.
  const TORCH: [number, number, number, number, number, number][] = [
    [9, 2, 2, 1, 5, 5],
    [10, 3, 2, 0, 5, 4],
    [5, 1, 3, 0, 2, 2],
    [7, 2, 2, 0, 4, 3],
    [11, 3, 2, 1, 6, 6],
    [6, 4, 3, 2, 3, 3],
    [13, 5, 4, 2, 4, 4],
  ];
  it.each(TORCH)(
    "size %i, k=%i, stride=%i, padding=%i: %i windows with ceil, %i without (PyTorch)",
    (size, k, s, p, ceil, floor) => {
      const out = (c: boolean) =>
        graphOf(`model M { input x: f32[N, 1, ${size}]; maxpool(k=${k}, stride=${s}, padding=${p}, ceil=${c}) }`)
          .outputs[0]!.shape[2];
      expect([out(true), out(false)]).toEqual([ceil, floor]);
    },
  );

  it("symbolic sizes get the same rule: floor((H + p - 1) / s) + 1 where the stride exceeds k - p", () => {
    const out = (args: string) =>
      dimStr(graphOf(`model M { input x: f32[N, 1, H]; maxpool(${args}, ceil=true) }`).outputs[0]!.shape[2]!);
    expect(out("k=2, stride=2, padding=1")).toBe("H // 2 + 1");
    expect(out("k=3, stride=2, padding=valid")).toBe("ceil((H - 3) / 2) + 1");
  });
});

describe("axes are checked against the input's rank", () => {
  it("softmax(axis=3) on a rank-3 tensor is RN119, and so is axis=-4", () => {
    expect(errors("model M { input x: f32[N, 2, 5]; softmax(axis=3) }")).toEqual([
      "RN119 softmax axis must be in -3..2 for a rank-3 input, found 3",
    ]);
    expect(errors("model M { input x: f32[N, 2, 5]; softmax(axis=-4) }")).toEqual([
      "RN119 softmax axis must be in -3..2 for a rank-3 input, found -4",
    ]);
  });
  it("a negative axis counts from the end and reaches the IR as a non-negative axis", () => {
    const g = graphOf("model M { input x: f32[N, 2, 5]; softmax(axis=-1) }");
    expect(g.nodes.find((n) => n.op === "softmax")!.attrs["axis"]).toBe(2);
    const c = graphOf("model M { input x: f32[N, 2, 5]; input y: f32[N, 2, 3]; output concat(x, y, axis=-1) }");
    expect(shapeStr(c.outputs[0]!.shape)).toBe("[N, 2, 8]");
    expect(errors("model M { input x: f32[N, 2, 5]; input y: f32[N, 2, 5]; output concat(x, y, axis=3) }")).toEqual([
      "RN119 concat axis must be in -3..2 for a rank-3 input, found 3",
    ]);
  });
});

describe("pooling padding stays below the kernel (ONNX: pads < kernel)", () => {
  it("padding equal to the kernel is RN119, for each kind of pooling and per-dim lists", () => {
    expect(errors("model M { input x: f32[N, 3, 16, 16]; maxpool(k=2, stride=2, padding=2) }")).toEqual([
      "RN119 maxpool padding must be smaller than the kernel (2), found 2",
    ]);
    expect(errors("model M { input x: f32[N, 3, 16, 16]; avgpool(k=3, padding=[1, 4]) }")).toEqual([
      "RN119 avgpool padding must be smaller than the kernel (3), found 4",
    ]);
  });
  it("kernel - 1 is accepted and runs in ONNX Runtime; convolutions keep any padding", async () => {
    expect(
      await ortShapes("model M { input x: f32[N, 1, 8, 8]; avgpool(k=3, stride=3, padding=2, ceil=true) }", {
        x: [1, 1, 8, 8],
      }),
    ).toEqual({ output: [1, 1, 4, 4] });
    expect(errors("model M { input x: f32[N, 1, 8, 8]; conv(1, k=3, padding=4) }")).toEqual([]);
  });
});

describe("input and output names are unique in the graph", () => {
  it("an output named like an input, a layer or another output is RN128, located, with a note", () => {
    const src = [
      "model M {",
      "  input x: f32[N, 16]",
      "  let h = x dense(8)",
      "  output x = h relu",
      "  output dense1 = h tanh",
      "  output y = h",
      "  output y = h sigmoid",
      "}",
    ].join("\n");
    const ds = checkSource(src).diagnostics.filter((d) => d.code === "RN128");
    expect(ds.map((d) => d.message)).toEqual([
      "output name `x` is already taken by the input `x`",
      "output name `dense1` is already taken by the layer `dense1`",
      "output name `y` is already taken by another output",
    ]);
    expect(ds.map((d) => src.slice(d.span.start, d.span.end))).toEqual([
      "output x = h relu",
      "output dense1 = h tanh",
      "output y = h sigmoid",
    ]);
    expect(ds.map((d) => src.slice(d.notes[0]!.span!.start, d.notes[0]!.span!.end))).toEqual([
      "input x: f32[N, 16]",
      "dense(8)",
      "output y = h",
    ]);
    expect(ds.every((d) => d.hint !== undefined)).toBe(true);
  });
  it("an output inside a loop names one tensor per iteration: RN128 from the second on", () => {
    expect(errors("model M { input x: f32[N, 4]; for i in 1..2 { output y = x relu } }")).toEqual([
      "RN128 output name `y` is already taken by another output",
    ]);
  });
  it("an input declared after a layer of its name is RN128 (its tensor would have been renamed)", () => {
    expect(errors("model M { input a: f32[N, 4]; relu; input relu1: f32[N, 4]; output a }")).toEqual([
      "RN128 input name `relu1` is already taken by the layer `relu1`",
    ]);
  });
  it("an output may be the very tensor of its name: the layer's own output, or an input passed through", async () => {
    expect(errors("model M { input x: f32[N, 4]; output dense1 = x dense(3); output x = x }")).toEqual([]);
    expect(
      await ortShapes("model M { input x: f32[N, 4]; output dense1 = x dense(3); output x = x }", { x: [2, 4] }),
    ).toEqual({ dense1: [2, 3], x: [2, 4] });
  });
  it("generated output names skip the names already taken", async () => {
    const src = "model M { input output2: f32[N, 4]; output relu; output sigmoid; output output3 = output2 tanh }";
    expect(graphOf(src).outputs.map((o) => o.name)).toEqual(["output", "output2_2", "output3"]);
    expect(await ortShapes(src, { output2: [2, 4] })).toEqual({ output: [2, 4], output2_2: [2, 4], output3: [2, 4] });
  });
  it("a model with two inputs and no output is RN129 at the model's name", () => {
    const src = "model Pair { input q: f32[N, 8]; input v: f32[N, 8]; let _j = q * v }";
    const ds = checkSource(src).diagnostics.filter((d) => d.severity === "error");
    expect(ds.map((d) => `${d.code} ${d.message}`)).toEqual(["RN129 model `Pair` has no output"]);
    expect(src.slice(ds[0]!.span.start, ds[0]!.span.end)).toBe("Pair");
    // An output that failed is reported once, not again as a missing output.
    expect(errors("model P { input q: f32[N, 8]; input v: f32[N, 8]; output softmax(axis=2)(q) }")).toEqual([
      "RN119 softmax axis must be in -2..1 for a rank-2 input, found 2",
    ]);
  });
});

describe("onnx.checker full_check on the repaired cases", () => {
  const sources = [
    "model M { input x: f32[N, 1, 9, 9]; maxpool(k=2, stride=2, padding=1, ceil=true) }",
    "model M { input x: f32[N, 1, 5, 8]; maxpool(k=1, stride=3, ceil=true) }",
    "model M { input x: f32[N, 1, 7, 5]; maxpool(k=[2, 1], stride=[2, 3], padding=0, ceil=true) }",
    "model M { input x: f32[N, 4]; output dense1 = x dense(3); output x = x }",
    "model M { input output2: f32[N, 4]; output relu; output sigmoid; output output3 = output2 tanh }",
  ];
  itPassesOnnxChecker(
    "ceil pooling, passed-through inputs and generated names pass",
    () => {
      const work = mkdtempSync(join(tmpdir(), "resnetc-validity-"));
      return sources.map((src, i) => {
        const path = join(work, `case${i}.onnx`);
        writeFileSync(path, emitOnnx(graphOf(src)).bytes!);
        return path;
      });
    },
    60_000,
  );
});
