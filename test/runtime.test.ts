// resnetc/runtime: data loaders and their errors, augmentation, backend choice, the doctor,
// and the training program's NaN guard, resume and `resnetc train`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { augmentBatch, seededRandom } from "../src/runtime/augment.js";
import { chooseBackend } from "../src/runtime/backend.js";
import { checkCompatible, DataError, gatherBatch, loadDirectory, shuffledIndices, syntheticDataset } from "../src/runtime/data.js";
import { doctor, type Probe } from "../src/cli/doctor.js";
import { repoRoot, runCliAsync } from "./helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "resnetc-rt-"));

function idxImages(count: number, h: number, w: number, fill: (i: number) => number, magic = 0x803): Buffer {
  const b = Buffer.alloc(16 + count * h * w);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(h, 8);
  b.writeUInt32BE(w, 12);
  for (let i = 0; i < count * h * w; i++) b[16 + i] = fill(i);
  return b;
}
function idxLabels(labels: number[], magic = 0x801): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}
function idxDir(opts: { gz?: boolean; labels?: number[]; imageMagic?: number; truncate?: boolean } = {}): string {
  const dir = tmp();
  const z = (b: Buffer) => (opts.gz ? gzipSync(b) : b);
  const ext = opts.gz ? ".gz" : "";
  let images = idxImages(3, 2, 2, (i) => i * 10, opts.imageMagic);
  if (opts.truncate) images = images.subarray(0, images.length - 1);
  writeFileSync(join(dir, `train-images-idx3-ubyte${ext}`), z(images));
  writeFileSync(join(dir, `train-labels-idx1-ubyte${ext}`), z(idxLabels(opts.labels ?? [0, 1, 9])));
  writeFileSync(join(dir, `t10k-images-idx3-ubyte${ext}`), z(idxImages(1, 2, 2, () => 255)));
  writeFileSync(join(dir, `t10k-labels-idx1-ubyte${ext}`), z(idxLabels([4])));
  return dir;
}

describe("data", () => {
  it("reads IDX files, plain or gzipped, scaled to [0, 1]", () => {
    for (const gz of [false, true]) {
      const { train, test } = loadDirectory(idxDir({ gz }));
      expect(train.count).toBe(3);
      expect(train.shape).toEqual([1, 2, 2]);
      expect(Array.from(train.labels)).toEqual([0, 1, 9]);
      expect(train.images[1]).toBeCloseTo(10 / 255, 6);
      expect(Array.from(test.images)).toEqual([1, 1, 1, 1]);
    }
  });
  it("reads CIFAR-10 binary batches", () => {
    const dir = tmp();
    const rec = (label: number, v: number) => Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, v)]);
    writeFileSync(join(dir, "data_batch_1.bin"), Buffer.concat([rec(3, 0), rec(7, 255)]));
    writeFileSync(join(dir, "test_batch.bin"), rec(1, 51));
    const { train, test } = loadDirectory(dir);
    expect([train.count, test.count]).toEqual([2, 1]);
    expect(train.shape).toEqual([3, 32, 32]);
    expect(Array.from(train.labels)).toEqual([3, 7]);
    expect(test.images[100]).toBeCloseTo(0.2, 6);
  });
  const fails = (f: () => unknown, re: RegExp) => {
    expect(f).toThrow(DataError);
    expect(f).toThrow(re);
  };
  it("bad data gets a clear error naming the file", () => {
    fails(() => loadDirectory("/no/such/folder"), /no such folder/);
    fails(() => loadDirectory(tmp()), /found neither IDX files .* nor CIFAR-10 binary batches/);
    fails(() => loadDirectory(idxDir({ imageMagic: 0x801 })), /train-images-idx3-ubyte is not an IDX image file: the magic number is 0x00000801, expected 0x00000803/);
    fails(() => loadDirectory(idxDir({ truncate: true })), /promises 3 images of 2x2 .*truncated/);
    fails(() => loadDirectory(idxDir({ labels: [0, 12, 1] })), /label 12 at index 1 is out of range/);
    fails(() => loadDirectory(idxDir({ labels: [0, 1] })), /has 3 images but .* has 2 labels/);
    const dir = tmp();
    writeFileSync(join(dir, "data_batch_1.bin"), Buffer.alloc(3000));
    writeFileSync(join(dir, "test_batch.bin"), Buffer.alloc(3073));
    fails(() => loadDirectory(dir), /not a whole number of CIFAR-10 records/);
  });
  it("an input shape that does not match the model's input is an error", () => {
    const { train } = loadDirectory(idxDir());
    expect(() => checkCompatible(train, [3, 32, 32], 10, "image")).toThrow(/images are 1x2x2 \(CxHxW\) but the model's input `image` is 3x32x32/);
    expect(() => checkCompatible(train, [1, 2, 2], 10, "image")).not.toThrow();
  });
  it("synthetic data, shuffling and batching are deterministic", () => {
    const a = syntheticDataset({ count: 8, shape: [1, 4, 4], classes: 4, seed: 1 });
    const b = syntheticDataset({ count: 8, shape: [1, 4, 4], classes: 4, seed: 1 });
    expect(a.images).toEqual(b.images);
    const idx = shuffledIndices(8, 3);
    expect([...idx].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(shuffledIndices(8, 3)).toEqual(idx);
    const batch = gatherBatch(a, idx, 6, 4);
    expect(batch.size).toBe(2);
    expect(Array.from(batch.labels)).toEqual([a.labels[idx[6]!], a.labels[idx[7]!]]);
  });
});

