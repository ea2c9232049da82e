// Residual units that start as (nearly) the identity, and stochastic depth, as their papers define
// them, checked on the ONNX graph in ONNX Runtime at the declared initialisation:
// - ReZero (Bachlechner et al. 2020) and SkipInit (De & Smith 2020): the branch times a learned
//   scalar that starts at 0 (`residual(gate=0)`), so a fresh unit returns its input exactly;
// - LayerScale (Touvron et al. 2021, CaiT): a per-channel vector that starts at 1e-5, so a fresh
//   unit moves its input by at most 1e-5 of the branch;
// - stochastic depth with the linear decay rule (Huang et al. 2016, Sec. 3: survival 1 - l/L * 0.5,
//   down to 0.5 for the last block): drop probabilities l/L * 0.5, and nothing of them at inference;
// - Fixup (Zhang, Dauphin, Ma 2019; examples/fixup-resnet-cifar.resnet): every branch's last conv
//   and the classifier start at 0, so each fresh unit gives relu(shortcut) exactly and the scores
//   are 0; conv1 of each branch is He-normal (fan_out) times L^-0.5; and the 206-layer variant
//   without any normalisation trains on the real Fashion-MNIST (Debian's dataset-fashion-mnist,
//   which .ci/run installs; the test fails, not skips, without it) without diverging.
// Must not: compare against values copied from a run (every expectation follows from the paper).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { makeValueInfo } from "../src/emit/onnx/builder.js";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { encode, MODEL } from "../src/emit/onnx/proto.js";
import type { Graph } from "../src/ir/ir.js";
import { uniform } from "./reference/data.js";
import { graphOf, repoRoot } from "./helpers.js";

const DIMS = [2, 8, 6, 6];
/** Fashion-MNIST steps of the 206-layer Fixup net (batch 16, Adam lr 3e-4), and how many of the
 * last ones are averaged. From the zero classifier the loss sits at ln 10 for some 15 steps while
 * the zero-initialised branches grow, then falls (on this seed: 2.30 over the first 25 steps, 2.27
 * over the last 25). SGD with momentum at batch 8 or 16 chased each batch's classes instead, and
 * Adam at lr 1e-3 spiked and stalled. Seeded (--seed 0), the run is the same each time. */
const TRAIN_STEPS = 50;
const TAIL = 25;

async function run(g: Graph, x: Float32Array): Promise<Float32Array> {
  const r = emitOnnx(g, { seed: 5 });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const session = await ort.InferenceSession.create(r.bytes!);
  const out = await session.run({ [g.inputs[0]!.name]: new ort.Tensor("float32", x, DIMS) });
  return out[g.outputs[0]!.name]!.data as Float32Array;
}

const unit = (mods: string, depth = 4): string =>
  `model M {\n  input x: f32[N, 8, 6, 6]\n  for i in 1..${depth} {\n    residual(${mods}) ` +
  `{ conv(8, k=3) bn relu conv(8, k=3) bn } shortcut identity\n  }\n}\n`;

describe("residual units that start as the identity", () => {
  const x = uniform(
    DIMS.reduce((a, b) => a * b, 1),
    3,
  );

  for (const [paper, source] of [
    ["ReZero", unit("gate=0")],
    // SkipInit: no normalisation in the branch, the same zero-initialised scalar.
    [
      "SkipInit",
      "model M {\n  input x: f32[N, 8, 6, 6]\n  for i in 1..4 {\n    residual(gate=0) " +
        "{ conv(8, k=3) relu conv(8, k=3) } shortcut identity\n  }\n}\n",
    ],
  ] as const)
    it(`${paper}: a fresh network of 4 gated units returns its input exactly`, async () => {
      const g = graphOf(source);
      expect(g.nodes.filter((n) => n.op === "gate")).toHaveLength(4);
      const y = await run(g, x);
      expect(Array.from(y)).toEqual(Array.from(x));
    });

  it("LayerScale: a fresh unit moves its input by at most 1e-5 of its branch, and does move it", async () => {
    const scaled = graphOf(unit("layerscale=1e-5", 1));
    const plain = graphOf(unit("", 1));
    const y = await run(scaled, x);
    const branchPlusX = await run(plain, x); // x + branch(x), the same seeded weights
    let moved = 0;
    for (let i = 0; i < x.length; i++) {
      const branch = branchPlusX[i]! - x[i]!;
      const d = y[i]! - x[i]!;
      expect(Math.abs(d - 1e-5 * branch)).toBeLessThan(1e-6 * Math.max(1, Math.abs(x[i]!)));
      if (d !== 0) moved++;
    }
    expect(moved).toBeGreaterThan(0);
  });
});

