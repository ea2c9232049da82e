// `resnetc predict`: one forward pass in inference mode (batch norm on its running statistics,
// dropout and drop-path off), in one of two engines. predictEmitted runs the TypeScript model the
// compiler emitted (transpiled and imported as `resnetc train` does) with tfjs on the backend
// chooseBackend picks; predictOnnx runs ONNX bytes with onnxruntime-node, an optional dependency
// loaded only here.
// Takes: the emitted model.ts text or the ONNX bytes, and input tensors in the model's declared
// layout (NCHW, [N, C, L], [N, T, D]: whatever the .resnet file says) with the batch dim first.
// Gives: the output tensors, in the model's output order, in the declared layout; or throws
// PredictError with a one-line reason. Must not: convert layouts (the emitted model takes and gives
// the declared layout itself), train or change a parameter beyond setting it, or leave its
// temporary folder behind.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as tfTypes from "@tensorflow/tfjs";
import type { ParamInfo } from "./params-core.js";

/** A named tensor: an input fed, or an output produced. */
export interface PredictTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

export class PredictError extends Error {
  override name = "PredictError";
}

interface EmittedModel {
  buildModel: () => tfTypes.LayersModel;
  PARAMS: ParamInfo[];
  MODEL_NAME: string;
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 300);

/** Transpiles and imports the emitted model.ts (its imports already name this installation's
 * runtime and tfjs: emittedModuleUrls), as trainEmitted does. */
async function importEmitted(modelTs: string): Promise<EmittedModel> {
  const ts = (await import("typescript")).default;
  const js = ts.transpileModule(modelTs, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const dir = mkdtempSync(join(tmpdir(), "resnetc-predict-"));
  try {
    writeFileSync(join(dir, "model.mjs"), js);
    return (await import(pathToFileURL(join(dir, "model.mjs")).href)) as EmittedModel;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the emitted tfjs model once. Parameters come from `weights` (canonical tensors, a
 * checkpoint's) or else the declared initialisation drawn from `seed` (the values the ONNX
 * emitter draws for the same seed). `backend` is `--backend`'s name (default: the fastest here).
 */
export async function predictEmitted(
  modelTs: string,
  inputs: readonly PredictTensor[],
  opts: { seed: number; backend?: string; weights?: ReadonlyMap<string, { dims: number[]; data: Float32Array }> },
): Promise<{ outputs: PredictTensor[]; backend: string }> {
  const { chooseBackend, describeChoice } = await import("./backend.js");
  let choice;
  try {
    choice = await chooseBackend(opts.backend === undefined ? {} : { prefer: opts.backend });
  } catch (e) {
    throw new PredictError(firstLine(e));
  }
  const tf = await import("@tensorflow/tfjs");
  const { initParams, setParams } = await import("./params-core.js");
  const mod = await importEmitted(modelTs);
  const model = mod.buildModel();
  try {
    if (opts.weights) {
      const w = opts.weights;
      for (const p of mod.PARAMS) {
        const t = w.get(p.name);
        if (!t) throw new PredictError(`the checkpoint has no tensor ${p.name}`);
        if (t.dims.join(",") !== p.dims.join(","))
          throw new PredictError(`checkpoint tensor ${p.name} has shape [${t.dims}], the model needs [${p.dims}]`);
      }
      setParams(model, mod.PARAMS, (p) => w.get(p.name)!.data);
    } else initParams(model, mod.PARAMS, opts.seed);
    if (inputs.length !== model.inputs.length)
      throw new PredictError(`${mod.MODEL_NAME} takes ${model.inputs.length} inputs, ${inputs.length} given`);
    const xs = inputs.map((i) => tf.tensor(i.data, i.dims, "float32"));
    let ys: tfTypes.Tensor[];
    try {
      // predict: inference mode (training false), as the declared layout goes in and comes out.
      const y = model.predict(xs.length === 1 ? xs[0]! : xs);
      ys = Array.isArray(y) ? y : [y];
    } catch (e) {
      throw new PredictError(`the tfjs model ${mod.MODEL_NAME} rejected its input: ${firstLine(e)}`);
    } finally {
      tf.dispose(xs);
    }
    const outputs: PredictTensor[] = [];
    try {
      for (const [k, y] of ys.entries()) {
        // Async reads: the webgpu backend has no synchronous one in Node.
        const data = Float32Array.from((await y.data()) as Float32Array);
        outputs.push({ name: model.outputNames[k] ?? `output${k}`, dims: [...y.shape], data });
      }
    } finally {
      tf.dispose(ys);
    }
    return { outputs, backend: describeChoice(choice).split("\n")[0]! };
  } finally {
    model.dispose();
  }
}

interface Ort {
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: {
    create(bytes: Uint8Array): Promise<{
      inputNames: readonly string[];
      outputNames: readonly string[];
      run(feeds: Record<string, unknown>): Promise<Record<string, { dims: readonly number[]; data: unknown }>>;
      release?(): Promise<void>;
    }>;
  };
}

export const ORT_PACKAGE = "onnxruntime-node";

/** onnxruntime-node, or a PredictError that says how to install it (`importer`: for tests). */
export async function loadOrt(importer: (spec: string) => Promise<unknown> = (s) => import(s)): Promise<Ort> {
  try {
    const m = (await importer(ORT_PACKAGE)) as { default?: Ort } & Ort;
    return m.default ?? m;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && (e as Error).message.includes(ORT_PACKAGE))
      throw new PredictError(
        `--engine onnx needs ${ORT_PACKAGE}, an optional dependency of @resnetc/runtime that is not installed ` +
          `here: npm install ${ORT_PACKAGE} (or use --engine tfjs)`,
      );
    throw new PredictError(`${ORT_PACKAGE} is installed but did not load: ${firstLine(e)}`);
  }
}

/** Runs an ONNX model once with onnxruntime-node; outputs in the graph's output order. */
export async function predictOnnx(model: Uint8Array, inputs: readonly PredictTensor[]): Promise<PredictTensor[]> {
  const ort = await loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(model);
  } catch (e) {
    throw new PredictError(`onnxruntime could not load the model: ${firstLine(e)}`);
  }
  try {
    const feeds: Record<string, unknown> = {};
    for (const i of inputs) {
      if (!session.inputNames.includes(i.name))
        throw new PredictError(`the ONNX model has no input ${i.name} (it has ${session.inputNames.join(", ")})`);
      feeds[i.name] = new ort.Tensor("float32", i.data, i.dims);
    }
    let results;
    try {
      results = await session.run(feeds);
    } catch (e) {
      throw new PredictError(`onnxruntime rejected the input: ${firstLine(e)}`);
    }
    return session.outputNames.map((name) => {
      const t = results[name]!;
      if (!(t.data instanceof Float32Array)) throw new PredictError(`ONNX output ${name} is not float32`);
      return { name, dims: t.dims.map(Number), data: Float32Array.from(t.data) };
    });
  } finally {
    await session.release?.();
  }
}
