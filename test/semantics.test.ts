// Language semantics: pipelines, repetition, loops, conditionals, named dataflow, residual
// units and their shortcuts and modifiers, symbolic shapes, naming.
import { describe, expect, it } from "vitest";
import { nodeHost } from "../src/cli/host.js";
import { dimStr } from "../src/ir/dims.js";
import { check } from "../src/compiler.js";
import { graphParams } from "../src/weights/init.js";
import { formatSource } from "../src/fmt/format.js";
import { checkSource, codes, graphOf, repoRoot } from "./helpers.js";

const shapes = (src: string) => graphOf(src).outputs.map((o) => `[${o.shape.map(dimStr).join(", ")}]`);

describe("pipelines and repetition", () => {
  it("juxtaposition chains ops and infers every shape", () => {
    const g = graphOf(`model M { input x: f32[N, 3, 32, 32]; conv(16, k=3, stride=2) bn relu maxpool(k=2) }`);
    expect(g.nodes.map((n) => `${n.op} [${n.shape.map(dimStr).join(", ")}]`)).toEqual([
      "input [N, 3, 32, 32]",
      "conv [N, 16, 16, 16]",
      "bn [N, 16, 16, 16]",
      "relu [N, 16, 16, 16]",
      "maxpool [N, 16, 8, 8]",
    ]);
  });

  it("`* n` repeats the stage before it only, and `* 0` is nothing", () => {
    const g = graphOf(`model M { input x: f32[N, 8]; dense(8) * 3 relu relu * 0 }`);
    expect(g.nodes.map((n) => n.op)).toEqual(["input", "dense", "dense", "dense", "relu"]);
  });

  it("for loops run inclusive ranges with the index usable in expressions (PyramidNet widening)", () => {
    const g = graphOf(`model M(alpha: int = 48, n: int = 3) {
      input x: f32[N, 16, 8, 8]
      for i in 1..n { conv(16 + round(alpha * i / n), k=3) }
    }`);
    expect(g.nodes.filter((n) => n.op === "conv").map((n) => n.shape[1])).toEqual([32, 48, 64]);
  });

  it("if/else and `when` choose on parameters and on inferred shapes", () => {
    const src = `block Fit(c: int) {
      if shape()[1] != c { conv(c, k=1) } else { relu }
      (dense(c) when false else identity)
    }
    model M { input x: f32[N, 8, 4, 4]; Fit(8) Fit(16) }`;
    expect(graphOf(src).nodes.map((n) => n.op)).toEqual(["input", "relu", "conv"]);
  });

  it("arithmetic: //, ceil, min, max, and exact integer checks", () => {
    const g = graphOf(
      `model M(c: int = 10) { input x: f32[N, 4]; dense(c // 3) dense(ceil(c / 4)) dense(max(c, 2) - min(c, 2)) }`,
    );
    expect(g.nodes.slice(1).map((n) => n.shape[1])).toEqual([3, 3, 8]);
  });
});

describe("named dataflow: MRN-style multi-input nets", () => {
  it("let, assignment, application, element-wise product and sum", () => {
    const g = graphOf(`model MRN(d: int = 12, answers: int = 5, depth: int = 3) {
      input q: f32[N, 24]
      input v: f32[N, 20]
      let h = q
      for i in 1..depth {
        let j = (dense(d) tanh)(h) * (dense(d) tanh dense(d) tanh)(v)
        h = (dense(d) when i == 1 else identity)(h) + j
      }
      output logits = dense(answers)(h)
    }`);
    expect(g.inputs.map((i) => i.name)).toEqual(["q", "v"]);
    expect(g.outputs.map((o) => `${o.name} ${o.shape.map(dimStr).join(",")}`)).toEqual(["logits N,5"]);
    // Three joint blocks: 3 dense each on the two branches + one extra dense in block 1 + the head.
    expect(g.nodes.filter((n) => n.op === "dense")).toHaveLength(3 * 3 + 1 + 1);
    expect(g.nodes.filter((n) => n.op === "mul")).toHaveLength(3);
    expect(g.nodes.filter((n) => n.op === "add")).toHaveLength(3);
  });

  it("several outputs", () => {
    expect(shapes(`model M { input x: f32[N, 8]; output a = dense(2); output b = dense(3) }`)).toEqual([
      "[N, 2]",
      "[N, 3]",
    ]);
  });

  it("squeeze-excitation as a broadcasting product written in the language", () => {
    const g = graphOf(`block SE(c: int, r: int = 4) { identity * (gap conv(c // r, k=1) relu conv(c, k=1) sigmoid) }
      model M { input x: f32[N, 16, 8, 8]; SE(16) }`);
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "16", "8", "8"]);
    expect(g.params).toBe(16 * 4 + 4 + 4 * 16 + 16);
  });
});

