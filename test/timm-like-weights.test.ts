// Reference equivalence for CaiT and ResMLP (Touvron et al. 2021): timm is not installed, so
// test/fixtures/timm_like.py describes both networks again in plain PyTorch, from the papers, with
// timm's module names (cait.py, mlp_mixer.py). For the small variants (CaiT_Tiny, ResMLP_Tiny),
// random PyTorch weights saved as .safetensors compile with `resnetc compile --target onnx
// --weights` and the example UNCHANGED (no renaming, no warning: every tensor of the state_dict is
// used), and ONNX Runtime's output equals PyTorch's eval-mode output on the same random batch
// within 1e-4 relative. For every model of the two examples, PyTorch's learnable parameter count
// equals resnetc's (the 224 models are only built, not run).
// Needs Debian's /usr/bin/python3 with python3-torch; skipped where it is missing, and a failure
// under CI=true.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { check } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";
import { readNpy } from "../src/io/npy.js";
import { repoRoot, runCli } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "resnetc-timm-like-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PYTHON = "/usr/bin/python3";
const FIXTURE = join(repoRoot, "test", "fixtures", "timm_like.py");
const missing = ((): string | undefined => {
  try {
    execFileSync(PYTHON, ["-c", "import torch, numpy"], { stdio: "pipe" });
    return undefined;
  } catch {
    return `${PYTHON} lacks torch (apt-get install python3-torch)`;
  }
})();

/** timm_like.py's name, the example file and its model. */
const MODELS: { py: string; file: string; model: string; run: boolean }[] = [
  { py: "cait_tiny", file: "cait.resnet", model: "CaiT_Tiny", run: true },
  { py: "resmlp_tiny", file: "resmlp.resnet", model: "ResMLP_Tiny", run: true },
  { py: "cait_xs24_224", file: "cait.resnet", model: "CaiT_XS24", run: false },
  { py: "cait_xs24_384", file: "cait.resnet", model: "CaiT_XS24_384", run: false },
  { py: "resmlp_12_224", file: "resmlp.resnet", model: "ResMLP_S12", run: false },
];

describe("CaiT and ResMLP: resnetc equals a PyTorch description with timm's names", () => {
  if (missing && process.env["CI"])
    it("python3-torch must be installed in CI", () => {
      expect.fail(missing);
    });
  for (const m of MODELS) {
    it.skipIf(missing !== undefined)(`${m.model}: PyTorch's parameter count`, () => {
      const want = Number(execFileSync(PYTHON, [FIXTURE, "count", m.py], { encoding: "utf8" }).trim());
      const r = check([`examples/${m.file}`], nodeHost(repoRoot), { model: m.model });
      expect(r.graphs).toHaveLength(1);
      expect(r.graphs[0]!.params).toBe(want);
    });
    if (!m.run) continue;
    it.skipIf(missing !== undefined)(
      `${m.model}: ONNX Runtime with PyTorch's state_dict equals PyTorch within 1e-4`,
      async () => {
        const dir = join(work, m.py);
        mkdirSync(dir, { recursive: true });
        execFileSync(PYTHON, [FIXTURE, "run", m.py, dir], { stdio: "pipe" });
        const onnxDir = join(dir, "onnx");
        const r = runCli([
          "compile",
          join(repoRoot, "examples", m.file),
          "--model",
          m.model,
          "--target",
          "onnx",
          "--weights",
          join(dir, "model.safetensors"),
          "-o",
          `${onnxDir}/`,
        ]);
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
      },
      120_000,
    );
  }
});
