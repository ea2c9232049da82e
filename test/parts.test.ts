// Tensor subtraction (`a - b`, IR `sub`) and cutting a tensor into parts (`chunk`, `split`, indexed
// with `[i]`, one IR `slice` per part used), with a Res2Net-50 26w4s written in the language and its
// parameter count pinned to the authors' (Gao et al. 2019, Res2Net, TPAMI; res2net50_26w_4s).
import { describe, expect, it } from "vitest";
import { dimStr } from "../src/ir/dims.js";
import { codes, graphOf } from "./helpers.js";

const ops = (src: string) => graphOf(src).nodes.map((n) => `${n.op} [${n.shape.map(dimStr).join(", ")}]`);

describe("tensor subtraction", () => {
  it("`a - b` between tensors is a sub node (DnCNN's global residual, named dataflow)", () => {
    const g = graphOf(`block Body(c: int) { conv(c, k=3) relu conv(1, k=3) }
      model DnCNN {
        input x: f32[N, 1, 16, 16]
        output clean = x - Body(8)(x)
      }`);
    const sub = g.nodes.find((n) => n.op === "sub")!;
    expect(sub.inputs[0]).toBe(0);
    expect(g.nodes[sub.inputs[1]!]!.op).toBe("conv");
    expect(g.outputs.map((o) => o.name)).toEqual(["clean"]);
  });

  it("broadcasts like `+`, is callable as sub(a, b), and numbers still subtract", () => {
    expect(ops(`model M { input x: f32[N, 3, 4, 4]; let g = x gap; output g - x }`).at(-1)).toBe("sub [N, 3, 4, 4]");
    expect(ops(`model M { input x: f32[N, 3]; input y: f32[N, 3]; output sub(x, y) }`).at(-1)).toBe("sub [N, 3]");
    expect(ops(`model M(c: int = 8) { input x: f32[N, 3]; dense(c - 2) }`).at(-1)).toBe("dense [N, 6]");
  });

  it("reports shapes that do not broadcast and sub with other than two tensors", () => {
    expect(codes(`model M { input x: f32[N, 3, 4]; let y = x conv(2, k=1); output x - y }`)).toEqual(["RN202"]);
    expect(codes(`model M { input x: f32[N, 3]; output sub(x, x, x) }`)).toEqual(["RN207"]);
    expect(codes(`model M { input x: f32[N, 3]; output x - 1 }`)).toEqual(["RN127"]);
  });
});