describe("residual units", () => {
  const unit = (sc: string, extra = "") =>
    graphOf(`model M { input x: f32[N, 16, 32, 32]
    residual${extra} { conv(32, k=3, stride=2) bn relu conv(32, k=3) bn }
    shortcut ${sc} }`);
  const branchParams = 16 * 32 * 9 + 64 + 32 * 32 * 9 + 64;

  it("project: 1x1 conv with the stride, then BN, named downsample.0/.1", () => {
    const g = unit("project");
    expect(g.params).toBe(branchParams + 16 * 32 + 64);
    const ds = g.nodes.filter((n) => n.name.startsWith("downsample"));
    expect(ds.map((n) => `${n.name} ${n.op} ${JSON.stringify(n.attrs["stride"] ?? null)}`)).toEqual([
      "downsample.0 conv [2,2]",
      "downsample.1 bn null",
    ]);
  });
  it("auto projects only where the shape changes (option B)", () => {
    expect(unit("auto").params).toBe(branchParams + 16 * 32 + 64);
    const same = graphOf(`model M { input x: f32[N, 16, 8, 8]; residual { conv(16, k=3) bn } shortcut auto }`);
    expect(same.nodes.map((n) => n.op)).toEqual(["input", "conv", "bn", "add"]);
  });
  it("pad: option A subsamples and zero-pads channels, no parameters", () => {
    const g = unit("pad");
    expect(g.params).toBe(branchParams);
    const pad = g.nodes.find((n) => n.op === "shortcut_pad")!;
    expect(pad.attrs).toMatchObject({ stride: 2, pad_before: 8, pad_after: 8 });
  });
  it("avgproject: ResNet-D's 2x2 average pool before a stride-1 projection", () => {
    const g = unit("avgproject");
    expect(g.nodes.filter((n) => n.name.startsWith("downsample")).map((n) => n.op)).toEqual(["avgpool", "conv", "bn"]);
    expect(g.params).toBe(branchParams + 16 * 32 + 64);
  });
  it("none: a plain stack, no merge", () => {
    expect(unit("none").nodes.some((n) => n.op === "add")).toBe(false);
  });
  it("custom shortcut pipelines", () => {
    const g = unit("{ conv(32, k=1, stride=2, bias=false) }");
    expect(g.params).toBe(branchParams + 16 * 32);
  });
  it("identity on a shape change is RN201 at the residual, with a hint", () => {
    const r = checkSource(
      `model M { input x: f32[N, 16, 32, 32]; residual { conv(32, k=3, stride=2) } shortcut identity }`,
    );
    expect(r.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      [
        "RN201",
        "residual add: branch gives [N, 32, 16, 16], shortcut gives [N, 16, 32, 32]",
        "use `shortcut project` (1x1 conv, stride 2) or `shortcut pad`",
      ],
    ]);
  });
  it("avgpad: PyramidNet's 2x2 average pool (downsample), then zero-padded channels, no parameters", () => {
    const g = unit("avgpad");
    expect(g.params).toBe(branchParams);
    const sc = g.nodes.filter((n) => n.name === "downsample" || n.op === "shortcut_pad");
    expect(sc.map((n) => `${n.name} ${n.op} ${n.shape.map(dimStr).join(",")}`)).toEqual([
      "downsample avgpool N,16,16,16",
      "shortcut1 shortcut_pad N,32,16,16",
    ]);
    expect(sc[0]!.attrs).toMatchObject({ kernel: [2, 2], stride: [2, 2], ceil: false });
    // New channels after the old ones, as PyramidNet's code concatenates them.
    expect(sc[1]!.attrs).toMatchObject({ stride: 1, pad_before: 0, pad_after: 16 });
    const same = graphOf(`model M { input x: f32[N, 16, 8, 8]; residual { conv(16, k=3) } shortcut avgpad }`);
    expect(same.nodes.map((n) => n.op)).toEqual(["input", "conv", "add"]);
  });
  it("merge=mul broadcasts a squeeze-excitation gate onto x: auto keeps x, no stride-8 projection", () => {
    const g = graphOf(`model M { input x: f32[N, 16, 8, 8]
      residual(merge=mul) { gap conv(4, k=1) relu conv(16, k=1) sigmoid } }`);
    expect(g.nodes.map((n) => n.op)).toEqual(["input", "gap", "conv", "relu", "conv", "sigmoid", "mul"]);
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "16", "8", "8"]);
    expect(g.params).toBe(16 * 4 + 4 + 4 * 16 + 16);
  });
  it("merge=add broadcasts with shortcut identity; auto still projects a strided branch", () => {
    const g = graphOf(`model M { input x: f32[N, 16, 8, 8]; residual { gap conv(16, k=1) } shortcut identity }`);
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "16", "8", "8"]);
    const r = checkSource(`model M { input x: f32[N, 16, 8, 8]; residual { gap conv(32, k=1) } shortcut identity }`);
    expect(r.diagnostics.map((d) => [d.code, d.hint])).toEqual([
      [
        "RN201",
        "a branch pooled to size 1 broadcasts onto the shortcut only with its channels (16), as squeeze-excitation's " +
          "gate does",
      ],
    ]);
  });
  it("the mismatch hint names only a stride the branch's layers have", () => {
    const r = checkSource(`model M { input x: f32[N, 16, 8, 8]
      residual { conv(16, k=3, stride=2) relu upsample(2) conv(16, k=3, stride=2) } shortcut identity }`);
    expect(r.diagnostics.map((d) => d.hint)).toEqual([
      "the branch's layers have stride 4, which does not map [8, 8] onto [4, 4]: write `shortcut { ... }`",
    ]);
  });
  it("strides are inferred per dim: a 3-D unit with stride [1, 2, 2] projects with it", () => {
    const g = graphOf(`model M { input x: f32[N, 8, 4, 16, 16]
      residual { conv(16, k=3, stride=[1, 2, 2]) bn relu conv(16, k=3) bn } }`);
    const ds = g.nodes.find((n) => n.name === "downsample.0")!;
    expect(ds.attrs).toMatchObject({ stride: [1, 2, 2], kernel: [1, 1, 1] });
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "16", "4", "8", "8"]);
    const p = graphOf(
      `model M { input x: f32[N, 8, 4, 16, 16]; residual { conv(16, k=3, stride=[1, 2, 2]) } shortcut avgproject }`,
    );
    expect(p.nodes.find((n) => n.name === "downsample.0")!.attrs).toMatchObject({
      kernel: [1, 2, 2],
      stride: [1, 2, 2],
    });
    const r = checkSource(
      `model M { input x: f32[N, 8, 4, 16, 16]; residual { conv(16, k=3, stride=[1, 2, 2]) } shortcut pad }`,
    );
    expect(r.diagnostics.map((d) => d.code)).toEqual(["RN209"]);
  });
  it("modifiers: gate (ReZero) 1 param, layerscale C params, scale and drop_path none", () => {
    const base = graphOf(
      `model M { input x: f32[N, 16, 8, 8]; residual { conv(16, k=3) bn } shortcut identity }`,
    ).params;
    const g = graphOf(
      `model M { input x: f32[N, 16, 8, 8]; residual(scale=0.1, gate=0, layerscale=1e-5, drop_path=0.1) { ` +
        `conv(16, k=3) bn } shortcut identity }`,
    );
    expect(g.params).toBe(base + 1 + 16);
    expect(g.nodes.map((n) => n.op)).toEqual([
      "input",
      "conv",
      "bn",
      "scale",
      "gate",
      "layerscale",
      "drop_path",
      "add",
    ]);
  });
  it("layerscale axis=: the last dim of tokens with a known T, dim 1 by default; bare names the vector", () => {
    const tokens = (args: string) => graphOf(`model M { input x: f32[N, 5, 8]; layerscale(${args}) as g }`);
    expect(tokens("").params).toBe(5);
    expect(tokens("axis=-1").params).toBe(8);
    expect(tokens("axis=2").params).toBe(8);
    expect(graphParams(tokens("axis=-1")).map((p) => [p.name, p.dims])).toEqual([["g.weight", [8]]]);
    expect(graphParams(tokens("axis=-1, bare=true")).map((p) => [p.name, p.dims])).toEqual([["g", [8]]]);
    // Dims between 1 and the last, and past the rank, are errors.
    const bad = (shape: string, args: string) =>
      checkSource(`model M { input x: f32[${shape}]; layerscale(${args}) }`).diagnostics.map((d) => d.code);
    expect(bad("N, 3, 4, 4", "axis=2")).toEqual(["RN119"]);
    expect(bad("N, 3, 4", "axis=3")).toEqual(["RN119"]);
    expect(bad("N, 3, 4, 4", "axis=-1")).toEqual([]);
  });
  it("concat merge (dense connectivity) adds the channels", () => {
    const g = graphOf(
      `model M { input x: f32[N, 16, 8, 8]; residual(merge=concat) { bn relu conv(12, k=3) } shortcut identity }`,
    );
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "28", "8", "8"]);
  });
  it("errors inside a block are reported at the call site, with a note at the block", () => {
    const r = checkSource(`block B(c: int, s: int = 1) { residual { conv(c, k=3, stride=s) } shortcut identity }
      model M { input x: f32[N, 8, 8, 8]
        B(8)
        B(16, s=2) }`);
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect(d.code).toBe("RN201");
    expect(r.sources.get("main.resnet")!.position(d.span.start).line).toBe(4);
    expect(d.notes[0]!.message).toBe("in block `B`, from here");
  });
});