describe("augmentation", () => {
  it("pad 0 and no flip is the identity; a flip mirrors rows; the shape stays", () => {
    const img = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i);
    const same = img.slice();
    augmentBatch(same, 1, 2, 3, 3, { pad: 0, flip: false }, seededRandom(1));
    expect(same).toEqual(img);
    const flipped = img.slice();
    augmentBatch(flipped, 1, 2, 3, 3, { pad: 0, flip: true }, () => 0.1);
    expect(Array.from(flipped.slice(0, 3))).toEqual([2, 1, 0]);
    const cropped = img.slice();
    augmentBatch(cropped, 1, 2, 3, 3, { pad: 4, flip: false }, seededRandom(5));
    expect(cropped.length).toBe(img.length);
  });
});

describe("backend choice", () => {
  it("prefers tfjs-node-gpu, then tfjs-node; a package that fails to load is skipped with its reason", async () => {
    const importer = async (pkg: string) => {
      if (pkg.endsWith("node-gpu")) throw new Error("libtensorflow.so: cannot open shared object file");
      throw new Error(`Cannot find package '${pkg}'`);
    };
    const c = await chooseBackend({ importer });
    expect(c.name).toBe("cpu");
    expect(c.skipped).toEqual(["@tensorflow/tfjs-node-gpu: libtensorflow.so: cannot open shared object file", "@tensorflow/tfjs-node: not installed", "@tensorflow/tfjs-backend-wasm: not installed"]);
    expect(c.advice).toMatch(/tfjs-node/);
    await expect(chooseBackend({ prefer: "tensorflow", importer })).rejects.toThrow(/backend tensorflow is not available: not installed/);
  });
});

describe("doctor", () => {
  const probe = (over: Partial<Probe> = {}): Probe => ({
    importPackage: async (p) => {
      if (p === "@tensorflow/tfjs") return {};
      throw new Error(`Cannot find package '${p}'`);
    },
    run: () => ({ code: 1, stdout: "" }),
    nodeVersion: "v20.0.0",
    ...over,
  });
  it("on a machine with only the cpu backend: reports it and how to get a faster one", async () => {
    const lines: string[] = [];
    expect(await doctor({ out: (s) => lines.push(s) }, probe())).toBe(0);
    const text = lines.join("\n");
    expect(text).toMatch(/ok +cpu/);
    expect(text).toMatch(/emitted programs will use: cpu/);
    expect(text).toMatch(/CUDA runtime: +needs 11\.2, found none/);
    expect(text).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
  });
  it("with CUDA libraries of the wrong versions: needed vs found, and the fix", async () => {
    const lines: string[] = [];
    const run = (cmd: string) =>
      cmd === "ldconfig" ? { code: 0, stdout: "\tlibcudart.so.12 (libc6,x86-64) => /usr/lib/libcudart.so.12\n\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/libcudnn.so.9\n" } : { code: 0, stdout: "NVIDIA H100, 550.54\n" };
    await doctor({ out: (s) => lines.push(s) }, probe({ run }));
    const text = lines.join("\n");
    expect(text).toMatch(/GPU and driver: NVIDIA H100, 550\.54/);
    expect(text).toMatch(/needs 11\.2, found libcudart\.so\.12/);
    expect(text).toMatch(/needs 8\.1, found libcudnn\.so\.9/);
    expect(text).toMatch(/install the CUDA 11\.2 runtime/);
    expect(text).toMatch(/install cuDNN 8\.1/);
  });
});

