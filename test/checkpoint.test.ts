// Reading what a stranger may have written: resnetc/io's bounded reader, and checkpoints checked
// field by field before a tensor is trusted (issue 16, findings 3 and 8). Every case here failed
// on the code before: readFileLimited did not exist (readFileSync read a link to /dev/zero until
// memory ran out, and `compile --weights` hung), and decodeCheckpoint threw a TypeError on a
// `null` manifest or entry, accepted every offset 0, NaN values and trailing bytes.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFileLimited, ReadFileError } from "../src/io/index.js";
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, type Tensor } from "../src/weights/checkpoint.js";
import { repoRoot } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "resnetc-ckpt-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const good = new Map<string, Tensor>([
  ["conv.weight", { dims: [2, 1, 1, 1], data: Float32Array.of(0.5, -1.5) }],
  ["conv.bias", { dims: [2], data: Float32Array.of(1, 2) }],
]);
const { json, bin } = encodeCheckpoint(good, "Tiny");
const manifest = () => JSON.parse(json) as { format: string; tensors: Record<string, unknown>[] };
const reason = (j: unknown, b: Uint8Array = bin) => decodeCheckpoint(typeof j === "string" ? j : JSON.stringify(j), b);

describe("readFileLimited", () => {
  const fails = (f: () => unknown, re: RegExp) => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ReadFileError);
    expect((caught as Error).message).toMatch(re);
  };
  it("reads a regular file up to its limit, and refuses one byte more", () => {
    const f = join(work, "ten");
    writeFileSync(f, "0123456789");
    expect(readFileLimited(f, { limit: 10, what: "a test" }).toString()).toBe("0123456789");
    fails(
      () => readFileLimited(f, { limit: 9, what: "a test file" }),
      /ten is larger than 9 bytes, the limit for a test file$/,
    );
  });
  it("refuses devices, FIFOs and folders at once instead of blocking or reading forever", () => {
    const zero = join(work, "zero");
    symlinkSync("/dev/zero", zero);
    fails(
      () => readFileLimited(zero, { limit: 1 << 20, what: "x" }),
      /refusing to read .*zero: it is a character device, not a regular file/,
    );
    const fifo = join(work, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    fails(() => readFileLimited(fifo, { limit: 1 << 20, what: "x" }), /fifo: it is a FIFO/);
    fails(() => readFileLimited(work, { limit: 1 << 20, what: "x" }), /it is a folder/);
    fails(() => readFileLimited(join(work, "none"), { limit: 1, what: "x" }), /none does not exist$/);
  });
  it("reads a procfs file, whose size says 0, up to the limit only", () => {
    expect(readFileLimited("/proc/self/status", { limit: 1 << 20, what: "x" }).toString()).toMatch(/^Name:/);
    fails(() => readFileLimited("/proc/self/status", { limit: 10, what: "a status" }), /larger than 10 bytes/);
  });
});

