// The ONNX backend: every example runs in ONNX Runtime with the shapes the checker inferred,
// passes onnx.checker (full_check) where python3-onnx is installed, computes hand-checked
// numbers, and is deterministic, compact and atomic.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { check } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { modelText } from "../src/emit/onnx/text.js";
import { lowerings } from "../src/emit/onnx/lower.js";
import { allOps } from "../src/semantics/ops/index.js";
import type { Graph } from "../src/ir/ir.js";
import { OP_NAMES } from "../src/ir/ops.js";
import { encodeCheckpoint, type Tensor } from "../src/weights/checkpoint.js";
import { expectGolden, graphOf, repoRoot, runCli } from "./helpers.js";

const host = nodeHost(repoRoot);
const work = mkdtempSync(join(tmpdir(), "resnetc-onnx-"));
const written: string[] = [];

function bnStats(g: Graph): number {
  return g.nodes.filter((n) => n.op === "bn").reduce((s, n) => s + 2 * (n.attrs["channels"] as number), 0);
}

async function run(bytes: Uint8Array, feeds: Record<string, { dims: number[]; data: Float32Array }>) {
  const session = await ort.InferenceSession.create(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor("float32", v.data, v.dims);
  return session.run(inputs);
}

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5));
}

const examples = readdirSync(join(repoRoot, "examples"))
  .filter((f) => f.endsWith(".resnet"))
  .sort();
const graphs = examples.flatMap((f) => check([`examples/${f}`], host).graphs.map((g) => ({ file: f, g })));

describe("every example in ONNX Runtime", () => {
  it("covers every model of every example", () => expect(graphs.length).toBeGreaterThanOrEqual(15));
  for (const { file, g } of graphs)
    it(`${file} ${g.name}: batch of 2, inferred shapes, parameter count`, async () => {
      const r = emitOnnx(g, { seed: 1 });
      expect(r.diagnostics).toEqual([]);
      // Initializer elements = learnable parameters + BN running statistics.
      expect(r.parameterElements).toBe(g.params + bnStats(g));
      const path = join(work, `${g.name}.onnx`);
      writeFileSync(path, r.bytes!);
      written.push(path);
      const feeds: Record<string, { dims: number[]; data: Float32Array }> = {};
      for (const i of g.inputs) {
        const dims = i.shape.map((d) => (typeof d === "number" ? d : 2));
        feeds[i.name] = {
          dims,
          data: random(
            dims.reduce((a, b) => a * b, 1),
            7,
          ),
        };
      }
      const out = await run(r.bytes!, feeds);
      for (const o of g.outputs) {
        expect(out[o.name]!.dims).toEqual(o.shape.map((d) => (typeof d === "number" ? d : 2)));
        expect(Array.from(out[o.name]!.data as Float32Array).every(Number.isFinite)).toBe(true);
      }
    }, 60_000);
});

describe("onnx.checker", () => {
  // Debian's python3-onnx (onnx 1.12) lives in /usr/bin/python3; CI installs it (.ci/run).
  const probe = spawnSync("/usr/bin/python3", ["-c", "import onnx"], { encoding: "utf8" });
  const available = probe.status === 0;
  if (!available) {
    const why = "python3-onnx is not installed (apt-get install python3-onnx); skipping onnx.checker";
    if (process.env["CI"]) it("python3-onnx must be installed in CI", () => expect.fail(why));
    else console.warn(why);
  }
  it.runIf(available)(
    "check_model(full_check=True) passes for every example",
    () => {
      const script =
        "import onnx, sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), " +
        "full_check=True)\nprint('ok', len(sys.argv) - 1)";
      const out = execFileSync("/usr/bin/python3", ["-c", script, ...written], { encoding: "utf8" });
      expect(out.trim()).toBe(`ok ${graphs.length}`);
    },
    120_000,
  );
});

const TINY = `model Tiny {
  input x: f32[N, 1, 3, 3]
  residual { conv(1, k=3, bias=true) } shortcut identity
  relu
}`;

