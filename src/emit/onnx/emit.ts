// The ONNX emitter: graph IR -> ModelProto.
// Takes: one checked graph and options (opset, seed, BN folding, trained weights).
// Gives: the model, its bytes, and diagnostics (opset, checkpoint problems).
// Must not: write files (the CLI writes atomically) or read anything but the IR.
//
// The graph: named inputs and outputs with symbolic dims as dim_param, value_info for every
// intermediate tensor, node names = structural names (`layer2.0.conv1`), initializers named as
// a PyTorch state_dict (`layer2.0.conv1.weight`), each node's doc_string = its source location.

import { diag, type Diagnostic, type Span } from "../../diagnostics/diagnostic.js";
import { shapeStr } from "../../ir/dims.js";
import type { Graph, IrNode, OpName } from "../../ir/ir.js";
import type { Tensor } from "../../weights/checkpoint.js";
import { fill, fillInto, graphParams, paramBytes, type ParamSpec } from "../../weights/init.js";
import {
  makeFloatTensor,
  makeInt64Tensor,
  makeNode,
  makeValueInfo,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from "./builder.js";
import { lowerings, type LowerCtx, type Lowering } from "./lower.js";
import { encode, MODEL, type Deferred } from "./proto.js";
import { commentText } from "../escape.js";

export const OPSET_MIN = 11;
export const OPSET_MAX = 21;
export const OPSET_DEFAULT = 17;

export interface OnnxOptions {
  opset?: number;
  seed?: number;
  foldBn?: boolean;
  /** Trained values by parameter name (a decoded checkpoint); others are initialised. */
  weights?: ReadonlyMap<string, Tensor>;
  /** `file:line:col` of a span, for doc strings. */
  locate?: (span: Span) => string;
  producerVersion?: string;
}

export interface OnnxResult {
  model?: ModelProto;
  bytes?: Uint8Array;
  diagnostics: Diagnostic[];
  /** Elements stored in float initializers that hold parameters (learnable + BN statistics). */
  parameterElements: number;
}

/** A parameter's values: given (a checkpoint's, or folded), or its declared initialisation, drawn
 * only when needed: straight into the model's bytes when written, or here when folding reads it. */
type Value = Tensor | { dims: number[]; spec: ParamSpec; seed: number };
type Values = Map<string, Value>;

function dataOf(values: Values, name: string): Float32Array | undefined {
  const v = values.get(name);
  if (!v || "data" in v) return v?.data;
  const data = fill(v.spec, v.seed);
  values.set(name, { dims: v.dims, data });
  return data;
}

/**
 * A declared initialisation as raw_data drawn while the model is encoded, straight into the
 * model's bytes (which start zeroed): one buffer for a whole ResNet, no array per tensor and no
 * second copy. `placed` is then that slice of the bytes, the tensor's raw_data from there on.
 */
function drawn(spec: ParamSpec, seed: number): Deferred & { placed?: Uint8Array } {
  return {
    byteLength: paramBytes(spec),
    write(dst) {
      fillInto(spec, seed, dst, true);
      this.placed = dst;
    },
  };
}

/** Parameter values: the checkpoint's where given and valid, else the declared initialisation. */
function parameterValues(g: Graph, specs: ParamSpec[], o: OnnxOptions, ds: Diagnostic[]): Values {
  const values: Values = new Map();
  const spanOf = new Map<string, Span>();
  for (const n of g.nodes) spanOf.set(n.name, n.span);
  const nodeOf = (name: string): Span =>
    spanOf.get(name.slice(0, name.lastIndexOf("."))) ??
    spanOf.get(name.split(".").slice(0, -2).join(".")) ??
    g.nodes[0]!.span;
  for (const s of specs) {
    const t = o.weights?.get(s.name);
    if (o.weights && !t) ds.push(diag("RN602", nodeOf(s.name), { name: s.name }));
    else if (t && (t.dims.length !== s.dims.length || t.dims.some((d, i) => d !== s.dims[i])))
      ds.push(
        diag("RN603", nodeOf(s.name), {
          name: s.name,
          expected: `[${s.dims.join(", ")}]`,
          found: `[${t.dims.join(", ")}]`,
        }),
      );
    else if (t && t.data.some((v) => !Number.isFinite(v))) ds.push(diag("RN605", nodeOf(s.name), { name: s.name }));
    else if (t) {
      values.set(s.name, t);
      continue;
    }
    values.set(s.name, { dims: s.dims, spec: s, seed: o.seed ?? 0 });
  }
  if (o.weights) {
    const extra = [...o.weights.keys()].filter((k) => !values.has(k) || !specs.some((s) => s.name === k));
    if (extra.length)
      ds.push(
        diag("RN604", g.nodes[0]!.span, {
          count: extra.length,
          names: extra.slice(0, 5).join(", ") + (extra.length > 5 ? ", ..." : ""),
        }),
      );
  }
  return values;
}

/** Folds each BN that is its conv's only consumer into the conv's weight and bias. */
function foldBatchNorms(g: Graph, values: Values): Set<number> {
  const consumers = g.nodes.map(() => 0);
  for (const n of g.nodes) for (const i of n.inputs) consumers[i]!++;
  const outputs = new Set(g.outputs.map((o) => o.node));
  const folded = new Set<number>();
  // Layers whose parameters are shared are left as they are: folding one use's BN into the
  // shared conv would change the other uses.
  const tied = new Set<number>();
  for (const n of g.nodes) if (n.shares !== undefined) tied.add(n.id).add(n.shares);
  for (const bn of g.nodes) {
    if (bn.op !== "bn") continue;
    const conv = g.nodes[bn.inputs[0]!]!;
    if (conv.op !== "conv" || consumers[conv.id] !== 1 || outputs.has(conv.id)) continue;
    if (tied.has(conv.id) || tied.has(bn.id)) continue;
    // bn(affine=false) has no weight and bias: gamma 1, beta 0.
    const gamma = dataOf(values, `${bn.name}.weight`) ?? new Float32Array(bn.shape[1] as number).fill(1);
    const beta = dataOf(values, `${bn.name}.bias`) ?? new Float32Array(bn.shape[1] as number);
    const mean = dataOf(values, `${bn.name}.running_mean`)!;
    const variance = dataOf(values, `${bn.name}.running_var`)!;
    const eps = bn.attrs["eps"] as number;
    const w = { dims: values.get(`${conv.name}.weight`)!.dims, data: dataOf(values, `${conv.name}.weight`)! };
    const out = w.dims[0]!;
    const per = w.data.length / out;
    const wf = new Float32Array(w.data.length);
    const bias = dataOf(values, `${conv.name}.bias`) ?? new Float32Array(out);
    const bf = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
      for (let j = 0; j < per; j++) wf[o * per + j] = w.data[o * per + j]! * s;
      bf[o] = (bias[o]! - mean[o]!) * s + beta[o]!;
    }
    values.set(`${conv.name}.weight`, { dims: w.dims, data: wf });
    values.set(`${conv.name}.bias`, { dims: [out], data: bf });
    conv.attrs = { ...conv.attrs, bias: true };
    folded.add(bn.id);
  }
  return folded;
}

