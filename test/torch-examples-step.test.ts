// One training step of the PyTorch program equals the tfjs program's on the examples themselves, not
// only on test fixtures: for each small single-input classifier among the examples, `resnetc compile
// --target torch --model M` (model.py + train.py) and `resnetc train FILE --model M` start from the
// same declared initialisation (seed 0), take one SGD step with momentum on the same synthetic batch
// without augmentation, and their checkpoints (weights and optimizer state) agree within 1e-3, BN's
// running statistics within 1e-5 (relative).
// Takes: examples/*.resnet and Debian's torch (/usr/bin/python3). Gives: a pass or a located failure
// per model. Must not: skip, except where /usr/bin/python3 has no torch.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { check } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";
import { fill, graphParams } from "../src/weights/init.js";
import { encodeCheckpoint, readCheckpoint, type Tensor } from "../src/weights/checkpoint.js";
import { repoRoot } from "./helpers.js";

const PY = "/usr/bin/python3";
const hasTorch = spawnSync(PY, ["-c", "import torch, numpy"]).status === 0;
const work = join(repoRoot, "out", "torch-examples-step");

/** Small classifiers of the examples, across the families the PyTorch target lowers: 2-D CNNs
 * with option-A and projection shortcuts, no-normalisation Fixup, pre-activation, 1-D audio and
 * time series, a 2-D audio net with BN without affine, and token models. */
const MODELS: [file: string, model: string][] = [
  ["examples/cifar-resnet.resnet", "ResNet20"],
  ["examples/fixup-resnet-cifar.resnet", "FixupResNet20"],
  ["examples/res-kws.resnet", "Res8"],
  ["examples/matchboxnet.resnet", "MatchboxNet3x2x64"],
  ["examples/tsc-resnet.resnet", "TscResNet"],
  ["examples/resmlp.resnet", "ResMLP_Tiny"],
  ["examples/cait.resnet", "CaiT_Tiny"],
];

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
    const child = spawn(cmd, args, { cwd: repoRoot, env });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}
const cli = (args: string[]) => run(process.execPath, [join(repoRoot, "bin", "resnetc.js"), ...args]);

function tensors(dir: string, stem: "weights" | "optimizer" = "weights"): Map<string, Tensor> {
  const t = readCheckpoint(dir, stem);
  if (typeof t === "string") throw new Error(t);
  return t;
}

/** The largest |a - b| over the tensors of both, which must have the same names and shapes. */
function maxDiff(a: Map<string, Tensor>, b: Map<string, Tensor>): { worst: number; at: string } {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let worst = 0;
  let at = "";
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.dims, name).toEqual(t.dims);
    for (let i = 0; i < t.data.length; i++) {
      const d = Math.abs(t.data[i]! - u.data[i]!);
      if (d > worst) [worst, at] = [d, name];
    }
  }
  return { worst, at };
}

beforeAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!hasTorch)("one PyTorch training step equals tfjs's on the examples", () => {
  const common = ["--data", "synthetic", "--synthetic", "16", "--batch", "8", "--no-augment", "--seed", "0"];
  const sgd = ["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--steps", "1"];
  for (const [file, model] of MODELS)
    it(`${file} ${model}`, async () => {
      const dir = join(work, model);
      const prog = join(dir, "prog");
      mkdirSync(join(dir, "w0"), { recursive: true });
      const c = await cli(["compile", file, "--model", model, "--target", "torch", "-o", prog]);
      expect(c.code, c.out).toBe(0);
      // The declared initialisation at seed 0, which `resnetc train --seed 0` starts from.
      const r = check([file], nodeHost(repoRoot), { model });
      const g = r.graphs[0]!;
      const w0 = new Map(graphParams(g).map((s) => [s.name, { dims: s.dims, data: fill(s, 0) }]));
      const { json, bin } = encodeCheckpoint(w0, model);
      writeFileSync(join(dir, "w0", "weights.json"), json);
      writeFileSync(join(dir, "w0", "weights.bin"), bin);
      const t = join(dir, "torch");
      const j = join(dir, "tfjs");
      const a = await run(PY, [join(prog, "train.py"), ...common, ...sgd, "--weights", join(dir, "w0"), "--out", t]);
      expect(a.code, a.out).toBe(0);
      const b = await cli(["train", file, "--model", model, ...common, ...sgd, "--out", j]);
      expect(b.code, b.out).toBe(0);
      // The step moved the weights (a step that changed nothing would pass any comparison) ...
      expect(maxDiff(tensors(t), w0).worst).toBeGreaterThan(1e-4);
      // ... and both engines moved them alike.
      const w = maxDiff(tensors(t), tensors(j));
      expect(w.worst, `weights, worst at ${w.at}`).toBeLessThan(1e-3);
      // BN's running statistics come from the same first forward pass: equal to float rounding. PyTorch
      // averages the unbiased batch variance; tfjs's stock layer the biased one, a relative
      // 1 / (n - 1) of the batch term, 2e-4 at ResNet-20's last stage (n = 8 x 8 x 8).
      let worstStat = 0;
      const tj = tensors(j);
      for (const [name, x] of tensors(t))
        if (/\.running_(mean|var)$/.test(name)) {
          const y = tj.get(name)!.data;
          for (let i = 0; i < x.data.length; i++)
            worstStat = Math.max(worstStat, Math.abs(x.data[i]! - y[i]!) / Math.max(1, Math.abs(x.data[i]!)));
        }
      expect(worstStat, "running statistics (relative)").toBeLessThan(1e-5);
      const o = maxDiff(tensors(t, "optimizer"), tensors(j, "optimizer"));
      expect(o.worst, `optimizer state, worst at ${o.at}`).toBeLessThan(1e-3);
    }, 400_000);
});