describe("chunk and split", () => {
  it("chunk(n) gives n equal channel parts; only the parts used become slices", () => {
    const g = graphOf(`model M { input x: f32[N, 8, 4, 4]; let xs = chunk(4); output xs[3] + xs[-1] }`);
    const slices = g.nodes.filter((n) => n.op === "slice");
    expect(slices.map((n) => [n.attrs["start"], n.attrs["end"], n.attrs["axis"]])).toEqual([[6, 8, 1]]);
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "2", "4", "4"]);
  });

  it("split([...]) takes explicit sizes, axis= like concat, and concat(xs) joins every part", () => {
    expect(ops(`model M { input x: f32[N, 6, 5]; let xs = split([1, 2, 3]); output xs[2] }`).at(-1)).toBe(
      "slice [N, 3, 5]",
    );
    expect(ops(`model M { input x: f32[N, 2, 6]; let xs = split([4, 2], axis=-1); output xs[0] }`).at(-1)).toBe(
      "slice [N, 2, 4]",
    );
    const g = graphOf(`model M { input x: f32[N, 6]; output concat(chunk(3)) }`);
    expect(g.nodes.map((n) => n.op)).toEqual(["input", "slice", "slice", "slice", "concat"]);
  });

  it("parts index with loop variables and in pipelines; the slice op is callable too", () => {
    const g = graphOf(`model M { input x: f32[N, 6, 4]
      let xs = chunk(3)
      let acc = xs[0]
      for i in 1..len(xs) - 1 { acc = concat(acc, xs[i] relu) }
      output acc slice(2, 5)
    }`);
    expect(g.outputs[0]!.shape[1]).toBe(3);
  });

  it("reports parts that do not fit, indexes out of range and lists used as tensors, where written", () => {
    expect(codes(`model M { input x: f32[N, 6]; let xs = chunk(4); output xs[0] }`)).toEqual(["RN205"]);
    expect(codes(`model M { input x: f32[N, 6]; let xs = split([2, 2]); output xs[0] }`)).toEqual(["RN210"]);
    expect(codes(`model M { input x: f32[N, 6]; let xs = split([2, 0, 4]); output xs[0] }`)).toEqual(["RN204"]);
    expect(codes(`model M { input x: f32[N, 6]; let xs = chunk(2); output xs[2] }`)).toEqual(["RN119"]);
    expect(codes(`model M { input x: f32[N, 6]; output chunk(2) }`)).toEqual(["RN127"]);
    expect(codes(`model M { input x: f32[N, 6]; let xs = chunk(2); output xs relu }`)).toEqual(["RN127"]);
    expect(codes(`model M { input x: f32[N, 6]; let xs = chunk(2); output xs + x }`)).toEqual(["RN127"]);
    expect(codes(`model M { input x: f32[N, C]; output chunk(2)[0] }`)).toEqual(["RN208"]);
    expect(codes(`model M { input x: f32[N, 6]; output x slice(4, 2) }`)).toEqual(["RN119"]);
    expect(codes(`block chunk() { relu }\nmodel M { input x: f32[N, 6] }`)).toContain("RN111");
  });
});

/** Res2Net bottleneck (Gao et al. 2019, Fig. 2b; the authors' res2net.py `Bottle2neck`): a 1x1 conv
 * to width*scale channels cut into `scale` groups; group i > 0 but the last goes through a 3x3 conv
 * after adding the previous group's output (`first` blocks of a stage: no addition, the stride on
 * every 3x3, the last group average-pooled); the groups are joined and a 1x1 conv expands by 4. */
const RES2NET = `
block Bottle2neck(planes: int, stride: int = 1, first: bool = false, base_width: int = 26, scale: int = 4) {
  let width = planes * base_width // 64
  residual {
    conv(width * scale, k=1) bn relu
    let xs = chunk(scale)
    let sp = xs[0] conv(width, k=3, stride=stride) bn relu
    let out = sp
    for i in 1..scale - 2 {
      sp = (xs[i] when first else sp + xs[i]) conv(width, k=3, stride=stride) bn relu
      out = concat(out, sp)
    }
    concat(out, (xs[scale - 1] avgpool(k=3, stride=stride, padding=1)) when first else xs[scale - 1])
    conv(planes * 4, k=1) bn
  }
  shortcut auto
  relu
}

model Res2Net50(classes: int = 1000) {
  input image: f32[N, 3, 224, 224]
  conv(64, k=7, stride=2) bn relu maxpool(k=3, stride=2)
  stage layer1 { Bottle2neck(64, first=true) Bottle2neck(64) * 2 }
  stage layer2 { Bottle2neck(128, stride=2, first=true) Bottle2neck(128) * 3 }
  stage layer3 { Bottle2neck(256, stride=2, first=true) Bottle2neck(256) * 5 }
  stage layer4 { Bottle2neck(512, stride=2, first=true) Bottle2neck(512) * 2 }
  expect [N, 2048, 7, 7]
  avgpool flatten dense(classes)
}
`;

describe("Res2Net-50 26w4s", () => {
  it("has the authors' 25,699,120 parameters", () => {
    const g = graphOf(RES2NET);
    expect(g.params).toBe(25_699_120);
    // 16 blocks, 4 parts each; every block uses all 4 (3 convs + the pass-through or pooled part).
    expect(g.nodes.filter((n) => n.op === "slice")).toHaveLength(16 * 4);
    expect(g.nodes.filter((n) => n.op === "conv")).toHaveLength(1 + 16 * 5 + 4);
  });
});