describe("the training program", () => {
  const small = `import "std/resnet.resnet"
model Tiny { input image: f32[N, 3, 8, 8]; conv(8, k=3) bn relu; Basic(8, sc=pad); avgpool flatten dense(4) }`;
  const sink = () => Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: false });

  it("resnetc train runs the program; a diverging run stops with a clear message and keeps the last good checkpoint; --resume continues", async () => {
    const dir = join(repoRoot, "out", "rt-test");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tiny.resnet"), small);
    const run = join(dir, "run");
    const ok = await runCliAsync(["train", join(dir, "tiny.resnet"), "--epochs", "1", "--batch", "4", "--synthetic", "8", "--out", run]);
    expect(ok.code).toBe(0);
    expect(existsSync(join(run, "weights.json"))).toBe(true);
    const before = readFileSync(join(run, "weights.bin"));
    const metrics = JSON.parse(readFileSync(join(run, "metrics.json"), "utf8"));
    expect(metrics.epochs).toHaveLength(1);

    // Resume for a second epoch: history grows to 2.
    expect((await runCliAsync(["train", join(dir, "tiny.resnet"), "--epochs", "2", "--batch", "4", "--synthetic", "8", "--out", run, "--resume"])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(run, "metrics.json"), "utf8")).epochs).toHaveLength(2);
    const afterResume = readFileSync(join(run, "weights.bin"));
    expect(Buffer.compare(before, afterResume)).not.toBe(0);

    // An absurd learning rate diverges: exit 3, the message, and the checkpoint untouched.
    const { runTraining } = await import("resnetc/runtime");
    const out: string[] = [];
    const w = Object.assign(new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }), { isTTY: false });
    const { check } = await import("../src/compiler.js");
    const { nodeHost } = await import("../src/cli/host.js");
    void check;
    void nodeHost;
    const gen = join(dir, "gen");
    expect((await runCliAsync(["compile", join(dir, "tiny.resnet"), "--target", "ts", "-o", gen])).code).toBe(0);
    const mod = await import(join(gen, "model.ts"));
    const code = await runTraining({ name: "Tiny", buildModel: mod.buildModel, inputs: mod.INPUTS, params: mod.PARAMS, classes: mod.CLASSES, argv: ["--epochs", "3", "--batch", "4", "--synthetic", "8", "--out", run, "--resume", "--lr", "1e30", "--no-augment"], out: w });
    expect(code).toBe(3);
    expect(out.join("")).toMatch(/training diverged: the loss is (NaN|Infinity)/);
    expect(out.join("")).toMatch(/last good checkpoint is kept/);
    expect(Buffer.compare(readFileSync(join(run, "weights.bin")), afterResume)).toBe(0);
    void sink;
  }, 120_000);

  it("evaluate's loss is the mean cross-entropy over the set, and its accuracy the hit rate", async () => {
    const dir = join(repoRoot, "out", "rt-test3");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tiny.resnet"), small);
    expect((await runCliAsync(["compile", join(dir, "tiny.resnet"), "--target", "ts", "-o", join(dir, "gen")])).code).toBe(0);
    const mod = await import(join(dir, "gen", "model.ts"));
    const { evaluate, initParams } = await import("resnetc/runtime");
    const tf = await import("@tensorflow/tfjs");
    const model = mod.buildModel();
    initParams(model, mod.PARAMS, 4);
    const d = syntheticDataset({ count: 6, shape: [3, 8, 8], classes: 4, seed: 2 });
    const r = evaluate(model, d, 4, [3, 8, 8], 4);
    const logits = tf.tidy(() => (model.predict(tf.transpose(tf.tensor4d(d.images, [6, 3, 8, 8]), [0, 2, 3, 1])) as import("@tensorflow/tfjs").Tensor).arraySync() as number[][]);
    let ce = 0;
    let hits = 0;
    logits.forEach((row, i) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      ce += lse - row[d.labels[i]!]!;
      if (row.indexOf(m) === d.labels[i]) hits++;
    });
    expect(r.loss).toBeCloseTo(ce / 6, 4);
    expect(r.accuracy).toBeCloseTo(hits / 6, 6);
  }, 60_000);

  it("bad options and bad data are errors (exit 1), not stack traces", async () => {
    const dir = join(repoRoot, "out", "rt-test2");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tiny.resnet"), small);
    const bad = await runCliAsync(["train", join(dir, "tiny.resnet"), "--data", "/no/such/dir", "--out", join(dir, "run")]);
    expect(bad.code).toBe(1);
    const opt = await runCliAsync(["train", join(dir, "tiny.resnet"), "--batch", "zero", "--out", join(dir, "run")]);
    expect(opt.code).toBe(1);
  }, 60_000);
});

describe("the real Fashion-MNIST (Debian's dataset-fashion-mnist)", () => {
  const dir = "/usr/share/datasets/fashion-mnist";
  const present = existsSync(join(dir, "train-images-idx3-ubyte.gz"));
  if (!present) console.warn(`${dir} is absent (apt-get install dataset-fashion-mnist): skipping the real-data test`);
  it.runIf(present)("loads 60,000 training and 10,000 test images of 1x28x28 with labels 0..9", () => {
    const { train, test } = loadDirectory(dir);
    expect([train.count, test.count]).toEqual([60_000, 10_000]);
    expect(train.shape).toEqual([1, 28, 28]);
    const counts = new Array(10).fill(0);
    for (const l of test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  }, 60_000);
});
