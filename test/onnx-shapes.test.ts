// Shape rules against ONNX Runtime: every registered op, with odd sizes, strides, dilations,
// padding kinds and ceil mode, compiled alone into a model, run in onnxruntime-node, and every
// tensor ORT computes compared with the shape resnetc inferred for it; each model also passes
// onnx.checker's full check (Debian's python3-onnx; required under CI, as in onnx.test.ts).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { OP_NAMES } from "../src/ir/ops.js";
import type { Graph } from "../src/ir/ir.js";
import { graphOf, itPassesOnnxChecker } from "./helpers.js";

const { onnx } = onnxProto;

/** Values for the symbolic dims of the cases; N is the batch. */
const SIZES: Record<string, number> = { N: 2, H: 9, W: 14, L: 5 };

interface Case {
  name: string;
  /** The model body, after `input x: f32[...]` lines made from `inputs`. */
  body: string;
  inputs: Record<string, string>;
}

const one = (name: string, shape: string, body: string): Case => ({ name, body, inputs: { x: shape } });

/**
 * One case per rule worth checking. Sizes are odd where that matters (floor vs ceil), kernels
 * larger than strides and the other way round, pads up to kernel - 1 (ONNX's limit for pools).
 */
const CASES: Case[] = [
  one("conv k3 s2 auto, odd sizes", "N, 3, 7, 9", "conv(4, k=3, stride=2)"),
  one(
    "conv per-dim k, stride, padding, dilation",
    "N, 2, 11, 8",
    "conv(3, k=[3, 5], stride=[2, 1], padding=[1, 2], dilation=[2, 1])",
  ),
  one("conv same, even kernel, stride 3 (asymmetric pads)", "N, 2, 10, 7", "conv(3, k=4, stride=3, padding=same)"),
  one(
    "conv same on symbolic sizes, dilated (explicit pads at stride 1)",
    "N, 2, H, W",
    "conv(3, k=3, dilation=2, padding=same)",
  ),
  one("conv same on symbolic sizes, strided (auto_pad)", "N, 2, H, W", "conv(3, k=4, stride=3, padding=same)"),
  one("conv valid k5 s3", "N, 1, 12, 13", "conv(2, k=5, stride=3, padding=valid)"),
  one("conv groups, k1, bias", "N, 4, 5, 5", "conv(6, k=1, groups=2, bias=true)"),
  one("conv1d k5 s2 padding 2", "N, 3, 17", "conv(4, k=5, stride=2, padding=2)"),
  one("conv3d k3 s2", "N, 2, 5, 6, 7", "conv(2, k=3, stride=2)"),
  one("dwconv k3 s2 multiplier 2", "N, 3, 9, 9", "dwconv(k=3, stride=2, multiplier=2)"),
  one("sepconv same, dilated", "N, 4, 12, 11", "sepconv(8, k=5, dilation=2, padding=same)"),
  one("sepconv 1d (MatchboxNet)", "N, 8, 33", "sepconv(6, k=13)"),
  one("dense", "N, 7", "dense(5)"),
  one("dense over the last dim of a rank-3 tensor", "N, 3, 7", "dense(5, bias=false)"),
  one("bn 2d", "N, 3, 5, 5", "bn"),
  one("bn on features", "N, 6", "bn"),
  one("groupnorm", "N, 4, 5, 3", "groupnorm(2)"),
  one("layernorm", "N, 5, 8", "layernorm"),
  one("activations", "N, 3, 4, 4", "relu leaky(0.2) prelu prelu(per_channel=true) gelu silu sigmoid tanh hardswish"),
  one("softmax over channels", "N, 10", "softmax"),
  one("softmax axis -1, rank 3", "N, 3, 7", "softmax(axis=-1)"),
  one("softmax axis 2, rank 4", "N, 2, 3, 5", "softmax(axis=2)"),
  one("attention over symbolic tokens", "N, L, 8", "attention(2)"),
  one("cls_token on symbolic tokens: T + 1", "N, L, 6", "cls_token relu"),
  one("pos_embed after cls_token", "N, 4, 6", "cls_token pos_embed relu"),
  one("talking_heads_attention over symbolic tokens", "N, L, 8", "talking_heads_attention(2)"),
  one("class_attention over symbolic tokens: [N, 1, D]", "N, L, 8", "class_attention(4) relu"),
  one("affine on tokens", "N, L, 6", "affine relu"),
  one(
    "spiking: time_repeat, LIF, conv, IF with a soft reset, time_mean over a symbolic batch",
    "N, 3, 5, 5",
    "time_repeat(3) lif(3) conv(4, k=3, stride=2) if_neuron(3, reset=soft) time_mean(3)",
  ),
  one("maxpool k3 s2 auto, odd size (ResNet stem)", "N, 2, 9, 9", "maxpool(k=3, stride=2, padding=auto)"),
  one(
    "maxpool ceil, last window in the padding (issue 16)",
    "N, 1, 9, 9",
    "maxpool(k=2, stride=2, padding=1, ceil=true)",
  ),
  one(
    "maxpool ceil, last window in the padding, symbolic",
    "N, 1, H, W",
    "maxpool(k=2, stride=2, padding=1, ceil=true)",
  ),
  one("maxpool ceil, stride below kernel", "N, 2, 10, 10", "maxpool(k=3, stride=2, padding=1, ceil=true)"),
  one("maxpool ceil, stride above kernel", "N, 1, 5, 8", "maxpool(k=1, stride=3, ceil=true)"),
  one(
    "maxpool ceil, one dim rounds up, the other drops its last window",
    "N, 1, 7, 5",
    "maxpool(k=[2, 1], stride=[2, 3], padding=0, ceil=true)",
  ),
  one("avgpool ceil, padding k-1", "N, 1, 8, 8", "avgpool(k=3, stride=3, padding=2, ceil=true)"),
  one("avgpool ceil, k2 (ResNet-D), odd size", "N, 1, 7, 7", "avgpool(k=2, ceil=true)"),
  one("avgpool ceil, symbolic", "N, 1, H, W", "avgpool(k=3, stride=2, padding=1, ceil=true)"),
  one("maxpool per-dim window", "N, 2, 9, 8", "maxpool(k=[2, 3], stride=[1, 2], padding=[1, 1])"),
  one("maxpool1d ceil", "N, 2, 10", "maxpool(k=3, stride=2, padding=1, ceil=true)"),
  one("maxpool3d ceil", "N, 1, 3, 5, 7", "maxpool(k=2, ceil=true)"),
  one("avgpool same, stride 2", "N, 2, 8, 7", "avgpool(k=3, stride=2, padding=same)"),
  one("maxpool same, symbolic", "N, 2, H, W", "maxpool(k=3, stride=2, padding=same)"),
  one("avgpool global", "N, 3, 5, 7", "avgpool"),
  one("gap", "N, 3, 5, 7", "gap"),
  one("gap 1d", "N, 3, 5", "gap"),
  one("dropout, drop_path, scale, gate", "N, 3, 4, 4", "dropout(0.1) drop_path(0.1) scale(0.5) gate(0.3) relu"),
  one("layerscale on channels", "N, 3, 4, 4", "layerscale"),
  one("layerscale on tokens", "N, L, 8", "layerscale"),
  one("layerscale on known tokens, axis=-1, bare", "N, 5, 8", "layerscale(axis=-1, bare=true) relu"),
  one("shift (a learned scalar added)", "N, 3, 4, 4", "shift(0.5)"),
  one("flatten", "N, 2, 3, 5", "flatten"),
  one("reshape with -1", "N, 2, 3, 5", "reshape([5, -1])"),
  one("transpose", "N, 2, 3, 5", "transpose([0, 2, 3, 1])"),
  one("upsample nearest", "N, 2, 3, 5", "upsample(2)"),
  one("upsample linear x3", "N, 2, 3, 5", "upsample(3, mode=linear)"),
  one("upsample 1d", "N, 2, 7", "upsample(2)"),
  one("pixel_shuffle", "N, 8, 3, 5", "pixel_shuffle(2)"),
  {
    name: "add and broadcasting mul",
    inputs: { x: "N, 4, 5, 5" },
    body: "let a = x relu\nlet g = x gap sigmoid\noutput add(a, x) * g",
  },
  { name: "sub broadcasting a gap", inputs: { x: "N, 3, 4, 5" }, body: "let g = x gap\noutput g - x" },
  one("chunk, the last part (slice)", "N, 8, 3, 5", "chunk(4)[-1]"),
  one("split along W (slice)", "N, 2, 3, 7", "let xs = split([2, 5], axis=3)\noutput xs[1] + xs[1]"),
  one("split rank 5 (slice)", "N, 5, 2, 3, 3", "split([1, 3, 1])[1]"),
  { name: "concat on channels", inputs: { x: "N, 2, 3, 5", y: "N, 3, 3, 5" }, body: "output concat(x, y)" },
  {
    name: "concat on a negative axis",
    inputs: { x: "N, 2, 3, 5", y: "N, 2, 3, 4" },
    body: "output concat(x, y, axis=-1)",
  },
  one("shortcut pad (option A), odd size", "N, 4, 9, 9", "residual { conv(8, k=3, stride=2) bn } shortcut pad"),
  one(
    "shortcut avgproject (ResNet-D), odd size",
    "N, 4, 9, 9",
    "residual { conv(8, k=3, stride=2) bn } shortcut avgproject",
  ),
  one("shortcut project", "N, 4, 9, 7", "residual { conv(8, k=3, stride=2) bn } shortcut project"),
  one(
    "SEW merges",
    "N, 4, 5, 5",
    "residual(merge=and) { relu } shortcut identity\nresidual(merge=iand) { sigmoid } shortcut " +
      "identity\nresidual(merge=mul) { tanh } shortcut identity",
  ),
];