describe("hand-checked numbers", () => {
  it("one conv + add + relu with fixed weights", async () => {
    // Kernel: 2 at the centre, 1 to its right; bias -10. With x = 1..9 (3x3) and zero padding:
    // y = relu(3*x[i][j] + x[i][j+1] - 10), the right neighbour being 0 past the edge.
    const w = new Float32Array(9);
    w[4] = 2;
    w[5] = 1;
    const weights = new Map<string, Tensor>([
      ["residual1.conv1.weight", { dims: [1, 1, 3, 3], data: w }],
      ["residual1.conv1.bias", { dims: [1], data: Float32Array.of(-10) }],
    ]);
    const g = graphOf(TINY.replace("residual {", "residual {"));
    const names = g.nodes.map((n) => n.name);
    const conv = names.find((n) => n.endsWith("conv1"))!;
    const renamed = new Map([...weights].map(([k, v]) => [k.replace("residual1.conv1", conv), v]));
    const r = emitOnnx(g, { weights: renamed });
    expect(r.diagnostics).toEqual([]);
    const out = await run(r.bytes!, {
      x: { dims: [1, 1, 3, 3], data: Float32Array.from({ length: 9 }, (_, i) => i + 1) },
    });
    expect(Array.from(out["output"]!.data as Float32Array)).toEqual([0, 0, 0, 7, 11, 8, 19, 23, 17]);
  });

  it("option A: stride-2 subsample and zero channel padding", async () => {
    const g = graphOf(
      `model A { input x: f32[N, 2, 4, 4]; residual { conv(4, k=3, stride=2, init=zeros) } shortcut pad }`,
    );
    const r = emitOnnx(g);
    const x = Float32Array.from({ length: 32 }, (_, i) => i);
    const out = Array.from(
      (await run(r.bytes!, { x: { dims: [1, 2, 4, 4], data: x } }))["output"]!.data as Float32Array,
    );
    // The branch is all zeros, so the output is the shortcut: channel 0 zero, then x's two
    // channels at even rows and columns, then channel 3 zero.
    expect(out).toEqual([0, 0, 0, 0, 0, 2, 8, 10, 16, 18, 24, 26, 0, 0, 0, 0]);
  });
});

describe("properties of the file", () => {
  const r50 = check(["examples/resnet50.resnet"], host).graphs[0]!;
  it("the same input and seed give the same bytes; another seed changes the weights only", () => {
    const a = emitOnnx(r50, { seed: 3 }).bytes!;
    const b = emitOnnx(r50, { seed: 3 }).bytes!;
    const c = emitOnnx(r50, { seed: 4 }).bytes!;
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(c))).not.toBe(0);
    expect(c.length).toBe(a.length);
  });
  it("size within 1% of 4 bytes per stored value", () => {
    const bytes = emitOnnx(r50).bytes!.length;
    const values = r50.params + bnStats(r50);
    expect(Math.abs(bytes / (4 * values) - 1)).toBeLessThan(0.01);
  });
  it("named inputs and outputs, symbolic batch, value_info for every intermediate, readable names", () => {
    const m = emitOnnx(r50).model!;
    const g = m.graph!;
    expect(g.input![0]!.name).toBe("image");
    expect(g.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam).toBe("N");
    expect(g.output![0]!.name).toBe("output");
    for (const model of [
      m,
      emitOnnx(check(["examples/cifar-resnet.resnet"], host, { model: "ResNet20" }).graphs[0]!).model!,
    ]) {
      const produced = new Set(model.graph!.node!.flatMap((n) => n.output ?? []));
      const infos = new Set(model.graph!.valueInfo!.map((v) => v.name));
      expect([...produced].filter((t) => t !== "output" && !infos.has(t))).toEqual([]);
    }
    const inits = g.initializer!.map((t) => t.name);
    expect(inits).toContain("layer2.0.conv1.weight");
    expect(inits).toContain("layer2.0.downsample.0.weight");
    expect(inits).toContain("layer2.0.downsample.1.running_var");
    expect(g.node!.find((n) => n.name === "layer1.0.conv1")!.docString).toBe("");
  });
  it("golden text dump of a small model (reviewed when it changes)", () => {
    const g = graphOf(`import "std/resnet.resnet"
      model Small {
        input x: f32[N, 3, 8, 8]
        conv(8, k=3) bn relu
        Basic(16, stride=2, sc=pad)
        avgpool flatten dense(10)
      }`);
    const text = modelText(emitOnnx(g, { locate: (s) => s.file }).model!);
    expectGolden(text + "\n", "test/golden/small.onnx.txt");
  });
});

