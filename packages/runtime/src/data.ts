// Training data for emitted programs: synthetic sets, IDX files (MNIST, Fashion-MNIST) and
// CIFAR-10 binary batches, as NCHW float32 pixels in [0, 1] with int32 labels 0..9.
// Every file is read through resnetc/io's bounded reader (regular files only, at most
// DATA_FILE_LIMIT bytes), and a .gz file is decompressed only as far as its IDX header promises,
// so a FIFO, /dev/zero or a gzip bomb fails in milliseconds with a message, not gigabytes later.
// Takes: a folder or a recipe. Gives: datasets, seeded orders and batches, or a DataError whose
// message names the file, says what is wrong with it and how to fix it.
// Must not: depend on tfjs (it works on plain typed arrays), print, or exit: the training
// program turns a DataError into one line and exit code 1.

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { createGunzip } from "node:zlib";
import { formatBytes, readFileLimited, ReadFileError } from "resnetc/io";
import { seededRandom } from "./augment.js";
import { checkCifarBatch, cifarDataset, DataError, type Dataset, IDX, idxDataset, idxHeader } from "./data-parse.js";

export { checkCompatible, DataError, type Dataset } from "./data-parse.js";

export interface Split {
  train: Dataset;
  test: Dataset;
}

/** The class patterns' seed is fixed so that sets drawn with different seeds (train, test) share them. */
const PATTERN_SEED = 0x5eed;

/**
 * Deterministic synthetic images for smoke runs, read from nowhere: each class has a random mean
 * pattern (a function of the shape alone), each sample is 0.7 * pattern + 0.3 * uniform noise
 * drawn from `seed`. Classes are separable, so a short run's loss goes down, and a test set drawn
 * with another seed comes from the same distribution, so its accuracy rises too.
 */
export function syntheticDataset(opts: {
  count: number;
  shape: [number, number, number];
  classes: number;
  seed: number;
}): Dataset {
  const positive = (what: string, v: number) => {
    if (!Number.isInteger(v) || v < 1)
      throw new DataError(`synthetic data: ${what} must be a positive whole number, got ${v}`);
  };
  positive("the sample count", opts.count);
  positive("the class count", opts.classes);
  opts.shape.forEach((d, i) => positive(`dimension ${"CHW"[i]} of the image shape`, d));
  const [c, h, w] = opts.shape;
  const size = c * h * w;
  const pat = seededRandom(PATTERN_SEED);
  const patterns = new Float32Array(opts.classes * size);
  for (let j = 0; j < patterns.length; j++) patterns[j] = pat();
  const noise = seededRandom(opts.seed);
  const images = new Float32Array(opts.count * size);
  const labels = new Int32Array(opts.count);
  for (let i = 0; i < opts.count; i++) {
    // Round-robin labels keep every prefix balanced (an --eval limit takes a prefix of the test set).
    const y = i % opts.classes;
    labels[i] = y;
    for (let j = 0; j < size; j++) images[i * size + j] = 0.7 * patterns[y * size + j]! + 0.3 * noise();
  }
  return { images, labels, count: opts.count, shape: [c, h, w], classes: opts.classes, name: "synthetic" };
}

// ---- reading files --------------------------------------------------------------------------

/**
 * The most bytes one data file may hold, compressed or decompressed: 20 times MNIST's training
 * images, and as float32 pixels (four times as many bytes) still within one process's memory.
 */
export const DATA_FILE_LIMIT = 1024 * 1024 * 1024;

function readRaw(path: string): Buffer {
  try {
    return readFileLimited(path, { limit: DATA_FILE_LIMIT, what: "a training data file" });
  } catch (e) {
    throw e instanceof ReadFileError ? new DataError(e.message) : e;
  }
}

/**
 * A file's bytes, decompressed when it ends in .gz. `sizeFor` reads the first `headBytes`
 * (decompressed) bytes, checks them and returns the size the whole file must have: decompression
 * stops as soon as the output passes it, so a small bomb never becomes gigabytes.
 */