describe("stochastic depth, linear decay (Huang et al. 2016)", () => {
  const L = 6;
  const source =
    `model M {\n  input x: f32[N, 8, 6, 6]\n  for l in 1..${L} {\n    residual(drop_path=0.5 * l / ${L}) ` +
    `{ conv(8, k=3) bn relu conv(8, k=3) bn } shortcut identity\n  }\n}\n`;

  it("drops block l with probability l/L * 0.5: the last one survives half the time", () => {
    const ps = graphOf(source)
      .nodes.filter((n) => n.op === "drop_path")
      .map((n) => n.attrs.p as number);
    expect(ps).toHaveLength(L);
    ps.forEach((p, i) => expect(p).toBeCloseTo((0.5 * (i + 1)) / L, 12));
  });

  it("is the identity at inference: the ONNX graph equals the same network without it", async () => {
    const x = uniform(
      DIMS.reduce((a, b) => a * b, 1),
      9,
    );
    const withDrop = graphOf(source);
    const without = graphOf(source.replace(/residual\(drop_path=[^)]*\)/, "residual"));
    expect(await run(withDrop, x)).toEqual(await run(without, x));
  });
});

const FIXUP_FILE = join(repoRoot, "examples", "fixup-resnet-cifar.resnet");
const fixup = (model: string): Graph => graphOf(readFileSync(FIXUP_FILE, "utf8"), model);

/** The float32 values of every ONNX initializer of a freshly emitted graph (what the file holds). */
function initializers(g: Graph, seed: number): Map<string, Float32Array> {
  const r = emitOnnx(g, { seed });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const m = new Map<string, Float32Array>();
  for (const t of r.model!.graph.initializer)
    if (t.dataType === 1) m.set(t.name, new Float32Array((t.rawData as Uint8Array).slice().buffer));
  return m;
}