describe("options", () => {
  const r18 = check(["examples/resnet18.resnet"], host).graphs[0]!;
  it("--fold-bn removes BatchNormalization and computes the same function", async () => {
    const plain = emitOnnx(r18, { seed: 5 });
    const folded = emitOnnx(r18, { seed: 5, foldBn: true });
    expect(folded.model!.graph!.node!.filter((n) => n.opType === "BatchNormalization")).toEqual([]);
    const x = { image: { dims: [1, 3, 224, 224], data: random(3 * 224 * 224, 11) } };
    const a = (await run(plain.bytes!, x))["output"]!.data as Float32Array;
    const b = (await run(folded.bytes!, x))["output"]!.data as Float32Array;
    const maxAbs = Math.max(...a.map((v) => Math.abs(v)));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs));
  }, 60_000);
  it("lower opsets where every op exists; a clear error otherwise", async () => {
    const r = emitOnnx(r18, { opset: 13 });
    expect(r.diagnostics).toEqual([]);
    const out = await run(r.bytes!, { image: { dims: [1, 3, 224, 224], data: random(3 * 224 * 224, 1) } });
    expect(out["output"]!.dims).toEqual([1, 1000]);
    expect(emitOnnx(r18, { opset: 10 }).diagnostics.map((d) => d.code)).toEqual(["RN502"]);
    const ln = graphOf(`model T { input x: f32[N, 16, 64]; layernorm dense(64) }`);
    expect(emitOnnx(ln, { opset: 16 }).diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      "RN501 layernorm needs opset 17 or later; the requested opset is 16",
    ]);
  }, 60_000);
});

describe("lowering coverage", () => {
  it("the IR's closed op set is the registry plus the residual-unit ops, and ONNX lowers each", () => {
    // The records over OpName make a missing lowering a tsc error; this checks the set itself.
    const registered = allOps().map((o) => o.name);
    expect([...OP_NAMES].sort()).toEqual([...registered, "input", "sew_and", "sew_iand", "shortcut_pad"].sort());
    expect(Object.keys(lowerings).sort()).toEqual(OP_NAMES.filter((n) => n !== "input").sort());
  });
});

