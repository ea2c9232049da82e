// The showcase: every example checks clean, and each model's parameter count equals the
// published figure in examples/reference-counts.json (torchvision for ImageNet; the papers and
// the authors' code otherwise), the same file examples/README.md is generated from.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { check } from "../src/compiler.js";
import { applySuppressions } from "../src/diagnostics/suppress.js";
import { nodeHost } from "../src/cli/host.js";
import { graphParams } from "../src/weights/init.js";
import { graphOf, repoRoot } from "./helpers.js";

const host = nodeHost(repoRoot);

/** What `resnetc check` reports: the library's diagnostics less those a `# resnetc-disable-...`
 * comment suppresses (DnCNN keeps KAIR's biases before BNs, RN303, on purpose). */
const reported = (r: ReturnType<typeof check>): string[] =>
  applySuppressions(r.diagnostics, r.sources).map((d) => `${d.code} ${d.message}`);

function model(file: string, name: string) {
  const r = check([`examples/${file}`], host, { model: name });
  expect(reported(r)).toEqual([]);
  expect(r.graphs).toHaveLength(1);
  return r.graphs[0]!;
}

interface Reference {
  family: string;
  file: string;
  model: string;
  label: string;
  params: number;
  source: string;
  /** Width of a classifier's [N, classes] output; absent for image-to-image models. */
  classes?: number;
}
const REFERENCE = (
  JSON.parse(readFileSync(join(repoRoot, "examples", "reference-counts.json"), "utf8")) as { models: Reference[] }
).models;
const reference = (file: string, name: string) => REFERENCE.find((r) => r.file === file && r.model === name)!.params;

describe("every example model matches its reference figure (examples/reference-counts.json)", () => {
  for (const r of REFERENCE)
    it(`${r.file} ${r.model}: ${r.params.toLocaleString("en-US")} parameters (${r.source})`, () => {
      const g = model(r.file, r.model);
      expect(g.params).toBe(r.params);
      if (r.classes !== undefined) expect(g.outputs.map((o) => o.shape)).toEqual([[g.inputs[0]!.shape[0], r.classes]]);
    });

  it("lists every model of every example, once", () => {
    const defined = readdirSync(join(repoRoot, "examples"))
      .filter((f) => f.endsWith(".resnet"))
      .flatMap((f) => check([`examples/${f}`], host).graphs.map((g) => `${f}:${g.name}`))
      .sort();
    expect(REFERENCE.map((r) => `${r.file}:${r.model}`).sort()).toEqual(defined);
  });
});

describe("ImageNet ResNets", () => {
  it("ResNet-50 MACs within 1% of 4.09e9 at 224x224", () => {
    const g = model("resnet50.resnet", "ResNet50");
    expect(Math.abs(g.macs - 4.09e9) / 4.09e9).toBeLessThan(0.01);
  });

  it("names follow torchvision's modules", () => {
    const g = model("resnet50.resnet", "ResNet50");
    const names = new Set(g.nodes.map((n) => n.name));
    for (const n of [
      "conv1",
      "bn1",
      "layer1.0.conv1",
      "layer1.0.downsample.0",
      "layer1.0.downsample.1",
      "layer2.0.conv2",
      "layer4.2.bn3",
    ])
      expect(names).toContain(n);
    // The stride sits on the bottleneck's 3x3 (torchvision "v1.5"), not the first 1x1.
    const byName = new Map(g.nodes.map((n) => [n.name, n]));
    expect(byName.get("layer2.0.conv2")!.attrs["stride"]).toEqual([2, 2]);
    expect(byName.get("layer2.0.conv1")!.attrs["stride"]).toEqual([1, 1]);
    expect(byName.get("layer2.0.conv1")!.shape).toEqual([g.inputs[0]!.shape[0], 128, 56, 56]);
  });
});

describe("CIFAR ResNets (option A) match the paper's Table 6", () => {
  const table: [string, number, number][] = (
    [
      ["ResNet20", 20],
      ["ResNet32", 32],
      ["ResNet44", 44],
      ["ResNet56", 56],
      ["ResNet110", 110],
      ["ResNet1202", 1202],
    ] as const
  ).map(([name, depth]) => [name, reference("cifar-resnet.resnet", name), depth]);
  for (const [name, params, depth] of table)
    it(`${name}: ${params.toLocaleString("en-US")} parameters, ${depth} weighted layers`, () => {
      const g = model("cifar-resnet.resnet", name);
      expect(g.params).toBe(params);
      // 6n+2 weighted layers: every conv and the final dense (option A adds none).
      const weighted = g.nodes.filter((n) => n.op === "conv" || n.op === "dense").length;
      expect(weighted).toBe(depth);
      expect(g.nodes.some((n) => n.op === "shortcut_pad")).toBe(true);
      expect(g.nodes.some((n) => n.name.includes("downsample"))).toBe(false);
    });
});

