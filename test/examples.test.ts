// The showcase: every example checks clean, and each model's parameter count equals the
// published figure (torchvision for ImageNet; He et al. 2015, Table 6 for CIFAR).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { check } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";
import { graphParams } from "../src/weights/init.js";
import { repoRoot } from "./helpers.js";

const host = nodeHost(repoRoot);

function model(file: string, name: string) {
  const r = check([`examples/${file}`], host, { model: name });
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(r.graphs).toHaveLength(1);
  return r.graphs[0]!;
}

describe("ImageNet ResNets and ResNeXt match torchvision exactly", () => {
  const table: [string, string, number][] = [
    ["resnet18.resnet", "ResNet18", 11_689_512],
    ["resnet34.resnet", "ResNet34", 21_797_672],
    ["resnet50.resnet", "ResNet50", 25_557_032],
    ["resnet101.resnet", "ResNet101", 44_549_160],
    ["resnet152.resnet", "ResNet152", 60_192_808],
    // Xie et al. 2017; torchvision.models.resnext50_32x4d.
    ["resnext50.resnet", "ResNeXt50", 25_028_904],
    // Zagoruyko & Komodakis 2016; torchvision.models.wide_resnet50_2.
    ["wide-resnet50-2.resnet", "WideResNet50_2", 68_883_240],
  ];
  for (const [file, name, params] of table)
    it(`${name}: ${params.toLocaleString("en-US")} parameters`, () => {
      const g = model(file, name);
      expect(g.params).toBe(params);
      expect(g.outputs.map((o) => o.shape)).toEqual([[g.inputs[0]!.shape[0], 1000]]);
    });

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
  const table: [string, number, number][] = [
    ["ResNet20", 269_722, 20],
    ["ResNet32", 464_154, 32],
    ["ResNet44", 658_586, 44],
    ["ResNet56", 853_018, 56],
    ["ResNet110", 1_727_962, 110],
    ["ResNet1202", 19_421_274, 1202],
  ];
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
      ["Plain20", 269_722],
      ["Plain56", 853_018],
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
    expect(model("plain-imagenet.resnet", "Plain18").params).toBe(11_689_512 - projections);
    expect(model("plain-imagenet.resnet", "Plain34").params).toBe(21_797_672 - projections);
  });
});

describe("every example", () => {
  const files = readdirSync(join(repoRoot, "examples")).filter((f) => f.endsWith(".resnet"));
  for (const f of files)
    it(`${f} checks clean and cites its paper`, () => {
      const r = check([`examples/${f}`], host);
      expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
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
    expect(r.graphs[0]!.params).toBe(11_689_512);
  });
});
