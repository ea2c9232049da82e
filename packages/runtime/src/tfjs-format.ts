// Saves and loads a trained model in TensorFlow.js's own format (model.json + weights.bin in a
// folder), beside resnetc's checkpoint, so `tf.loadLayersModel` users can read it back: the
// custom layers are registered first. Works on every backend: it writes through a save handler
// instead of tfjs-node's file:// router, which the pure-JS backends lack.
// Takes: a model and a folder. Gives: files / a LayersModel. Must not: change weights.

import * as tf from "@tensorflow/tfjs";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic as atomic } from "resnetc/io";
import { registerCustomLayers } from "./layers.js";

const MODEL = "model.json";
const WEIGHTS = "model.weights.bin";

export async function saveTfjsModel(dir: string, model: tf.LayersModel): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(tf.io.concatenateArrayBuffers(data as ArrayBuffer[]));
      atomic(join(dir, WEIGHTS), bytes);
      const json = {
        format: "layers-model",
        generatedBy: "resnetc",
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS], weights: artifacts.weightSpecs }],
      };
      atomic(join(dir, MODEL), JSON.stringify(json));
      return {
        modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: "JSON", weightDataBytes: bytes.byteLength },
      };
    }),
  );
}

export async function loadTfjsModel(dir: string): Promise<tf.LayersModel> {
  registerCustomLayers();
  const json = JSON.parse(readFileSync(join(dir, MODEL), "utf8")) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const bin = readFileSync(join(dir, WEIGHTS));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData }),
  );
}