describe("block-valued parameters", () => {
  const lib = `block SE(r: int = 4) {
      residual(merge=mul) { gap conv(shape()[1] // r, k=1) relu conv(shape()[1], k=1) sigmoid }
    }
    block Unit(c: int, attn: block = none) { residual { conv(c, k=3) bn attn } relu }
    block Stage(attn: block = SE(r=8)) { Unit(16, attn=attn) Unit(16, attn) if attn == none { relu } }`;
  const ops = (body: string) =>
    graphOf(`${lib}\nmodel M { input x: f32[N, 16, 8, 8]; ${body} }`).nodes.map((n) => `${n.name}:${n.op}`);
  it("`none` (the default) applies nothing; a block name applies the block with its defaults", () => {
    expect(ops("Unit(16)")).toEqual(["x:input", "conv1:conv", "bn1:bn", "add1:add", "relu1:relu"]);
    const g = graphOf(`${lib}\nmodel M { input x: f32[N, 16, 8, 8]; Unit(16, attn=SE) }`);
    // The applied block is an instance in the body's scope: se1.conv1, the usual naming.
    expect(g.nodes.filter((n) => n.name.startsWith("se1.")).map((n) => n.name)).toEqual([
      "se1.gap1",
      "se1.conv1",
      "se1.relu1",
      "se1.conv2",
      "se1.sigmoid1",
      "se1.mul1",
    ]);
    expect(g.nodes.find((n) => n.name === "se1.conv1")!.shape.map(dimStr)).toEqual(["N", "4", "1", "1"]);
  });
  it("`Name(args)` passes arguments; a block parameter passes on, compares with `none`, and positionally", () => {
    const g = graphOf(`${lib}\nmodel M { input x: f32[N, 16, 8, 8]; Unit(16, attn=SE(r=16)) Stage }`);
    expect(g.nodes.find((n) => n.name === "unit1.se1.conv1")!.shape.map(dimStr)).toEqual(["N", "1", "1", "1"]);
    const st = g.nodes.filter((n) => n.name.startsWith("stage1.") && n.name.endsWith("se1.conv1"));
    expect(st.map((n) => `${n.name} ${n.shape.map(dimStr).join(",")}`)).toEqual([
      "stage1.unit1.se1.conv1 N,2,1,1",
      "stage1.unit2.se1.conv1 N,2,1,1",
    ]);
    expect(ops("Stage(attn=none)").filter((n) => n.endsWith(":relu"))).toHaveLength(3);
    expect(ops("Stage(attn=SE when false else none)")).toEqual(ops("Stage(attn=none)"));
  });
  it("the body may give more arguments; summary records the block with its arguments", () => {
    const g = graphOf(`${lib}
      block Call(attn: block) { attn(r=2) }
      model M { input x: f32[N, 16, 8, 8]; Unit(16, attn=SE(r=16)) Call(attn=SE) }`);
    expect(g.nodes.find((n) => n.name === "call1.se1.conv1")!.shape.map(dimStr)).toEqual(["N", "8", "1", "1"]);
    expect(g.blocks.find((b) => b.name === "unit1")!.args).toBe("c=16, attn=SE(r=16)");
  });
  it("a non-block is RN115, wrong arity RN114 / RN113, an argument given twice RN116", () => {
    const bad = (call: string, extra = "") =>
      codes(`${lib}\n${extra}\nmodel M { input x: f32[N, 16, 8, 8]; ${call} }`).filter((c) => c !== "RN301");
    expect(bad("Unit(16, attn=3)")).toEqual(["RN115"]);
    expect(bad("Unit(16, attn=relu)")).toEqual(["RN115"]);
    expect(bad("Unit(16, attn=SE(1, 2))")).toEqual(["RN114"]);
    expect(bad("Unit(16, attn=Needs)", "block Needs(c: int) { conv(c, k=1) }")).toEqual(["RN113"]);
    expect(bad("Call(attn=SE(r=4))", "block Call(attn: block) { attn(r=2) }")).toEqual(["RN116"]);
  });
});

