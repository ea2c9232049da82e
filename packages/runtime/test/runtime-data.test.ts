// @resnetc/runtime data and augmentation: the IDX and CIFAR-10 loaders on tiny files written here
// into a temp folder (no binary fixtures in the repository), every DataError a user can meet,
// synthetic data, seeded shuffling, batching, pad-and-crop and flip; and, where Debian's
// dataset-fashion-mnist is installed, the real Fashion-MNIST.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { augmentBatch, seededRandom } from "../src/augment.js";
import { idxImages, idxLabels } from "./data-fixtures.js";
import {
  checkCompatible,
  DataError,
  gatherBatch,
  loadDirectory,
  shuffledIndices,
  syntheticDataset,
  type Dataset,
} from "../src/data.js";

const made: string[] = [];
const tmp = (prefix = "resnetc-data-") => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

// ---- fixture writers (idxImages, idxLabels) are in data-fixtures.ts ------------------------------

interface IdxFiles {
  trainImages?: Buffer;
  trainLabels?: Buffer;
  testImages?: Buffer;
  testLabels?: Buffer;
}
/** A folder of the four IDX files (3 train images of 2x3, 1 test image), each replaceable or droppable. */
function idxDir(opts: { gz?: boolean; name?: string; drop?: (keyof IdxFiles)[] } & IdxFiles = {}): string {
  const dir = opts.name ? join(tmp(), opts.name) : tmp();
  mkdirSync(dir, { recursive: true });
  const files: Required<IdxFiles> = {
    trainImages: opts.trainImages ?? idxImages(3, 2, 3, (i) => i * 10),
    trainLabels: opts.trainLabels ?? idxLabels([0, 1, 9]),
    testImages: opts.testImages ?? idxImages(1, 2, 3, () => 255),
    testLabels: opts.testLabels ?? idxLabels([4]),
  };
  const names = {
    trainImages: "train-images-idx3-ubyte",
    trainLabels: "train-labels-idx1-ubyte",
    testImages: "t10k-images-idx3-ubyte",
    testLabels: "t10k-labels-idx1-ubyte",
  };
  for (const k of Object.keys(files) as (keyof IdxFiles)[]) {
    if (opts.drop?.includes(k)) continue;
    writeFileSync(join(dir, names[k] + (opts.gz ? ".gz" : "")), opts.gz ? gzipSync(files[k]) : files[k]);
  }
  return dir;
}

/** A CIFAR-10 binary record: the label byte, then 3072 pixel bytes in CHW order. */
const record = (label: number, pixel: (i: number) => number) =>
  Buffer.concat([Buffer.from([label]), Buffer.from(Array.from({ length: 3072 }, (_, i) => pixel(i)))]);

function cifarDir(batches: Record<string, Buffer>): string {
  const dir = tmp();
  for (const [f, b] of Object.entries(batches)) writeFileSync(join(dir, f), b);
  return dir;
}

/** Throws (or rejects with) a DataError, the user-facing kind, whose message matches every pattern. */
async function failsWith(f: () => unknown, ...patterns: RegExp[]): Promise<void> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DataError);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// ---- loading --------------------------------------------------------------------------------

