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

export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  /** C, H, W */
  shape: [number, number, number];
  classes: number;
  name: string;
}

export interface Split {
  train: Dataset;
  test: Dataset;
}

/** A problem with the user's data: shown as one clear message, never a stack trace. */
export class DataError extends Error {
  override name = "DataError";
}

/** Both formats we read are 10-class sets; a label of 10 or more means a corrupt or foreign file. */
const CLASSES = 10;

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

const hex = (n: number) => "0x" + n.toString(16).padStart(8, "0");

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

/** Why a magic number is wrong, when we can tell: gzip bytes in a plain file, or the other IDX kind. */
function magicHint(magic: number, path: string): string {
  if (magic >>> 16 === 0x1f8b) return ` (the file is gzip-compressed: name it ${basename(path)}.gz or gunzip it)`;
  if (magic === 0x801) return " (that is a label file: are the images and labels files swapped?)";
  if (magic === 0x803) return " (that is an image file: are the images and labels files swapped?)";
  return "";
}

/** IDX headers: magic 0x00000803 = unsigned bytes, 3 dimensions (count, rows, columns);
 * 0x00000801 = 1 dimension (count). */
const IDX = {
  images: { magic: 0x803, header: 16, kind: "image" },
  labels: { magic: 0x801, header: 8, kind: "label" },
} as const;

/** Checks an IDX header and gives its dims and the size the whole file must have. */
function idxHeader(
  b: Buffer,
  path: string,
  what: keyof typeof IDX,
): { count: number; h: number; w: number; size: number } {
  const f = IDX[what];
  if (b.length < f.header)
    throw new DataError(
      `${path} has ${b.length} bytes, too few for an IDX ${f.kind} header (${f.header} bytes): the file is ` +
        `truncated or not an IDX file`,
    );
  const magic = b.readUInt32BE(0);
  if (magic !== f.magic)
    throw new DataError(
      `${path} is not an IDX ${f.kind} file: the magic number is ${hex(magic)}, ` +
        `expected ${hex(f.magic)}${magicHint(magic, path)}`,
    );
  const count = b.readUInt32BE(4);
  const [h, w] = what === "images" ? [b.readUInt32BE(8), b.readUInt32BE(12)] : [1, 1];
  const size = f.header + count * h * w;
  if (size > DATA_FILE_LIMIT)
    throw new DataError(
      `${path}: its header promises ${count} ${f.kind}s${what === "images" ? ` of ${h}x${w}` : ""} ` +
        `(${formatBytes(size)}), more than the ${formatBytes(DATA_FILE_LIMIT)} limit for a training data file: ` +
        `the file is corrupt`,
    );
  return { count, h, w, size };
}

async function idxImages(path: string): Promise<{ pixels: Uint8Array; count: number; h: number; w: number }> {
  const b = await readBytes(path, IDX.images.header, (head) => idxHeader(head, path, "images").size);
  const { count, h, w, size: want } = idxHeader(b, path, "images");
  if (b.length !== want)
    throw new DataError(
      `${path} has ${b.length} bytes, but its header promises ${count} images of ${h}x${w} (${want} bytes): ` +
        (b.length < want
          ? "the file is truncated or corrupt; download it again"
          : "the file has trailing bytes; it is corrupt or not an IDX file"),
    );
  return { pixels: b.subarray(16), count, h, w };
}

async function idxLabels(path: string): Promise<Uint8Array> {
  const b = await readBytes(path, IDX.labels.header, (head) => idxHeader(head, path, "labels").size);
  const { count } = idxHeader(b, path, "labels");
  if (b.length !== 8 + count)
    throw new DataError(
      `${path} has ${b.length} bytes, but its header promises ${count} labels (${8 + count} bytes): the file is ` +
        `truncated or corrupt; download it again`,
    );
  return b.subarray(8);
}

function checkedLabel(y: number, path: string, where: string): number {
  if (y >= CLASSES)
    throw new DataError(
      `${path}: label ${y} at ${where} is out of range (expected 0..${CLASSES - 1}): the file is corrupt or not ` +
        `a 10-class set`,
    );
  return y;
}

function toUnit(pixels: Uint8Array, out: Float32Array, at = 0): void {
  for (let i = 0; i < pixels.length; i++) out[at + i] = pixels[i]! / 255;
}

async function idxSet(
  imagesFile: string,
  labelsFile: string,
  name: string,
  role: "training" | "test",
): Promise<Dataset> {
  const im = await idxImages(imagesFile);
  const lb = await idxLabels(labelsFile);
  if (lb.length !== im.count)
    throw new DataError(
      `${imagesFile} has ${im.count} images but ${labelsFile} has ${lb.length} labels: they must be the same set`,
    );
  // An empty set would train no step, or report a test accuracy of 0/0 = NaN at the end.
  if (im.count === 0) {
    const why =
      role === "test" ? "training needs held-out images to report its accuracy" : "there is nothing to train on";
    throw new DataError(`${imagesFile} holds no images (its header says 0): ${why}; download the file again`);
  }
  const images = new Float32Array(im.pixels.length);
  toUnit(im.pixels, images);
  const labels = new Int32Array(lb.length);
  for (let i = 0; i < lb.length; i++) labels[i] = checkedLabel(lb[i]!, labelsFile, `index ${i}`);
  return { images, labels, count: im.count, shape: [1, im.h, im.w], classes: CLASSES, name };
}

/** CIFAR-10 binary record: 1 label byte, then 32x32 red, green and blue planes (CHW already). */
const CIFAR_PIXELS = 3 * 32 * 32;
const CIFAR_RECORD = 1 + CIFAR_PIXELS;

function cifarSet(files: string[], name: string): Dataset {
  const parts = files.map((f) => {
    const b = readRaw(f);
    if (b.length === 0 || b.length % CIFAR_RECORD !== 0)
      throw new DataError(
        `${f} has ${b.length} bytes, not a whole number of CIFAR-10 records (${CIFAR_RECORD} bytes each: 1 label ` +
          `+ 3x32x32 pixels): the file is truncated or not a CIFAR-10 binary batch (the Python pickle batches are ` +
          `not read; use cifar-10-binary.tar.gz)`,
      );
    return { f, b };
  });
  const count = parts.reduce((s, p) => s + p.b.length / CIFAR_RECORD, 0);
  const images = new Float32Array(count * CIFAR_PIXELS);
  const labels = new Int32Array(count);
  let n = 0;
  for (const { f, b } of parts)
    for (let o = 0; o < b.length; o += CIFAR_RECORD, n++) {
      labels[n] = checkedLabel(b[o]!, f, `record ${o / CIFAR_RECORD}`);
      toUnit(b.subarray(o + 1, o + CIFAR_RECORD), images, n * CIFAR_PIXELS);
    }
  return { images, labels, count, shape: [3, 32, 32], classes: CLASSES, name };
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

/** The data must fit the model's input and its number of classes; says which side to change. */
export function checkCompatible(d: Dataset, input: [number, number, number], classes: number, inputName: string): void {
  if (d.shape.join("x") !== input.join("x"))
    throw new DataError(
      `${d.name} images are ${d.shape.join("x")} (CxHxW) but the model's input \`${inputName}\` ` +
        `is ${input.join("x")}: ` +
        `declare \`input ${inputName}: f32[N, ${d.shape.join(", ")}]\` in the model, or use data whose images ` +
        `are ${input.join("x")}`,
    );
  if (d.classes > classes)
    throw new DataError(
      `${d.name} has ${d.classes} classes but the model's output has ${classes}: end the model with ${d.classes} ` +
        `outputs (for example dense(${d.classes}))`,
    );
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