describe("naming", () => {
  it("a model whose body is one block call names the block's layers as if written in the model", () => {
    const g = model("cifar-resnet.resnet", "ResNet20");
    const names = graphParams(g).map((p) => p.name);
    expect(names.slice(0, 2)).toEqual(["conv1.weight", "bn1.weight"]);
    expect(names).toContain("layer1.0.conv1.weight");
    expect(names).toContain("layer3.2.bn2.running_var");
    expect(names.slice(-2)).toEqual(["fc.weight", "fc.bias"]);
    expect(names.filter((n) => n.includes("cifarresnet"))).toEqual([]);
    // The instance is not recorded: its layers belong to the model.
    expect(g.blocks.some((b) => b.block === "CifarResNet")).toBe(false);
  });
});

describe("plain baselines", () => {
  it("plain-20/56 have their ResNet's parameters (option A shortcuts have none) and no merges", () => {
    for (const [name, params] of [
      ["Plain20", reference("cifar-resnet.resnet", "ResNet20")],
      ["Plain56", reference("cifar-resnet.resnet", "ResNet56")],
    ] as const) {
      const g = model("plain-cifar.resnet", name);
      expect(g.params).toBe(params);
      expect(g.nodes.filter((n) => n.op === "add" || n.op === "shortcut_pad")).toEqual([]);
    }
  });
  it("plain-18/34 are ResNet-18/34 less the three 1x1 projections and their BNs", () => {
    // 64->128, 128->256, 256->512 projections: weights c_in*c_out, BN 2*c_out.
    const projections = [
      [64, 128],
      [128, 256],
      [256, 512],
    ].reduce((s, [a, b]) => s + a! * b! + 2 * b!, 0);
    expect(projections).toBe(173_824);
    expect(model("plain-imagenet.resnet", "Plain18").params).toBe(
      reference("resnet18.resnet", "ResNet18") - projections,
    );
    expect(model("plain-imagenet.resnet", "Plain34").params).toBe(
      reference("resnet34.resnet", "ResNet34") - projections,
    );
  });
});

describe("the other families", () => {
  it("pre-activation ResNet-164/1001 have 9n+2 weighted layers", () => {
    for (const [name, depth] of [
      ["PreActResNet164", 164],
      ["PreActResNet1001", 1001],
    ] as const) {
      const g = model("preact-resnet-cifar.resnet", name);
      // 9n+2 plus the three 1x1 projections at the stages' first units.
      expect(g.nodes.filter((n) => n.op === "conv" || n.op === "dense").length).toBe(depth + 3);
    }
  });
  it("WRN-28-10 with dropout 0.3 between the convs has the same parameters", () => {
    const g = graphOf(
      `import "examples/wide-resnet-cifar.resnet"
model W { input image: f32[N, 3, 32, 32]; WideResNet(28, 10, drop=0.3) }`,
      "W",
    );
    expect(g.params).toBe(reference("wide-resnet-cifar.resnet", "WRN_28_10"));
    expect(g.nodes.filter((n) => n.op === "dropout")).toHaveLength(12);
  });
  it("SE-ResNet-50 gates each branch channel-wise before the addition", () => {
    const g = model("se-resnet50.resnet", "SEResNet50");
    const byName = new Map(g.nodes.map((n) => [n.name, n]));
    expect(byName.get("layer1.0.se_module.fc1")!.shape).toEqual([g.inputs[0]!.shape[0], 16, 1, 1]);
    expect(byName.get("layer1.0.se_module.mul1")!.shape).toEqual([g.inputs[0]!.shape[0], 256, 56, 56]);
    expect(g.nodes.filter((n) => n.op === "mul")).toHaveLength(16);
  });
  it("DenseNet-121 appends 32 channels per layer, 58 layers", () => {
    const g = model("densenet121.resnet", "DenseNet121");
    expect(g.nodes.filter((n) => n.op === "concat")).toHaveLength(6 + 12 + 24 + 16);
  });
  it("DnCNN-S outputs the input minus the predicted noise", () => {
    const g = model("dncnn.resnet", "DnCNN_S");
    expect(g.outputs.map((o) => o.name)).toEqual(["clean"]);
    const out = g.nodes[g.outputs[0]!.node]!;
    expect(out.op).toBe("sub");
    expect(out.inputs[0]).toBe(g.inputs[0]!.node);
    expect(g.nodes.filter((n) => n.op === "conv")).toHaveLength(17);
  });
  it("the super-resolution models upscale 2x (EDSR) and 4x (SRResNet, RCAN)", () => {
    const hw = (file: string, name: string) => {
      const g = model(file, name);
      return [g.inputs[0]!.shape.slice(2), g.outputs[0]!.shape.slice(1)];
    };
    expect(hw("edsr.resnet", "EDSRBaselineX2")).toEqual([
      [48, 48],
      [3, 96, 96],
    ]);
    expect(hw("edsr.resnet", "EDSRX2")).toEqual([
      [48, 48],
      [3, 96, 96],
    ]);
    expect(hw("srresnet.resnet", "SRResNet")).toEqual([
      [24, 24],
      [3, 96, 96],
    ]);
    expect(hw("rcan.resnet", "RCAN")).toEqual([
      [48, 48],
      [3, 192, 192],
    ]);
  });
});