export function emitOnnx(source: Graph, o: OnnxOptions = {}): OnnxResult {
  const ds: Diagnostic[] = [];
  const opset = o.opset ?? OPSET_DEFAULT;
  const at = source.nodes[0]?.span ?? { file: source.file, start: 0, end: 0 };
  if (!Number.isInteger(opset) || opset < OPSET_MIN || opset > OPSET_MAX) {
    ds.push(diag("RN502", at, { opset, min: OPSET_MIN, max: OPSET_MAX }));
    return { diagnostics: ds, parameterElements: 0 };
  }
  // Folding rewrites attrs; work on a copy so the caller's graph is untouched.
  const g: Graph = { ...source, nodes: source.nodes.map((n) => ({ ...n, attrs: { ...n.attrs } }) as IrNode) };
  const specs = graphParams(g);
  const values = parameterValues(g, specs, o, ds);
  if (ds.some((d) => d.severity === "error")) return { diagnostics: ds, parameterElements: 0 };
  const folded = o.foldBn ? foldBatchNorms(g, values) : new Set<number>();

  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const initNames = new Set<string>();
  const tensorOf: string[] = [];
  const tmpInfos: ReturnType<typeof makeValueInfo>[] = [];
  const specNames = new Set(specs.map((p) => p.name));
  let parameterElements = 0;
  const addParam = (name: string): string => {
    if (!initNames.has(name)) {
      const v = values.get(name)!;
      inits.push(makeFloatTensor(name, v.dims, "data" in v ? v.data : drawn(v.spec, v.seed)));
      initNames.add(name);
      parameterElements += v.dims.reduce((a, b) => a * b, 1);
    }
    return name;
  };

  for (const n of g.nodes) {
    if (n.op === "input") {
      tensorOf[n.id] = n.name;
      continue;
    }
    if (folded.has(n.id)) {
      tensorOf[n.id] = tensorOf[n.inputs[0]!]!;
      continue;
    }
    const lower = lowerings[n.op] as Lowering<OpName>;
    // A free tensor named after its layer (`class_token`) is an initializer of that name, so the
    // layer's output tensor takes another.
    const out = specNames.has(n.name) ? `${n.name}/output` : n.name;
    if (out !== n.name) tmpInfos.push(makeValueInfo(out, n.shape));
    tensorOf[n.id] = out;
    // Doc strings carry no raw user text (a file name may hold a newline): see emit/escape.ts.
    const doc = o.locate ? commentText(o.locate(n.span)) : "";
    let tmp = 0;
    const ctx: LowerCtx = {
      node: n,
      opset,
      out,
      input: (i = 0) => tensorOf[n.inputs[i]!]!,
      // A layer of a shared block's later use reads the first use's parameters.
      // An empty suffix: a free tensor named after the layer itself (ViT's `class_token`).
      param: (suffix) => {
        const owner = (n.shares === undefined ? n : g.nodes[n.shares]!).name;
        const name = suffix === "" ? owner : `${owner}.${suffix}`;
        return values.has(name) ? addParam(name) : undefined;
      },
      constF: (suffix, dims, vals) => {
        const name = `${n.name}.${suffix}`;
        if (!initNames.has(name))
          (inits.push(makeFloatTensor(name, dims, Float32Array.from(vals))), initNames.add(name));
        return name;
      },
      constI: (suffix, vals) => {
        const name = `${n.name}.${suffix}`;
        if (!initNames.has(name)) (inits.push(makeInt64Tensor(name, vals)), initNames.add(name));
        return name;
      },
      emit: (opType, inputs, output, attrs = {}, shape) => {
        const name = output === out ? n.name : `${n.name}/${opType.toLowerCase()}${tmp++}`;
        nodes.push(makeNode(opType, inputs, [output], name, attrs, doc));
        if (shape && output !== out) tmpInfos.push(makeValueInfo(output, shape));
      },
      tmp: (suffix) => `${n.name}/${suffix}`,
      alias: (t) => void (tensorOf[n.id] = t),
      need: (min) => {
        if (opset >= min) return true;
        ds.push(diag("RN501", n.span, { op: n.op, needed: min, opset }));
        return false;
      },
    };
    lower(ctx);
  }
  if (ds.some((d) => d.severity === "error")) return { diagnostics: ds, parameterElements: 0 };

  // Graph outputs carry the model's output names; rename with Identity where they differ.
  const outputs = g.outputs.map((io) => {
    const t = tensorOf[io.node]!;
    if (t !== io.name) nodes.push(makeNode("Identity", [t], [io.name], io.name));
    return makeValueInfo(io.name, io.shape);
  });
  const inputs = g.inputs.map((io) => makeValueInfo(io.name, io.shape));
  const ioNames = new Set([...g.inputs.map((i) => i.name), ...g.outputs.map((x) => x.name)]);
  const valueInfo = g.nodes
    .filter((n) => tensorOf[n.id] === n.name && !ioNames.has(n.name) && n.op !== "input")
    .map((n) => makeValueInfo(n.name, n.shape));
  valueInfo.push(...tmpInfos);

  const graph = {
    name: g.name,
    node: nodes,
    initializer: inits,
    input: inputs,
    output: outputs,
    valueInfo,
    docString:
      `${g.name} from ${commentText(g.file)}: ${g.params} learnable parameters, ` +
      `outputs ${g.outputs.map((x) => `${x.name} ${shapeStr(x.shape)}`).join(", ")}`,
  };
  const model: ModelProto = {
    // IR version 8 goes with opsets up to 17 (onnx 1.12); later opsets need 9 or 10.
    irVersion: opset <= 17 ? 8 : opset <= 20 ? 9 : 10,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "resnetc",
    producerVersion: o.producerVersion ?? "",
    graph,
  };
  const bytes = encode(model, MODEL);
  for (const t of inits)
    if (!(t.rawData instanceof Uint8Array)) t.rawData = (t.rawData as ReturnType<typeof drawn>).placed!;
  return { model, bytes, diagnostics: ds, parameterElements };
}

export type { IrNode };