describe("symbolic shapes", () => {
  it("keeps the batch symbolic and infers strided sizes of symbolic spatial dims", () => {
    const g = graphOf(`model M { input x: f32[N, 3, H, W]; conv(8, k=3, stride=2) conv(8, k=3) }`);
    expect(g.outputs[0]!.shape.map(dimStr)).toEqual(["N", "8", "(H - 1) // 2 + 1", "(W - 1) // 2 + 1"]);
  });
  it("expect binds capitalised names and `_` matches anything", () => {
    expect(
      codes(`model M { input x: f32[B, 3, 8, 8]; expect [B, 3, S, S]; conv(4, k=3); expect [_, 4, S, S] }`),
    ).toEqual([]);
    expect(codes(`model M { input x: f32[B, 3, 8, 6]; expect [B, 3, S, S] }`)).toEqual(["RN206"]);
  });
  it("a residual unit over symbolic spatial sizes still finds its stride", () => {
    const g = graphOf(`import "std/resnet.resnet"
      model M { input x: f32[N, 3, H, W]; conv(16, k=3) Basic(32, stride=2) }`);
    expect(g.nodes.some((n) => n.name.endsWith("downsample.0"))).toBe(true);
  });
});

describe("layer names: `as NAME`", () => {
  const names = (src: string) => graphOf(src).nodes.map((n) => n.name);
  it("names an op or a block instance (a prefix) in its scope; counters skip written names", () => {
    expect(
      names(`block B(c: int) { conv(c, k=3) as c3 bn relu }
        model M { input x: f32[N, 3, 8, 8]; relu as act1 relu B(4) as stem B(4) stage s { B(4) as first B(4) }
          flatten dense(10) as fc }`),
    ).toEqual([
      "x",
      "act1",
      "relu1",
      "stem.c3",
      "stem.bn1",
      "stem.relu1",
      "b1.c3",
      "b1.bn1",
      "b1.relu1",
      "s.first.c3",
      "s.first.bn1",
      "s.first.relu1",
      "s.0.c3",
      "s.0.bn1",
      "s.0.relu1",
      "flatten1",
      "fc",
    ]);
    // A counter name never takes a written one: relu2 is written, so the counted ones are relu1, relu3.
    expect(names(`model M { input x: f32[N, 4]; relu as relu2 relu relu }`)).toEqual(["x", "relu2", "relu1", "relu3"]);
  });
  it("`as _` names a block's layers as if written at the call, sharing the counters", () => {
    expect(
      names(`block B() { relu dense(3) as fc }
        model M { input x: f32[N, 4]; relu B as _ relu }`),
    ).toEqual(["x", "relu1", "relu2", "fc", "relu3"]);
  });
  it("a name used twice in one scope is RN130; a misplaced `as` is RN131; checking goes on", () => {
    expect(codes(`model M { input x: f32[N, 4]; dense(3) as fc relu dense(3) as fc }`)).toEqual(["RN130"]);
    expect(codes(`model M { input x: f32[N, 4]; (relu relu) as r; relu as _; dense(3) as fc }`)).toEqual([
      "RN131",
      "RN131",
    ]);
  });
});

