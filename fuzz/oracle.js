// The fuzzer's oracle: runs one program through the compiler the way a user would and says what
// went wrong, if anything.
// Takes: a set of in-memory files and the path of the root file. Gives: an outcome: `ok`,
// `diagnostics` (errors reported as data: the expected answer to most mutated programs), or one
// failure kind: `internalError` (an exception escaping, or a diagnostic that says "internal
// error"), `slow` (the compiler's own work over the time budget), `invalidOnnx` (check said ok
// but ONNX Runtime or the ONNX emitter refused the model), `shapeDisagreement` (ONNX Runtime's
// output shape differs from the one resnetc inferred), `oversized` (check said ok for a model no
// backend can hold). Must not: read or write files (the Host serves only the files given), or
// judge the TypeScript by type-checking it (tsc runs once per fuzz run, over a sample: see
// typecheck.js).
//
// Everything is imported from dist/, the package as users get it: `check` and `emitModel` are
// the public API; emitTs is the raw TS emitter (emitModel's TS path also runs prettier, which is
// not under test and would cost more than the rest of the case).

import ort from "onnxruntime-node";
import { check, emitModel } from "../dist/index.js";
import { emitTs } from "../dist/emit/ts/emit.js";

/** A case over this many seconds of compiler work (check; emitters) is a finding. The work is
 * this process's CPU time, not wall time: on a loaded machine a case waits longer but does not
 * compute more, so a kept `slow` regression does not fail for the load around it. */
export const SLOW_SECONDS = 2;
/** Seconds of CPU time (user + system) this process has used. */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Drawing initial values is linear in the parameters (about 30 ns each here): emitting
 * ResNet-152's 60M takes 1.9 s. That much time per parameter is allowed on top of the budget. */
const EMIT_SECONDS_PER_PARAM = 100e-9;
/** Models above these are emitted but not run in ONNX Runtime (counted as `skippedOrt`). */
const ORT_MAX_ELEMENTS = 4e6;
const ORT_MAX_MACS = 3e8;
/** ONNX Runtime's session setup grows with the node count: `(bn relu) * 100000` takes minutes. */
const ORT_MAX_NODES = 5000;
/** Models above this many parameters are not emitted at all (`skippedEmit`): the emitter's time
 * grows with them and the examples' tests already cover large models. */
const EMIT_MAX_PARAMS = 3e6;
/** What no backend can hold: ONNX's protobuf limit is 2 GiB, i.e. 2^29 float32 values, and
 * ONNX Runtime and tfjs index a tensor with int32. A check-ok model beyond either is `oversized`:
 * `check` should have refused it with a limit diagnostic (issue 16, "limits as diagnostics"). */
const MAX_MODEL_PARAMS = 2 ** 29;
const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** Sizes symbolic dims take in ONNX Runtime: a batch of 2; any other name (H, S, L) 16. */
export const BINDINGS = { N: 2, default: 16 };

/** A Host over in-memory files: `std/...` and paths relative to the importing file, normalised;
 * anything not in `files` is missing (RN004). */
export function memoryHost(files) {
  const enc = new TextEncoder();
  return {
    readFile(path) {
      const text = files.get(path);
      return text === undefined ? { error: "no such file" } : enc.encode(text);
    },
    resolveImport(from, spec) {
      const dir = from.includes("/") ? from.slice(0, from.lastIndexOf("/")) : "";
      const joined = spec.startsWith("std/") ? spec : normalise(dir ? `${dir}/${spec}` : spec);
      if (joined === undefined) return undefined;
      for (const p of [joined, `${joined}.resnet`]) if (files.has(p)) return p;
      return undefined;
    },
  };
}