describe("--weights checkpoints", () => {
  const g = graphOf(TINY);
  const conv = g.nodes.find((n) => n.op === "conv")!.name;
  const good = new Map<string, Tensor>([
    [`${conv}.weight`, { dims: [1, 1, 3, 3], data: new Float32Array(9).fill(0.5) }],
    [`${conv}.bias`, { dims: [1], data: Float32Array.of(1) }],
  ]);
  it("missing, misshapen, non-finite and unused tensors are reported", () => {
    const missing = new Map([...good].slice(0, 1));
    expect(emitOnnx(g, { weights: missing }).diagnostics.map((d) => d.code)).toEqual(["RN602"]);
    const misshapen = new Map(good);
    misshapen.set(`${conv}.weight`, { dims: [1, 1, 5, 5], data: new Float32Array(25) });
    expect(emitOnnx(g, { weights: misshapen }).diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      `RN603 checkpoint tensor \`${conv}.weight\` has shape [1, 1, 5, 5], the model needs [1, 1, 3, 3]`,
    ]);
    const nan = new Map(good);
    nan.set(`${conv}.bias`, { dims: [1], data: Float32Array.of(NaN) });
    expect(emitOnnx(g, { weights: nan }).diagnostics.map((d) => d.code)).toEqual(["RN605"]);
    const extra = new Map(good);
    extra.set("fc.weight", { dims: [2], data: new Float32Array(2) });
    const r = emitOnnx(g, { weights: extra });
    expect(r.diagnostics.map((d) => d.code)).toEqual(["RN604"]);
    expect(r.bytes).toBeDefined();
  });
  it("the CLI reads DIR/weights.json + weights.bin; a bad checkpoint is RN601 and writes nothing", () => {
    const dir = join(work, "ckpt");
    mkdirSync(dir, { recursive: true });
    const { json, bin } = encodeCheckpoint(good, "Tiny");
    writeFileSync(join(dir, "weights.json"), json);
    writeFileSync(join(dir, "weights.bin"), bin);
    writeFileSync(join(work, "tiny.resnet"), TINY);
    const ok = runCli([
      "compile",
      join(work, "tiny.resnet"),
      "--target",
      "onnx",
      "--weights",
      dir,
      "-o",
      join(work, "tiny.onnx"),
    ]);
    expect(ok.code).toBe(0);
    expect(existsSync(join(work, "tiny.onnx"))).toBe(true);
    writeFileSync(join(dir, "weights.json"), "{not json");
    const bad = runCli([
      "compile",
      join(work, "tiny.resnet"),
      "--target",
      "onnx",
      "--weights",
      dir,
      "-o",
      join(work, "tiny2.onnx"),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/RN601 cannot read checkpoint/);
    expect(existsSync(join(work, "tiny2.onnx"))).toBe(false);
  });
});

describe("resnetc compile", () => {
  it("writes nothing for a program with errors", () => {
    const out = join(work, "bad.onnx");
    const r = runCli(["compile", "test/bad/residual-add-mismatch.resnet", "--target", "onnx", "-o", out]);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).some((f) => f.includes(".tmp-"))).toBe(false);
  });
  it("several models go to a folder, one file each; --text lists the graph", () => {
    const dir = join(work, "plain");
    const r = runCli(["compile", "examples/plain-cifar.resnet", "--target", "onnx", "-o", dir, "--text"]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["Plain20.onnx", "Plain56.onnx"]);
    expect(r.stdout).toMatch(
      new RegExp(
        // A model whose body is one block call adds no prefix: layer1.0.conv1, not cifarresnet1.layer1....
        /^node layer1\.0\.conv1: \[N, 16, 32, 32\] = /.source + /Conv\(relu1, layer1\.0\.conv1\.weight\)/.source,
        "m",
      ),
    );
  });
  it("usage errors: no --target, a bad --opset value", () => {
    expect(runCli(["compile", "examples/resnet18.resnet"]).code).toBe(2);
    expect(runCli(["compile", "examples/resnet18.resnet", "--target", "onnx", "--opset", "x"]).code).toBe(2);
  });
});

afterAll(() => {
  // Leave the temp folder for inspection only when asked.
  if (!process.env["KEEP_ONNX"]) spawnSync("rm", ["-rf", work]);
});

describe("resnetc's protobuf encoder (src/emit/onnx/proto.ts)", () => {
  // onnx-proto (protobufjs, generated from onnx.proto) is the reference: it must read every field
  // back, and writing what it read must give the very same bytes.
  it("writes what onnx-proto decodes and re-encodes to the same bytes, for every example model", async () => {
    const { default: onnxProto } = await import("onnx-proto");
    const models = ["examples/resnet18.resnet", "examples/cifar-resnet.resnet"].flatMap((f) => check([f], host).graphs);
    expect(models.length).toBeGreaterThanOrEqual(7);
    for (const g of models) {
      for (const opts of [{}, { foldBn: true, opset: 13 }]) {
        const r = emitOnnx(g, { ...opts, locate: () => "a.resnet:1:2" });
        const decoded = onnxProto.onnx.ModelProto.decode(r.bytes!);
        expect(decoded.graph!.node!.length, g.name).toBeGreaterThan(10);
        const again = onnxProto.onnx.ModelProto.encode(decoded).finish();
        expect(Buffer.compare(Buffer.from(again), Buffer.from(r.bytes!)), g.name).toBe(0);
      }
    }
  }, 120_000);
});
