// NumPy's .npy files, the input and output format of `resnetc predict`: read versions 1.0, 2.0
// and 3.0 holding little-endian float32, float64, int32 or int64 in C order (every dtype
// becomes float32), and write version 1.0 '<f4' in C order.
// Takes: a path or bytes (reading), a shape and float32 values (writing). Gives: { shape, data },
// or throws NpyError with a one-line message that names the file and what is wrong in it.
// Must not: trust any field of the header (a file can come from anywhere), read more than its
// limit (readFileLimited), accept data that disagree with the header's shape, or write a partial
// file (writeFileAtomic).

import { writeFileAtomic } from "./atomic-write.js";
import { readFileLimited, ReadFileError } from "./read-file.js";

export class NpyError extends Error {
  override name = "NpyError";
}

export interface NpyArray {
  /** Dims in C order; [] is a scalar. */
  shape: number[];
  /** The values as float32, C order. */
  data: Float32Array;
  /** The dtype the file held: "<f4", "<f8", "<i4" or "<i8". */
  dtype: string;
}

/** Largest .npy file read: a batch of inputs, not a data set. */
export const NPY_LIMIT = 1024 * 1024 * 1024;
/** numpy itself refuses headers over 10,000 bytes by default; this leaves room for any shape. */
const HEADER_LIMIT = 1024 * 1024;
/** numpy's own limit on the number of dims. */
const MAX_RANK = 64;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<string, number> = { "<f4": 4, "<f8": 8, "<i4": 4, "<i8": 8 };

/** A header value quoted in a message: short, printable. */
const shown = (s: string): string => {
  const t = s.replace(/[^\x20-\x7e]/g, "?");
  return t.length > 40 ? `${t.slice(0, 40)}...` : t;
};

/** Parses the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. */
function parseHeader(text: string, fail: (why: string) => never): { descr: string; fortran: boolean; shape: number[] } {
  const body = text.trim();
  if (!body.startsWith("{") || !body.endsWith("}"))
    fail(`the header is not a Python dict literal (found ${shown(body)})`);
  const fields = new Map<string, string>();
  // Keys are quoted strings; values are a quoted string, True/False, or a tuple of integers.
  const re = /\s*['"]([a-z_]+)['"]\s*:\s*('[^']*'|"[^"]*"|True|False|\([^()]*\)|\[[^\]]*\])\s*(,|$)/y;
  let at = 1;
  const inner = body.slice(0, -1);
  while (at < inner.length && inner.slice(at).trim() !== "") {
    re.lastIndex = at;
    const m = re.exec(inner);
    if (!m) fail(`cannot parse the header at ${shown(inner.slice(at).trim())}`);
    if (fields.has(m[1]!)) fail(`the header names '${m[1]}' twice`);
    fields.set(m[1]!, m[2]!);
    at = re.lastIndex;
  }
  for (const k of ["descr", "fortran_order", "shape"])
    if (!fields.has(k)) fail(`the header has no '${k}' (it has ${[...fields.keys()].join(", ") || "nothing"})`);
  const extra = [...fields.keys()].filter((k) => !["descr", "fortran_order", "shape"].includes(k));
  if (extra.length) fail(`the header has unknown keys: ${extra.join(", ")}`);
  const d = fields.get("descr")!;
  if (d.startsWith("[")) fail("structured (record) dtypes are not supported; save a plain float32 array");
  if (d.startsWith("(")) fail(`'descr' must be a dtype string, found ${shown(d)}`);
  const descr = d.slice(1, -1);
  const f = fields.get("fortran_order")!;
  if (f !== "True" && f !== "False") fail(`'fortran_order' must be True or False, found ${shown(f)}`);
  const s = fields.get("shape")!;
  if (!s.startsWith("(")) fail(`'shape' must be a tuple of whole numbers, found ${shown(s)}`);
  const parts = s
    .slice(1, -1)
    .split(",")
    .map((p) => p.trim());
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length > MAX_RANK) fail(`the shape has ${parts.length} dims; at most ${MAX_RANK} are supported`);
  const shape = parts.map((p) => {
    if (!/^\d+L?$/.test(p)) fail(`'shape' must be a tuple of whole numbers, found ${shown(s)}`);
    const n = Number(p.replace("L", ""));
    if (!Number.isSafeInteger(n)) fail(`the shape ${shown(s)} has a dim too large to hold`);
    return n;
  });
  return { descr, fortran: f === "True", shape };
}

