// The safetensors format (https://github.com/huggingface/safetensors), which PyTorch and Hugging
// Face use for state_dicts: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}, then the tensors'
// bytes (offsets count from the end of the header). resnetc reads it as it reads its own
// checkpoint folder (`--weights model.safetensors`), and `resnetc train` writes one beside it.
// Takes: a file's bytes (from anywhere: hostile until checked), or named float32 tensors.
// Gives: float32 tensors (F32, F64, F16 and BF16 converted; I64/I32 read exactly or refused), the
// names it ignored (PyTorch's scalar `*.num_batches_tracked` counters), or a one-line reason
// naming the file and the entry that is wrong; for writing, the bytes of an F32 file.
// Must not: import anything from Node (the browser bundle shares the writer), allocate for a
// tensor before its claimed size is checked against the file's real size, or accept overlapping
// tensors or a value that is not finite in float32.

import type { Tensor } from "./encode.js";

/** The JSON header: names, shapes and offsets; 100 MB is far beyond any real model's. */
export const SAFETENSORS_HEADER_LIMIT = 100 * 1000 * 1000;
/** Dimensions of a tensor, as for resnetc's own checkpoints. */
const MAX_RANK = 8;

/** Bytes per element of each dtype resnetc reads. */
const ITEM_SIZE: Readonly<Record<string, number>> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4 };

export interface Safetensors {
  tensors: Map<string, Tensor>;
  /** The `__metadata__` strings ({} when the file has none). */
  metadata: Record<string, string>;
  /** Names read but left out: BatchNorm's `num_batches_tracked` counters (a scalar, I64 as PyTorch
   * saves it), which no resnetc model has. */
  ignored: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A value quoted in a message: short, and safe on any JSON (a million nested lists overflow the
 * stack of JSON.stringify). */
function shown(v: unknown): string {
  if (v === undefined) return "nothing";
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 60);
  } catch {
    return Array.isArray(v) ? "a deeply nested list" : "a deeply nested object";
  }
}

/** BatchNorm's step counter in a PyTorch state_dict: a scalar, meaningless for inference. */
const isBatchCounter = (name: string, numel: number): boolean =>
  (name === "num_batches_tracked" || name.endsWith(".num_batches_tracked")) && numel <= 1;