describe("bias=auto", () => {
  it("drops the bias of a conv whose only consumer is a normalisation", () => {
    const g = graphOf(`model M { input x: f32[N, 3, 8, 8]; conv(4, k=3) bn conv(4, k=3) relu }`);
    const convs = g.nodes.filter((n) => n.op === "conv");
    expect(convs.map((c) => c.attrs["bias"])).toEqual([false, true]);
    expect(convs.map((c) => c.params)).toEqual([3 * 4 * 9, 4 * 4 * 9 + 4]);
  });
  it("looks past dropout and drop-path to the norm after them (WRN: conv dropout bn)", () => {
    const g = graphOf(`model M { input x: f32[N, 3, 8, 8]; conv(4, k=3) dropout(0.3) bn
      conv(4, k=3) drop_path(0.1) dropout(0.2) bn conv(4, k=3) dropout(0.3) relu }`);
    expect(g.nodes.filter((n) => n.op === "conv").map((c) => c.attrs["bias"])).toEqual([false, false, true]);
    expect(codes(`model M { input x: f32[N, 3, 8, 8]; conv(4, k=3, bias=true) dropout(0.3) bn }`)).toEqual(["RN303"]);
  });
});

describe("layers that reach no output", () => {
  it("an unused let's layers are left out of the graph and the count (RN304 says so)", () => {
    const src = `import "std/resnet.resnet"
      model M { input x: f32[N, 3, 8, 8]; let unused = Basic(16) dense(100); conv(4, k=3) bn relu }`;
    const g = graphOf(src);
    expect(g.nodes.map((n) => n.name)).toEqual(["x", "conv1", "bn1", "relu1"]);
    expect(g.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3]);
    expect(g.nodes.map((n) => n.inputs)).toEqual([[], [0], [1], [2]]);
    expect(g.params).toBe(3 * 4 * 9 + 2 * 4);
    expect(g.blocks).toEqual([]);
    expect(g.outputs.map((o) => o.node)).toEqual([3]);
    expect(codes(src)).toEqual(["RN304"]);
  });
});