describe("Fixup (Zhang et al. 2019): residual learning without normalisation", () => {
  it("a fresh Fixup ResNet-20 is the identity on every residual path: branches 0, units relu(shortcut)", async () => {
    const g = fixup("FixupResNet20");
    expect(g.nodes.filter((n) => n.op === "bn" || n.op === "groupnorm" || n.op === "layernorm")).toEqual([]);
    const units = g.nodes.flatMap((n) => /^(layer\d\.\d+)\.bias2b$/.exec(n.name)?.slice(1, 2) ?? []);
    expect(units).toHaveLength(9);
    // Expose each branch's output (bias2b) and each unit's output (relu2), and the stem's relu.
    const r = emitOnnx(g, { seed: 11 });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const byName = new Map(g.nodes.map((n) => [n.name, n]));
    const watched = ["relu1", ...units.flatMap((u) => [`${u}.bias2b`, `${u}.relu2`])];
    for (const name of watched) r.model!.graph.output.push(makeValueInfo(name, byName.get(name)!.shape));
    const session = await ort.InferenceSession.create(encode(r.model!, MODEL));
    const dims = [2, 3, 32, 32];
    const x = uniform(
      dims.reduce((a, b) => a * b, 1),
      4,
    );
    const out = await session.run({ [g.inputs[0]!.name]: new ort.Tensor("float32", x, dims) });
    const value = (name: string): { data: Float32Array; dims: readonly number[] } => ({
      data: out[name]!.data as Float32Array,
      dims: out[name]!.dims,
    });

    let unitIn = value("relu1");
    // The stem's output is not trivially zero (so the identities below say something).
    expect(unitIn.data.some((v) => v > 0)).toBe(true);
    for (const u of units) {
      const branch = value(`${u}.bias2b`);
      expect(branch.data.length).toBeGreaterThan(0);
      expect(branch.data.every((v) => v === 0)).toBe(true);
      const y = value(`${u}.relu2`);
      const [n, c, h, w] = y.dims as [number, number, number, number];
      const [, ci, hi, wi] = unitIn.dims as [number, number, number, number];
      const stride = hi / h;
      // relu(shortcut): the input itself (already >= 0), or, where the unit downsamples, the input
      // subsampled by the stride (bias1a = 0) with zero channels after the old ones.
      const expected = new Float32Array(n * c * h * w);
      for (let b = 0; b < n; b++)
        for (let k = 0; k < ci; k++)
          for (let i = 0; i < h; i++)
            for (let j = 0; j < w; j++)
              expected[((b * c + k) * h + i) * w + j] = Math.max(
                0,
                unitIn.data[((b * ci + k) * hi + i * stride) * wi + j * stride]!,
              );
      if (stride === 1) expect(c).toBe(ci);
      else expect([c, stride]).toEqual([2 * ci, 2]);
      expect(Array.from(y.data)).toEqual(Array.from(expected));
      unitIn = y;
    }
    // The zero-initialised classifier: every score is 0.
    expect(Array.from(out[g.outputs[0]!.name]!.data as Float32Array)).toEqual(new Array(2 * 10).fill(0));
  });

  it("initialises as the reference: conv1 He-normal (fan_out) x L^-0.5, conv2 and fc 0, scale 1, biases 0", () => {
    const g = fixup("FixupResNet110");
    const L = 54; // 3 stages x 18 residual branches
    const w = initializers(g, 3);
    let conv1s = 0;
    for (const [name, v] of w) {
      if (/^layer\d\.\d+\.conv1\.weight$/.test(name)) {
        conv1s++;
        const out = g.nodes.find((n) => `${n.name}.weight` === name)!.attrs["out"] as number;
        const sigma = Math.sqrt(2 / (out * 3 * 3)) * L ** -0.5;
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
        // Within 5 standard errors: of the mean sigma/sqrt(n), of the standard deviation sigma/sqrt(2n).
        expect(Math.abs(mean)).toBeLessThan((5 * sigma) / Math.sqrt(v.length));
        expect(Math.abs(sd / sigma - 1)).toBeLessThan(5 / Math.sqrt(2 * v.length));
      } else if (/\.conv2\.weight$|^fc\./.test(name) || /bias\d[ab]?\.bias$/.test(name))
        expect(v.every((x) => x === 0)).toBe(true);
      else if (/\.scale\.weight$/.test(name)) expect(Array.from(v)).toEqual([1]);
    }
    expect(conv1s).toBe(L);
    // The stem keeps PyTorch's default conv init, U(+-1/sqrt(fan_in)), fan_in = 3 * 3 * 3.
    const stem = w.get("conv1.weight")!;
    expect(stem.every((x) => Math.abs(x) <= 1 / Math.sqrt(27))).toBe(true);
    // The scalars the reference has: 4 biases and a scale per block, bias1 and bias2.
    expect([...w.keys()].filter((k) => /(^|\.)(bias\d[ab]?|scale)\.(bias|weight)$/.test(k))).toHaveLength(5 * L + 2);
  });

  it("Fixup ResNet-206, no normalisation, trains on real Fashion-MNIST (wasm): finite, falling loss", async () => {
    const data = "/usr/share/datasets/fashion-mnist";
    // Fail, not skip: .ci/run installs Debian's dataset-fashion-mnist.
    expect(
      existsSync(join(data, "train-images-idx3-ubyte.gz")),
      `${data} is missing: apt-get install dataset-fashion-mnist (as .ci/run does)`,
    ).toBe(true);
    const g = fixup("FixupResNet206Fashion");
    expect(g.nodes.filter((n) => n.op === "gate")).toHaveLength(102);
    expect(g.nodes.some((n) => n.op === "bn" || n.op === "groupnorm" || n.op === "layernorm")).toBe(false);
    const out = join(repoRoot, "out", "fixup-fashion-test");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const steps = TRAIN_STEPS;
    const args = [
      join(repoRoot, "bin", "resnetc.js"),
      "train",
      FIXUP_FILE,
      "--model",
      "FixupResNet206Fashion",
      "--data",
      data,
      "--steps",
      String(steps),
      "--batch",
      "16",
      "--optimizer",
      "adam",
      "--lr",
      "3e-4",
      "--schedule",
      "constant",
      // No L2 term: the logged loss is the cross-entropy alone, ln 10 at the zero-initialised classifier.
      "--weight-decay",
      "0",
      "--no-augment",
      "--eval",
      "8",
      "--seed",
      "0",
      "--backend",
      "wasm",
      "--out",
      out,
    ];
    const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, args, { cwd: repoRoot });
      let stderr = "";
      child.stdout.on("data", () => undefined);
      child.stderr.on("data", (d) => (stderr += String(d)));
      child.on("close", (code) => resolve({ code: code ?? 1, stderr }));
    });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const losses = readFileSync(join(out, "steps.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { loss: number }).loss);
    expect(losses).toHaveLength(steps);
    expect(losses.every(Number.isFinite)).toBe(true);
    // Not diverging: no batch far above chance level.
    expect(Math.max(...losses)).toBeLessThan(2 * Math.log(10));
    // The first batch meets the zero classifier: uniform scores, loss ln 10 whatever the images.
    expect(losses[0]!).toBeCloseTo(Math.log(10), 5);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const shown = `losses ${losses.map((l) => l.toFixed(3)).join(" ")}`;
    // Averaged over many batches (one batch's loss moves with its classes): below the start, and
    // below the first steps'.
    expect(mean(losses.slice(-TAIL)), shown).toBeLessThan(losses[0]!);
    expect(mean(losses.slice(-TAIL)), shown).toBeLessThan(mean(losses.slice(0, steps - TAIL)));
  }, 600_000);
});
