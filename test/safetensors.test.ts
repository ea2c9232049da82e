// The safetensors format (src/weights/safetensors.ts) as `--weights FILE.safetensors` reads it:
// round trips, files PyTorch wrote (Debian's /usr/bin/python3 with torch, header and bytes written
// by hand as the README shows, no safetensors package) in F32/F64/F16/BF16 read back equal, every
// malformed file refused with its own one-line reason (RN601) and no output file, and the same
// values as a checkpoint folder or as a .safetensors file compile to byte-identical ONNX.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fill, graphParams } from "../src/weights/init.js";
import { encodeCheckpoint, readCheckpoint, type Tensor } from "../src/weights/checkpoint.js";
import { decodeSafetensors, encodeSafetensors, SAFETENSORS_HEADER_LIMIT } from "../src/weights/safetensors.js";
import { graphOf, repoRoot, runCli } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "resnetc-safetensors-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PYTHON = "/usr/bin/python3";
const torchMissing = ((): string | undefined => {
  try {
    execFileSync(PYTHON, ["-c", "import torch, numpy"], { stdio: "pipe" });
    return undefined;
  } catch {
    return `${PYTHON} has no torch (apt-get install python3-torch)`;
  }
})();

/** A safetensors file made by hand: the header text as given (not padded), then the data bytes. */
function craft(header: unknown, data: Uint8Array = new Uint8Array()): Uint8Array {
  const text =
    header instanceof Uint8Array ? header : Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}
const f4 = (...xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);

describe("safetensors round trips", () => {
  it("encode then decode gives the same tensors, names sorted, F32, format pt, header padded to 8", () => {
    const tensors = new Map<string, Tensor>([
      ["layer1.0.conv1.weight", { dims: [2, 1, 1, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -7e20]) }],
      ["bn1.running_var", { dims: [2], data: Float32Array.of(0.25, 4) }],
      ["scalar", { dims: [], data: Float32Array.of(-0) }],
      ["empty", { dims: [0, 3], data: new Float32Array(0) }],
    ]);
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
    expect(Object.keys(header)).toEqual([
      "__metadata__",
      "bn1.running_var",
      "empty",
      "layer1.0.conv1.weight",
      "scalar",
    ]);
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header["bn1.running_var"]).toEqual({ dtype: "F32", shape: [2], data_offsets: [0, 8] });
    expect(header["layer1.0.conv1.weight"].data_offsets).toEqual([8, 32]);
    const back = decodeSafetensors(bytes);
    if (typeof back === "string") throw new Error(back);
    expect(back.metadata).toEqual({ format: "pt" });
    expect(back.ignored).toEqual([]);
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [k, t] of tensors) expect(back.tensors.get(k)).toEqual(t);
  });

  it("integer num_batches_tracked counters are ignored, other integers read exactly", () => {
    const data = new Uint8Array(16 + 8);
    const v = new DataView(data.buffer);
    v.setBigInt64(0, 123n, true);
    v.setInt32(8, -5, true);
    v.setInt32(12, 1 << 24, true);
    data.set(f4(1.5, 2.5).subarray(0, 8), 16);
    const r = decodeSafetensors(
      craft(
        {
          "bn1.num_batches_tracked": { dtype: "I64", shape: [], data_offsets: [0, 8] },
          steps: { dtype: "I32", shape: [2], data_offsets: [8, 16] },
          "fc.bias": { dtype: "F32", shape: [2], data_offsets: [16, 24] },
        },
        data,
      ),
    );
    if (typeof r === "string") throw new Error(r);
    expect(r.ignored).toEqual(["bn1.num_batches_tracked"]);
    expect([...r.tensors.keys()]).toEqual(["steps", "fc.bias"]);
    expect([...r.tensors.get("steps")!.data]).toEqual([-5, 1 << 24]);
  });

  it.skipIf(torchMissing)(
    "files PyTorch wrote in F32, F64, F16 and BF16 read back equal",
    () => {
      // PyTorch writes the file (header and bytes by hand, no safetensors package) and the values
      // as float64 text; each must read back as the float32 nearest PyTorch's own value.
      const script = `
import json, struct, sys, torch
torch.manual_seed(1)
base = {"a.weight": torch.randn(3, 4, 2) * 10, "b.bias": torch.randn(5), "c": torch.tensor(2.5), "d": torch.zeros(0, 2)}
base["b.bias"][0] = 1e-6
for name, dt in [("F32", torch.float32), ("F64", torch.float64), ("F16", torch.float16), ("BF16", torch.bfloat16)]:
    sd = {k: v.to(dt).contiguous() for k, v in base.items()}
    sd["bn.num_batches_tracked"] = torch.tensor(9)
    hdr, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for k, v in sd.items():
        b = v.reshape(-1).view(torch.uint8).numpy().tobytes()
        dtype = {torch.int64: "I64"}.get(v.dtype, name)
        hdr[k] = {"dtype": dtype, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    open(name + ".safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    json.dump({k: v.double().reshape(-1).tolist() for k, v in sd.items()}, open(name + ".json", "w"))
`;
      execFileSync(PYTHON, ["-c", script], { cwd: work, stdio: "pipe" });
      for (const dtype of ["F32", "F64", "F16", "BF16"]) {
        const want = JSON.parse(readFileSync(join(work, `${dtype}.json`), "utf8")) as Record<string, number[]>;
        const got = readCheckpoint(join(work, `${dtype}.safetensors`));
        if (typeof got === "string") throw new Error(got);
        expect([...got.keys()].sort(), dtype).toEqual(["a.weight", "b.bias", "c", "d"]);
        expect(got.get("a.weight")!.dims).toEqual([3, 4, 2]);
        expect(got.get("c")!.dims).toEqual([]);
        expect(got.get("d")!.dims).toEqual([0, 2]);
        for (const [k, t] of got) expect([...t.data], `${dtype} ${k}`).toEqual(want[k]!.map(Math.fround));
      }
    },
    60_000,
  );
});

