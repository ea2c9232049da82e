// The programmatic API: what `resnetc check` and `resnetc compile` do, callable from code, with
// the CLI's file host (imports relative to the importing file, `std/...` from this package, the
// same import policy).
// Takes: a .resnet file path and options. Gives: results with diagnostics as data (render them
// with renderText and the result's `sources`). Must not: print, exit, or write files (the
// caller decides where outputs go; `writeFileAtomic` from "resnetc/io" writes them safely).

import { resolve } from "node:path";
import { postProcess, loadConfig } from "./cli/config.js";
import { findProjectRoot, nodeHost } from "./cli/host.js";
import { check, hasErrors, type CheckResult, type Host } from "./compiler.js";
import type { Diagnostic, SourceFile, Span } from "./diagnostics/diagnostic.js";
import { locate as locateSpan } from "./diagnostics/render.js";
import type { Graph } from "./ir/ir.js";
import type { Tensor } from "./weights/checkpoint.js";

export interface FileOptions {
  /** Folder that relative paths start from (default: process.cwd()). */
  cwd?: string;
  /** Project root imports must stay inside (default: the nearest folder with package.json, .git
   * or resnetc.config.json above the file). */
  root?: string;
  /** Only this model (default: every model in the file). */
  model?: string;
  /** Read files some other way (an editor's unsaved buffers, a test's memory). */
  host?: Host;
  /** As `resnetc check` (default true): inline `# resnetc-disable-(next-)line CODE` comments in
   * the project's files remove the warnings they name (RN306/RN307 for one that does nothing),
   * and, unless `host` is given, the project's resnetc.config.json (found from `cwd` up to the
   * root, as on the command line) sets warnings' severities; a malformed config throws
   * ConfigError. false: the compiler's diagnostics as they are. */
  suppressions?: boolean;
}

export interface CompileOptions extends FileOptions {
  /** onnx: NAME.onnx per model; ts: model.ts + train.ts per model; torch: one model.py for the
   * file's models (CompileResult.files). */
  target: "onnx" | "ts" | "torch";
  /** ONNX opset (default 17). */
  opset?: number;
  /** Seed of the declared initialisation (default 0). */
  seed?: number;
  /** Fold batch norm into the preceding convolution (ONNX). */
  foldBn?: boolean;
  /** Trained values by parameter name (a decoded checkpoint). */
  weights?: ReadonlyMap<string, Tensor>;
  /** Version written into generated headers and the ONNX producer field. */
  version?: string;
}

export interface CompiledModel {
  name: string;
  /** Learnable parameters. */
  params: number;
  /** `--target onnx`: the serialised ModelProto. */
  onnx?: Uint8Array;
  /** `--target ts`: the formatted sources. */
  files?: { "model.ts": string; "train.ts": string };
  /** `--target torch` through emitModel: model.py with this model alone. */
  python?: { "model.py": string };
}

export interface CompileResult {
  /** No errors (warnings allowed). */
  ok: boolean;
  models: CompiledModel[];
  diagnostics: Diagnostic[];
  /** The files read, for rendering diagnostics (renderText(d, sources)). */
  sources: Map<string, SourceFile>;
  /** `--target torch`: model.py, one nn.Module class per compiled model. */
  files?: { "model.py": string };
}

function hostFor(o: FileOptions): Host {
  return o.host ?? nodeHost(o.cwd ?? process.cwd(), o.root === undefined ? {} : { root: o.root });
}

/** Parses and shape-checks `file` and its imports: every diagnostic (suppressions and the
 * project's config applied, unless `suppressions: false`), and a graph per model. */
export function checkFile(file: string, options: FileOptions = {}): CheckResult {
  const r = check([file], hostFor(options), options.model === undefined ? {} : { model: options.model });
  if (options.suppressions === false) return r;
  const cwd = options.cwd ?? process.cwd();
  const config =
    options.host === undefined
      ? loadConfig(cwd, options.root === undefined ? findProjectRoot(resolve(cwd)) : resolve(cwd, options.root))
      : { rules: new Map() };
  return { ...r, diagnostics: postProcess(r.diagnostics, r.sources, cwd, config) };
}

/** `file:line:col` of a span, as emitted comments and ONNX doc strings show it, with the file
 * named by `stablePath` (so outputs do not depend on the working directory). */