function normalise(path) {
  const out = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined; // leaves the in-memory project: missing
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

/** Value of a printed symbolic dim (`N`, `2*H + 1`, `(H - 1) // 2 + 1`, `ceil(S / 2)`) with
 * every name bound by `bind`; undefined where the text is not of that form. The IR's dims are
 * canonical polynomials printed this way (src/ir/dims.ts), so this reads all of them. */
export function evalDim(d, bind) {
  if (typeof d === "number") return d;
  const text = d.key;
  const toks = text.match(/\d+|[A-Za-z_][A-Za-z0-9_]*|\/\/|[-+*/()]/g) ?? [];
  let i = 0;
  const peek = () => toks[i];
  const expr = () => {
    let v = term();
    while (peek() === "+" || peek() === "-") v = toks[i++] === "+" ? v + term() : v - term();
    return v;
  };
  const term = () => {
    let v = unary();
    while (peek() === "*" || peek() === "//") v = toks[i++] === "*" ? v * unary() : Math.floor(v / unary());
    return v;
  };
  const unary = () => (peek() === "-" ? (i++, -unary()) : atom());
  const atom = () => {
    const t = toks[i++];
    if (t === undefined) throw new Error("end of dim");
    if (t === "(") {
      const v = expr();
      if (toks[i++] !== ")") throw new Error(") expected");
      return v;
    }
    if (t === "ceil" && peek() === "(") {
      i++;
      const a = expr();
      if (toks[i++] !== "/") throw new Error("/ expected");
      const b = expr();
      if (toks[i++] !== ")") throw new Error(") expected");
      return Math.ceil(a / b);
    }
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return bind(t);
    throw new Error(`unexpected ${t}`);
  };
  try {
    const v = expr();
    return i === toks.length ? v : undefined;
  } catch {
    return undefined;
  }
}

const bindSmall = (name) => (name === "N" ? BINDINGS.N : BINDINGS.default);
const bindOne = () => 1;

function product(xs) {
  return xs.reduce((a, b) => a * b, 1);
}

/** A failure: its kind, a message, and a signature that groups failures with one cause (digits
 * and names taken out), so a run reports each distinct failure once and minimises it once. */
function failure(kind, message, where = "") {
  return { kind, message, signature: `${kind}: ${normaliseMessage(message)}${where ? ` @ ${where}` : ""}` };
}

export function normaliseMessage(m) {
  return String(m)
    .split("\n")[0]
    .replace(/`[^`]*`/g, "`_`")
    .replace(/Node \([^)]*\)/g, "Node (_)")
    .replace(/'[^']*'/g, "'_'")
    .replace(/"[^"]*"/g, '"_"')
    .replace(/\d+/g, "#")
    .slice(0, 120);
}

/** The first stack frame inside the compiler (`parser.js:subrule`), which tells one stack
 * overflow from another. */
function compilerFrame(err) {
  const lines = String(err?.stack ?? "")
    .split("\n")
    .slice(1);
  for (const l of lines) {
    const m = /at (?:(\S+) )?\(?.*\/dist\/(.*?\.js):\d+:\d+\)?/.exec(l);
    // The file, not the function: a stack overflow surfaces in whichever frame of the
    // recursion runs out, so the function name differs from case to case for one cause.
    if (m) return m[2];
  }
  return "";
}

function thrown(err, stage) {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return failure("internalError", `${stage}: ${msg}`, compilerFrame(err));
}

function internalDiagnostic(ds) {
  return ds.find((d) => /internal error/i.test(d.message));
}

/**
 * Runs one case. `options.ort` false skips ONNX Runtime; `options.keepTs` keeps the formatted
 * TypeScript of the first emitted model (for the type-check sample).
 * Returns { outcome, failure?, seconds, graphs, skippedOrt, skippedEmit, ts? }.
 */
export async function runCase(files, root, options = {}) {
  const result = { outcome: "ok", seconds: 0, graphs: 0, skippedOrt: 0, skippedEmit: 0 };
  const fail = (f) => ((result.outcome = f.kind), (result.failure = f), result);
  const t0 = performance.now();
  const c0 = cpuSeconds();
  let checked;
  try {
    checked = check([root], memoryHost(files));
  } catch (err) {
    result.seconds = (performance.now() - t0) / 1000;
    return fail(thrown(err, "check"));
  }
  const checkSeconds = cpuSeconds() - c0;
  result.seconds = (performance.now() - t0) / 1000;
  const internal = internalDiagnostic(checked.diagnostics);
  if (internal) return fail(failure("internalError", `check: ${internal.code} ${internal.message}`));
  if (checkSeconds > SLOW_SECONDS) return fail(failure("slow", `check took ${checkSeconds.toFixed(1)} s of CPU time`));
  if (checked.diagnostics.some((d) => d.severity === "error")) {
    result.outcome = "diagnostics";
    return result;
  }
  result.graphs = checked.graphs.length;
  // Every graph is checked for size; one graph per case (the case picks which) goes through
  // the emitters, so multi-model files do not cost six emissions per case.
  for (const g of checked.graphs) {
    const big = g.nodes.find((n) => product(n.shape.map((d) => evalDim(d, bindOne) ?? 1)) > MAX_TENSOR_ELEMENTS);
    if (big)
      return fail(
        failure(
          "oversized",
          `check ok, but \`${big.name}\` (${big.op}) has more than 2^31 elements per sample`,
          big.op,
        ),
      );
    if (g.params > MAX_MODEL_PARAMS)
      return fail(failure("oversized", `check ok, but ${g.params} parameters exceed ONNX's 2 GiB`));
  }
  const g = checked.graphs[(options.pick ?? 0) % Math.max(1, checked.graphs.length)];
  if (!g) return result;
  if (g.params > EMIT_MAX_PARAMS) {
    result.skippedEmit = 1;
    return result;
  }
  const t1 = performance.now();
  const c1 = cpuSeconds();
  let onnx;
  try {
    const r = await emitModel(g, { target: "onnx" }, checked.sources, checked.stablePath);
    const bad = internalDiagnostic(r.diagnostics);
    if (bad) return fail(failure("internalError", `emit onnx: ${bad.code} ${bad.message}`));
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    if (errors.length)
      return fail(
        failure(
          "invalidOnnx",
          `check ok, but the ONNX emitter refused: ${errors[0].code} ${errors[0].message}`,
          errors[0].code,
        ),
      );
    onnx = r.model.onnx;
  } catch (err) {
    return fail(thrown(err, "emit onnx"));
  }
  const onnxSeconds = cpuSeconds() - c1;
  let ts;
  const c2 = cpuSeconds();
  try {
    const r = emitTs(g, {});
    const bad = internalDiagnostic(r.diagnostics);
    if (bad) return fail(failure("internalError", `emit ts: ${bad.code} ${bad.message}`));
    ts = r.files;
  } catch (err) {
    return fail(thrown(err, "emit ts"));
  }
  const tsSeconds = cpuSeconds() - c2;
  result.seconds += (performance.now() - t1) / 1000;
  if (onnxSeconds > SLOW_SECONDS + EMIT_SECONDS_PER_PARAM * g.params)
    return fail(failure("slow", `ONNX emission took ${onnxSeconds.toFixed(1)} s for ${g.params} parameters`));
  if (tsSeconds > SLOW_SECONDS) return fail(failure("slow", `TypeScript emission took ${tsSeconds.toFixed(1)} s`));
  if (ts && options.keepTs) {
    // The sample is type-checked as users get it: formatted by emitModel's TS path.
    try {
      const r = await emitModel(g, { target: "ts" }, checked.sources, checked.stablePath);
      if (r.model?.files) result.ts = r.model.files;
    } catch (err) {
      return fail(thrown(err, "emit ts (format)"));
    }
  }
  if (options.ort === false) return result;
  const ortFailure = await runInOrt(g, onnx);
  if (ortFailure === "skipped") result.skippedOrt = 1;
  else if (ortFailure) return fail(ortFailure);
  return result;
}

