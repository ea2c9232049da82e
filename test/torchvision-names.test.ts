// Our parameter names and shapes equal torchvision's state_dict keys and shapes, exactly.
// Takes: examples/ and std/, and /usr/bin/python3 with torchvision (CI installs
// python3-torchvision in .ci/run). Gives: one test per model. Must not: skip quietly when
// torchvision is missing: the test fails and says how to install it.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { check } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";
import type { Graph } from "../src/ir/ir.js";
import { graphParams } from "../src/weights/init.js";
import { graphOf, repoRoot } from "./helpers.js";

const TABLE: [file: string, model: string, torchvision: string][] = [
  ["resnet18.resnet", "ResNet18", "resnet18"],
  ["resnet50.resnet", "ResNet50", "resnet50"],
  ["resnext50.resnet", "ResNeXt50", "resnext50_32x4d"],
  ["wide-resnet50-2.resnet", "WideResNet50_2", "wide_resnet50_2"],
  // Huang et al. 2017: dense blocks written with named dataflow and `as` names.
  ["densenet121.resnet", "DenseNet121", "densenet121"],
];

/** name -> [[key, shape], ...] of torchvision's state_dict, without num_batches_tracked. */
function torchvisionStateDicts(names: string[]): Record<string, [string, number[]][]> {
  const script = [
    "import json, sys",
    "try:",
    "    import torchvision",
    "except Exception as e:",
    "    print('cannot import torchvision: %s' % e, file=sys.stderr); sys.exit(3)",
    "out = {}",
    "for name in sys.argv[1:]:",
    "    sd = getattr(torchvision.models, name)().state_dict()",
    "    out[name] = [[k, list(v.shape)] for k, v in sd.items() if not k.endswith('num_batches_tracked')]",
    "print(json.dumps(out))",
  ].join("\n");
  const r = spawnSync("/usr/bin/python3", ["-c", script, ...names], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0)
    throw new Error(
      "this test needs /usr/bin/python3 with torchvision (Debian: apt-get install python3-torchvision): " +
        (r.error?.message ?? r.stderr.trim()),
    );
  return JSON.parse(r.stdout) as Record<string, [string, number[]][]>;
}

function ours(g: Graph): [string, number[]][] {
  return graphParams(g).map((p) => [p.name, p.dims]);
}

function example(file: string, model: string): Graph {
  const r = check([`examples/${file}`], nodeHost(repoRoot), { model });
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.graphs[0]!;
}

describe("parameter names and shapes are torchvision's state_dict", () => {
  const tv = torchvisionStateDicts([...TABLE.map((t) => t[2]), "resnet18"]);
  for (const [file, model, name] of TABLE)
    it(`${file} (${model}) = torchvision.models.${name}()`, () => {
      // Same order too: both walk the network from the stem to the classifier.
      expect(ours(example(file, model))).toEqual(tv[name]);
    });

  it("std's ImageNetStem and Head called `as _` name the layers conv1, bn1, fc", () => {
    const g = graphOf(`import "std/resnet.resnet"
model R18 {
  input image: f32[N, 3, 224, 224]
  ImageNetStem as _
  stage layer1 { Basic(64) * 2 }
  stage layer2 { Basic(128, stride=2) Basic(128) }
  stage layer3 { Basic(256, stride=2) Basic(256) }
  stage layer4 { Basic(512, stride=2) Basic(512) }
  Head(1000) as _
}`);
    expect(ours(g)).toEqual(tv["resnet18"]);
  });
});
