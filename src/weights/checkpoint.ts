// The checkpoint format shared by every backend: `weights.json` (a manifest) + `weights.bin`
// (little-endian float32, tensors at the manifest's offsets). Names and layouts are those of
// `init.ts` (PyTorch state_dict style, NCHW/OIHW), so a checkpoint written by the TypeScript
// backend's training run loads into the ONNX emitter, and a PyTorch state_dict converts with a
// few lines. The training runtime keeps its optimizer state in the same format (`optimizer.*`).
// Takes: bytes and tensors; or a folder, read through resnetc/io's bounded reader. Gives: tensors,
// or a one-line reason naming the file and the field that is wrong. Must not: write files, trust
// any field of a manifest (a checkpoint can come from anywhere), or accept a value that is not
// finite (a diverged run is never saved, so NaN in a checkpoint means corruption).

import { statSync } from "node:fs";
import { join } from "node:path";
import { formatBytes, readFileLimited, ReadFileError } from "../io/read-file.js";
import { CHECKPOINT_FORMAT, type Entry, type Manifest, type Tensor } from "./encode.js";
import { decodeSafetensors, SAFETENSORS_HEADER_LIMIT } from "./safetensors.js";

export { CHECKPOINT_FORMAT, encodeCheckpoint, type Manifest, type Tensor } from "./encode.js";

/** A manifest lists names and shapes: megabytes even for 10^5 tensors. */
export const MANIFEST_LIMIT = 64 * 1024 * 1024;
/** ONNX's own 2 GiB model limit: a larger checkpoint could not be emitted anyway. */
export const BIN_LIMIT = 2 * 1024 * 1024 * 1024;
/** Dimensions of a tensor: ONNX and PyTorch models stay far below this. */
const MAX_RANK = 8;

/** A value quoted in a message: short, and never raw bytes of a hostile file. */
const shown = (v: unknown): string => (v === undefined ? "nothing" : (JSON.stringify(v) ?? String(v)).slice(0, 60));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses and checks weights.json: every field's type and range, and that no two tensors share bytes. */
export function parseManifest(json: string, file = "weights.json"): Manifest | string {
  let m: unknown;
  try {
    m = JSON.parse(json);
  } catch (e) {
    return `${file} is not JSON (${(e as Error).message})`;
  }
  if (!isObject(m)) return `${file}: expected an object with "format" and "tensors", found ${shown(m)}`;
  if (m.format !== CHECKPOINT_FORMAT) return `${file}: "format" is ${shown(m.format)}, expected "${CHECKPOINT_FORMAT}"`;
  if (m.model !== undefined && typeof m.model !== "string")
    return `${file}: "model" must be a string, found ${shown(m.model)}`;
  if (!Array.isArray(m.tensors)) return `${file}: "tensors" must be a list, found ${shown(m.tensors)}`;
  const tensors: Entry[] = [];
  const seen = new Map<string, number>();
  for (const [i, t] of (m.tensors as unknown[]).entries()) {
    const at = `${file}: tensors[${i}]`;
    if (!isObject(t)) return `${at} must be an object with name, dims, dtype and offset, found ${shown(t)}`;
    if (typeof t.name !== "string" || t.name === "")
      return `${at}.name must be a non-empty string, found ${shown(t.name)}`;
    if (seen.has(t.name)) return `${at}.name ${shown(t.name)} is also tensors[${seen.get(t.name)}]'s`;
    seen.set(t.name, i);
    const d = t.dims;
    if (!Array.isArray(d) || d.length > MAX_RANK || d.some((x) => !Number.isSafeInteger(x) || (x as number) < 0))
      return `${at}.dims (${t.name}) must be a list of at most ${MAX_RANK} whole numbers >= 0, found ${shown(d)}`;
    const dims = d as number[];
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    if (bytes > BIN_LIMIT)
      return (
        `${at}.dims (${t.name}) ${shown(dims)} make ${formatBytes(bytes)}, more than ` +
        `the ${formatBytes(BIN_LIMIT)} a checkpoint can hold`
      );
    if (t.dtype !== "float32") return `${at}.dtype (${t.name}) is ${shown(t.dtype)}; only "float32" is supported`;
    if (!Number.isSafeInteger(t.offset) || (t.offset as number) < 0 || (t.offset as number) > BIN_LIMIT)
      return (
        `${at}.offset (${t.name}) must be a whole number of bytes from 0 to ${BIN_LIMIT}, ` + `found ${shown(t.offset)}`
      );
    tensors.push({ name: t.name, dims, dtype: "float32", offset: t.offset as number });
  }
  // Two tensors on the same bytes (every offset 0, say) would load, and silently alias.
  const spans = tensors
    .map((t, i) => ({ i, start: t.offset, end: t.offset + t.dims.reduce((a, b) => a * b, 1) * 4 }))
    .filter((s) => s.end > s.start);
  spans.sort((a, b) => a.start - b.start);
  for (let k = 1; k < spans.length; k++) {
    const [a, b] = [spans[k - 1]!, spans[k]!];
    if (b.start < a.end)
      return (
        `${file}: tensors[${b.i}] (${tensors[b.i]!.name}) at offset ${b.start} overlaps tensors[${a.i}] ` +
        `(${tensors[a.i]!.name}), bytes ${a.start}..${a.end}`
      );
  }
  const byteLength = spans.reduce((e, s) => Math.max(e, s.end), 0);
  return { format: CHECKPOINT_FORMAT, ...(typeof m.model === "string" ? { model: m.model } : {}), tensors, byteLength };
}

