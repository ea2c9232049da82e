// The byte formats of the training data, parsed from bytes already in memory: IDX (MNIST,
// Fashion-MNIST) and CIFAR-10 binary batches, as NCHW float32 pixels in [0, 1] with int32 labels
// 0..9. Shared by the Node reader (data.ts, which finds, bounds and gunzips the files) and the
// browser's training page (files the user picks), so both accept and reject the same bytes with
// the same messages.
// Takes: bytes and the name to show for them. Gives: datasets, or a DataError that names the file,
// says what is wrong with it and how to fix it.
// Must not: import from Node (the page's bundle includes it), or read files.

export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  /** C, H, W */
  shape: [number, number, number];
  classes: number;
  name: string;
}

/** A problem with the user's data: shown as one clear message, never a stack trace. */
export class DataError extends Error {
  override name = "DataError";
}

/** Both formats we read are 10-class sets; a label of 10 or more means a corrupt or foreign file. */
export const CLASSES = 10;

const hex = (n: number) => "0x" + n.toString(16).padStart(8, "0");

/** The last part of a path, for hints (node:path's basename is not here in a browser). */
const baseName = (path: string) => path.split(/[\\/]/).pop() ?? path;

/** Why a magic number is wrong, when we can tell: gzip bytes in a plain file, or the other IDX kind. */
function magicHint(magic: number, path: string): string {
  if (magic >>> 16 === 0x1f8b) return ` (the file is gzip-compressed: name it ${baseName(path)}.gz or gunzip it)`;
  if (magic === 0x801) return " (that is a label file: are the images and labels files swapped?)";
  if (magic === 0x803) return " (that is an image file: are the images and labels files swapped?)";
  return "";
}

/** IDX headers: magic 0x00000803 = unsigned bytes, 3 dimensions (count, rows, columns);
 * 0x00000801 = 1 dimension (count). */
export const IDX = {
  images: { magic: 0x803, header: 16, kind: "image" },
  labels: { magic: 0x801, header: 8, kind: "label" },
} as const;

/** Checks an IDX header and gives its dims and the size the whole file must have. The caller
 * bounds that size (each side has its own limit on what it will hold in memory). */
export function idxHeader(
  b: Uint8Array,
  path: string,
  what: keyof typeof IDX,
): { count: number; h: number; w: number; size: number } {
  const f = IDX[what];
  if (b.length < f.header)
    throw new DataError(
      `${path} has ${b.length} bytes, too few for an IDX ${f.kind} header (${f.header} bytes): the file is ` +
        `truncated or not an IDX file`,
    );
  // IDX numbers are big-endian (DataView's default).
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0);
  if (magic !== f.magic)
    throw new DataError(
      `${path} is not an IDX ${f.kind} file: the magic number is ${hex(magic)}, ` +
        `expected ${hex(f.magic)}${magicHint(magic, path)}`,
    );
  const count = v.getUint32(4);
  const [h, w] = what === "images" ? [v.getUint32(8), v.getUint32(12)] : [1, 1];
  return { count, h, w, size: f.header + count * h * w };
}

/** An IDX image file's whole bytes: its pixels and dims, the length checked against the header. */
export function parseIdxImages(
  b: Uint8Array,
  path: string,
): { pixels: Uint8Array; count: number; h: number; w: number } {
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

/** An IDX label file's whole bytes: its labels, the length checked against the header. */
export function parseIdxLabels(b: Uint8Array, path: string): Uint8Array {
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

/** A dataset from the bytes of an IDX image file and its label file. */
export function idxDataset(
  images: { bytes: Uint8Array; path: string },
  labels: { bytes: Uint8Array; path: string },
  name: string,
  role: "training" | "test",
): Dataset {
  const im = parseIdxImages(images.bytes, images.path);
  const lb = parseIdxLabels(labels.bytes, labels.path);
  if (lb.length !== im.count)
    throw new DataError(
      `${images.path} has ${im.count} images but ${labels.path} has ${lb.length} labels: they must be the same set`,
    );
  // An empty set would train no step, or report a test accuracy of 0/0 = NaN at the end.
  if (im.count === 0) {
    const why =
      role === "test" ? "training needs held-out images to report its accuracy" : "there is nothing to train on";
    throw new DataError(`${images.path} holds no images (its header says 0): ${why}; download the file again`);
  }
  const out = new Float32Array(im.pixels.length);
  toUnit(im.pixels, out);
  const ys = new Int32Array(lb.length);
  for (let i = 0; i < lb.length; i++) ys[i] = checkedLabel(lb[i]!, labels.path, `index ${i}`);
  return { images: out, labels: ys, count: im.count, shape: [1, im.h, im.w], classes: CLASSES, name };
}

/** CIFAR-10 binary record: 1 label byte, then 32x32 red, green and blue planes (CHW already). */
const CIFAR_PIXELS = 3 * 32 * 32;
const CIFAR_RECORD = 1 + CIFAR_PIXELS;

/** Throws unless the bytes are a whole number of CIFAR-10 records. */
export function checkCifarBatch(b: Uint8Array, f: string): void {
  if (b.length === 0 || b.length % CIFAR_RECORD !== 0)
    throw new DataError(
      `${f} has ${b.length} bytes, not a whole number of CIFAR-10 records (${CIFAR_RECORD} bytes each: 1 label ` +
        `+ 3x32x32 pixels): the file is truncated or not a CIFAR-10 binary batch (the Python pickle batches are ` +
        `not read; use cifar-10-binary.tar.gz)`,
    );
}

/** A dataset from the bytes of one or more CIFAR-10 binary batches, in order. */
export function cifarDataset(files: { bytes: Uint8Array; path: string }[], name: string): Dataset {
  for (const { path, bytes } of files) checkCifarBatch(bytes, path);
  const count = files.reduce((s, p) => s + p.bytes.length / CIFAR_RECORD, 0);
  const images = new Float32Array(count * CIFAR_PIXELS);
  const labels = new Int32Array(count);
  let n = 0;
  for (const { path: f, bytes: b } of files)
    for (let o = 0; o < b.length; o += CIFAR_RECORD, n++) {
      labels[n] = checkedLabel(b[o]!, f, `record ${o / CIFAR_RECORD}`);
      toUnit(b.subarray(o + 1, o + CIFAR_RECORD), images, n * CIFAR_PIXELS);
    }
  return { images, labels, count, shape: [3, 32, 32], classes: CLASSES, name };
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
