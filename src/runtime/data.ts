// Training data for emitted programs: synthetic sets, IDX files (MNIST, Fashion-MNIST) and
// CIFAR-10 binary batches, as NCHW float32 in [0, 1] with int32 labels.
// Takes: a folder or a recipe. Gives: datasets, or a DataError whose message says what is wrong
// with which file and how to fix it. Must not: depend on tfjs.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
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
export class DataError extends Error {}

const CLASSES = 10;

/**
 * Deterministic synthetic images: each class has its own random mean pattern, each sample adds
 * noise, so a smoke run's loss goes down while nothing is read from disk.
 */
export function syntheticDataset(opts: { count: number; shape: [number, number, number]; classes: number; seed: number }): Dataset {
  const [c, h, w] = opts.shape;
  const size = c * h * w;
  const rand = seededRandom(opts.seed);
  const patterns = Array.from({ length: opts.classes }, () => Float32Array.from({ length: size }, () => rand()));
  const images = new Float32Array(opts.count * size);
  const labels = new Int32Array(opts.count);
  for (let i = 0; i < opts.count; i++) {
    const y = i % opts.classes;
    labels[i] = y;
    const p = patterns[y]!;
    for (let j = 0; j < size; j++) images[i * size + j] = Math.min(1, Math.max(0, 0.7 * p[j]! + 0.3 * rand()));
  }
  return { images, labels, count: opts.count, shape: [c, h, w], classes: opts.classes, name: "synthetic" };
}

function read(path: string): Buffer {
  const raw = readFileSync(path);
  return path.endsWith(".gz") ? gunzipSync(raw) : raw;
}

function findFile(dir: string, names: string[]): string | undefined {
  for (const n of names) for (const ext of ["", ".gz"]) if (existsSync(join(dir, n + ext))) return join(dir, n + ext);
  return undefined;
}

function idxImages(path: string): { data: Uint8Array; count: number; h: number; w: number } {
  const b = read(path);
  if (b.length < 16 || b.readUInt32BE(0) !== 0x803) throw new DataError(`${path} is not an IDX image file: the magic number is ${b.length >= 4 ? "0x" + b.readUInt32BE(0).toString(16).padStart(8, "0") : "missing"}, expected 0x00000803`);
  const count = b.readUInt32BE(4);
  const h = b.readUInt32BE(8);
  const w = b.readUInt32BE(12);
  if (b.length !== 16 + count * h * w) throw new DataError(`${path} has ${b.length} bytes, but its header promises ${count} images of ${h}x${w} (${16 + count * h * w} bytes): the file is truncated or corrupt`);
  return { data: b.subarray(16), count, h, w };
}

function idxLabels(path: string): Uint8Array {
  const b = read(path);
  if (b.length < 8 || b.readUInt32BE(0) !== 0x801) throw new DataError(`${path} is not an IDX label file: the magic number is ${b.length >= 4 ? "0x" + b.readUInt32BE(0).toString(16).padStart(8, "0") : "missing"}, expected 0x00000801`);
  const count = b.readUInt32BE(4);
  if (b.length !== 8 + count) throw new DataError(`${path} has ${b.length} bytes, but its header promises ${count} labels (${8 + count} bytes)`);
  return b.subarray(8);
}

function labelsChecked(raw: Uint8Array, path: string): Int32Array {
  const out = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]! >= CLASSES) throw new DataError(`${path}: label ${raw[i]} at index ${i} is out of range (expected 0..${CLASSES - 1})`);
    out[i] = raw[i]!;
  }
  return out;
}

function idxSplit(dir: string, imagesFile: string, labelsFile: string, name: string): Dataset {
  const im = idxImages(imagesFile);
  const lb = idxLabels(labelsFile);
  if (lb.length !== im.count) throw new DataError(`${imagesFile} has ${im.count} images but ${labelsFile} has ${lb.length} labels`);
  const images = new Float32Array(im.data.length);
  for (let i = 0; i < im.data.length; i++) images[i] = im.data[i]! / 255;
  return { images, labels: labelsChecked(lb, labelsFile), count: im.count, shape: [1, im.h, im.w], classes: CLASSES, name: `${name} (${dir})` };
}

function cifarBatches(files: string[], name: string): Dataset {
  const record = 1 + 3 * 32 * 32;
  const parts = files.map((f) => {
    const b = readFileSync(f);
    if (b.length === 0 || b.length % record !== 0) throw new DataError(`${f} has ${b.length} bytes, not a whole number of CIFAR-10 records (${record} bytes each: 1 label + 3x32x32 pixels)`);
    return { f, b };
  });
  const count = parts.reduce((s, p) => s + p.b.length / record, 0);
  const images = new Float32Array(count * 3072);
  const labels = new Int32Array(count);
  let n = 0;
  for (const { f, b } of parts)
    for (let o = 0; o < b.length; o += record, n++) {
      const y = b[o]!;
      if (y >= CLASSES) throw new DataError(`${f}: label ${y} in record ${o / record} is out of range (expected 0..9)`);
      labels[n] = y;
      for (let j = 0; j < 3072; j++) images[n * 3072 + j] = b[o + 1 + j]! / 255;
    }
  return { images, labels, count, shape: [3, 32, 32], classes: CLASSES, name };
}

/** Loads IDX files (MNIST / Fashion-MNIST names, optionally .gz) or CIFAR-10 binary batches. */
export function loadDirectory(dir: string): Split {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataError(`--data ${dir}: no such folder (give a folder of IDX files or CIFAR-10 binary batches, or --data synthetic)`);
  const trainImages = findFile(dir, ["train-images-idx3-ubyte", "train-images.idx3-ubyte"]);
  const trainLabels = findFile(dir, ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"]);
  const testImages = findFile(dir, ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"]);
  const testLabels = findFile(dir, ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"]);
  if (trainImages && trainLabels && testImages && testLabels) return { train: idxSplit(dir, trainImages, trainLabels, "IDX train"), test: idxSplit(dir, testImages, testLabels, "IDX test") };
  const batches = readdirSync(dir).filter((f) => /^data_batch_\d+\.bin$/.test(f)).sort().map((f) => join(dir, f));
  const test = join(dir, "test_batch.bin");
  if (batches.length && existsSync(test)) return { train: cifarBatches(batches, `CIFAR-10 (${dir})`), test: cifarBatches([test], `CIFAR-10 test (${dir})`) };
  throw new DataError(
    `--data ${dir}: found neither IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz) nor CIFAR-10 binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)`,
  );
}

/** The data must fit the model's input and output. */
export function checkCompatible(d: Dataset, input: [number, number, number], classes: number, inputName: string): void {
  if (d.shape.join("x") !== input.join("x"))
    throw new DataError(`${d.name} images are ${d.shape.join("x")} (CxHxW) but the model's input \`${inputName}\` is ${input.join("x")}: change the model's input shape or use other data`);
  if (d.classes > classes) throw new DataError(`${d.name} has ${d.classes} classes but the model's output has ${classes}`);
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function shuffledIndices(n: number, seed: number): Uint32Array {
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx;
}

export function gatherBatch(d: Dataset, idx: Uint32Array, start: number, size: number): { images: Float32Array; labels: Int32Array; size: number } {
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  const n = Math.max(0, Math.min(size, idx.length - start));
  const images = new Float32Array(n * per);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = idx[start + i]!;
    images.set(d.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = d.labels[k]!;
  }
  return { images, labels, size: n };
}
