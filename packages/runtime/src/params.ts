// Checkpoints of an emitted tfjs model on disk: `weights.json` + `weights.bin` (resnetc's
// checkpoint format, which `resnetc compile --target onnx --weights DIR` reads), and the same
// values as `weights.safetensors` (for PyTorch, or `--weights DIR/weights.safetensors`), written
// atomically and read through resnetc/weights's bounded reader. The layouts and initialisation
// are in params-core.ts, which the browser page shares.
// Takes: a folder, a tfjs LayersModel and its PARAMS table. Gives: save/load.
// Must not: write a half checkpoint (both files are renamed into place only when both are whole).

import type * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFilesAtomic } from "resnetc/io";
import { encodeCheckpoint, encodeSafetensors, readCheckpoint } from "resnetc/weights";
import { getParams, setParams, type ParamInfo } from "./params-core.js";

export * from "./params-core.js";

/** Writes DIR/weights.json + DIR/weights.bin + DIR/weights.safetensors (the same values, F32);
 * each file appears whole or not at all. */
export async function saveCheckpoint(
  dir: string,
  model: tf.LayersModel,
  params: readonly ParamInfo[],
  modelName?: string,
): Promise<void> {
  const tensors = await getParams(model, params);
  const { json, bin } = encodeCheckpoint(tensors, modelName);
  // All written before any is renamed; the .bin renamed first, so a manifest never points at a
  // half-written binary.
  writeFilesAtomic([
    [join(dir, "weights.safetensors"), encodeSafetensors(tensors)],
    [join(dir, "weights.bin"), bin],
    [join(dir, "weights.json"), json],
  ]);
}

/** Loads a checkpoint into the model; a string is the reason it could not. */
export function loadCheckpoint(dir: string, model: tf.LayersModel, params: readonly ParamInfo[]): string | undefined {
  // Bounded reads and a checked manifest (resnetc/weights), as `resnetc compile --weights` reads it.
  const tensors = readCheckpoint(dir);
  if (typeof tensors === "string") return tensors;
  for (const p of params) {
    const t = tensors.get(p.name);
    if (!t) return `the checkpoint has no tensor ${p.name}`;
    if (t.dims.join(",") !== p.dims.join(","))
      return `checkpoint tensor ${p.name} has shape [${t.dims}], the model needs [${p.dims}]`;
  }
  setParams(model, params, (p) => tensors.get(p.name)!.data);
  return undefined;
}
