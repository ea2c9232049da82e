// The `resnetc` command line: the only place that reads argv, prints, and picks exit codes.
// Takes: arguments and an IO sink. Gives: an exit code: 0 ok, 1 diagnostics with errors,
// 2 usage or I/O error. Must not: be imported by any compiler stage.

import { parseArgs } from "node:util";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { check, checkIsolated, hasErrors, type CheckResult } from "../compiler.js";
import type { Diagnostic, SourceFile } from "../diagnostics/diagnostic.js";
import { renderText, summaryLine } from "../diagnostics/render.js";
import { human, summaryJson, summaryTable } from "../ir/summary.js";
import { AtomicWriteError, writeFileAtomic, writeFilesAtomic, writeFolderAtomic } from "../io/atomic-write.js";
import { emitModel, emitTorchFiles, spanLocator } from "../api.js";
import { displayPath, expandInputs, isInside, nodeHost, packageRoot, stdDir } from "./host.js";
import { optionErrorMessage, usageLines } from "./lint-options.js";
import { ConfigError, configCandidates, loadConfig, postProcess } from "./config.js";
import { useColor, colorDiagnostic, type Env } from "./color.js";
import { countErrors, projectRootFor, runLint } from "./lint.js";
import { watchLoop } from "./watch.js";
import { diag } from "../diagnostics/diagnostic.js";
import { suggest } from "../semantics/builtins.js";
import { emitOnnx, OPSET_DEFAULT, OPSET_MAX, OPSET_MIN } from "../emit/onnx/emit.js";
import { modelText } from "../emit/onnx/text.js";
import { emitTs } from "../emit/ts/emit.js";
import type { Graph } from "../ir/ir.js";
import { readCheckpoint, type Tensor } from "../weights/checkpoint.js";
import { encodeNpy, NpyError, readNpy } from "../io/npy.js";
import type { Dim } from "../ir/dims.js";
import { cmdFmt } from "./fmt.js";
import { runTorchTraining, splitLaunchOptions, TORCH_TRAIN_HELP } from "./train-torch.js";
import { emitTrainPy } from "../emit/torch/train-py.js";

export interface Io {
  cwd: string;
  out(s: string): void;
  err(s: string): void;
  /** Whether stdout and stderr are terminals (bin/resnetc.js says; absent: neither is). */
  tty?: { out: boolean; err: boolean };
  /** The environment, for NO_COLOR and FORCE_COLOR (absent: no colour). */
  env?: Env;
}

export const EXIT_OK = 0;
export const EXIT_DIAGNOSTICS = 1;
export const EXIT_USAGE = 2;

