// The writing half of the checkpoint format (see checkpoint.ts): tensors -> `weights.json` text +
// `weights.bin` bytes. A module of its own because the training page (`compile --target web`)
// bundles it for the browser, where checkpoint.ts's reader (node:fs, node:path) cannot go.
// Takes: named tensors. Gives: the manifest text and the little-endian float32 bytes.
// Must not: import anything from Node.

export const CHECKPOINT_FORMAT = "resnetc-weights/1";

export interface Tensor {
  dims: number[];
  data: Float32Array;
}

export interface Entry {
  name: string;
  dims: number[];
  dtype: "float32";
  offset: number;
}

export interface Manifest {
  format: string;
  model?: string;
  tensors: Entry[];
  /** Where the last tensor ends: the size weights.bin must have. */
  byteLength: number;
}

export function encodeCheckpoint(
  tensors: ReadonlyMap<string, Tensor>,
  model?: string,
): { json: string; bin: Uint8Array } {
  const manifest: Omit<Manifest, "byteLength"> = { format: CHECKPOINT_FORMAT, tensors: [] };
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