async function readBytes(path: string, headBytes: number, sizeFor: (head: Buffer) => number): Promise<Buffer> {
  const raw = readRaw(path);
  if (!path.endsWith(".gz")) return raw;
  return new Promise<Buffer>((resolve, reject) => {
    const z = createGunzip();
    const chunks: Buffer[] = [];
    let total = 0;
    let limit = DATA_FILE_LIMIT;
    let headSeen = false;
    let settled = false;
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(e);
    };
    z.on("data", (c: Buffer) => {
      if (settled) return;
      chunks.push(c);
      total += c.length;
      try {
        if (!headSeen && total >= headBytes) {
          headSeen = true;
          limit = sizeFor(Buffer.concat(chunks, total).subarray(0, headBytes));
        }
      } catch (e) {
        return fail(e);
      }
      if (total > limit)
        fail(
          new DataError(
            `${path} decompresses to more than the ${limit} bytes its header promises: the file is corrupt (or a ` +
              `decompression bomb); download it again`,
          ),
        );
    });
    z.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    z.on("error", (e) =>
      fail(
        new DataError(
          `${path} is not a valid gzip file (${e.message}): download it again, or unpack it and drop the .gz`,
        ),
      ),
    );
    z.end(raw);
  });
}

/** The IDX header, and the bound on what it promises (checked before the file is read whole). */
function boundedIdxHeader(b: Uint8Array, path: string, what: "images" | "labels"): number {
  const { count, h, w, size } = idxHeader(b, path, what);
  const kind = IDX[what].kind;
  if (size > DATA_FILE_LIMIT)
    throw new DataError(
      `${path}: its header promises ${count} ${kind}s${what === "images" ? ` of ${h}x${w}` : ""} ` +
        `(${formatBytes(size)}), more than the ${formatBytes(DATA_FILE_LIMIT)} limit for a training data file: ` +
        `the file is corrupt`,
    );
  return size;
}

async function idxFile(path: string, what: "images" | "labels"): Promise<{ bytes: Uint8Array; path: string }> {
  const bytes = await readBytes(path, IDX[what].header, (head) => boundedIdxHeader(head, path, what));
  // Again on the whole file: a plain (not .gz) file's header is bounded here, before its length.
  boundedIdxHeader(bytes, path, what);
  return { bytes, path };
}

async function idxSet(
  imagesFile: string,
  labelsFile: string,
  name: string,
  role: "training" | "test",
): Promise<Dataset> {
  return idxDataset(await idxFile(imagesFile, "images"), await idxFile(labelsFile, "labels"), name, role);
}

function cifarSet(files: string[], name: string): Dataset {
  return cifarDataset(
    // Each file checked as it is read, so the first bad one is named before the next is read.
    files.map((path) => {
      const bytes = readRaw(path);
      checkCifarBatch(bytes, path);
      return { bytes, path };
    }),
    name,
  );
}

// ---- finding the files ----------------------------------------------------------------------

/** The IDX names: MNIST's own, and the dotted variant some mirrors use; each may end in .gz. */
const IDX_NAMES = {
  trainImages: ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
  trainLabels: ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
  testImages: ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
  testLabels: ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
};
const IDX_EXPECTED =
  "IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, " +
  "each optionally .gz)";
const CIFAR_EXPECTED = "CIFAR-10 binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)";

function findFile(dir: string, names: string[]): string | undefined {
  for (const n of names) for (const ext of ["", ".gz"]) if (existsSync(join(dir, n + ext))) return join(dir, n + ext);
  return undefined;
}

function cifarBatches(dir: string): string[] {
  const num = (f: string) => Number(/\d+/.exec(f)![0]);
  return readdirSync(dir)
    .filter((f) => /^data_batch_\d+\.bin$/.test(f))
    .sort((a, b) => num(a) - num(b))
    .map((f) => join(dir, f));
}

/** A name for messages and metrics; the folder's name is the only hint which IDX set it is. */
function idxKind(dir: string): string {
  const base = basename(dir).toLowerCase();
  return base.includes("fashion") ? "Fashion-MNIST" : base.startsWith("mnist") ? "MNIST" : "IDX data";
}