const HELP: Record<string, string> = {
  main: `resnetc: a compiler for residual network architectures (.resnet files)

usage: resnetc <command> [options]

commands:
  check <files...>                  parse and shape-check; print a one-line result per model
  lint <files, dirs or "globs"...> check every .resnet file, for CI (--format text|json|github|sarif,
                                    --max-warnings N, --quiet, -o FILE, --fix)
  summary <file> [--model NAME]     layer table: name, op, output shape, params, MACs (--json)
  compile <file> --target onnx|ts|torch|web
                                    emit an ONNX model, a TypeScript/tfjs model + training program,
                                    a PyTorch model.py, or a static page that trains the model in
                                    the browser
  train <file> [--model NAME] ...   compile to TypeScript and train (options: resnetc train FILE --help)
  predict <file> --input X.npy      one forward pass (inference mode) on .npy inputs, tfjs or ONNX Runtime
  doctor                            which TensorFlow.js backends load here, and how to get a faster one
  fmt [--check] <files or dirs...>  format .resnet files in place (--check: list unformatted ones, exit 1)
  graph <file> --format svg|dot|mermaid|html [--model NAME] [-o OUT]
                                    draw the architecture: shapes on edges, blocks as clusters
  lsp --stdio                       the language server for editors (editors/vscode/ is the VS Code extension)

options:
  -h, --help                        help for a command: resnetc <command> --help
  -v, --version                     print the version
  --root DIR                        project root that imports must stay inside (default: the nearest
                                    folder above each file with package.json, .git or resnetc.config.json)

exit codes: 0 ok (warnings allowed), 1 errors found, 2 usage or I/O error`,
  check: `usage: resnetc check <files...> [--model NAME] [--deny-warnings] [--watch]

Parses every file (following imports), resolves names and infers the shape of every tensor in
every model. Prints all diagnostics, then one line per model with its parameter and MAC counts.

  --model NAME       check only this model
  --deny-warnings    exit 1 when there are warnings
  --watch            check again whenever a file read (or a new .resnet file in a folder given)
                     changes; Ctrl-C stops

Suppression comments and resnetc.config.json apply as for \`resnetc lint --help\`.`,
  lint: `usage: resnetc lint <files, dirs or "globs"...> [--format text|json|github|sarif] [-o FILE]
                    [--max-warnings N] [--quiet] [--fix] [--deny-warnings]

Checks every .resnet file given, every one under the folders given, and every one a quoted glob
matches ("examples/**/*.resnet"; inside the project root only), each on its own.
  --format text      file:line:col, the line, an underline, hints (default; coloured on a
                     terminal, unless NO_COLOR is set; FORCE_COLOR=1 colours anywhere)
  --format json      {"diagnostics":[{code,severity,message,file,line,column,...}],"errors":n,"warnings":n}
  --format github    GitHub Actions annotations (::error file=...,line=...,col=...::message)
  --format sarif     SARIF 2.1.0, for code-scanning upload (URIs relative to the repository root)
  -o, --output-file FILE
                     write the report to FILE (atomically) instead of stdout
  --max-warnings N   exit 1 when there are more than N warnings (counted before --quiet)
  --quiet            report errors only
  --fix              apply the fixes that are mechanical (RN303: drop \`bias=true\`), then report
                     what remains; says on stderr what was fixed where
  --deny-warnings    exit 1 when there are warnings (--max-warnings 0)

Config: resnetc.config.json, or a "resnetc" key in package.json, in the working folder or the
nearest folder above it up to the project root: {"rules": {"RN303": "off" | "warn" | "error"}}.
Only warnings can be turned off or down. A comment \`# resnetc-disable-next-line RN303\` (or
\`# resnetc-disable-line RN303\` at the end of a line) suppresses that warning on that line;
one that suppresses nothing is itself a warning (RN306, RN307).`,
  compile:
    `usage: resnetc compile <file> --target onnx [--model NAME] [-o OUT] [--opset 17] [--seed N]
                       [--fold-bn] [--weights DIR|FILE.safetensors] [--text]

Checks the file, then writes each model (or the one named) as ONNX. With one model, OUT is the
file to write (default: NAME.onnx); with several, or when OUT is a folder or ends in "/", OUT
is a folder (default: .) that receives NAME.onnx for each. Files are written atomically: a failed compile leaves ` +
    `no partial file.

  --opset N        ONNX opset, ${OPSET_MIN} to ${OPSET_MAX} (default ${OPSET_DEFAULT}, the highest Debian's onnx ` +
    `1.12 checker knows)
  --seed N         seed of the declared initialisation (default 0); the same seed gives the same bytes
  --fold-bn        fold each BatchNormalization into the convolution before it
  --weights DIR    take trained values from DIR/weights.json + DIR/weights.bin (resnetc's checkpoint)
  --weights F      or from F, a file ending in .safetensors (a PyTorch state_dict: F32, F64, F16 or
                   BF16, read as float32; its integer *.num_batches_tracked counters are ignored)
  --text           also print a readable listing of the graph (inputs, initializers, nodes, outputs)

--target ts -o DIR writes DIR/model.ts and DIR/train.ts; --target web -o DIR writes a page that
trains the model in the browser (DIR/index.html, one bundled DIR/app.js, tfjs's .wasm files; serve
DIR over http): WebGPU where the browser has an adapter, else wasm; ?backend=webgpu|wasm|cpu
&steps=N&batch=N&data=synthetic&autostart=1; its checkpoint download is what --weights reads.
--target web needs @resnetc/runtime.
--target torch -o DIR writes DIR/model.py: an nn.Module class per model (or the one named), the
parameter names those of the ONNX initializers and checkpoints (load_state_dict takes them), and
DIR/train.py, resnetc train's program on PyTorch (python3 DIR/train.py --help; one process,
--nproc N, or torchrun across machines: resnetc train FILE --engine torch --help).`,
  doctor: `usage: resnetc doctor

Reports which TensorFlow.js backends load here (tfjs-node-gpu, tfjs-node, wasm, cpu), which one
emitted programs will use, and for tfjs-node-gpu the CUDA and cuDNN versions it needs against
those found, with the fix for each problem.`,
  train: `usage: resnetc train <file> [--model NAME] [--engine tfjs|torch] [--nproc N] [training options]

Compiles the model to the same TypeScript program \`resnetc compile --target ts\` writes and runs
it here. \`resnetc train FILE --help\` lists the training options (data, epochs, steps, batch,
learning rate and schedule, optimizer, output folder, resume, seed, backend).

  --engine tfjs        the TypeScript/tfjs program (default)
  --engine torch       the PyTorch program (model.py + train.py), one process or --nproc N
                       data-parallel ones; \`resnetc train FILE --engine torch --help\` lists its
                       options and the torchrun command lines for several machines`,
  predict: `usage: resnetc predict <file> [--model NAME] --input X.npy [-o OUT] [--weights DIR|FILE] [--seed N]
                       [--engine tfjs|onnx] [--backend NAME]

Runs the model once in inference mode (batch norm on its running statistics, dropout and
drop-path off) on inputs read from .npy files, in the model's declared layout (NCHW for images,
[N, C, L], [N, T, D]: whatever the .resnet file says), batch dim first. Symbolic dims (N, H, ...)
take any size, the same wherever the same name appears; every other dim must match.

  --input X.npy        the input, when the model has one
  --input NAME=X.npy   one per input, when it has several (repeat the option)
  -o OUT               write the output to OUT as .npy (float32, C order); with several outputs
                       (or when OUT is a folder or ends in "/"), write OUT/NAME.npy for each.
                       Without -o: print each output's shape and statistics, and for a [N, K]
                       score vector each sample's argmax and top scores
  --weights DIR        trained values from DIR/weights.json + DIR/weights.bin (resnetc's checkpoint,
                       as \`resnetc train\` writes it), or from a FILE.safetensors (a PyTorch
                       state_dict, or the weights.safetensors \`resnetc train\` writes beside it)
  --seed N             without --weights, the declared initialisation drawn from seed N (default 0,
                       the same values as \`compile --target onnx --seed N\`)
  --engine tfjs        the emitted TensorFlow.js model (default)
  --engine onnx        the ONNX model, run with onnxruntime-node (npm install onnxruntime-node)
  --backend NAME       tfjs backend: auto (default), node-gpu, webgpu, node, wasm or cpu

.npy inputs may hold float32, float64, int32 or int64 (all read as float32), little-endian,
C order, versions 1.0 to 3.0. Needs @resnetc/runtime.`,
  summary: `usage: resnetc summary <file> [--model NAME] [--json]

Prints, for each model (or the one named), a table of its layers (structural name, op, output
shape, learnable parameters, multiply-accumulates per sample) and the totals.
  --json   {"models":[{"name":..,"params":n,"macs":n,"inputs":[{"name":..,"shape":[..]}],"outputs":[..]}]}
           symbolic dims are strings, e.g. "N"`,
};

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

class UsageError extends Error {
  /** Print the command's usage lines under the message (an unknown or malformed option). */
  showUsage = false;
}

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; default?: string; multiple?: boolean }>;
type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