/** IEEE half -> float32 (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Parses a safetensors file; a string is the reason it is not a usable one. */
export function decodeSafetensors(bytes: Uint8Array, file = "model.safetensors"): Safetensors | string {
  if (bytes.byteLength < 8)
    return `${file} is ${bytes.byteLength} bytes, too short for a safetensors file (an 8-byte header length first)`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_HEADER_LIMIT))
    return (
      `${file}: the header length is ${n} bytes, ` +
      `more than the ${SAFETENSORS_HEADER_LIMIT} a safetensors header may have`
    );
  const headerLength = Number(n);
  if (8 + headerLength > bytes.byteLength)
    return (
      `${file}: the header length is ${headerLength} bytes, but the file has only ${bytes.byteLength - 8} ` + `after it`
    );
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return `${file}: the header is not UTF-8`;
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return `${file}: the header is not JSON (${(e as Error).message})`;
  }
  if (!isObject(header)) return `${file}: the header must be a JSON object of tensors, found ${shown(header)}`;
  const data = bytes.subarray(8 + headerLength);
  const dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);

  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number; numel: number }[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (e === null) continue;
      if (!isObject(e) || Object.values(e).some((v) => typeof v !== "string"))
        return `${file}: "__metadata__" must be an object of strings, found ${shown(e)}`;
      metadata = Object.fromEntries(Object.entries(e)) as Record<string, string>;
      continue;
    }
    const at = `${file}: tensor ${shown(name)}`;
    if (name === "") return `${file}: a tensor has an empty name`;
    if (!isObject(e)) return `${at} must be an object with dtype, shape and data_offsets, found ${shown(e)}`;
    const { dtype, shape, data_offsets: offsets } = e;
    if (typeof dtype !== "string" || !Object.hasOwn(ITEM_SIZE, dtype))
      return `${at} has dtype ${shown(dtype)}; resnetc reads F32, F64, F16, BF16, I64 and I32`;
    if (
      !Array.isArray(shape) ||
      shape.length > MAX_RANK ||
      shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)
    )
      return `${at}: shape must be a list of at most ${MAX_RANK} whole numbers >= 0, found ${shown(shape)}`;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0) ||
      (offsets[0] as number) > (offsets[1] as number)
    )
      return `${at}: data_offsets must be [begin, end], whole numbers with 0 <= begin <= end, found ${shown(offsets)}`;
    const [begin, end] = offsets as [number, number];
    if (end > data.byteLength)
      return (
        `${at}: data_offsets ${shown(offsets)} run past the end of the data (${data.byteLength} bytes): ` +
        `the file is truncated`
      );
    // The element count, stopping as soon as it passes what the bytes could hold: a claimed shape
    // of [1e9, 1e9] is refused here, never multiplied out or allocated.
    const itemSize = ITEM_SIZE[dtype]!;
    let numel = shape.includes(0) ? 0 : 1;
    let over = false;
    for (const d of shape as number[]) {
      numel *= d;
      if (numel * itemSize > end - begin) {
        over = true;
        break;
      }
    }
    if (numel * itemSize !== end - begin)
      return (
        `${at}: shape ${shown(shape)} of ${dtype} needs ${over ? "at least " : ""}${numel * itemSize} bytes, ` +
        `but data_offsets ${shown(offsets)} hold ${end - begin}`
      );
    entries.push({ name, dtype, shape: shape as number[], begin, end, numel });
  }
  // Two tensors on the same bytes would load, and silently alias.
  const spans = entries.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let k = 1; k < spans.length; k++) {
    const [a, b] = [spans[k - 1]!, spans[k]!];
    if (b.begin < a.end)
      return (
        `${file}: tensor ${shown(b.name)} (bytes ${b.begin}..${b.end}) ` +
        `overlaps ${shown(a.name)} (${a.begin}..${a.end})`
      );
  }

  // bfloat16 is the top half of a float32: its bits shifted up, read back through a shared word.
  const float = new Float32Array(1);
  const bits = new Uint32Array(float.buffer);
  const tensors = new Map<string, Tensor>();
  const ignored: string[] = [];
  for (const t of entries) {
    if (isBatchCounter(t.name, t.numel)) {
      ignored.push(t.name);
      continue;
    }
    const out = new Float32Array(t.numel);
    const at = (i: number): number => t.begin + i * ITEM_SIZE[t.dtype]!;
    for (let i = 0; i < t.numel; i++) {
      let v: number;
      switch (t.dtype) {
        case "F32":
          v = dataView.getFloat32(at(i), true);
          break;
        case "F64":
          v = dataView.getFloat64(at(i), true);
          break;
        case "F16":
          v = halfToFloat(dataView.getUint16(at(i), true));
          break;
        case "BF16":
          bits[0] = dataView.getUint16(at(i), true) << 16;
          v = float[0]!;
          break;
        case "I32":
          v = dataView.getInt32(at(i), true);
          break;
        default: {
          const big = dataView.getBigInt64(at(i), true);
          v = Number(big);
          if (BigInt(v) !== big) v = NaN;
        }
      }
      out[i] = v;
      if (!Number.isFinite(out[i]!) || ((t.dtype === "I32" || t.dtype === "I64") && out[i] !== v))
        return (
          `${file}: tensor ${shown(t.name)} ` +
          `holds ${t.dtype.startsWith("I") ? "an integer that float32 cannot hold" : v} ` +
          `at element ${i}${Number.isFinite(v) ? " (beyond float32's range)" : ""}: resnetc needs finite float32 values`
        );
    }
    tensors.set(t.name, { dims: t.shape, data: out });
  }
  return { tensors, metadata, ignored };
}

/**
 * An F32 safetensors file of `tensors`, names in sorted order (in the header and in the data),
 * `__metadata__` {"format": "pt"} as PyTorch's writer has it, the header padded with spaces to
 * 8 bytes as the reference implementation pads it.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, Tensor>,
  metadata: Readonly<Record<string, string>> = { format: "pt" },
): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts = [`${JSON.stringify("__metadata__")}:${JSON.stringify(metadata)}`];
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const entry = { dtype: "F32", shape: t.dims, data_offsets: [offset, offset + t.data.length * 4] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    offset += t.data.length * 4;
  }
  let header = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(header);
    header = p;
  }
  const out = new Uint8Array(8 + header.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let o = 8 + header.length;
  for (const name of names) for (const v of tensors.get(name)!.data) (view.setFloat32(o, v, true), (o += 4));
  return out;
}