describe("ViT-B/16", () => {
  it("vit-b-16: torchvision's state_dict keys, in its order, and 17.56 GMACs at 224x224", () => {
    const g = model("vit-b-16.resnet", "ViT_B_16");
    const layer = (i: number): string[] =>
      [
        "ln_1.weight",
        "ln_1.bias",
        "self_attention.in_proj_weight",
        "self_attention.in_proj_bias",
        "self_attention.out_proj.weight",
        "self_attention.out_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.0.weight",
        "mlp.0.bias",
        "mlp.3.weight",
        "mlp.3.bias",
      ].map((k) => `encoder.layers.encoder_layer_${i}.${k}`);
    // torchvision's VisionTransformer registers class_token before conv_proj; resnetc lists a
    // graph's parameters in node order, so only the set is compared for those two.
    const names = graphParams(g).map((p) => p.name);
    expect(names.slice(0, 3).sort()).toEqual(["class_token", "conv_proj.bias", "conv_proj.weight"]);
    expect(names.slice(3)).toEqual([
      "encoder.pos_embedding",
      ...Array.from({ length: 12 }, (_, i) => layer(i)).flat(),
      "encoder.ln.weight",
      "encoder.ln.bias",
      "heads.head.weight",
      "heads.head.bias",
    ]);
    const dims = new Map(graphParams(g).map((p) => [p.name, p.dims]));
    expect(dims.get("class_token")).toEqual([1, 1, 768]);
    expect(dims.get("encoder.pos_embedding")).toEqual([1, 197, 768]);
    expect(dims.get("encoder.layers.encoder_layer_0.self_attention.in_proj_weight")).toEqual([2304, 768]);
    expect(Math.abs(g.macs - 17.56e9) / 17.56e9).toBeLessThan(0.01);
  });
});

describe("every example", () => {
  const files = readdirSync(join(repoRoot, "examples")).filter((f) => f.endsWith(".resnet"));
  for (const f of files)
    it(`${f} checks clean and cites its paper`, () => {
      const r = check([`examples/${f}`], host);
      expect(reported(r)).toEqual([]);
      expect(r.graphs.length).toBeGreaterThan(0);
      expect(readFileSync(join(repoRoot, "examples", f), "utf8")).toMatch(/^# .*\n(# .*\n)*/);
      expect(readFileSync(join(repoRoot, "examples", f), "utf8")).toMatch(
        /He, Zhang, Ren, Sun|et al\.|arXiv:\d{4}\.\d{4,5}/,
      );
    });
});

describe("the README", () => {
  it("its first example is ResNet-18 with torchvision's parameter count", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const code = /```\n(# ResNet basic block[\s\S]*?)```/.exec(readme)![1]!;
    const r = check(["readme.resnet"], {
      readFile: (p) => (p === "readme.resnet" ? new TextEncoder().encode(code) : { error: "no such file" }),
      resolveImport: () => undefined,
    });
    expect(r.diagnostics).toEqual([]);
    expect(r.graphs[0]!.params).toBe(reference("resnet18.resnet", "ResNet18"));
  });
});