function parse(args: string[], options: OptionSpec): Parsed {
  try {
    const r = parseArgs({
      args,
      options: { help: { type: "boolean", short: "h" }, root: { type: "string" }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    const u = new UsageError(optionErrorMessage(e, options) ?? (e as Error).message);
    u.showUsage = true;
    throw u;
  }
}

/** Checks each root file on its own (two examples may both define `ResNet18`), then applies
 * suppression comments and the project's config (resnetc.config.json) to what it found. */
function checkEach(
  files: string[],
  io: Io,
  model?: string,
  root?: string | boolean | string[],
): { results: CheckResult[]; diagnostics: Diagnostic[]; sources: Map<string, SourceFile>; perFile: Diagnostic[][] } {
  const host = nodeHost(io.cwd, typeof root === "string" ? { root } : {});
  const config = loadConfig(io.cwd, projectRootFor(io.cwd, root));
  // Each file on its own: a compiler bug on one becomes its RN007 and the others still report.
  const parseCache = new Map();
  const results = files.map((f) =>
    checkIsolated(f, host, model === undefined ? { parseCache } : { model, parseCache }),
  );
  if (model !== undefined) {
    // A --model that names no model is the command line's mistake, not the file's (RN126 stays
    // for the library API): a usage error when no file has it; files without it are skipped.
    const lacking = results.map((r) => r.diagnostics.some((d) => d.code === "RN126"));
    if (lacking.every(Boolean)) {
      const models = [...new Set(results.flatMap((r) => modelsIn(r)))];
      const s = suggest(model, models);
      throw new UsageError(
        `no model named \`${model}\` in ${files.join(", ")}` +
          `${s ? `; did you mean \`${s}\`?` : ""} (models there: ${models.join(", ") || "none"})`,
      );
    }
    for (const r of results) r.diagnostics = r.diagnostics.filter((d) => d.code !== "RN126");
  }
  const sources = new Map<string, SourceFile>();
  const seen = new Set<string>();
  const raw: Diagnostic[] = [];
  const keyOf = (d: Diagnostic): string => `${d.code}|${d.span.file}|${d.span.start}|${d.message}`;
  for (const r of results) {
    for (const [k, v] of r.sources) sources.set(k, v);
    for (const d of r.diagnostics) {
      // A library imported by several roots reports its problems once.
      const key = keyOf(d);
      if (seen.has(key)) continue;
      seen.add(key);
      raw.push(d);
    }
  }
  const diagnostics = postProcess(raw, sources, io.cwd, config);
  const byKey = new Map(diagnostics.map((d) => [keyOf(d), d]));
  const perFile = results.map((r) => r.diagnostics.flatMap((d) => byKey.get(keyOf(d)) ?? []));
  return { results, diagnostics, sources, perFile };
}

/** The models a root file defines. */
function modelsIn(r: CheckResult): string[] {
  const p = r.program;
  if (!p) return [];
  return p.files
    .filter((f) => p.roots.has(f.file))
    .flatMap((f) => f.definitions.filter((d) => d.kind === "model").map((d) => d.name));
}

function ioFailure(ds: readonly Diagnostic[], roots: readonly string[]): boolean {
  // A root file that cannot be read is an I/O error; an unreadable import is a diagnostic.
  return ds.some((d) => d.code === "RN001" && roots.some((r) => d.message.startsWith(`cannot read ${r}:`)));
}

function exitFor(ds: readonly Diagnostic[], denyWarnings: boolean): number {
  return hasErrors(ds) || (denyWarnings && ds.length > 0) ? EXIT_DIAGNOSTICS : EXIT_OK;
}

/** Colour for what goes to stdout ("out") or stderr ("err"). */
function colorFor(io: Io, stream: "out" | "err"): boolean {
  return useColor(io.tty?.[stream] ?? false, io.env ?? {});
}

function cmdCheck(args: string[], io: Io): number | Promise<number> {
  const { values, positionals } = parse(args, {
    model: { type: "string" },
    "deny-warnings": { type: "boolean" },
    watch: { type: "boolean" },
  });
  if (values.help) return (io.out(HELP["check"]!), EXIT_OK);
  if (positionals.length === 0) throw new UsageError("check: give at least one .resnet file");
  const once = (): { code: number; files: string[]; folders: string[] } => {
    const { files, missing } = expandInputs(io.cwd, positionals);
    const folders = positionals
      .map((p) => resolve(io.cwd, p))
      .filter((p) => existsSync(p) && statSync(p).isDirectory());
    if (missing.length) {
      io.err(`resnetc: cannot read ${missing.join(", ")}: no such file or folder`);
      return { code: EXIT_USAGE, files: files.map((f) => resolve(io.cwd, f)), folders };
    }
    const { results, diagnostics, sources, perFile } = checkEach(
      files,
      io,
      values.model as string | undefined,
      values.root,
    );
    const read = [
      ...[...sources.keys()].map((f) => resolve(io.cwd, f)).filter((f) => !isInside(stdDir, f)),
      // A config written or changed re-checks too.
      ...configCandidates(io.cwd, projectRootFor(io.cwd, values.root)),
    ];
    const color = colorFor(io, "err");
    for (const d of diagnostics)
      io.err((color ? colorDiagnostic(renderText(d, sources)) : renderText(d, sources)) + "\n");
    if (ioFailure(diagnostics, files)) return { code: EXIT_USAGE, files: read, folders };
    for (const [i, r] of results.entries()) {
      const fileErrors = countErrors(perFile[i]!) > 0;
      const models = r.graphs
        .map((g) => `${g.name} ${g.params.toLocaleString("en-US")} params, ${human(g.macs)} MACs`)
        .join("; ");
      io.out(`${files[i]}: ${fileErrors ? "errors" : "ok"}${models ? ` (${models})` : ""}`);
    }
    if (diagnostics.length) io.err(summaryLine(diagnostics));
    return { code: exitFor(diagnostics, values["deny-warnings"] === true), files: read, folders };
  };
  if (!values.watch) return once().code;
  // In watch mode a usage error in one run (a config made invalid, say) is reported and waited out.
  return watchLoop(() => {
    try {
      return once();
    } catch (e) {
      if (e instanceof UsageError || e instanceof ConfigError) {
        io.err(`resnetc: ${e.message}`);
        return { code: EXIT_USAGE, files: [], folders: positionals.map((p) => resolve(io.cwd, p)) };
      }
      throw e;
    }
  }, io);
}

function cmdLint(args: string[], io: Io): number {
  const { values, positionals } = parse(args, {
    format: { type: "string", default: "text" },
    "deny-warnings": { type: "boolean" },
    "max-warnings": { type: "string" },
    quiet: { type: "boolean" },
    "output-file": { type: "string", short: "o" },
    fix: { type: "boolean" },
  });
  if (values.help) return (io.out(HELP["lint"]!), EXIT_OK);
  const r = runLint(values, positionals, {
    io,
    version: version(),
    check: (files) => checkEach(files, io, undefined, values.root),
    color: colorFor(io, "out"),
  });
  if (typeof r === "string") throw new UsageError(`lint: ${r}`);
  return r;
}

function cmdSummary(args: string[], io: Io): number {
  const { values, positionals } = parse(args, { model: { type: "string" }, json: { type: "boolean" } });
  if (values.help) return (io.out(HELP["summary"]!), EXIT_OK);
  if (positionals.length !== 1) throw new UsageError("summary: give exactly one .resnet file");
  const file = positionals[0]!;
  const { files, missing } = expandInputs(io.cwd, [file]);
  if (missing.length || files.length !== 1) return (io.err(`resnetc: cannot read ${file}: no such file`), EXIT_USAGE);
  const { results, diagnostics, sources } = checkEach(files, io, values.model as string | undefined, values.root);
  for (const d of diagnostics) io.err(renderText(d, sources) + "\n");
  if (ioFailure(diagnostics, files)) return EXIT_USAGE;
  if (hasErrors(diagnostics)) return (io.err(summaryLine(diagnostics)), EXIT_DIAGNOSTICS);
  const graphs = results[0]!.graphs;
  if (values.json) io.out(JSON.stringify(summaryJson(graphs)));
  else io.out(graphs.map(summaryTable).join("\n\n"));
  return EXIT_OK;
}

function intOption(v: string | boolean | string[] | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !/^-?\d+$/.test(v))
    throw new UsageError(`--${name} takes an integer, found ${String(v)}`);
  return Number(v);
}

export const RUNTIME_PACKAGE = "@resnetc/runtime";

/** What the CLI calls in @resnetc/runtime. */
export interface RuntimeApi {
  /** Where the runtime and its tfjs are installed, as the module specifiers emitted code uses. */
  emittedModuleUrls(): { runtime: string; tfjs: string };
  trainEmitted(modelTs: string, argv: string[]): Promise<number>;
  doctor(io: { out(s: string): void }): Promise<number>;
  buildWebPage(modelTs: string, modelName: string): Promise<Record<string, string | Uint8Array>>;
  /** `resnetc predict --engine tfjs`: the emitted model, in inference mode, on the declared layout. */
  predictEmitted(
    modelTs: string,
    inputs: readonly PredictTensor[],
    opts: { seed: number; backend?: string; weights?: ReadonlyMap<string, { dims: number[]; data: Float32Array }> },
  ): Promise<{ outputs: PredictTensor[]; backend: string }>;
  /** `resnetc predict --engine onnx`: ONNX bytes run with onnxruntime-node. */
  predictOnnx(model: Uint8Array, inputs: readonly PredictTensor[]): Promise<PredictTensor[]>;
}

/** A named float32 tensor handed to or from the runtime's predict functions. */
export interface PredictTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** The training runtime, installed beside resnetc or not: linting needs no tfjs, so it is a
 * package of its own, loaded only by the commands that train or probe backends. */
async function loadRuntime(command: string): Promise<RuntimeApi> {
  try {
    // A specifier in a variable: the compiler builds (and type-checks) before the runtime, which
    // depends on it; RuntimeApi is the contract, checked by the runtime's own tests.
    const spec = RUNTIME_PACKAGE;
    return (await import(spec)) as RuntimeApi;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && /@resnetc\/runtime/.test((e as Error).message))
      throw new RuntimeMissing(command);
    throw e;
  }
}

class RuntimeMissing extends Error {
  constructor(command: string) {
    super(
      `\`resnetc ${command}\` needs the training runtime: npm install @resnetc/runtime (from the resnetc ` +
        `repository: npm install ./packages/runtime, or its packed tarball)`,
    );
  }
}

function loadCheckpoint(dir: string, io: Io): Map<string, Tensor> | string {
  // Bounded, non-blocking reads and a checked manifest (resnetc/weights): a link to /dev/zero or
  // a corrupt checkpoint is a one-line reason, never a hang or an internal error. A path ending
  // in .safetensors is read as one safetensors file, its header checked the same way.
  return readCheckpoint(resolve(io.cwd, dir));
}

/** `--target ts`: DIR/model.ts and DIR/train.ts per model (DIR/NAME/ when there are several). */
async function compileTs(
  graphs: Graph[],
  out: string | undefined,
  sources: Map<string, SourceFile>,
  stablePath: (path: string) => string,
  io: Io,
): Promise<number> {
  if (out === undefined) throw new UsageError("compile --target ts: give the output folder with -o DIR");
  let failed = false;
  for (const g of graphs) {
    // Formatted before anything is written, so a formatting failure writes nothing.
    const r = await emitModel(g, { target: "ts", version: version() }, sources, stablePath);
    for (const d of r.diagnostics) io.err(renderText(d, sources) + "\n");
    if (!r.model?.files) {
      failed = true;
      continue;
    }
    const dir = resolve(io.cwd, graphs.length === 1 ? out : join(out, g.name));
    // One folder swap: a killed compile never pairs a new model.ts with an old train.ts.
    writeFolderAtomic(dir, r.model.files);
    io.out(`${displayPath(io.cwd, dir)}: ${g.name} -> model.ts, train.ts`);
  }
  return failed ? EXIT_DIAGNOSTICS : EXIT_OK;
}

/** `--target torch`: DIR/model.py, one class per model of the file (or the one named). */
async function compileTorch(
  graphs: Graph[],
  out: string | undefined,
  sources: Map<string, SourceFile>,
  stablePath: (path: string) => string,
  io: Io,
): Promise<number> {
  if (out === undefined) throw new UsageError("compile --target torch: give the output folder with -o DIR");
  const r = await emitTorchFiles(graphs, sources, stablePath, version());
  for (const d of r.diagnostics) io.err(renderText(d, sources) + "\n");
  if (!r.files || hasErrors(r.diagnostics)) return EXIT_DIAGNOSTICS;
  const dir = resolve(io.cwd, out);
  // train.py beside it: trains the file's one model, or the one --model names to it.
  const trainPy = emitTrainPy({ ...(graphs.length === 1 ? { model: graphs[0]!.name } : {}), version: version() });
  // One folder swap: a killed compile leaves the old folder or the new one, never half of one
  // (files of other writers there are kept: then each file is replaced atomically).
  writeFolderAtomic(dir, { ...r.files, "train.py": trainPy });
  io.out(`${displayPath(io.cwd, dir)}: ${graphs.map((g) => g.name).join(", ")} -> model.py, train.py`);
  return EXIT_OK;
}

/** `--target web`: DIR/index.html + DIR/app.js (+ tfjs's .wasm files) per model (DIR/NAME/ when
 * there are several). The runtime bundles the page (esbuild, tfjs): the compiler has neither. */
async function compileWeb(
  graphs: Graph[],
  out: string | undefined,
  sources: Map<string, SourceFile>,
  stablePath: (path: string) => string,
  io: Io,
) {
  if (out === undefined) throw new UsageError("compile --target web: give the output folder with -o DIR");
  const runtime = await loadRuntime("compile --target web");
  let failed = false;
  for (const g of graphs) {
    // Named as in the other targets (relative to the project), so the page is the same from any folder.
    const r = emitTs({ ...g, file: stablePath(g.file) }, { version: version() });
    for (const d of r.diagnostics) io.err(renderText(d, sources) + "\n");
    if (!r.files) {
      failed = true;
      continue;
    }
    const files = await runtime.buildWebPage(r.files["model.ts"], g.name);
    const dir = resolve(io.cwd, graphs.length === 1 ? out : join(out, g.name));
    writeFolderAtomic(dir, files);
    io.out(`${displayPath(io.cwd, dir)}: ${g.name} -> ${Object.keys(files).join(", ")}`);
  }
  return failed ? EXIT_DIAGNOSTICS : EXIT_OK;
}

/**
 * `resnetc train FILE [--model NAME] [training options]`: emits the TypeScript program, transpiles
 * it next to nothing but itself (imports point at this installation's runtime and tfjs), and
 * runs it in this process. The options are the emitted train.ts's (`--help` lists them).
 */
async function cmdTrain(args: string[], io: Io): Promise<number> {
  const file = args[0];
  if (file === undefined || file === "--help" || file === "-h") {
    io.out(HELP["train"]!);
    return file === undefined ? EXIT_USAGE : EXIT_OK;
  }
  let rest = args.slice(1);
  let model: string | undefined;
  const m = rest.indexOf("--model");
  if (m >= 0) {
    model = rest[m + 1];
    if (model === undefined) throw new UsageError("train: --model needs a name");
    rest = [...rest.slice(0, m), ...rest.slice(m + 2)];
  }
  // --engine tfjs (default) or torch; --nproc and --python belong to torch (train.py reads --nproc).
  let engine = "tfjs";
  const e = rest.findIndex((a) => a === "--engine" || a.startsWith("--engine="));
  if (e >= 0) {
    const v = rest[e]!.includes("=") ? rest[e]!.slice("--engine=".length) : rest[e + 1];
    if (v !== "tfjs" && v !== "torch") throw new UsageError(`train: --engine must be tfjs or torch, found ${v}`);
    engine = v;
    rest = [...rest.slice(0, e), ...rest.slice(rest[e]!.includes("=") ? e + 1 : e + 2)];
  }
  if (engine === "torch" && (rest.includes("--help") || rest.includes("-h")))
    return (io.out(`${HELP["train"]!}\n\n${TORCH_TRAIN_HELP}`), EXIT_OK);
  const torchOnly = rest.find((a) => /^--(nproc|python|keep)(=|$)/.test(a));
  if (engine === "tfjs" && torchOnly !== undefined)
    throw new UsageError(`train: ${torchOnly.split("=")[0]} is an option of --engine torch`);
  const { files, missing } = expandInputs(io.cwd, [file]);
  if (missing.length || files.length !== 1) return (io.err(`resnetc: cannot read ${file}: no such file`), EXIT_USAGE);
  const { results, diagnostics, sources } = checkEach(files, io, model);
  for (const d of diagnostics) io.err(renderText(d, sources) + "\n");
  if (ioFailure(diagnostics, files)) return EXIT_USAGE;
  if (hasErrors(diagnostics)) return (io.err(summaryLine(diagnostics)), EXIT_DIAGNOSTICS);
  const graphs = results[0]!.graphs;
  if (graphs.length !== 1)
    throw new UsageError(
      `train: ${file} has ${graphs.length} models (${graphs.map((g) => g.name).join(", ")}); pick one with --model`,
    );
  const g = graphs[0]!;
  if (engine === "torch") return trainTorch(g, sources, results[0]!.stablePath, rest, io);
  const runtime = await loadRuntime("train");
  // The emitter writes the installed packages' URLs into the imports itself: no text of the
  // emitted program is rewritten afterwards.
  const r = emitTs(g, { version: version(), ...runtime.emittedModuleUrls() });
  for (const d of r.diagnostics) io.err(renderText(d, sources) + "\n");
  if (!r.files) return EXIT_DIAGNOSTICS;
  return runtime.trainEmitted(r.files["model.ts"], rest);
}

/** `train --engine torch`: model.py from the `--target torch` emitter, train.py beside it, run on PyTorch. */
async function trainTorch(
  g: Graph,
  sources: Map<string, SourceFile>,
  stablePath: (path: string) => string,
  args: string[],
  io: Io,
): Promise<number> {
  const launch = splitLaunchOptions(args);
  if (typeof launch === "string") throw new UsageError(`train: ${launch}`);
  // model.py as `compile --target torch` writes it, with this model alone.
  const r = await emitTorchFiles([g], sources, stablePath, version());
  for (const d of r.diagnostics) io.err(renderText(d, sources) + "\n");
  if (!r.files || hasErrors(r.diagnostics)) return EXIT_DIAGNOSTICS;
  const code = await runTorchTraining({
    modelPy: r.files["model.py"],
    model: g.name,
    version: version(),
    launch,
    cwd: io.cwd,
    out: io.out,
    err: io.err,
    ...(io.env ? { env: io.env as NodeJS.ProcessEnv } : {}),
  });
  if (typeof code === "number") return code;
  io.err(`resnetc: ${code.usage}`);
  return EXIT_USAGE;
}

const isPredictError = (e: unknown): e is Error => e instanceof Error && e.name === "PredictError";

const dimText = (d: Dim): string => (typeof d === "number" ? String(d) : d.key);
const shapeText = (dims: readonly (Dim | number)[]): string => `[${dims.map(dimText).join(", ")}]`;

/** Checks an input's shape against its declaration: symbolic dims bind (the same name to the same
 * size across inputs), the rest must be equal. A string is the mismatch, for the message. */
function bindShape(declared: readonly Dim[], found: readonly number[], bound: Map<string, number>): string | undefined {
  if (declared.length !== found.length) return `rank ${found.length}, the model needs rank ${declared.length}`;
  for (const [i, d] of declared.entries()) {
    const n = found[i]!;
    if (typeof d === "number") {
      if (d !== n) return `dim ${i} is ${n}, the model needs ${d}`;
    } else if (/^[A-Za-z_]\w*$/.test(d.key)) {
      const was = bound.get(d.key);
      if (was !== undefined && was !== n) return `dim ${i} (${d.key}) is ${n}, but ${d.key} is ${was} in another input`;
      if (n === 0) return `dim ${i} (${d.key}) is 0`;
      bound.set(d.key, n);
    }
    // A compound symbolic dim (`2*H`) takes whatever size comes: the model checks it at run time.
  }
  return undefined;
}

const num = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v));

/** Shape, statistics, and for a [N, K] score vector each sample's argmax and top scores. */
function describeOutput(name: string, dims: readonly number[], data: Float32Array): string[] {
  const lines = [`${name}: ${shapeText(dims)} float32`];
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  let bad = 0;
  for (const v of data) {
    if (!Number.isFinite(v)) {
      bad++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sq += v * v;
  }
  const n = data.length - bad;
  if (n > 0) {
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
    lines.push(`  min ${num(min)}  max ${num(max)}  mean ${num(mean)}  std ${num(std)}`);
  }
  if (bad) lines.push(`  ${bad} of ${data.length} values are NaN or infinite`);
  if (dims.length === 2 && dims[1]! >= 2) {
    const [rows, k] = [dims[0]!, dims[1]!];
    const shown = Math.min(rows, 20);
    for (let r = 0; r < shown; r++) {
      const row = Array.from(data.subarray(r * k, (r + 1) * k), (v, i) => [i, v] as const);
      row.sort((a, b) => (b[1] === a[1] ? a[0] - b[0] : b[1] > a[1] || Number.isNaN(a[1]) ? 1 : -1));
      const top = row.slice(0, Math.min(3, k)).map(([i, v]) => `${i}: ${num(v)}`);
      lines.push(`  sample ${r}: argmax ${row[0]![0]}  top ${top.join(", ")}`);
    }
    if (rows > shown) lines.push(`  ... ${rows - shown} more samples (-o FILE writes them all)`);
  }
  return lines;
}

/**
 * `resnetc predict FILE --input X.npy`: one forward pass in inference mode, in the emitted tfjs
 * model (default) or in ONNX Runtime, with a checkpoint's weights or the seeded initialisation.
 */
async function cmdPredict(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    model: { type: "string" },
    weights: { type: "string" },
    input: { type: "string", multiple: true },
    out: { type: "string", short: "o" },
    engine: { type: "string" },
    backend: { type: "string" },
    seed: { type: "string" },
  });
  if (values.help) return (io.out(HELP["predict"]!), EXIT_OK);
  if (positionals.length !== 1) throw new UsageError("predict: give exactly one .resnet file");
  const engine = (values.engine as string | undefined) ?? "tfjs";
  if (engine !== "tfjs" && engine !== "onnx")
    throw new UsageError(`predict: --engine is tfjs or onnx, found ${engine}`);
  if (engine === "onnx" && values.backend !== undefined)
    throw new UsageError("predict: --backend picks a tfjs backend; --engine onnx runs on ONNX Runtime's cpu");
  const seed = intOption(values.seed, "seed", 0);
  const inputArgs = (values.input as string[] | undefined) ?? [];
  if (inputArgs.length === 0) throw new UsageError("predict: give the input with --input X.npy (or NAME=X.npy)");
  const file = positionals[0]!;
  const { files, missing } = expandInputs(io.cwd, [file]);
  if (missing.length || files.length !== 1) return (io.err(`resnetc: cannot read ${file}: no such file`), EXIT_USAGE);
  const { results, diagnostics, sources } = checkEach(files, io, values.model as string | undefined, values.root);
  const report = (ds: readonly Diagnostic[]): void => ds.forEach((d) => io.err(renderText(d, sources) + "\n"));
  report(diagnostics);
  if (ioFailure(diagnostics, files)) return EXIT_USAGE;
  if (hasErrors(diagnostics)) return (io.err(summaryLine(diagnostics)), EXIT_DIAGNOSTICS);
  const graphs = results[0]!.graphs;
  if (graphs.length !== 1)
    throw new UsageError(
      `predict: ${file} has ${graphs.length} models (${graphs.map((g) => g.name).join(", ")}); pick one with --model`,
    );
  const g = graphs[0]!;
  const out = typeof values.out === "string" ? values.out : undefined;
  if (g.outputs.length > 1 && out?.endsWith(".npy"))
    throw new UsageError(
      `predict: ${g.name} has ${g.outputs.length} outputs (${g.outputs.map((o) => o.name).join(", ")}); ` +
        `give -o a folder, which receives NAME.npy for each`,
    );
  const { stablePath } = results[0]!;
  const where = spanLocator(sources, (p) => displayPath(io.cwd, p));

  // Which file feeds which input: NAME=PATH, or a bare PATH when the model has one input.
  const names = g.inputs.map((i) => i.name);
  const paths = new Map<string, string>();
  for (const a of inputArgs) {
    const m = /^([A-Za-z_]\w*)=(.+)$/.exec(a);
    const named = m && names.includes(m[1]!);
    if (!named && m && g.inputs.length > 1)
      throw new UsageError(`predict: ${g.name} has no input ${m[1]} (its inputs: ${names.join(", ")})`);
    if (!named && g.inputs.length > 1)
      throw new UsageError(`predict: ${g.name} has ${g.inputs.length} inputs; give each as --input NAME=X.npy`);
    const name = named ? m[1]! : names[0]!;
    if (paths.has(name)) throw new UsageError(`predict: input ${name} is given twice`);
    paths.set(name, named ? m[2]! : a);
  }
  const absent = names.filter((n) => !paths.has(n));
  if (absent.length) throw new UsageError(`predict: no --input for ${absent.join(", ")} (give --input NAME=X.npy)`);
  const bound = new Map<string, number>();
  const feeds: PredictTensor[] = [];
  for (const inp of g.inputs) {
    const path = paths.get(inp.name)!;
    const arr = readNpy(resolve(io.cwd, path), { shownAs: path });
    const why = bindShape(inp.shape, arr.shape, bound);
    if (why !== undefined) {
      io.err(
        `resnetc: ${path} has shape ${shapeText(arr.shape)}: ${why}\n` +
          `  ${where(g.nodes[inp.node]!.span)}: input ${inp.name} of ${g.name} is ${inp.dtype}${shapeText(inp.shape)}` +
          ` (symbolic dims take any size)`,
      );
      return EXIT_USAGE;
    }
    feeds.push({ name: inp.name, dims: arr.shape, data: arr.data });
  }

  // The checkpoint, read and checked as `compile --weights` does (RN601..RN605, located).
  let weights: Map<string, Tensor> | undefined;
  if (typeof values.weights === "string") {
    const w = loadCheckpoint(values.weights, io);
    if (typeof w === "string") {
      report([
        diag("RN601", g.nodes[0]?.span ?? { file: files[0]!, start: 0, end: 0 }, { path: values.weights, reason: w }),
      ]);
      return EXIT_DIAGNOSTICS;
    }
    weights = w;
  }
  let onnx: Uint8Array | undefined;
  if (engine === "onnx" || weights) {
    const r = emitOnnx(
      { ...g, file: stablePath(g.file) },
      { seed, ...(weights ? { weights } : {}), locate: spanLocator(sources, stablePath), producerVersion: version() },
    );
    report(r.diagnostics);
    if (!r.bytes || hasErrors(r.diagnostics)) return (io.err(summaryLine(r.diagnostics)), EXIT_DIAGNOSTICS);
    onnx = r.bytes;
  }
  const runtime = await loadRuntime("predict");
  let outputs: PredictTensor[];
  if (engine === "onnx") outputs = await runtime.predictOnnx(onnx!, feeds);
  else {
    const r = emitTs(g, { version: version(), ...runtime.emittedModuleUrls() });
    report(r.diagnostics);
    if (!r.files) return EXIT_DIAGNOSTICS;
    const backend = typeof values.backend === "string" ? { backend: values.backend } : {};
    const p = await runtime.predictEmitted(r.files["model.ts"], feeds, {
      seed,
      ...backend,
      ...(weights ? { weights } : {}),
    });
    io.err(p.backend);
    outputs = p.outputs;
  }
  if (outputs.length !== g.outputs.length)
    throw new Error(`${engine} gave ${outputs.length} outputs, ${g.name} declares ${g.outputs.length}`);
  // ONNX names its outputs as declared (checked); tfjs by layer names: taken by position.
  if (engine === "onnx" && outputs.some((o, i) => o.name !== g.outputs[i]!.name))
    throw new Error(`ONNX outputs ${outputs.map((o) => o.name).join(", ")} are not ${g.name}'s declared outputs`);
  const named = outputs.map((o, i) => ({ ...o, name: g.outputs[i]!.name }));

  if (out === undefined) {
    io.out(named.flatMap((o) => describeOutput(o.name, o.dims, o.data)).join("\n"));
    return EXIT_OK;
  }
  const target = resolve(io.cwd, out);
  const outIsDir = named.length > 1 || out.endsWith("/") || (existsSync(target) && statSync(target).isDirectory());
  const writes = named.map(
    (o) => [outIsDir ? join(target, `${o.name}.npy`) : target, encodeNpy(o.dims, o.data)] as const,
  );
  writeFilesAtomic(writes);
  for (const [i, [path]] of writes.entries())
    io.out(`${displayPath(io.cwd, path)}: ${named[i]!.name} ${shapeText(named[i]!.dims)} float32`);
  return EXIT_OK;
}