function source(c: Case, sizes: Record<string, number> = {}): string {
  const inputs = Object.entries(c.inputs).map(
    ([n, s]) => `  input ${n}: f32[${s.replace(/\b[A-Z]\b/g, (d) => (d !== "N" && sizes[d] ? String(sizes[d]) : d))}]`,
  );
  return `model T {\n${inputs.join("\n")}\n  ${c.body.replace(/\n/g, "\n  ")}\n}\n`;
}

const concrete = (shape: Graph["nodes"][number]["shape"]): number[] =>
  shape.map((d) => {
    if (typeof d === "number") return d;
    // N, or k*N: a spiking net's batch holds k time steps of N samples.
    const m = /^(?:(\d+)\*)?N$/.exec(d.key);
    expect(m, d.key).not.toBeNull();
    return Number(m![1] ?? 1) * SIZES["N"]!;
  });

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5));
}

/** The model with every tensor resnetc gave a shape to made a graph output, so ORT returns it. */
function exposeAll(bytes: Uint8Array, g: Graph): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const graph = m.graph!;
  const produced = new Set(graph.node!.flatMap((n) => n.output ?? []));
  const outputs = new Set(graph.output!.map((o) => o.name));
  for (const n of g.nodes)
    if (n.op !== "input" && produced.has(n.name) && !outputs.has(n.name)) {
      graph.valueInfo = graph.valueInfo!.filter((v) => v.name !== n.name);
      graph.output!.push(
        onnx.ValueInfoProto.create({
          name: n.name,
          type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
        }),
      );
    }
  return onnx.ModelProto.encode(m).finish();
}