/** When nothing is found: a subfolder that holds the files (archives unpack into one), or an archive. */
function whereElse(dir: string): string {
  const entries = readdirSync(dir, { withFileTypes: true });
  for (const e of entries)
    if (e.isDirectory()) {
      const sub = join(dir, e.name);
      if (findFile(sub, IDX_NAMES.trainImages) || existsSync(join(sub, "test_batch.bin")))
        return `; did you mean --data ${sub}?`;
    }
  const archive = entries.find((e) => e.isFile() && /\.(tar\.gz|tgz|tar|zip)$/.test(e.name));
  return archive ? `; ${archive.name} looks like an archive: unpack it first` : "";
}

/** Loads IDX files (MNIST / Fashion-MNIST) or CIFAR-10 binary batches, told apart by their names. */
export async function loadDirectory(dir: string): Promise<Split> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DataError(
      `--data ${dir}: no such folder; give a folder of ${IDX_EXPECTED} or of ${CIFAR_EXPECTED}, or --data synthetic`,
    );

  const idx = Object.entries(IDX_NAMES).map(([k, names]) => [k, findFile(dir, names), names[0]] as const);
  if (idx.some(([, f]) => f)) {
    const missing = idx.filter(([, f]) => !f).map(([, , n]) => `${n}[.gz]`);
    if (missing.length)
      throw new DataError(
        `--data ${dir}: has IDX files but not ${missing.join(", ")}: all four of ${IDX_EXPECTED} are needed (t10k ` +
          `is the test set)`,
      );
    const [trainImages, trainLabels, testImages, testLabels] = idx.map(([, f]) => f!) as [
      string,
      string,
      string,
      string,
    ];
    const kind = idxKind(dir);
    const train = await idxSet(trainImages, trainLabels, `${kind} (${dir})`, "training");
    const test = await idxSet(testImages, testLabels, `${kind} test set (${dir})`, "test");
    if (train.shape.join("x") !== test.shape.join("x"))
      throw new DataError(
        `${trainImages} holds ${train.shape.slice(1).join("x")} images but ${testImages} ` +
          `holds ${test.shape.slice(1).join("x")} ones: the training and test sets must have one image size`,
      );
    return { train, test };
  }

  const batches = cifarBatches(dir);
  const testBatch = join(dir, "test_batch.bin");
  if (batches.length || existsSync(testBatch)) {
    if (!batches.length)
      throw new DataError(
        `--data ${dir}: has test_batch.bin but no training batches (data_batch_1.bin ... data_batch_5.bin)`,
      );
    if (!existsSync(testBatch))
      throw new DataError(
        `--data ${dir}: has ${batches.map((b) => basename(b)).join(", ")} but no test_batch.bin (the test set)`,
      );
    return { train: cifarSet(batches, `CIFAR-10 (${dir})`), test: cifarSet([testBatch], `CIFAR-10 test set (${dir})`) };
  }

  throw new DataError(`--data ${dir}: found neither ${IDX_EXPECTED} nor ${CIFAR_EXPECTED}${whereElse(dir)}`);
}

/** A seeded permutation of 0..n-1 (Fisher-Yates), the same for the same seed on every machine. */
export function shuffledIndices(n: number, seed: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx;
}

/** Copies samples idx[start .. start+size) into fresh [B, C, H, W] and [B] buffers; the last batch may be short. */
export function gatherBatch(
  d: Dataset,
  idx: Uint32Array,
  start: number,
  size: number,
): { images: Float32Array; labels: Int32Array; size: number } {
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  const n = Math.max(0, Math.min(size, idx.length - start));
  const images = new Float32Array(n * per);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = idx[start + i]!;
    // A bad index is a bug in the caller, not in the data: a RangeError, not a DataError.
    if (k >= d.count) throw new RangeError(`gatherBatch: sample ${k} of a dataset of ${d.count}`);
    images.set(d.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = d.labels[k]!;
  }
  return { images, labels, size: n };
}