function cmdCompile(args: string[], io: Io): number | Promise<number> {
  const { values, positionals } = parse(args, {
    target: { type: "string" },
    model: { type: "string" },
    out: { type: "string", short: "o" },
    opset: { type: "string" },
    seed: { type: "string" },
    "fold-bn": { type: "boolean" },
    weights: { type: "string" },
    text: { type: "boolean" },
  });
  if (values.help) return (io.out(HELP["compile"]!), EXIT_OK);
  if (positionals.length !== 1) throw new UsageError("compile: give exactly one .resnet file");
  if (values.target !== "onnx" && values.target !== "ts" && values.target !== "torch" && values.target !== "web")
    throw new UsageError(
      `compile: --target must be onnx, ts, torch or web` +
        `${values.target === undefined ? " (it is required)" : `, found ${String(values.target)}`}`,
    );
  const opset = intOption(values.opset, "opset", OPSET_DEFAULT);
  const seed = intOption(values.seed, "seed", 0);
  const file = positionals[0]!;
  const { files, missing } = expandInputs(io.cwd, [file]);
  if (missing.length || files.length !== 1) return (io.err(`resnetc: cannot read ${file}: no such file`), EXIT_USAGE);
  const { results, diagnostics, sources } = checkEach(files, io, values.model as string | undefined, values.root);
  const report = (ds: readonly Diagnostic[]): void => ds.forEach((d) => io.err(renderText(d, sources) + "\n"));
  report(diagnostics);
  if (ioFailure(diagnostics, files)) return EXIT_USAGE;
  if (hasErrors(diagnostics)) return (io.err(summaryLine(diagnostics)), EXIT_DIAGNOSTICS);
  const graphs = results[0]!.graphs;
  let weights: Map<string, Tensor> | undefined;
  if (typeof values.weights === "string") {
    const w = loadCheckpoint(values.weights, io);
    if (typeof w === "string") {
      const d = diag("RN601", graphs[0]?.nodes[0]?.span ?? { file: files[0]!, start: 0, end: 0 }, {
        path: values.weights,
        reason: w,
      });
      report([d]);
      return EXIT_DIAGNOSTICS;
    }
    weights = w;
  }
  const out = typeof values.out === "string" ? values.out : undefined;
  const { stablePath } = results[0]!;
  if (values.target === "ts") return compileTs(graphs, out, sources, stablePath, io);
  if (values.target === "torch") return compileTorch(graphs, out, sources, stablePath, io);
  if (values.target === "web") return compileWeb(graphs, out, sources, stablePath, io);
  if (graphs.length > 1 && out?.endsWith(".onnx"))
    throw new UsageError(`compile: ${file} has ${graphs.length} models; pick one with --model, or give -o a folder`);
  const locate = spanLocator(sources, stablePath);
  // A folder (an existing one, or a path ending in "/") receives NAME.onnx even for one model.
  const outIsDir =
    out !== undefined &&
    (out.endsWith("/") || (existsSync(resolve(io.cwd, out)) && statSync(resolve(io.cwd, out)).isDirectory()));
  let failed = false;
  for (const g of graphs) {
    const r = emitOnnx(
      { ...g, file: stablePath(g.file) },
      {
        opset,
        seed,
        foldBn: values["fold-bn"] === true,
        ...(weights ? { weights } : {}),
        locate,
        producerVersion: version(),
      },
    );
    report(r.diagnostics);
    if (!r.bytes || hasErrors(r.diagnostics)) {
      failed = true;
      continue;
    }
    const target = resolve(
      io.cwd,
      graphs.length === 1 && !outIsDir ? (out ?? `${g.name}.onnx`) : join(out ?? ".", `${g.name}.onnx`),
    );
    writeFileAtomic(target, r.bytes);
    if (values.text) io.out(modelText(r.model!));
    io.out(
      `${displayPath(io.cwd, target)}: ${g.name}, ${g.params.toLocaleString("en-US")} parameters, ` +
        `opset ${opset}, ${r.bytes.length.toLocaleString("en-US")} bytes`,
    );
  }
  return failed ? EXIT_DIAGNOSTICS : EXIT_OK;
}

