// The public API of the `resnetc` package: `compile` and `checkFile` (api.ts) for most uses;
// `check` with a Host of your own for editors and tests; the diagnostic renderers; `main`, the
// command line itself. Takes/Gives: see each export. Must not: export internals of a stage.
export { check, hasErrors, type CheckOptions, type CheckResult, type Host } from "./compiler.js";
export type { Diagnostic, Span, Note } from "./diagnostics/diagnostic.js";
export { SourceFile } from "./diagnostics/diagnostic.js";
export { messages, type Code } from "./diagnostics/messages.js";
export { renderText, renderGithub, renderSarif, toJson } from "./diagnostics/render.js";
export type { Graph, IrNode, GraphIO } from "./ir/ir.js";
export { summaryJson, summaryTable } from "./ir/summary.js";
export { parseSource } from "./syntax/parse.js";
export { main, type RuntimeApi } from "./cli/main.js";
export {
  checkFile,
  compile,
  emitModel,
  emitTorchFiles,
  type CompiledModel,
  type CompileOptions,
  type CompileResult,
  type FileOptions,
} from "./api.js";
export { nodeHost, type NodeHostOptions } from "./cli/host.js";
export { ConfigError } from "./cli/config.js";
export type { ImportResolution } from "./compiler.js";