/** Describes a dtype numpy can write that this reader does not take. */
function unsupported(descr: string): string {
  const order = descr[0];
  const kind = descr.slice(1);
  if (order === ">" && ["f4", "f8", "i4", "i8", "f2", "i2"].includes(kind))
    return `it holds big-endian '${shown(descr)}' values; save little-endian data (numpy: a.astype('<f4'))`;
  if (kind === "O") return "it holds Python objects (dtype object); save a numeric array (a.astype('float32'))";
  return (
    `its dtype '${shown(descr)}' is not supported; save float32 ('<f4'), float64, int32 or int64 ` +
    `(numpy: a.astype('float32'))`
  );
}

/** Reads .npy bytes; `file` names them in messages. */
export function parseNpy(bytes: Uint8Array, file = "array.npy"): NpyArray {
  const fail = (why: string): never => {
    throw new NpyError(`${file}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    fail("not a .npy file (it does not start with \\x93NUMPY)");
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0)
    fail(`.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pre = major === 1 ? 10 : 12;
  if (bytes.length < pre) fail("the file ends inside its preamble");
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLen > HEADER_LIMIT) fail(`the header is ${headerLen} bytes long, more than the ${HEADER_LIMIT} allowed`);
  if (pre + headerLen > bytes.length)
    fail(`the header says it is ${headerLen} bytes long, but the file ends after ${bytes.length - pre}`);
  const raw = bytes.subarray(pre, pre + headerLen);
  // Versions 1 and 2 hold latin-1 (ASCII in practice); version 3, UTF-8.
  const text =
    major === 3 ? new TextDecoder("utf-8", { fatal: false }).decode(raw) : Buffer.from(raw).toString("latin1");
  if (!text.endsWith("\n")) fail("the header does not end with a newline");
  const { descr, fortran, shape } = parseHeader(text, fail);
  const size = DTYPES[descr];
  if (size === undefined) fail(unsupported(descr));
  if (fortran) fail("it is in Fortran (column-major) order; save a C-order array (numpy: np.ascontiguousarray(a))");
  const count = shape.reduce((a, b) => a * b, 1);
  const start = pre + headerLen;
  const have = bytes.length - start;
  if (count * size! !== have)
    fail(
      `the header's shape (${shape.join(", ")}) of '${descr}' needs ${count * size!} data bytes, ` +
        `but the file has ${have}${have < count * size! ? " (truncated?)" : ""}`,
    );
  const data = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + start, have);
  if (descr === "<f4") for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
  else if (descr === "<f8") for (let i = 0; i < count; i++) data[i] = dv.getFloat64(i * 8, true);
  else if (descr === "<i4") for (let i = 0; i < count; i++) data[i] = dv.getInt32(i * 4, true);
  else for (let i = 0; i < count; i++) data[i] = Number(dv.getBigInt64(i * 8, true));
  return { shape, data, dtype: descr };
}

/** Reads a .npy file of at most `limit` bytes; `shownAs` names it in messages (default: the path). */
export function readNpy(path: string, opts: { limit?: number; shownAs?: string } = {}): NpyArray {
  const name = opts.shownAs ?? path;
  let bytes: Buffer;
  try {
    bytes = readFileLimited(path, { limit: opts.limit ?? NPY_LIMIT, what: "a .npy input" });
  } catch (e) {
    if (e instanceof ReadFileError) throw new NpyError(`cannot read ${name}: ${e.reason}`);
    throw e;
  }
  return parseNpy(bytes, name);
}

/** A .npy version 1.0 file of '<f4' values in C order (version 2.0 only if the header needs it). */
export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new Error(`encodeNpy: shape [${shape.join(", ")}] holds ${count} values, not ${data.length}`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  const v1 = dict.length + 1 + 10 <= 0xffff;
  const pre = v1 ? 10 : 12;
  // The data start at a multiple of 64 bytes (numpy's alignment), the header ends with "\n".
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, " ") + "\n";
  const out = new Uint8Array(total + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, "latin1"), pre);
  for (let i = 0; i < data.length; i++) view.setFloat32(total + i * 4, data[i]!, true);
  return out;
}

/** Writes a .npy file atomically: readers see the old file or the whole new one. */
export function writeNpy(path: string, shape: readonly number[], data: Float32Array): void {
  writeFileAtomic(path, encodeNpy(shape, data));
}