export function main(argv: string[], io: Io): number | Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case "-h":
      case "--help":
      case "help":
        io.out(HELP["main"]!);
        return cmd === undefined ? EXIT_USAGE : EXIT_OK;
      case "-v":
      case "--version":
        io.out(version());
        return EXIT_OK;
      case "check": {
        const r = cmdCheck(rest, io);
        return typeof r === "number" ? r : r.catch((e) => handleError(e, io, cmd));
      }
      case "lint":
        return cmdLint(rest, io);
      case "summary":
        return cmdSummary(rest, io);
      case "compile": {
        const r = cmdCompile(rest, io);
        return typeof r === "number" ? r : r.catch((e) => handleError(e, io, cmd));
      }
      case "train":
        return cmdTrain(rest, io).catch((e) => handleError(e, io, cmd));
      case "predict":
        return cmdPredict(rest, io).catch((e) => handleError(e, io, cmd));
      case "fmt":
        return cmdFmt(rest, io).catch((e) => handleError(e, io, cmd));
      case "graph":
        return import("./graph.js").then((m) => m.cmdGraph(rest, io)).catch((e) => handleError(e, io, cmd));
      case "lsp": // loaded lazily: only this command needs vscode-languageserver
        return import("../lsp/server.js").then((m) => m.cmdLsp(rest, io)).catch((e) => handleError(e, io, cmd));
      case "doctor":
        if (rest.includes("--help") || rest.includes("-h")) return (io.out(HELP["doctor"]!), EXIT_OK);
        if (rest.length) throw new UsageError("doctor takes no arguments");
        return loadRuntime("doctor")
          .then((rt) => rt.doctor(io))
          .catch((e) => handleError(e, io, cmd));
      default:
        throw new UsageError(
          `unknown command \`${cmd}\` ` +
            "(commands: check, lint, summary, compile, train, predict, doctor, fmt, graph, lsp)",
        );
    }
  } catch (e) {
    return handleError(e, io, cmd);
  }
}