/** The tensors of a checked manifest, from its binary: each within it, each value finite. */
export function decodeTensors(m: Manifest, bin: Uint8Array, file = "weights.bin"): Map<string, Tensor> | string {
  if (bin.byteLength !== m.byteLength)
    return (
      `${file} has ${bin.byteLength} bytes, but its manifest's ` +
      `tensors ${bin.byteLength < m.byteLength ? "run to" : "end at"} ` +
      `byte ${m.byteLength}: ` +
      `${bin.byteLength < m.byteLength ? "the file is truncated" : "the two files do not belong together"}`
    );
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Map<string, Tensor>();
  for (const t of m.tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = view.getFloat32(t.offset + i * 4, true);
      if (!Number.isFinite(v))
        return (
          `${file}: tensor ${t.name} holds ${v} at element ${i}: the checkpoint is corrupt (a diverged run ` +
          `is never saved)`
        );
      data[i] = v;
    }
    out.set(t.name, { dims: t.dims, data });
  }
  return out;
}

/** Parses a checkpoint; a string is the reason it is not one. */
export function decodeCheckpoint(
  json: string,
  bin: Uint8Array,
  files = { json: "weights.json", bin: "weights.bin" },
): Map<string, Tensor> | string {
  const m = parseManifest(json, files.json);
  return typeof m === "string" ? m : decodeTensors(m, bin, files.bin);
}

/** A path `--weights` reads as one safetensors file rather than a checkpoint folder: its name ends
 * in .safetensors and it is not a folder (a run folder may have any name). */
export const isSafetensorsPath = (path: string): boolean =>
  path.toLowerCase().endsWith(".safetensors") && !statSync(path, { throwIfNoEntry: false })?.isDirectory();

/**
 * Reads a .safetensors file (a PyTorch state_dict, or what `resnetc train` writes beside its
 * checkpoint) through the bounded reader: the file's real size is the most it allocates, and its
 * header is checked against that size before any tensor is (safetensors.ts).
 */
export function readSafetensors(path: string): Map<string, Tensor> | string {
  try {
    const bytes = readFileLimited(path, {
      limit: 8 + SAFETENSORS_HEADER_LIMIT + BIN_LIMIT,
      what: "a safetensors file",
    });
    const r = decodeSafetensors(bytes, path);
    return typeof r === "string" ? r : r.tensors;
  } catch (e) {
    if (e instanceof ReadFileError) return e.message;
    throw e;
  }
}

/**
 * Reads PATH.safetensors (a path ending in .safetensors: readSafetensors), or else
 * DIR/BASE.json + DIR/BASE.bin (BASE "weights" by default). The manifest is read first and
 * checked, so the binary is read with its exact size as the limit: a link to /dev/zero or a huge
 * file is refused before any large allocation.
 */
export function readCheckpoint(dir: string, base = "weights"): Map<string, Tensor> | string {
  if (base === "weights" && isSafetensorsPath(dir)) return readSafetensors(dir);
  const jsonPath = join(dir, `${base}.json`);
  const binPath = join(dir, `${base}.bin`);
  try {
    const m = parseManifest(
      readFileLimited(jsonPath, { limit: MANIFEST_LIMIT, what: "a checkpoint manifest" }).toString("utf8"),
      jsonPath,
    );
    if (typeof m === "string") return m;
    const bin = readFileLimited(binPath, {
      limit: m.byteLength,
      what: `${base}.bin (the tensors ${base}.json lists take ${m.byteLength} bytes)`,
    });
    return decodeTensors(m, bin, binPath);
  } catch (e) {
    if (e instanceof ReadFileError) return e.message;
    throw e;
  }
}
