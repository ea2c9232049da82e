// The checkpoint format shared by every backend: `weights.json` (a manifest) + `weights.bin`
// (little-endian float32, tensors back to back). Names and layouts are those of `init.ts`
// (PyTorch state_dict style, NCHW/OIHW), so a checkpoint written by the TypeScript backend's
// training run loads into the ONNX emitter, and a PyTorch state_dict converts with a few lines.
// Takes/gives: bytes and tensors. Must not: touch files (the CLI reads and writes them).

export const CHECKPOINT_FORMAT = "resnetc-weights/1";

export interface Tensor {
  dims: number[];
  data: Float32Array;
}

interface Manifest {
  format: string;
  model?: string;
  tensors: { name: string; dims: number[]; dtype: "float32"; offset: number }[];
}

export function encodeCheckpoint(tensors: ReadonlyMap<string, Tensor>, model?: string): { json: string; bin: Uint8Array } {
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, tensors: [] };
  if (model !== undefined) manifest.model = model;
  let offset = 0;
  for (const [name, t] of tensors) {
    manifest.tensors.push({ name, dims: t.dims, dtype: "float32", offset });
    offset += t.data.length * 4;
  }
  const bin = new Uint8Array(offset);
  const view = new DataView(bin.buffer);
  let o = 0;
  for (const t of tensors.values()) for (const v of t.data) (view.setFloat32(o, v, true), (o += 4));
  return { json: JSON.stringify(manifest, null, 1), bin };
}

/** Parses a checkpoint; a string is the reason it is not one. */
export function decodeCheckpoint(json: string, bin: Uint8Array): Map<string, Tensor> | string {
  let m: Manifest;
  try {
    m = JSON.parse(json) as Manifest;
  } catch (e) {
    return `weights.json is not JSON (${(e as Error).message})`;
  }
  if (m.format !== CHECKPOINT_FORMAT || !Array.isArray(m.tensors)) return `weights.json is not a ${CHECKPOINT_FORMAT} manifest`;
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Map<string, Tensor>();
  for (const t of m.tensors) {
    if (typeof t.name !== "string" || !Array.isArray(t.dims) || t.dims.some((d) => !Number.isInteger(d) || d < 0) || !Number.isInteger(t.offset)) return `malformed entry ${JSON.stringify(t).slice(0, 80)}`;
    if (t.dtype !== "float32") return `tensor ${t.name}: dtype ${t.dtype} (only float32 is supported)`;
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.offset < 0 || t.offset + n * 4 > bin.byteLength) return `tensor ${t.name} runs past the end of weights.bin (${bin.byteLength} bytes)`;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(t.offset + i * 4, true);
    out.set(t.name, { dims: t.dims, data });
  }
  return out;
}
