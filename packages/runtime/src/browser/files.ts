// The training page's own data: IDX (MNIST, Fashion-MNIST; each file optionally .gz) or CIFAR-10
// binary batches that the user picks with <input type=file>. The bytes are parsed by the same
// code as `resnetc train --data` (data-parse.ts), so a file the CLI rejects is rejected here with
// the same message.
// Takes: the picked File objects. Gives: one training Dataset. Must not: import from Node (it is
// in the page's bundle), or hold more than MAX_BYTES of one file in memory.
import { cifarDataset, DataError, idxDataset, idxHeader, type Dataset } from "../data-parse.js";

/** The most bytes one picked file may hold, decompressed: MNIST's training images are 47 MB and
 * CIFAR-10's five batches 30 MB each; a tab that asks for more would be killed anyway. */
const MAX_BYTES = 512 * 1024 * 1024;

/** A file's bytes, gunzipped (DecompressionStream) when its name ends in .gz; reading stops once
 * it passes MAX_BYTES, so a gzip bomb fails with a message instead of taking the tab down. */
async function bytesOf(f: File): Promise<Uint8Array> {
  if (!f.name.endsWith(".gz")) {
    if (f.size > MAX_BYTES) throw new DataError(`${f.name} has ${f.size} bytes, more than the page holds`);
    return new Uint8Array(await f.arrayBuffer());
  }
  const reader = f.stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      total += r.value.length;
      if (total > MAX_BYTES) {
        await reader.cancel();
        throw new DataError(`${f.name} decompresses to more than ${MAX_BYTES} bytes: it is corrupt or not data`);
      }
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${f.name} is not a valid gzip file (${(e as Error).message}): unpack it and drop the .gz`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}

/** IDX's test files (t10k-*) and CIFAR's test_batch are held-out sets: trained on only when the
 * user picked nothing else. */
const isTest = (name: string) => /t10k|test/i.test(name);

/** One training set from the picked files: IDX files told apart by their magic number (images
 * 0x803, labels 0x801), CIFAR-10 batches by their .bin name. */
export async function datasetFromFiles(files: readonly File[]): Promise<Dataset> {
  if (!files.length) throw new DataError("pick IDX or CIFAR-10 binary files first (or use ?data=synthetic)");
  const read = await Promise.all(files.map(async (f) => ({ path: f.name, bytes: await bytesOf(f) })));
  const bins = read.filter((r) => /\.bin$/.test(r.path));
  if (bins.length) {
    const train = bins.filter((r) => !isTest(r.path));
    const use = (train.length ? train : bins).sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }));
    return cifarDataset(use, `CIFAR-10 (${use.map((r) => r.path).join(", ")})`);
  }
  const magic = (b: Uint8Array) => (b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0) : -1);
  const pick = (m: number, kind: "images" | "labels") => {
    const all = read.filter((r) => magic(r.bytes) === m);
    const r = all.find((x) => !isTest(x.path)) ?? all[0];
    if (!r) {
      // The header check names what the first file is instead (gzip bytes, the other IDX kind...).
      const other = read.find((x) => magic(x.bytes) !== (m === 0x803 ? 0x801 : 0x803)) ?? read[0]!;
      idxHeader(other.bytes, other.path, kind);
      throw new DataError(`no IDX ${kind} file among ${read.map((x) => x.path).join(", ")}`);
    }
    return r;
  };
  const images = pick(0x803, "images");
  const labels = pick(0x801, "labels");
  return idxDataset(images, labels, `IDX (${images.path}, ${labels.path})`, "training");
}
