// The reference equivalence: torchvision's own models, their state_dicts saved as .safetensors by
// PyTorch (header and bytes by hand, as the README shows; no safetensors package), compile with
// `resnetc compile --target onnx --weights model.safetensors` and the matching example UNCHANGED
// (no renaming: resnetc's parameter names are torchvision's), and ONNX Runtime's output equals
// PyTorch's eval-mode output on the same random input within 1e-4 relative: a 224x224 image, or
// for the video model r3d_18 (torchvision.models.video) a 16-frame 112x112 clip. The models
// are randomly initialised, then every BatchNorm's running statistics, gamma and beta and every
// LayerNorm's gamma and beta perturbed, so that the test sees the norms (at initialisation they are
// nearly the identity), and every all-zero parameter drawn from N(0, 0.02) (ViT's class token,
// head and attention biases; DenseNet's classifier bias), so that the output depends on it.
// Needs Debian's /usr/bin/python3 with python3-torch and python3-torchvision (.ci/run installs
// them); skipped where they are missing, and a failure under CI=true.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy } from "../src/io/npy.js";
import { repoRoot, runCli } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "resnetc-torchvision-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PYTHON = "/usr/bin/python3";
const missing = ((): string | undefined => {
  try {
    execFileSync(PYTHON, ["-c", "import torch, torchvision, numpy"], { stdio: "pipe" });
    return undefined;
  } catch {
    return `${PYTHON} lacks torch or torchvision (apt-get install python3-torch python3-torchvision)`;
  }
})();

/** Makes torchvision's NAME (an image model, or a video one from torchvision.models.video),
 * perturbs its batch norms (2-D or 3-D), and saves state_dict, an input of SHAPE and the output. */
const SCRIPT = `
import json, os, struct, sys, numpy as np, torch, torchvision
name, out, shape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
torch.manual_seed(0)
torch.set_num_threads(2)
m = getattr(torchvision.models, name, None) or getattr(torchvision.models.video, name)
m = m(weights=None)
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
            mod.num_batches_tracked.fill_(1000)
        if isinstance(mod, torch.nn.LayerNorm):
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
    # Tensors initialised to zeros (ViT's class token, head and attention biases) made random, so
    # that the output depends on them.
    for p in m.parameters():
        if not p.any():
            p.normal_(0, 0.02)
m.eval()
x = torch.randn(*shape)
with torch.no_grad():
    y = m(x)
np.save(os.path.join(out, "x.npy"), x.numpy())
np.save(os.path.join(out, "y.npy"), y.numpy())
sd = m.state_dict()
dtypes = {torch.float32: "F32", torch.int64: "I64"}
hdr, off = {"__metadata__": {"format": "pt"}}, 0
for k, v in sd.items():
    n = v.numel() * v.element_size()
    hdr[k] = {"dtype": dtypes[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + n]}
    off += n
h = json.dumps(hdr).encode()
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for v in sd.values():
        f.write(v.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
`;

/** torchvision's name, the example that describes the same network, and its input's shape. */
const IMAGE = [1, 3, 224, 224];
const MODELS: [string, RegExp, number[]][] = [
  ["resnet18", /^resnet18\.resnet$/, IMAGE],
  ["resnet50", /^resnet50\.resnet$/, IMAGE],
  ["resnext50_32x4d", /^resnext50(_32x4d)?\.resnet$/, IMAGE],
  ["wide_resnet50_2", /^wide[-_]?resnet[-_]?50([-_]2)?\.resnet$/, IMAGE],
  ["densenet121", /^densenet121\.resnet$/, IMAGE],
  // 40.7 GMACs per clip: one PyTorch run and one ONNX Runtime run at the example's own size.
  ["r3d_18", /^r3d[-_]?18\.resnet$/, [1, 3, 16, 112, 112]],
  ["vit_b_16", /^vit[-_]?b[-_]?16\.resnet$/, IMAGE],
];
const examples = readdirSync(join(repoRoot, "examples"));

describe("torchvision state_dicts as .safetensors: resnetc's ONNX equals PyTorch within 1e-4", () => {
  if (missing && process.env["CI"])
    it("python3-torch and python3-torchvision must be installed in CI", () => {
      expect.fail(missing);
    });
  for (const [name, pattern, shape] of MODELS) {
    const example = examples.find((f) => pattern.test(f));
    it.skipIf(missing !== undefined || example === undefined)(
      `${name} (examples/${example ?? "none yet"})`,
      async () => {
        const dir = join(work, name);
        mkdirSync(dir, { recursive: true });
        execFileSync(PYTHON, ["-c", SCRIPT, name, dir, JSON.stringify(shape)], { stdio: "pipe" });
        const onnxDir = join(dir, "onnx");
        const r = runCli([
          "compile",
          join(repoRoot, "examples", example!),
          "--target",
          "onnx",
          "--weights",
          join(dir, "model.safetensors"),
          "-o",
          `${onnxDir}/`,
        ]);
        // No warning either: every tensor of the state_dict is used (num_batches_tracked aside).
        expect([r.code, r.stderr]).toEqual([0, ""]);
        const onnx = readdirSync(onnxDir).filter((f) => f.endsWith(".onnx"));
        expect(onnx).toHaveLength(1);
        const x = readNpy(join(dir, "x.npy"));
        const want = readNpy(join(dir, "y.npy"));
        const session = await ort.InferenceSession.create(readFileSync(join(onnxDir, onnx[0]!)), {
          intraOpNumThreads: 2,
          interOpNumThreads: 1,
        });
        const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", x.data, x.shape) };
        const out = (await session.run(feeds))[session.outputNames[0]!]!;
        expect(out.dims).toEqual(want.shape);
        const got = out.data as Float32Array;
        const scale = Math.max(...want.data.map(Math.abs));
        expect(scale).toBeGreaterThan(0);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.data[i]!) / scale);
        expect(worst).toBeLessThanOrEqual(1e-4);
        expect(existsSync(join(dir, "model.safetensors"))).toBe(true);
      },
      300_000,
    );
  }
});