describe("the README's Python", () => {
  it.skipIf(torchMissing)(
    "writes a torchvision state_dict that reads back whole",
    () => {
      const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
      const m = /<!-- example: torch-safetensors[^>]*-->\s*```python\n([\s\S]*?)```/.exec(readme);
      expect(m, "README.md has the torch-safetensors block").not.toBeNull();
      // resnet18 untrained (no download here), otherwise as written.
      const script = m![1]!.replaceAll("resnet50", "resnet18").replace('weights="DEFAULT"', "weights=None");
      execFileSync(PYTHON, ["-c", script], { cwd: work, stdio: "pipe" });
      const r = decodeSafetensors(readFileSync(join(work, "resnet18.safetensors")));
      if (typeof r === "string") throw new Error(r);
      expect(r.ignored).toHaveLength(20);
      expect(r.tensors.size).toBe(102);
      expect(r.tensors.get("fc.weight")!.dims).toEqual([1000, 512]);
      expect(r.tensors.get("layer1.0.bn1.running_var")!.data.every((v) => v === 1)).toBe(true);
    },
    60_000,
  );
});

describe("malformed safetensors files: a one-line reason, RN601, no output", () => {
  const TINY = `model Tiny { input x: f32[N, 1, 4, 4]; conv(2, k=3, bias=true) bn relu flatten dense(3) }`;
  const src = join(work, "tiny.resnet");
  writeFileSync(src, TINY);
  const ok = f4(1, 2, 3);
  const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
  const huge = new Uint8Array(8);
  new DataView(huge.buffer).setBigUint64(0, 1n << 62n, true);
  const justOver = new Uint8Array(16);
  new DataView(justOver.buffer).setBigUint64(0, BigInt(SAFETENSORS_HEADER_LIMIT + 1), true);
  const short = new Uint8Array(16);
  new DataView(short.buffer).setBigUint64(0, 100n, true);
  const cases: [string, Uint8Array, RegExp][] = [
    ["shorter than the length field", new Uint8Array(5), /is 5 bytes, too short for a safetensors file/],
    ["a header length of 2^62", huge, /header length is 4611686018427387904 bytes, more than the 100000000/],
    ["a header length just over the bound", justOver, /more than the 100000000 a safetensors header may have/],
    ["a header past the end of the file", short, /header length is 100 bytes, but the file has only 8 after it/],
    ["a header that is not UTF-8", craft(Uint8Array.of(0x7b, 0xff, 0x7d)), /the header is not UTF-8/],
    ["a header that is not JSON", craft("{nope"), /the header is not JSON/],
    ["a header that is a list", craft([1, 2]), /the header must be a JSON object of tensors, found \[1,2\]/],
    ["metadata that is not strings", craft({ __metadata__: { a: 1 } }), /"__metadata__" must be an object of strings/],
    [
      "a million nested lists",
      craft(`{"w": ${"[".repeat(1e6)}${"]".repeat(1e6)}}`),
      /tensor "w" must be an object with dtype, shape and data_offsets, found a deeply nested list/,
    ],
    ["an entry that is not an object", craft({ w: 3 }), /tensor "w" must be an object with dtype, shape and data_off/],
    ["an unknown dtype", craft({ w: entry("U8", [3], [0, 3]) }, ok), /tensor "w" has dtype "U8"; resnetc reads F32/],
    [
      "a dtype named like a property of every object",
      craft({ w: entry("constructor", [3], [0, 12]) }, ok),
      /has dtype "constructor"/,
    ],
    ["a missing dtype", craft({ w: { shape: [3], data_offsets: [0, 12] } }, ok), /has dtype nothing/],
    ["a negative dim", craft({ w: entry("F32", [-3], [0, 12]) }, ok), /shape must be a list of at most 8 whole numb/],
    ["a fractional dim", craft({ w: entry("F32", [1.5], [0, 12]) }, ok), /shape must be a list/],
    ["rank 9", craft({ w: entry("F32", Array(9).fill(1), [0, 4]) }, ok), /shape must be a list of at most 8/],
    ["offsets the wrong way round", craft({ w: entry("F32", [3], [12, 0]) }, ok), /data_offsets must be \[begin, e/],
    ["three offsets", craft({ w: entry("F32", [3], [0, 4, 12]) }, ok), /data_offsets must be \[begin, end\]/],
    ["a negative offset", craft({ w: entry("F32", [3], [-4, 12]) }, ok), /data_offsets must be/],
    ["offsets past the data", craft({ w: entry("F32", [4], [0, 16]) }, ok), /run past the end of the data \(12 by/],
    ["a size that is not the shape's", craft({ w: entry("F32", [2], [0, 12]) }, ok), /needs 8 bytes, but data_offse/],
    [
      "F64 bytes for an F32 shape",
      craft({ w: entry("F64", [3], [0, 12]) }, ok),
      /needs at least 24 bytes, but data_offsets \[0,12\] hold 12/,
    ],
    [
      "a shape of 10^18 elements on 12 bytes",
      craft({ w: entry("F32", [1e9, 1e9], [0, 12]) }, ok),
      /shape \[1000000000,1000000000\] of F32 needs at least/,
    ],
    [
      "overlapping tensors",
      craft({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, ok),
      /tensor "b" \(bytes 4..12\) overlaps "a" \(0..8\)/,
    ],
    ["a NaN", craft({ w: entry("F32", [3], [0, 12]) }, f4(1, NaN, 3)), /tensor "w" holds NaN at element 1/],
    [
      "an F64 beyond float32's range",
      craft({ w: entry("F64", [1], [0, 8]) }, new Uint8Array(Float64Array.of(1e300).buffer)),
      /holds 1e\+300 at element 0 \(beyond float32's range\)/,
    ],
    [
      "an integer float32 cannot hold",
      craft({ w: entry("I32", [1], [0, 4]) }, new Uint8Array(Int32Array.of((1 << 24) + 1).buffer)),
      /holds an integer that float32 cannot hold at element 0/,
    ],
  ];
  for (const [what, bytes, message] of cases)
    it(what, () => {
      const r = decodeSafetensors(bytes, "t.safetensors");
      expect(typeof r).toBe("string");
      expect(r as string).toMatch(/^t\.safetensors(:| is) /);
      expect(r as string).toMatch(message);
      expect(r as string).not.toContain("\n");
      const file = join(work, `bad-${what.replace(/\W+/g, "-")}.safetensors`);
      writeFileSync(file, bytes);
      const out = join(work, `bad-${what.replace(/\W+/g, "-")}.onnx`);
      const cli = runCli(["compile", src, "--target", "onnx", "--weights", file, "-o", out]);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/RN601 cannot read checkpoint/);
      expect(cli.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  it("a folder named x.safetensors is a checkpoint folder; a missing file", () => {
    mkdirSync(join(work, "dir.safetensors"), { recursive: true });
    // A folder is a checkpoint folder whatever its name.
    expect(readCheckpoint(join(work, "dir.safetensors"))).toMatch(/dir\.safetensors\/weights\.json does not exist/);
    expect(readCheckpoint(join(work, "none.safetensors"))).toMatch(/none\.safetensors does not exist/);
    expect(readdirSync(work).some((f) => f.includes(".tmp-"))).toBe(false);
  });
});

describe("--weights FILE.safetensors", () => {
  const SRC = `model Small { input x: f32[N, 3, 8, 8]; conv(4, k=3) bn relu avgpool flatten dense(5) }`;
  const src = join(work, "small.resnet");
  writeFileSync(src, SRC);
  const g = graphOf(SRC);
  const values = new Map<string, Tensor>(graphParams(g).map((s) => [s.name, { dims: s.dims, data: fill(s, 7) }]));
  for (const t of values.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! + 0.01 * (i % 7);

  it("compiles to the same ONNX bytes as the same values in a checkpoint folder", () => {
    const dir = join(work, "ckpt");
    mkdirSync(dir, { recursive: true });
    const { json, bin } = encodeCheckpoint(values, "Small");
    writeFileSync(join(dir, "weights.json"), json);
    writeFileSync(join(dir, "weights.bin"), bin);
    // Reversed insertion order: the file's order must not matter, only the names.
    writeFileSync(join(work, "small.safetensors"), encodeSafetensors(new Map([...values].reverse())));
    const a = runCli(["compile", src, "--target", "onnx", "--weights", dir, "-o", join(work, "a.onnx")]);
    const b = runCli([
      "compile",
      src,
      "--target",
      "onnx",
      "--weights",
      join(work, "small.safetensors"),
      "-o",
      join(work, "b.onnx"),
    ]);
    expect([a.code, a.stderr]).toEqual([0, ""]);
    expect([b.code, b.stderr]).toEqual([0, ""]);
    expect(Buffer.compare(readFileSync(join(work, "a.onnx")), readFileSync(join(work, "b.onnx")))).toBe(0);
    const seeded = runCli(["compile", src, "--target", "onnx", "-o", join(work, "c.onnx")]);
    expect(seeded.code).toBe(0);
    expect(Buffer.compare(readFileSync(join(work, "a.onnx")), readFileSync(join(work, "c.onnx")))).not.toBe(0);
  });

  it("num_batches_tracked counters pass silently; other unused names are RN604 as for a folder", () => {
    const bn = graphParams(g)
      .find((s) => s.name.endsWith(".running_mean"))!
      .name.replace(/running_mean$/, "");
    const file = encodeSafetensors(values);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString("utf8"));
    const dataLength = file.length - 8 - n;
    header[`${bn}num_batches_tracked`] = { dtype: "I64", shape: [], data_offsets: [dataLength, dataLength + 8] };
    const data = new Uint8Array(dataLength + 8);
    data.set(file.subarray(8 + n));
    writeFileSync(join(work, "counted.safetensors"), craft(header, data));
    const r = runCli([
      "compile",
      src,
      "--target",
      "onnx",
      "--weights",
      join(work, "counted.safetensors"),
      "-o",
      join(work, "d.onnx"),
    ]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(Buffer.compare(readFileSync(join(work, "a.onnx")), readFileSync(join(work, "d.onnx")))).toBe(0);
    header["fc.weight"] = { dtype: "F32", shape: [2], data_offsets: [dataLength, dataLength + 8] };
    delete header[`${bn}num_batches_tracked`];
    writeFileSync(join(work, "extra.safetensors"), craft(header, data));
    const e = runCli([
      "compile",
      src,
      "--target",
      "onnx",
      "--weights",
      join(work, "extra.safetensors"),
      "-o",
      join(work, "e.onnx"),
    ]);
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/warning RN604 the checkpoint has 1 tensor the model does not use: fc\.weight/);
  });

  it("predict reads it too: the same output as with the folder", async () => {
    const { runCliAsync } = await import("./helpers.js");
    const { encodeNpy } = await import("../src/io/npy.js");
    const input = Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.sin(i));
    writeFileSync(join(work, "x.npy"), encodeNpy([2, 3, 8, 8], input));
    const run = (weights: string, out: string) =>
      runCliAsync([
        "predict",
        src,
        "--input",
        join(work, "x.npy"),
        "--weights",
        weights,
        "--engine",
        "onnx",
        "-o",
        out,
      ]);
    const a = await run(join(work, "ckpt"), join(work, "pa.npy"));
    const b = await run(join(work, "small.safetensors"), join(work, "pb.npy"));
    expect([a.code, a.stderr]).toEqual([0, ""]);
    expect([b.code, b.stderr]).toEqual([0, ""]);
    expect(Buffer.compare(readFileSync(join(work, "pa.npy")), readFileSync(join(work, "pb.npy")))).toBe(0);
  }, 60_000);

  it("resnetc train writes weights.safetensors: the checkpoint's values, the same ONNX from either", async () => {
    const { runCliAsync } = await import("./helpers.js");
    const run = join(work, "run");
    const t = await runCliAsync([
      "train",
      src,
      ...["--steps", "2", "--batch", "4", "--synthetic", "16", "--eval", "4", "--epochs", "1"],
      ...["--backend", "cpu", "--out", run],
    ]);
    expect(t.code, t.stderr).toBe(0);
    const folder = readCheckpoint(run);
    const file = readCheckpoint(join(run, "weights.safetensors"));
    if (typeof folder === "string") throw new Error(folder);
    expect(file).toEqual(folder);
    const bytes = readFileSync(join(run, "weights.safetensors"));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8"));
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(Object.keys(header).slice(1)).toEqual([...folder.keys()].sort());
    const a = runCli(["compile", src, "--target", "onnx", "--weights", run, "-o", join(work, "ta.onnx")]);
    const b = runCli([
      "compile",
      src,
      "--target",
      "onnx",
      "--weights",
      join(run, "weights.safetensors"),
      "-o",
      join(work, "tb.onnx"),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(Buffer.compare(readFileSync(join(work, "ta.onnx")), readFileSync(join(work, "tb.onnx")))).toBe(0);
  }, 120_000);
});