describe("IDX files (MNIST, Fashion-MNIST)", () => {
  it.each([false, true])(
    "reads the four files (gzipped: %s) as NCHW float32 in [0, 1] with int32 labels",
    async (gz) => {
      const { train, test } = await loadDirectory(idxDir({ gz }));
      expect(train.count).toBe(3);
      expect(train.shape).toEqual([1, 2, 3]);
      expect(train.classes).toBe(10);
      expect(train.labels).toBeInstanceOf(Int32Array);
      expect(Array.from(train.labels)).toEqual([0, 1, 9]);
      expect(train.images).toBeInstanceOf(Float32Array);
      expect(train.images.length).toBe(3 * 6);
      // Row-major per image, as in the file: pixel i is i*10/255.
      train.images.forEach((v, i) => expect(v).toBeCloseTo((i * 10) / 255, 6));
      expect([test.count, ...test.shape]).toEqual([1, 1, 2, 3]);
      expect(Array.from(test.images)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(Array.from(test.labels)).toEqual([4]);
    },
  );

  it("names the set after its folder where the name says which it is", async () => {
    expect((await loadDirectory(idxDir({ name: "fashion-mnist" }))).train.name).toMatch(
      /^Fashion-MNIST \(.*fashion-mnist\)$/,
    );
    expect((await loadDirectory(idxDir({ name: "mnist" }))).test.name).toMatch(/^MNIST test set \(/);
    expect((await loadDirectory(idxDir({ name: "digits" }))).train.name).toMatch(/^IDX data \(/);
  });

  it("wrong magic numbers name the file, both numbers, and a likely cause", async () => {
    await failsWith(
      () => loadDirectory(idxDir({ trainImages: idxImages(3, 2, 3, () => 0, 0x801) })),
      /train-images-idx3-ubyte is not an IDX image file: the magic number is 0x00000801, expected 0x00000803/,
      /swapped/,
    );
    await failsWith(
      () => loadDirectory(idxDir({ testLabels: idxLabels([4], 0x803) })),
      /t10k-labels-idx1-ubyte is not an IDX label file: the magic number is 0x00000803, expected 0x00000801/,
    );
    await failsWith(
      () => loadDirectory(idxDir({ trainLabels: idxLabels([0, 1, 9], 0xdeadbeef) })),
      /magic number is 0xdeadbeef, expected 0x00000801/,
    );
    // A gzipped file without .gz in its name.
    await failsWith(
      () => loadDirectory(idxDir({ trainImages: gzipSync(idxImages(3, 2, 3, () => 0)) })),
      /magic number is 0x1f8b.*gzip-compressed: name it train-images-idx3-ubyte\.gz/,
    );
  });

  it("a file whose size does not match its header is truncated or corrupt", async () => {
    const full = idxImages(3, 2, 3, () => 7);
    await failsWith(
      () => loadDirectory(idxDir({ trainImages: full.subarray(0, full.length - 1) })),
      new RegExp(
        /train-images-idx3-ubyte has 33 bytes, but its header promises /.source +
          /3 images of 2x3 \(34 bytes\): the file is truncated/.source,
      ),
    );
    await failsWith(
      () => loadDirectory(idxDir({ trainImages: Buffer.concat([full, Buffer.alloc(2)]) })),
      /has 36 bytes, but its header promises 3 images .*trailing bytes/,
    );
    await failsWith(
      () => loadDirectory(idxDir({ trainImages: full.subarray(0, 10) })),
      /train-images-idx3-ubyte has 10 bytes, too few for an IDX image header/,
    );
    await failsWith(
      () => loadDirectory(idxDir({ testLabels: Buffer.concat([idxLabels([4]), Buffer.from([1])]) })),
      /t10k-labels-idx1-ubyte has 10 bytes, but its header promises 1 labels \(9 bytes\)/,
    );
  });

  it("a broken .gz is a DataError, not a zlib stack trace", async () => {
    const dir = idxDir({ gz: true });
    writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), Buffer.from("not gzip at all"));
    await failsWith(
      () => loadDirectory(dir),
      new RegExp(`${esc(join(dir, "t10k-images-idx3-ubyte.gz"))} is not a valid gzip file`),
    );
  });

  it("images and labels must count the same samples", async () => {
    await failsWith(
      () => loadDirectory(idxDir({ trainLabels: idxLabels([0, 1]) })),
      /train-images-idx3-ubyte has 3 images but .*train-labels-idx1-ubyte has 2 labels/,
    );
  });

  it("a label of 10 or more is out of range, with its file and index", async () => {
    await failsWith(
      () => loadDirectory(idxDir({ trainLabels: idxLabels([0, 12, 1]) })),
      /train-labels-idx1-ubyte: label 12 at index 1 is out of range \(expected 0\.\.9\)/,
    );
    await failsWith(
      () => loadDirectory(idxDir({ testLabels: idxLabels([10]) })),
      /t10k-labels-idx1-ubyte: label 10 at index 0/,
    );
  });

  it("a partial set lists the missing files", async () => {
    await failsWith(
      () => loadDirectory(idxDir({ drop: ["testLabels"] })),
      /has IDX files but not t10k-labels-idx1-ubyte\[\.gz\]: all four/,
    );
  });

  it("training and test images must have one size", async () => {
    await failsWith(
      () => loadDirectory(idxDir({ testImages: idxImages(1, 3, 3, () => 0) })),
      /holds 2x3 images but .*t10k-images-idx3-ubyte holds 3x3 ones/,
    );
  });
});

describe("hostile data files", () => {
  // Each of these fails on the loader before resnetc/io's bounded reader: gunzipSync inflated the
  // whole bomb (3.4 GB from 1.5 MB in the report) before the size check, readFileSync read a
  // link to /dev/zero until memory ran out, and an empty test set gave "test accuracy NaN%".
  it("a gzip bomb stops at the size its header promises, with a message that says so", async () => {
    // The header promises 3 images of 2x3 (34 bytes); 64 MiB of zeros follow (65 KB once idxDir gzips it).
    const dir = idxDir({ gz: true, trainImages: Buffer.concat([idxImages(3, 2, 3, () => 0), Buffer.alloc(64 << 20)]) });
    const before = process.memoryUsage().arrayBuffers;
    await failsWith(
      () => loadDirectory(dir),
      /train-images-idx3-ubyte\.gz decompresses to more than the 34 bytes its header promises/,
      /bomb/,
    );
    // Bounded by zlib's output chunk, not by the 64 MiB inside.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
  });

  it("a header that promises more than the data file limit is refused before inflating", async () => {
    const huge = Buffer.alloc(16);
    [0x803, 100_000, 1000, 1000].forEach((v, i) => huge.writeUInt32BE(v, i * 4));
    await failsWith(
      () => loadDirectory(idxDir({ gz: true, trainImages: huge })),
      /its header promises 100000 images of 1000x1000 \(93\.1 GiB\), more than the 1 GiB limit/,
    );
  });

  it("a data file that is a link to /dev/zero or a FIFO is refused at once", async () => {
    const dir = idxDir();
    rmSync(join(dir, "train-images-idx3-ubyte"));
    symlinkSync("/dev/zero", join(dir, "train-images-idx3-ubyte"));
    await failsWith(
      () => loadDirectory(dir),
      /refusing to read .*train-images-idx3-ubyte: it is a character device, not a regular file/,
    );
    const fifo = idxDir();
    rmSync(join(fifo, "t10k-labels-idx1-ubyte"));
    execFileSync("mkfifo", [join(fifo, "t10k-labels-idx1-ubyte")]);
    await failsWith(() => loadDirectory(fifo), /t10k-labels-idx1-ubyte: it is a FIFO/);
  });

  it("an empty test set is an error before training, not a NaN accuracy after it", async () => {
    await failsWith(
      () => loadDirectory(idxDir({ testImages: idxImages(0, 2, 3, () => 0), testLabels: idxLabels([]) })),
      /t10k-images-idx3-ubyte holds no images .*held-out images to report its accuracy/,
    );
    await failsWith(
      () => loadDirectory(idxDir({ trainImages: idxImages(0, 2, 3, () => 0), trainLabels: idxLabels([]) })),
      /train-images-idx3-ubyte holds no images .*nothing to train on/,
    );
  });
});

describe("CIFAR-10 binary batches", () => {
  it("reads every data_batch_N.bin in numeric order and test_batch.bin, CHW as stored", async () => {
    const dir = cifarDir({
      "data_batch_2.bin": record(7, () => 255),
      "data_batch_1.bin": Buffer.concat([record(3, (i) => i % 256), record(0, () => 0)]),
      "test_batch.bin": record(1, (i) => (i < 1024 ? 51 : i < 2048 ? 102 : 204)),
    });
    const { train, test } = await loadDirectory(dir);
    expect([train.count, test.count]).toEqual([3, 1]);
    expect(train.shape).toEqual([3, 32, 32]);
    expect(train.classes).toBe(10);
    expect(Array.from(train.labels)).toEqual([3, 0, 7]);
    expect(train.images.length).toBe(3 * 3072);
    expect(train.images[300]).toBeCloseTo((300 % 256) / 255, 6);
    expect(train.images[2 * 3072 + 5]).toBe(1);
    // Channel planes: red, green, blue.
    expect([test.images[0], test.images[1024], test.images[2048]].map((v) => Math.round(v! * 255))).toEqual([
      51, 102, 204,
    ]);
    expect(train.name).toBe(`CIFAR-10 (${dir})`);
  });

  it("a batch that is not a whole number of 3073-byte records is an error naming the file", async () => {
    const dir = cifarDir({ "data_batch_1.bin": Buffer.alloc(3000), "test_batch.bin": record(1, () => 0) });
    await failsWith(
      () => loadDirectory(dir),
      new RegExp(
        `${esc(join(dir, "data_batch_1.bin"))} has 3000 bytes, not a whole number of CIFAR-10 records ` +
          `\\(3073 bytes each`,
      ),
    );
    await failsWith(
      () => loadDirectory(cifarDir({ "data_batch_1.bin": record(1, () => 0), "test_batch.bin": Buffer.alloc(0) })),
      /test_batch\.bin has 0 bytes/,
    );
  });

  it("labels of 10 or more, and a missing half, are errors", async () => {
    await failsWith(
      () =>
        loadDirectory(
          cifarDir({
            "data_batch_1.bin": Buffer.concat([record(1, () => 0), record(11, () => 0)]),
            "test_batch.bin": record(1, () => 0),
          }),
        ),
      /data_batch_1\.bin: label 11 at record 1 is out of range/,
    );
    await failsWith(
      () => loadDirectory(cifarDir({ "data_batch_1.bin": record(1, () => 0) })),
      /has data_batch_1\.bin but no test_batch\.bin/,
    );
    await failsWith(
      () => loadDirectory(cifarDir({ "test_batch.bin": record(1, () => 0) })),
      /has test_batch\.bin but no training batches/,
    );
  });
});

describe("finding the data", () => {
  it("a missing folder is an error naming it", async () => {
    await failsWith(() => loadDirectory("/no/such/folder"), /--data \/no\/such\/folder: no such folder/, /synthetic/);
    const file = join(tmp(), "a-file");
    writeFileSync(file, "x");
    await failsWith(() => loadDirectory(file), /a-file: no such folder/);
  });

  it("a folder with neither format lists what was expected", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "readme.txt"), "hello");
    await failsWith(
      () => loadDirectory(dir),
      new RegExp(
        `--data ${esc(dir)}: found neither IDX files \\(train-images-idx3-ubyte, .*t10k-labels-idx1-ubyte, each ` +
          `optionally \\.gz\\) nor CIFAR-10 binary batches \\(data_batch_1\\.bin \\.\\.\\. data_batch_5\\.bin, ` +
          `test_batch\\.bin\\)$`,
      ),
    );
  });

  it("points at a subfolder that holds the files, or at an archive to unpack", async () => {
    const dir = tmp();
    const sub = join(dir, "cifar-10-batches-bin");
    mkdirSync(sub);
    writeFileSync(
      join(sub, "test_batch.bin"),
      record(0, () => 0),
    );
    await failsWith(() => loadDirectory(dir), new RegExp(`did you mean --data ${esc(sub)}\\?`));
    const arch = tmp();
    writeFileSync(join(arch, "cifar-10-binary.tar.gz"), "x");
    await failsWith(() => loadDirectory(arch), /cifar-10-binary\.tar\.gz looks like an archive: unpack it first/);
  });
});