/** Loads and runs the model in ONNX Runtime with symbolic dims bound to small sizes; compares
 * each output's shape with the one resnetc inferred. Undefined when they agree; "skipped" for a
 * model too large to run quickly, or one whose shapes are degenerate at the chosen sizes. */
async function runInOrt(g, bytes) {
  let elements = 0;
  for (const n of g.nodes) {
    const dims = n.shape.map((d) => evalDim(d, bindSmall));
    if (dims.some((d) => d === undefined || d <= 0)) return "skipped";
    elements += product(dims);
  }
  if (elements > ORT_MAX_ELEMENTS || g.macs * BINDINGS.N > ORT_MAX_MACS || g.nodes.length > ORT_MAX_NODES)
    return "skipped";
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "basic",
      logSeverityLevel: 4,
    });
  } catch (err) {
    return failure("invalidOnnx", `ONNX Runtime refused the model: ${String(err?.message ?? err)}`, "load");
  }
  try {
    // No prototype: an input named `__proto__` is a key like any other.
    const feeds = Object.create(null);
    for (const i of g.inputs) {
      const dims = i.shape.map((d) => evalDim(d, bindSmall));
      feeds[i.name] = new ort.Tensor("float32", new Float32Array(product(dims)).fill(0.5), dims);
    }
    let out;
    try {
      out = await session.run(feeds);
    } catch (err) {
      return failure("invalidOnnx", `ONNX Runtime failed to run the model: ${String(err?.message ?? err)}`, "run");
    }
    for (const o of g.outputs) {
      const got = Object.hasOwn(out, o.name) ? out[o.name] : undefined;
      const node = g.nodes[o.node];
      if (!got)
        return failure(
          "invalidOnnx",
          `output \`${o.name}\` missing from ONNX Runtime's outputs (${Object.keys(out).join(", ")})`,
          "outputs",
        );
      const want = o.shape.map((d) => evalDim(d, bindSmall));
      if (want.length !== got.dims.length || want.some((d, k) => d !== got.dims[k]))
        return failure(
          "shapeDisagreement",
          `output \`${o.name}\` from ${node?.op}: resnetc ` +
            `[${o.shape.map((d) => (typeof d === "number" ? d : d.key)).join(", ")}] = [${want.join(", ")}], ONNX ` +
            `Runtime [${got.dims.join(", ")}]`,
          node?.op ?? "",
        );
    }
    return undefined;
  } finally {
    await session.release?.();
  }
}