function handleError(e: unknown, io: Io, cmd?: string): number {
  // The runtime's PredictError (not imported: the runtime loads dynamically) and .npy problems.
  if (e instanceof RuntimeMissing || e instanceof AtomicWriteError || e instanceof NpyError || isPredictError(e)) {
    io.err(`resnetc: ${e.message}`);
    return EXIT_USAGE;
  }
  if (e instanceof ConfigError) {
    io.err(`resnetc: ${e.message}`);
    return EXIT_USAGE;
  }
  if (e instanceof UsageError) {
    // A bad option: the command's own usage lines, then where the full help is.
    const help = cmd !== undefined && Object.hasOwn(HELP, cmd) && cmd !== "main" ? HELP[cmd] : undefined;
    if (e.showUsage && help) {
      io.err(`resnetc ${cmd}: ${e.message}\n${usageLines(help)}\nrun \`resnetc ${cmd} --help\` for all options`);
      return EXIT_USAGE;
    }
    io.err(`resnetc: ${e.message}\nrun \`resnetc ${help ? `${cmd} ` : ""}--help\` for usage`);
    return EXIT_USAGE;
  }
  // A bug in resnetc: say so plainly, once, without a stack trace unless asked for.
  io.err(
    `resnetc: internal error: ${(e as Error).message}\nplease report this with the input that caused ` +
      `it${process.env["RESNETC_DEBUG"] ? `\n${(e as Error).stack}` : " (RESNETC_DEBUG=1 shows the stack)"}`,
  );
  return EXIT_USAGE;
}
