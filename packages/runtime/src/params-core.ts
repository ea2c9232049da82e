// Parameters of an emitted tfjs model in canonical form: initialise them exactly as the ONNX
// emitter does (same seed, same names, same values), and move them to and from resnetc's
// checkpoint format (`weights.json` + `weights.bin`, PyTorch state_dict names and layouts).
// Takes: a tfjs LayersModel and the PARAMS table its model.ts exports. Gives: set/get of
// canonical tensors (reading and writing checkpoint files: params.ts). Must not: know which op a
// layer came from beyond the table's `layout`; import anything from Node (the browser loads it).

import * as tf from "@tensorflow/tfjs";
// The initialisers belong to the compiler (resnetc/weights): the ONNX emitter and this runtime
// must draw the same numbers. The browser entry of that module, as the training page of
// `compile --target web` bundles this file and must find nothing from Node in it.
import { fill, type Init, type Tensor } from "resnetc/weights/browser";

/** How a canonical tensor maps onto one weight of a tfjs layer. */
export type Layout =
  /** conv [out, in, ...k] <-> tfjs [...k, in, out] (any number of spatial dims: conv1d [k, in, out],
   * conv2d [kh, kw, in, out], conv3d [kd, kh, kw, in, out]) */
  | "oihw"
  /** depthwise conv [c*m, 1, kh, kw] <-> tfjs [kh, kw, c, m] */
  | "dw"
  /** dense [out, in] <-> tfjs [in, out] */
  | "oi"
  /** vectors (bias, BN, gates): the same */
  | "same";

export interface ParamInfo {
  /** Canonical name, as in ONNX initializers and checkpoints: `layer1.0.conv1.weight`. */
  name: string;
  /** The tfjs layer that holds it, and the index in `layer.getWeights()`. */
  layer: string;
  index: number;
  /** Canonical dims. */
  dims: number[];
  layout: Layout;
  init: Init;
  learnable: boolean;
  /** Input channels of a depthwise conv (layout "dw"). */
  channels?: number;
}

/** Canonical -> tfjs. */
export function toTfjs(p: ParamInfo, data: Float32Array): tf.Tensor {
  const d = p.dims;
  switch (p.layout) {
    case "oihw":
      // [O, I, k_0..k_{n-1}] -> [k_0..k_{n-1}, I, O]
      return tf.tidy(() => tf.transpose(tf.tensor(data, d), [...d.slice(2).map((_, i) => i + 2), 1, 0]));
    case "dw": {
      // [c*m, 1, kh, kw] -> [c, m, kh, kw] -> [kh, kw, c, m]
      const c = p.channels ?? d[0]!;
      return tf.tidy(() => tf.transpose(tf.reshape(tf.tensor(data, d), [c, d[0]! / c, d[2]!, d[3]!]), [2, 3, 0, 1]));
    }
    case "oi":
      return tf.tidy(() => tf.transpose(tf.tensor(data, d), [1, 0]));
    case "same":
      return tf.tensor(data, d);
  }
}

/** tfjs -> canonical. Read asynchronously: the webgpu backend has no synchronous read in Node
 * (its readSync draws through an OffscreenCanvas), and on a GPU an async read does not stall. */
export async function fromTfjs(p: ParamInfo, t: tf.Tensor): Promise<Float32Array> {
  const canonical = tf.tidy(() => {
    switch (p.layout) {
      case "oihw": {
        // [k_0..k_{n-1}, I, O] -> [O, I, k_0..k_{n-1}]
        const r = t.rank;
        return tf.transpose(t, [r - 1, r - 2, ...t.shape.slice(0, r - 2).map((_, i) => i)]);
      }
      case "dw": {
        const [kh, kw, c, m] = t.shape as number[];
        return tf.reshape(tf.transpose(t, [2, 3, 0, 1]), [c! * m!, 1, kh!, kw!]);
      }
      case "oi":
        return tf.transpose(t, [1, 0]);
      case "same":
        return tf.clone(t);
    }
  });
  try {
    return ((await canonical.data()) as Float32Array).slice();
  } finally {
    canonical.dispose();
  }
}

function layerWeights(model: tf.LayersModel, params: readonly ParamInfo[]): Map<string, tf.Tensor[]> {
  const byLayer = new Map<string, tf.Tensor[]>();
  for (const p of params) if (!byLayer.has(p.layer)) byLayer.set(p.layer, model.getLayer(p.layer).getWeights());
  return byLayer;
}

/** Sets every parameter from canonical values (a checkpoint's, or `init`'s). */
export function setParams(
  model: tf.LayersModel,
  params: readonly ParamInfo[],
  values: (p: ParamInfo) => Float32Array,
): void {
  const current = layerWeights(model, params);
  const next = new Map<string, tf.Tensor[]>();
  for (const [layer, ws] of current) next.set(layer, [...ws]);
  const made: tf.Tensor[] = [];
  for (const p of params) {
    const t = toTfjs(p, values(p));
    made.push(t);
    next.get(p.layer)![p.index] = t;
  }
  for (const [layer, ws] of next) model.getLayer(layer).setWeights(ws);
  tf.dispose(made);
}

/** The declared initialisation, drawn from `seed` exactly as `resnetc compile --target onnx --seed`. */
export function initParams(model: tf.LayersModel, params: readonly ParamInfo[], seed: number): void {
  setParams(model, params, (p) => fill({ name: p.name, dims: p.dims, learnable: p.learnable, init: p.init }, seed));
}

export async function getParams(model: tf.LayersModel, params: readonly ParamInfo[]): Promise<Map<string, Tensor>> {
  const ws = layerWeights(model, params);
  const out = new Map<string, Tensor>();
  for (const p of params) out.set(p.name, { dims: p.dims, data: await fromTfjs(p, ws.get(p.layer)![p.index]!) });
  return out;
}

/** A batch of `b` inputs of the declared (non-batch) shape, any rank, as the model takes it: the
 * emitted model takes the declared layout (NCHW for images) and permutes internally. */
export function toModelInput(images: Float32Array, b: number, shape: number[]): tf.Tensor {
  return tf.tensor(images, [b, ...shape]);
}
