// @resnetc/runtime: what emitted TypeScript programs import. Layers (channels-last helpers at 1, 2
// and 3 spatial dims, and custom layers), canonical parameters and checkpoints, the model input
// (toModelInput: a batch in the declared layout), and the training program.
export * from "./layers.js";
export {
  getParams,
  initParams,
  loadCheckpoint,
  saveCheckpoint,
  setParams,
  type Layout,
  type ParamInfo,
} from "./params.js";
export { fromTfjs, toModelInput, toTfjs } from "./params-core.js";
export { evaluate, runTraining, TRAIN_HELP, type InputInfo, type TrainingSpec } from "./train.js";
export { chooseBackend, describeChoice, BACKEND_NAMES, type BackendChoice, type BackendName } from "./backend.js";
export { adapterLine, probeWebGpu, type AdapterReport, type WebGpuProbe } from "./webgpu.js";
export { loadTfjsModel, saveTfjsModel } from "./tfjs-format.js";
export { emittedModuleUrls, trainEmitted } from "./run-emitted.js";
export { doctor, type Probe } from "./doctor.js";
export { buildWebPage } from "./web-build.js";
export { predictEmitted, predictOnnx, PredictError, type PredictTensor } from "./predict.js";