describe("bn(affine=false)", () => {
  it("has no weight and bias, only running statistics (PyTorch's BatchNorm2d(affine=False))", () => {
    const g = graphOf(`model M { input x: f32[N, 3, 8, 8]; conv(4, k=3) bn(affine=false) relu }`);
    expect(graphParams(g).map((p) => p.name)).toEqual(["conv1.weight", "bn1.running_mean", "bn1.running_var"]);
    expect(g.params).toBe(3 * 4 * 9);
    expect(codes(`model M { input x: f32[N, 3]; bn(affine=false, gamma=zeros) }`)).toEqual(["RN208"]);
  });
});

describe("pre-activation blocks", () => {
  it("PreActResNet-18 (CIFAR, as kuangliu/pytorch-cifar) has 11,171,146 parameters", () => {
    const g = graphOf(`import "std/resnet.resnet"
      model M {
        input x: f32[N, 3, 32, 32]
        conv(64, k=3, bias=false)
        PreActBasic(64) * 2
        PreActBasic(128, stride=2) PreActBasic(128)
        PreActBasic(256, stride=2) PreActBasic(256)
        PreActBasic(512, stride=2) PreActBasic(512)
        avgpool(k=4) flatten dense(10)
      }`);
    expect(g.params).toBe(11_171_146);
  });
});

