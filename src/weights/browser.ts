// resnetc/weights/browser: the part of resnetc/weights a browser can load (the training page of
// `compile --target web` bundles it): the initialisers and the checkpoint writer, no file reading.
// Takes: nothing. Gives: re-exports. Must not: import anything from Node.
export { CHECKPOINT_FORMAT, encodeCheckpoint, type Tensor } from "./encode.js";
export { decodeSafetensors, encodeSafetensors, type Safetensors } from "./safetensors.js";
export { fill, type Init, type ParamSpec } from "./init.js";