describe("checkCompatible", () => {
  const d: Dataset = {
    images: new Float32Array(784),
    labels: new Int32Array(1),
    count: 1,
    shape: [1, 28, 28],
    classes: 10,
    name: "Fashion-MNIST",
  };
  it("accepts data of the model's input shape and at most its classes", async () => {
    expect(() => checkCompatible(d, [1, 28, 28], 10, "image")).not.toThrow();
    expect(() => checkCompatible(d, [1, 28, 28], 1000, "image")).not.toThrow();
  });
  it("says which shapes differ and how to fix it", async () => {
    await failsWith(
      () => checkCompatible(d, [3, 32, 32], 10, "image"),
      new RegExp(
        /^Fashion-MNIST images are 1x28x28 \(CxHxW\) but the model's input `image` is 3x32x32: /.source +
          /declare `input image: f32\[N, 1, 28, 28\]`/.source,
      ),
    );
  });
  it("more classes in the data than model outputs is an error", async () => {
    await failsWith(
      () => checkCompatible(d, [1, 28, 28], 4, "image"),
      /has 10 classes but the model's output has 4: .*dense\(10\)/,
    );
  });
});

// ---- synthetic data, order, batches -----------------------------------------------------------

describe("synthetic data", () => {
  const opts = { count: 40, shape: [2, 4, 4] as [number, number, number], classes: 4, seed: 1 };
  it("is deterministic from its seed, in [0, 1], with balanced labels", async () => {
    const a = syntheticDataset(opts);
    expect(a.images).toEqual(syntheticDataset(opts).images);
    expect(a.labels).toEqual(syntheticDataset(opts).labels);
    expect(a.images).not.toEqual(syntheticDataset({ ...opts, seed: 2 }).images);
    expect([a.count, a.images.length, a.labels.length, a.classes]).toEqual([40, 40 * 32, 40, 4]);
    expect(a.shape).toEqual([2, 4, 4]);
    expect(a.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    const counts = [0, 0, 0, 0];
    a.labels.forEach((l) => counts[l]!++);
    expect(counts).toEqual([10, 10, 10, 10]);
  });

  it("is learnable, and a set drawn with another seed has the same classes", async () => {
    // Nearest class mean, fitted on seed 1 and scored on seed 2: a model can learn this.
    const train = syntheticDataset(opts);
    const test = syntheticDataset({ ...opts, seed: 2 });
    const per = 32;
    const means = Array.from({ length: 4 }, () => new Float64Array(per));
    for (let i = 0; i < train.count; i++)
      for (let j = 0; j < per; j++) means[train.labels[i]!]![j]! += train.images[i * per + j]! / 10;
    let hits = 0;
    for (let i = 0; i < test.count; i++) {
      const dist = means.map((m) => m.reduce((s, v, j) => s + (v - test.images[i * per + j]!) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === test.labels[i]) hits++;
    }
    expect(hits / test.count).toBeGreaterThan(0.9);
  });

  it("a non-positive count, class count or dimension is a DataError", async () => {
    await failsWith(
      () => syntheticDataset({ ...opts, count: 0 }),
      /sample count must be a positive whole number, got 0/,
    );
    await failsWith(() => syntheticDataset({ ...opts, classes: 1.5 }), /class count/);
    await failsWith(() => syntheticDataset({ ...opts, shape: [1, 0, 4] }), /dimension H/);
  });
});

describe("shuffledIndices and gatherBatch", () => {
  it("a seeded shuffle is a permutation, the same for the same seed", async () => {
    const idx = shuffledIndices(1000, 3);
    expect(idx).toBeInstanceOf(Uint32Array);
    expect(Array.from(idx).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(shuffledIndices(1000, 3)).toEqual(idx);
    expect(shuffledIndices(1000, 4)).not.toEqual(idx);
    expect(Array.from(idx)).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(shuffledIndices(0, 1).length).toBe(0);
    expect(Array.from(shuffledIndices(1, 1))).toEqual([0]);
  });

  it("copies the chosen samples, in order, into [B, C, H, W] and [B]; the last batch may be short", async () => {
    const per = 2 * 3 * 3;
    const d: Dataset = {
      images: Float32Array.from({ length: 5 * per }, (_, i) => i),
      labels: Int32Array.from([10, 11, 12, 13, 14]),
      count: 5,
      shape: [2, 3, 3],
      classes: 15,
      name: "t",
    };
    const idx = Uint32Array.from([4, 0, 3, 1, 2]);
    const b = gatherBatch(d, idx, 1, 3);
    expect(b.size).toBe(3);
    expect(Array.from(b.labels)).toEqual([10, 13, 11]);
    expect(Array.from(b.images)).toEqual([0, 3, 1].flatMap((k) => Array.from({ length: per }, (_, j) => k * per + j)));
    // A copy, not a view: writing the batch leaves the dataset alone.
    b.images[0] = -1;
    expect(d.images[0]).toBe(0);
    const tail = gatherBatch(d, idx, 3, 4);
    expect([tail.size, tail.images.length, ...tail.labels]).toEqual([2, 2 * per, 11, 12]);
    expect(gatherBatch(d, idx, 5, 4).size).toBe(0);
    expect(() => gatherBatch(d, Uint32Array.from([7]), 0, 1)).toThrow(RangeError);
  });
});

// ---- augmentation -----------------------------------------------------------------------------

/** The recipe spelled out: zero-pad each plane, crop HxW at (oy, ox), then mirror if asked. */
function reference(
  img: Float32Array,
  c: number,
  h: number,
  w: number,
  pad: number,
  oy: number,
  ox: number,
  flip: boolean,
): Float32Array {
  const out = new Float32Array(c * h * w);
  const pw = w + 2 * pad;
  for (let ch = 0; ch < c; ch++) {
    const padded = new Float32Array((h + 2 * pad) * pw);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) padded[(y + pad) * pw + x + pad] = img[ch * h * w + y * w + x]!;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) out[ch * h * w + y * w + (flip ? w - 1 - x : x)] = padded[(y + oy) * pw + x + ox]!;
  }
  return out;
}

/** A random source that plays back the given numbers. */
const playback = (xs: number[]) => {
  let i = 0;
  return () => xs[i++]!;
};

describe("augmentBatch", () => {
  const [b, c, h, w] = [2, 2, 3, 4];
  const img = Float32Array.from({ length: b * c * h * w }, (_, i) => i + 1);

  it("pad 0 without flip is the identity", async () => {
    const x = img.slice();
    augmentBatch(x, b, c, h, w, { pad: 0, flip: false }, seededRandom(1));
    expect(x).toEqual(img);
  });

  it("a flip mirrors every row of every channel of the sample", async () => {
    const x = img.slice();
    augmentBatch(x, b, c, h, w, { pad: 0, flip: true }, playback([0.1, 0.9])); // flip sample 0 only
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) expect(x[(ch * h + y) * w + xx]).toBe(img[(ch * h + y) * w + (w - 1 - xx)]);
    expect(x.subarray(c * h * w)).toEqual(img.subarray(c * h * w));
  });

  it("pad-and-crop keeps the shape and equals pad, crop, flip done by hand", async () => {
    const pad = 2;
    // Offsets are floor(u * (2 pad + 1)); a flip when u < 0.5.
    for (const [uy, ux, uf] of [
      [0, 0.99, 0.2],
      [0.99, 0, 0.7],
      [0.5, 0.5, 0.1],
      [0.3, 0.75, 0.6],
    ] as const) {
      const x = img.slice();
      augmentBatch(x, b, c, h, w, { pad, flip: true }, playback([uy, ux, uf, uy, ux, uf]));
      expect(x.length).toBe(img.length);
      const oy = Math.floor(uy * 5);
      const ox = Math.floor(ux * 5);
      for (let n = 0; n < b; n++)
        expect(Array.from(x.subarray(n * c * h * w, (n + 1) * c * h * w))).toEqual(
          Array.from(reference(img.subarray(n * c * h * w, (n + 1) * c * h * w), c, h, w, pad, oy, ox, uf < 0.5)),
        );
    }
  });

  it("is deterministic given the seed, and different seeds differ", async () => {
    const run = (seed: number) => {
      const x = Float32Array.from({ length: 8 * 3 * 8 * 8 }, (_, i) => (i % 97) / 97);
      augmentBatch(x, 8, 3, 8, 8, { pad: 4, flip: true }, seededRandom(seed));
      return x;
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it("a buffer of the wrong size is a caller's bug (RangeError)", async () => {
    expect(() => augmentBatch(new Float32Array(5), 1, 1, 2, 3, { pad: 0, flip: true }, Math.random)).toThrow(
      RangeError,
    );
  });
});

describe("seededRandom", () => {
  it("gives the same uniforms in [0, 1) for the same seed", async () => {
    const a = seededRandom(42);
    const xs = Array.from({ length: 1000 }, a);
    const again = seededRandom(42);
    expect(Array.from({ length: 1000 }, again)).toEqual(xs);
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Math.abs(xs.reduce((s, v) => s + v, 0) / 1000 - 0.5)).toBeLessThan(0.05);
  });
});

// ---- the real thing, where installed --------------------------------------------------------

describe("the real Fashion-MNIST (Debian's dataset-fashion-mnist)", () => {
  const dir = "/usr/share/datasets/fashion-mnist";
  const present = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
  ].every((f) => existsSync(join(dir, `${f}.gz`)));
  if (!present)
    console.warn(
      `skipping the real Fashion-MNIST test: ${dir} has not got the four .gz files (apt-get install ` +
        `dataset-fashion-mnist)`,
    );
  it.runIf(present)(
    "loads 60,000 training and 10,000 test images of 1x28x28, balanced over 10 classes",
    async () => {
      const { train, test } = await loadDirectory(dir);
      expect([train.count, test.count]).toEqual([60_000, 10_000]);
      expect(train.shape).toEqual([1, 28, 28]);
      expect(test.shape).toEqual([1, 28, 28]);
      expect([train.images.length, test.images.length]).toEqual([60_000 * 784, 10_000 * 784]);
      expect(train.name).toBe(`Fashion-MNIST (${dir})`);
      const histogram = (l: Int32Array) => l.reduce((h, y) => (h[y]!++, h), new Array<number>(10).fill(0));
      expect(histogram(train.labels)).toEqual(new Array(10).fill(6000));
      expect(histogram(test.labels)).toEqual(new Array(10).fill(1000));
      // The published files start with an ankle boot (class 9) in both sets.
      expect([train.labels[0], test.labels[0]]).toEqual([9, 9]);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of train.images) ((lo = Math.min(lo, v)), (hi = Math.max(hi, v)));
      expect([lo, hi]).toEqual([0, 1]);
      expect(() => checkCompatible(train, [1, 28, 28], 10, "image")).not.toThrow();
    },
    60_000,
  );
});