describe("limits keep absurd programs fast", () => {
  it("a 10^9 repeat is RN401, not a hang", () => {
    expect(codes(`model M { input x: f32[N, 4]; relu * 1000000000 }`)).toEqual(["RN401"]);
  });
});

describe("the parse cache `lint` shares across roots", () => {
  it("parses std/ once for several roots, and gives the same diagnostics and graphs as without it", () => {
    const host = nodeHost(repoRoot);
    const roots = ["examples/resnet18.resnet", "examples/resnet50.resnet", "test/bad/residual-add-mismatch.resnet"];
    const parseCache = new Map();
    const shared = roots.map((r) => check([r], host, { parseCache }));
    const alone = roots.map((r) => check([r], host));
    expect([...parseCache.keys()].filter((k) => k.startsWith("std/"))).toEqual(["std/resnet.resnet"]);
    expect(shared.map((r) => r.diagnostics)).toEqual(alone.map((r) => r.diagnostics));
    expect(shared.map((r) => r.graphs.map((g) => [g.name, g.nodes.length, g.params]))).toEqual(
      alone.map((r) => r.graphs.map((g) => [g.name, g.nodes.length, g.params])),
    );
  });
});

describe("a stage without a name", () => {
  it("is the next index inside a stage (a Sequential in a Sequential), and `stage1` elsewhere", () => {
    const g = graphOf(`
model M {
  input x: f32[N, 4, 6, 6]
  stage tail {
    conv(4, k=1)
    stage { conv(16, k=3) pixel_shuffle(2) conv(16, k=3) pixel_shuffle(2) }
    conv(3, k=3)
  }
  stage { relu }
}
`);
    expect(g.nodes.map((n) => n.name)).toEqual([
      "x",
      "tail.0",
      "tail.1.0",
      "tail.1.1",
      "tail.1.2",
      "tail.1.3",
      "tail.2",
      "stage1.0",
    ]);
    expect(graphParams(g).map((p) => p.name)).toContain("tail.1.2.weight");
  });
});

describe("stage names in loops", () => {
  it("`stage NAME[i]` is NAME.i, as `as NAME[i]` is", () => {
    const g = graphOf(`
model M {
  input x: f32[N, 4]
  for i in 0..2 {
    stage blocks[i] { dense(4) relu }
  }
}
`);
    expect(g.nodes.filter((n) => n.op === "dense").map((n) => n.name)).toEqual([
      "blocks.0.0",
      "blocks.1.0",
      "blocks.2.0",
    ]);
  });

  it("a stage name repeated in one scope is RN130 (it used to give silent `_2` names), reported once", () => {
    const r = checkSource(`
model M {
  input x: f32[N, 4]
  for i in 1..3 {
    stage s { dense(4) }
  }
}
`);
    const d = r.diagnostics.filter((x) => x.code === "RN130");
    expect(d).toHaveLength(1);
    expect(d[0]!.hint).toContain("stage blocks[i]");
    expect(codes("model M {\n  input x: f32[N, 4]\n  for i in 1..2 {\n    stage s[-i] { relu }\n  }\n}\n")).toContain(
      "RN131",
    );
  });

  it("the formatter keeps a stage's index", async () => {
    const src = "model M {\n  input x: f32[N, 4]\n  for i in 0..1 {\n    stage b[ i+1 ] { relu }\n  }\n}\n";
    const r = await formatSource("m.resnet", src);
    expect(r.ok && r.text).toBe(src.replace("[ i+1 ]", "[i + 1]"));
  });

  it("a later use of a shared block may repeat its stage names (its layers are tied)", () => {
    const g = graphOf(`
block Head(c: int) {
  stage head { dense(c) }
}
model M {
  input x: f32[N, 4]
  let h = share Head(4)
  x h as _
  h as _
}
`);
    expect(g.nodes.filter((n) => n.op === "dense").map((n) => n.name)).toEqual(["head.0", "head.0_2"]);
    expect(graphParams(g).map((p) => p.name)).toEqual(["head.0.weight", "head.0.bias"]);
  });
});