async function runOrt(bytes: Uint8Array, g: Graph): Promise<Record<string, readonly number[]>> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [i, io] of g.inputs.entries()) {
    const dims = io.shape.map((d) => (typeof d === "number" ? d : SIZES[d.key]!));
    feeds[io.name] = new ort.Tensor(
      "float32",
      random(
        dims.reduce((a, b) => a * b, 1),
        7 + i,
      ),
      dims,
    );
  }
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dims]));
}

const work = mkdtempSync(join(tmpdir(), "resnetc-shapes-"));
const written: string[] = [];

describe("shape rules agree with ONNX Runtime", () => {
  it("covers every registered op and the residual-unit ops", () => {
    const seen = new Set(CASES.flatMap((c) => graphOf(source(c, SIZES)).nodes.map((n) => n.op)));
    const missing = OP_NAMES.filter((op) => op !== "input" && !seen.has(op));
    expect(missing).toEqual([]);
  });

  for (const [i, c] of CASES.entries())
    it(c.name, async () => {
      // With sizes given, every dim but the batch is a number, so every tensor can be compared.
      const g = graphOf(source(c, SIZES));
      const r = emitOnnx(g, { seed: 1 });
      expect(r.diagnostics).toEqual([]);
      const path = join(work, `case${i}.onnx`);
      writeFileSync(path, r.bytes!);
      written.push(path);
      const got = await runOrt(exposeAll(r.bytes!, g), g);
      const compared = g.nodes.filter((n) => n.name in got);
      expect(compared.length).toBeGreaterThan(0);
      for (const n of compared)
        expect({ tensor: n.name, dims: got[n.name] }).toEqual({ tensor: n.name, dims: concrete(n.shape) });
      for (const o of g.outputs)
        expect({ output: o.name, dims: got[o.name] }).toEqual({ output: o.name, dims: concrete(o.shape) });

      // Symbolic spatial sizes: the same ONNX runs at the sizes and gives the concrete shape.
      if (!Object.values(c.inputs).some((s) => /\b[A-MO-Z]\b/.test(s))) return;
      const gs = graphOf(source(c));
      const rs = emitOnnx(gs, { seed: 1 });
      expect(rs.diagnostics).toEqual([]);
      const symPath = join(work, `case${i}-symbolic.onnx`);
      writeFileSync(symPath, rs.bytes!);
      written.push(symPath);
      const gotSym = await runOrt(rs.bytes!, gs);
      for (const o of g.outputs)
        expect({ output: o.name, dims: gotSym[o.name] }).toEqual({ output: o.name, dims: concrete(o.shape) });
    });
});

describe("onnx.checker on the one-op models", () => {
  itPassesOnnxChecker("check_model(full_check=True) passes for every case", () => {
    expect(written.length).toBeGreaterThanOrEqual(CASES.length);
    return written;
  });
});