export function spanLocator(
  sources: ReadonlyMap<string, SourceFile>,
  stablePath: (path: string) => string = (p) => p,
): (span: Span) => string {
  const names = new Map<string, string>(); // one path computation per file, not per node
  return (span) => {
    const p = locateSpan(span, sources);
    let name = names.get(span.file);
    if (name === undefined) names.set(span.file, (name = stablePath(span.file)));
    return `${name}:${p.line}:${p.col}`;
  };
}

/** One model to ONNX bytes or formatted TypeScript; the diagnostics of that step. */
export async function emitModel(
  source: Graph,
  o: CompileOptions,
  sources: ReadonlyMap<string, SourceFile>,
  stablePath: (path: string) => string = (p) => p,
): Promise<{ model?: CompiledModel; diagnostics: Diagnostic[] }> {
  const locate = spanLocator(sources, stablePath);
  // Outputs name the file relative to its project: the same compile from any folder gives the
  // same bytes.
  const g: Graph = { ...source, file: stablePath(source.file) };
  const base = { name: g.name, params: g.params };
  const version = o.version === undefined ? {} : { version: o.version };
  // The emitters are loaded when used: `resnetc lint` and `check` start without them.
  if (o.target === "torch") {
    const r = await emitTorchFiles([source], sources, stablePath, o.version);
    return { ...(r.files ? { model: { ...base, python: r.files } } : {}), diagnostics: r.diagnostics };
  }
  if (o.target === "ts") {
    const [{ emitTs }, { formatTs }] = await Promise.all([import("./emit/ts/emit.js"), import("./emit/ts/format.js")]);
    const r = emitTs(g, { locate, ...version });
    if (!r.files) return { diagnostics: r.diagnostics };
    const files = { "model.ts": await formatTs(r.files["model.ts"]), "train.ts": await formatTs(r.files["train.ts"]) };
    return { model: { ...base, files }, diagnostics: r.diagnostics };
  }
  const { emitOnnx, OPSET_DEFAULT } = await import("./emit/onnx/emit.js");
  const r = emitOnnx(g, {
    opset: o.opset ?? OPSET_DEFAULT,
    seed: o.seed ?? 0,
    foldBn: o.foldBn === true,
    ...(o.weights ? { weights: o.weights } : {}),
    locate,
    ...(o.version === undefined ? {} : { producerVersion: o.version }),
  });
  if (!r.bytes || hasErrors(r.diagnostics)) return { diagnostics: r.diagnostics };
  return { model: { ...base, onnx: r.bytes }, diagnostics: r.diagnostics };
}

/** The graphs of one file as PyTorch source: model.py with a class per model (`--target torch`). */
export async function emitTorchFiles(
  graphs: readonly Graph[],
  sources: ReadonlyMap<string, SourceFile>,
  stablePath: (path: string) => string = (p) => p,
  version?: string,
): Promise<{ files?: { "model.py": string }; diagnostics: Diagnostic[] }> {
  const { emitTorch } = await import("./emit/torch/emit.js");
  const locate = spanLocator(sources, stablePath);
  // Named relative to the project, so the same compile from any folder gives the same bytes.
  const gs = graphs.map((g) => ({ ...g, file: stablePath(g.file) }));
  return emitTorch(gs, { locate, ...(version === undefined ? {} : { version }) });
}

/** Checks `file` and compiles each of its models (or `options.model`) to the target. */
export async function compile(file: string, options: CompileOptions): Promise<CompileResult> {
  const checked = checkFile(file, options);
  const diagnostics = [...checked.diagnostics];
  const models: CompiledModel[] = [];
  if (!hasErrors(diagnostics) && options.target === "torch") {
    const r = await emitTorchFiles(checked.graphs, checked.sources, checked.stablePath, options.version);
    diagnostics.push(...r.diagnostics);
    for (const g of checked.graphs) models.push({ name: g.name, params: g.params });
    const ok = !hasErrors(diagnostics) && r.files !== undefined;
    return { ok, models, diagnostics, sources: checked.sources, ...(r.files ? { files: r.files } : {}) };
  }
  if (!hasErrors(diagnostics)) {
    for (const g of checked.graphs) {
      const r = await emitModel(g, options, checked.sources, checked.stablePath);
      diagnostics.push(...r.diagnostics);
      if (r.model) models.push(r.model);
    }
  }
  return { ok: !hasErrors(diagnostics), models, diagnostics, sources: checked.sources };
}
