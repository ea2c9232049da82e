// resnetc/weights: what the training runtime (@resnetc/runtime) shares with the compiler. The
// compiler owns the checkpoint format and the initialisers; the runtime imports them from here,
// so a checkpoint the runtime writes is one `compile --weights` reads, and tfjs draws the same
// initial weights as the ONNX emitter.
// Takes: nothing. Gives: re-exports. Must not: import anything that pulls in a compiler stage
// beyond the IR types (the runtime loads this module).
export {
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  encodeCheckpoint,
  isSafetensorsPath,
  readCheckpoint,
  readSafetensors,
  type Tensor,
} from "./checkpoint.js";
export { decodeSafetensors, encodeSafetensors, SAFETENSORS_HEADER_LIMIT, type Safetensors } from "./safetensors.js";
export { fill, type Init, type ParamSpec } from "./init.js";
