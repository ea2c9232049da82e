// The public API of the `resnetc` package.
export { check, hasErrors, type CheckOptions, type CheckResult, type Host } from "./compiler.js";
export type { Diagnostic, Span, Note } from "./diagnostics/diagnostic.js";
export { SourceFile } from "./diagnostics/diagnostic.js";
export { messages, type Code } from "./diagnostics/messages.js";
export { renderText, renderGithub, renderSarif, toJson } from "./diagnostics/render.js";
export type { Graph, IrNode, GraphIO } from "./ir/ir.js";
export { summaryJson, summaryTable } from "./ir/summary.js";
export { parseSource } from "./syntax/parse.js";
export { main } from "./cli/main.js";