describe("decodeCheckpoint checks every field", () => {
  it("round-trips what encodeCheckpoint wrote", () => {
    const t = decodeCheckpoint(json, bin);
    expect(typeof t).not.toBe("string");
    expect(Array.from((t as Map<string, Tensor>).get("conv.weight")!.data)).toEqual([0.5, -1.5]);
  });
  it.each<[string, () => unknown, RegExp]>([
    ["weights.json = null", () => null, /^weights\.json: expected an object with "format" and "tensors", found null$/],
    ["not JSON", () => "{", /^weights\.json is not JSON/],
    ["another format", () => ({ ...manifest(), format: "x/2" }), /"format" is "x\/2", expected "resnetc-weights\/1"/],
    [
      "tensors: [null]",
      () => ({ ...manifest(), tensors: [null] }),
      /^weights\.json: tensors\[0\] must be an object .*found null$/,
    ],
    ["tensors not a list", () => ({ ...manifest(), tensors: 3 }), /"tensors" must be a list, found 3/],
    [
      "a name that is not a string",
      () => ({ ...manifest(), tensors: [{ ...manifest().tensors[0], name: 7 }] }),
      /tensors\[0\]\.name must be a non-empty string, found 7/,
    ],
    [
      "a name twice",
      () => ({ ...manifest(), tensors: [manifest().tensors[0], { ...manifest().tensors[1], name: "conv.weight" }] }),
      /tensors\[1\]\.name "conv\.weight" is also tensors\[0\]'s/,
    ],
    [
      "a negative dim",
      () => ({ ...manifest(), tensors: [{ ...manifest().tensors[0], dims: [-2, 1] }] }),
      /tensors\[0\]\.dims \(conv\.weight\) must be a list of at most 8 whole numbers >= 0, found \[-2,1\]/,
    ],
    [
      "a dim beyond 2 GiB",
      () => ({ ...manifest(), tensors: [{ ...manifest().tensors[0], dims: [1e6, 1e6] }] }),
      /make 3\.6 TiB, more than the 2 GiB a checkpoint can hold/,
    ],
    [
      "another dtype",
      () => ({ ...manifest(), tensors: [{ ...manifest().tensors[0], dtype: "int8" }] }),
      /tensors\[0\]\.dtype \(conv\.weight\) is "int8"; only "float32"/,
    ],
    [
      "a negative offset",
      () => ({ ...manifest(), tensors: [{ ...manifest().tensors[0], offset: -4 }] }),
      /tensors\[0\]\.offset \(conv\.weight\) must be a whole number of bytes from 0 to \d+, found -4/,
    ],
    [
      "every offset 0",
      () => ({ ...manifest(), tensors: manifest().tensors.map((t) => ({ ...t, offset: 0 })) }),
      /tensors\[1\] \(conv\.bias\) at offset 0 overlaps tensors\[0\] \(conv\.weight\), bytes 0\.\.8/,
    ],
  ])("%s", (_, j, re) => expect(reason(j())).toMatch(re));
  it("offsets within weights.bin, and no bytes left over", () => {
    expect(reason(json, bin.subarray(0, 12))).toMatch(
      /^weights\.bin has 12 bytes, but its manifest's tensors run to byte 16: the file is truncated$/,
    );
    expect(reason(json, new Uint8Array(20))).toMatch(
      /^weights\.bin has 20 bytes, but its manifest's tensors end at byte 16: the two files do not belong together$/,
    );
  });
  it("a NaN or infinite value is corruption, not something to train from", () => {
    const nan = new Uint8Array(bin);
    new DataView(nan.buffer).setFloat32(12, NaN, true);
    expect(reason(json, nan)).toBe(
      "weights.bin: tensor conv.bias holds NaN at element 1: the checkpoint is corrupt (a diverged run is never saved)",
    );
  });
});

describe("readCheckpoint and resnetc compile --weights", () => {
  const ckpt = (name: string, b: (dir: string) => void) => {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "weights.json"), json);
    b(dir);
    return dir;
  };
  it("names the file: a link to /dev/zero is refused, a larger weights.bin than the manifest describes too", () => {
    const zero = ckpt("zero-ckpt", (d) => symlinkSync("/dev/zero", join(d, "weights.bin")));
    expect(readCheckpoint(zero)).toMatch(
      /refusing to read .*zero-ckpt\/weights\.bin: it is a character device, not a regular file/,
    );
    const big = ckpt("big", (d) => writeFileSync(join(d, "weights.bin"), new Uint8Array(1 << 16)));
    expect(readCheckpoint(big)).toMatch(
      new RegExp(
        /big\/weights\.bin is larger than 16 bytes, the limit for weights\.bin /.source +
          /\(the tensors weights\.json lists take 16 bytes\)/.source,
      ),
    );
  });
  it("compile --weights DIR with weights.bin linked to /dev/zero ends at once with RN601 (it hung before)", () => {
    const zero = join(work, "zero-ckpt");
    writeFileSync(join(work, "tiny.resnet"), "model Tiny { input x: f32[N, 1, 4, 4]; conv(2, k=1) }\n");
    // A child process with a timeout: the old code never returned, which a test in-process could not survive.
    const r = spawnSync(
      process.execPath,
      [
        join(repoRoot, "bin/resnetc.js"),
        "compile",
        join(work, "tiny.resnet"),
        "--target",
        "onnx",
        "--weights",
        zero,
        "-o",
        join(work, "tiny.onnx"),
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/RN601 .*character device, not a regular file/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
