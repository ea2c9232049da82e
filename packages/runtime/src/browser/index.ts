// What `@resnetc/runtime` is inside the training page's bundle (`resnetc compile --target web`):
// the emitted model.ts imports layers and the PARAMS types from it, and the page uses the
// canonical parameter moves. The training program, backends and checkpoint files of the Node
// entry (index.ts) stay out: they import node: modules.
// Takes: nothing. Gives: re-exports. Must not: re-export a module that imports from Node.
export * from "../layers.js";
export { getParams, initParams, setParams, type Layout, type ParamInfo } from "../params-core.js";
export type { InputInfo } from "../train.js";
