// The TypeScript emitter: graph IR -> `model.ts` (a tfjs LayersModel builder with one function
// per distinct block instantiation, layer names equal to the ONNX node names) and `train.ts`
// (the training program, a thin call into @resnetc/runtime).
// Takes: one checked graph. Gives: source texts (unformatted; the CLI runs prettier) and
// diagnostics for what tfjs cannot express yet. Must not: touch files.
//
// tfjs computes in NHWC; the IR is NCHW. The conversion happens here and in the runtime's
// helpers: inputs are declared [H, W, C], channel axes become -1, flatten permutes back to NCHW
// order first, weights are transposed when they are set or saved (runtime/params.ts).

import { diag, type Diagnostic, type Span } from "../../diagnostics/diagnostic.js";
import { dimStr } from "../../ir/dims.js";
import type { BlockInstance, Graph, IrNode } from "../../ir/ir.js";
import { paramSpecs } from "../../weights/init.js";
import { commentText, IdentAllocator, tsLiteral } from "../escape.js";

export interface TsOptions {
  locate?: (span: Span) => string;
  version?: string;
  /** Module the generated code imports the runtime from (default "@resnetc/runtime"). */
  runtime?: string;
  /** Module it imports TensorFlow.js from (default "@tensorflow/tfjs"). `resnetc train` gives
   * both as file URLs of the installed packages, so the program runs from a temporary folder. */
  tfjs?: string;
}

export interface TsResult {
  files?: { "model.ts": string; "train.ts": string };
  diagnostics: Diagnostic[];
}

/** Most characters of generated TypeScript (model.ts before formatting): prettier needs about
 * 150 bytes of heap per character (7 MB took 1 GB), so 8 MiB keeps formatting near 1.3 GB. The
 * 10,000-block residual MLP of bench/check-scaling.js is 7.1 MB; ResNet-1202 is 1.1 MB.
 * `(relu * 100000) * 4` (34 MB) died of V8 out-of-memory at 4.4 GB before this limit. */
export const TS_MAX_CHARS = 8 * 2 ** 20;

const a = (n: IrNode, k: string): number[] => n.attrs[k] as number[];
const num = (n: IrNode, k: string): number => n.attrs[k] as number;
const lit = tsLiteral;

interface Scope {
  /** Expression for a layer's full name from its name relative to the scope: a string literal
   * at top level, `name + ".rel"` inside a block function (whose `name` parameter is its prefix). */
  nameExpr: (rel: string) => string;
  /** Structural-name prefix to strip: "layer1.0." inside that instance's function. */
  strip: string;
  vars: Map<number, string>;
  /** Variable names of this function (or of buildModel): generated, never user text. */
  idents: IdentAllocator;
}

export function emitTs(g: Graph, o: TsOptions = {}): TsResult {
  const ds: Diagnostic[] = [];
  const runtime = o.runtime ?? "@resnetc/runtime";
  const functions: string[] = [];
  const fnByBody = new Map<string, string>();
  const fnNames = new IdentAllocator("b_");
  // Characters of emitted text so far (top-level statements, distinct functions, PARAMS rows):
  // emission stops at the first one over TS_MAX_CHARS, before prettier ever sees it.
  let size = 0;
  const tooBig = (text: string, span: Span): boolean => {
    if (size > TS_MAX_CHARS) return true;
    size += text.length + 1;
    if (size <= TS_MAX_CHARS) return false;
    ds.push(
      diag(
        "RN406",
        span,
        { what: "TypeScript", limit: `${TS_MAX_CHARS.toLocaleString("en-US")} characters` },
        { hint: "compile to ONNX instead, or repeat blocks fewer times" },
      ),
    );
    return true;
  };

  // The instance tree: each instance's direct children.
  const children = new Map<BlockInstance | null, BlockInstance[]>();
  const stack: BlockInstance[] = [];
  for (const b of g.blocks) {
    while (stack.length && stack[stack.length - 1]!.end <= b.start) stack.pop();
    const parent = stack[stack.length - 1] ?? null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(b);
    stack.push(b);
  }

  const unsupported = (n: IrNode, what: string): string => {
    ds.push(diag("RN503", n.span, { op: what, target: "TypeScript (tfjs)" }));
    return "undefined as never";
  };

  /** The call that builds one IR node, as an expression. */
  function nodeExpr(n: IrNode, ins: string[], name: string): string {
    const x = ins[0]!;
    const rank = n.shape.length;
    if (rank !== 2 && rank !== 4 && n.op !== "input") return unsupported(n, `${n.op} on rank-${rank} tensors`);
    switch (n.op) {
      case "conv": {
        const groups = num(n, "groups");
        const cin = num(n, "in");
        const cfg =
          `name: ${name}, kernel: ${lit(a(n, "kernel"))}, strides: ${lit(a(n, "stride"))}, ` +
          `pads: ${lit(a(n, "pads"))}, dilation: ${lit(a(n, "dilation"))}, bias: ${n.attrs["bias"] === true}`;
        if (a(n, "pads").some((p) => p < 0)) return unsupported(n, "conv with padding=same on a symbolic size");
        if (groups === 1) return `rt.conv(${x}, { ${cfg}, filters: ${num(n, "out")} })`;
        if (groups === cin)
          return `rt.dwconv(${x}, { ${cfg}, filters: ${num(n, "out")}, multiplier: ${num(n, "out") / cin} })`;
        return unsupported(n, `grouped conv (groups=${groups})`);
      }
      case "dwconv":
        return (
          `rt.dwconv(${x}, { name: ${name}, kernel: ${lit(a(n, "kernel"))}, strides: ${lit(a(n, "stride"))}, ` +
          `pads: ${lit(a(n, "pads"))}, dilation: ${lit(a(n, "dilation"))}, bias: ${n.attrs["bias"] === true}, ` +
          `filters: ${num(n, "out")}, multiplier: ${num(n, "out") / num(n, "in")} })`
        );
      case "dense":
        if (rank !== 2) return unsupported(n, "dense over a rank-3+ tensor");
        return `rt.dense(${x}, { name: ${name}, units: ${num(n, "out")}, bias: ${n.attrs["bias"] === true} })`;
      case "bn":
        return `rt.bn(${x}, { name: ${name}, eps: ${num(n, "eps")}, momentum: ${num(n, "momentum")} })`;
      case "relu":
      case "sigmoid":
      case "tanh":
      case "gelu":
        return `rt.activation(${x}, { name: ${name}, fn: ${lit(n.op)} })`;
      case "silu":
        return `rt.activation(${x}, { name: ${name}, fn: "swish" })`;
      case "softmax":
        // tfjs's softmax runs over the last axis, which in NHWC is the channel axis: NCHW axis 1
        // (the shape rule stores axes non-negative). W (axis 3 of a rank-4 tensor) is not it.
        if (num(n, "axis") !== 1)
          return unsupported(n, `softmax over axis ${num(n, "axis")} (tfjs: the channel axis only)`);
        return `rt.activation(${x}, { name: ${name}, fn: "softmax" })`;
      case "leaky":
        return `rt.leaky(${x}, { name: ${name}, alpha: ${num(n, "slope")} })`;
      case "maxpool":
      case "avgpool": {
        if (n.attrs["global"]) return `rt.globalAvgPool(${x}, { name: ${name}, channels: ${lit(n.shape[1])} })`;
        if (n.attrs["ceil"]) return unsupported(n, "pooling with ceil=true");
        if (a(n, "pads").some((p) => p < 0)) return unsupported(n, "pooling with padding=same on a symbolic size");
        return (
          `rt.pool(${x}, { name: ${name}, kind: ${lit(n.op === "maxpool" ? "max" : "avg")}, ` +
          `kernel: ${lit(a(n, "kernel"))}, strides: ${lit(a(n, "stride"))}, pads: ${lit(a(n, "pads"))} })`
        );
      }
      case "gap":
        return `rt.globalAvgPool(${x}, { name: ${name}, channels: ${lit(n.shape[1])} })`;
      case "flatten": {
        const inShape = g.nodes[n.inputs[0]!]!.shape;
        const spatial = inShape.slice(2).reduce<number>((p, d) => p * (typeof d === "number" ? d : NaN), 1);
        if (Number.isNaN(spatial)) return unsupported(n, "flatten of a symbolic spatial size");
        return `rt.flatten(${x}, { name: ${name}, spatial: ${spatial} })`;
      }
      case "dropout":
        return `rt.dropout(${x}, { name: ${name}, rate: ${num(n, "p")} })`;
      case "drop_path":
        return `rt.dropPath(${x}, { name: ${name}, p: ${num(n, "p")} })`;
      case "scale":
        return `rt.scale(${x}, { name: ${name}, factor: ${num(n, "by")} })`;
      case "gate":
      case "layerscale":
        return `rt.learnedScale(${x}, { name: ${name}, size: ${n.params} })`;
      case "add":
        return `rt.add([${ins.join(", ")}], { name: ${name} })`;
      case "mul":
        return `rt.multiply([${ins.join(", ")}], { name: ${name} })`;
      case "concat":
        if (num(n, "axis") !== 1) return unsupported(n, `concat along axis ${num(n, "axis")}`);
        return `rt.concat([${ins.join(", ")}], { name: ${name} })`;
      case "shortcut_pad":
        return (
          `rt.optionA(${x}, { name: ${name}, stride: ${num(n, "stride")}, before: ${num(n, "pad_before")}, ` +
          `after: ${num(n, "pad_after")} })`
        );
      case "upsample":
        return (
          `rt.upsample(${x}, { name: ${name}, size: ${num(n, "scale")}, ` +
          `mode: ${lit(n.attrs["mode"] === "linear" ? "bilinear" : "nearest")} })`
        );
    }
    return unsupported(n, n.op);
  }

  /** Statements for the nodes in [start, end) of one scope; nested instances become calls. */
  function body(start: number, end: number, kids: BlockInstance[], scope: Scope, lines: string[]): void {
    let k = 0;
    for (let i = start; i < end; i++) {
      const kid = kids[k];
      if (kid && kid.start === i) {
        const fn = blockFunction(kid);
        const rel = kid.name.slice(scope.strip.length);
        const v = scope.idents.fresh(rel);
        lines.push(`const ${v} = ${fn}(${scope.vars.get(kid.input)}, ${scope.nameExpr(rel)});`);
        if (scope === topScope && tooBig(lines[lines.length - 1]!, kid.span)) return;
        scope.vars.set(kid.output, v);
        i = kid.end - 1;
        k++;
        continue;
      }
      const n = g.nodes[i]!;
      const rel = n.name.slice(scope.strip.length);
      const v = scope.idents.fresh(rel);
      const ins = n.inputs.map((id) => scope.vars.get(id) ?? "undefined as never");
      const where = o.locate ? ` // ${commentText(o.locate(n.span))}` : "";
      lines.push(`const ${v} = ${nodeExpr(n, ins, scope.nameExpr(rel))};${where}`);
      if (scope === topScope && tooBig(lines[lines.length - 1]!, n.span)) return;
      scope.vars.set(n.id, v);
    }
    // Identity blocks (no nodes) pass their input through.
    for (; k < kids.length; k++) scope.vars.set(kids[k]!.output, scope.vars.get(kids[k]!.input)!);
  }

  function blockFunction(b: BlockInstance): string {
    const lines: string[] = [];
    const scope: Scope = {
      nameExpr: (rel) => `name + ${lit(`.${rel}`)}`,
      strip: `${b.name}.`,
      vars: new Map([[b.input, "x"]]),
      idents: new IdentAllocator("v_"),
    };
    body(b.start, b.end, children.get(b) ?? [], scope, lines);
    lines.push(`return ${scope.vars.get(b.output) ?? "x"};`);
    const text = lines.join("\n");
    const key = `${b.block}\n${text}`;
    const known = fnByBody.get(key);
    if (known) return known;
    const fn = fnNames.fresh(b.block);
    fnByBody.set(key, fn);
    const where = o.locate ? `, ${o.locate(b.span)}` : "";
    if (tooBig(text, b.span)) return fn;
    functions.push(
      `/** ${commentText(`${b.block}(${b.args})${where}`)} */\nfunction ${fn}(x: tf.SymbolicTensor, name: ` +
        `string): tf.SymbolicTensor {\n${text}\n}`,
    );
    return fn;
  }

  const top: string[] = [];
  const scope: Scope = { nameExpr: lit, strip: "", vars: new Map(), idents: new IdentAllocator("v_") };
  const topScope = scope;
  for (const io of g.inputs) {
    const n = g.nodes[io.node]!;
    if (io.shape.length !== 4 && io.shape.length !== 2) unsupported(n, `a rank-${io.shape.length} input`);
    const v = scope.idents.fresh(n.name);
    const shape = io.shape.slice(1).map((d) => (typeof d === "number" ? d : null));
    top.push(`const ${v} = rt.input({ name: ${lit(n.name)}, shape: ${lit(shape)} });`);
    scope.vars.set(n.id, v);
  }
  const firstNonInput = g.nodes.findIndex((n) => n.op !== "input");
  if (firstNonInput >= 0) body(firstNonInput, g.nodes.length, children.get(null) ?? [], scope, top);
  const outputs = g.outputs.map((io) => scope.vars.get(io.node)!);

  if (size > TS_MAX_CHARS) return { diagnostics: ds };
  const params = g.nodes.flatMap((n) =>
    paramSpecs(n).map((p) => {
      const suffix = p.name.slice(n.name.length + 1);
      const layout =
        n.op === "dense" && suffix === "weight"
          ? "oi"
          : (n.op === "conv" || n.op === "dwconv") && suffix === "weight"
            ? n.op === "dwconv" || num(n, "groups") > 1
              ? "dw"
              : "oihw"
            : "same";
      const index =
        n.op === "bn" ? ["weight", "bias", "running_mean", "running_var"].indexOf(suffix) : suffix === "bias" ? 1 : 0;
      const extra = layout === "dw" ? `, channels: ${num(n, "in")}` : "";
      if (size > TS_MAX_CHARS) return "";
      const row =
        `{ name: ${lit(p.name)}, layer: ${lit(n.name)}, index: ${index}, dims: ${lit(p.dims)}, ` +
        `layout: ${lit(layout)}, init: ${lit(p.init)}, learnable: ${p.learnable}${extra} }`;
      return tooBig(row, n.span) ? "" : row;
    }),
  );
  if (ds.length) return { diagnostics: ds };

  const inputs = g.inputs.map(
    (io) =>
      `{ name: ${lit(io.name)}, shape: ${lit(io.shape.slice(1).map((d) => (typeof d === "number" ? d : dimStr(d))))} }`,
  );
  const out0 = g.outputs[0]?.shape;
  const classes = out0 && out0.length === 2 && typeof out0[1] === "number" ? out0[1] : 0;
  const header =
    `// Generated by resnetc${o.version ? ` ${commentText(o.version)}` : ""} ` +
    `from ${commentText(g.file)}, model ${commentText(g.name)}. DO NOT EDIT:\n// change the .resnet file and run ` +
    `\`resnetc compile --target ts\` again.`;
  const model = [
    header,
    `import * as tf from ${lit(o.tfjs ?? "@tensorflow/tfjs")};`,
    `import * as rt from ${lit(runtime)};`,
    ``,
    `rt.registerCustomLayers();`,
    ``,
    `export const MODEL_NAME = ${lit(g.name)};`,
    `/** Inputs in canonical NCHW order without the batch dim (tfjs itself sees NHWC). */`,
    `export const INPUTS: rt.InputInfo[] = [${inputs.join(", ")}];`,
    `/** Classes of the first output (0 when it is not a class score vector). */`,
    `export const CLASSES = ${classes};`,
    `/** Every parameter in canonical (PyTorch state_dict) naming and layout, with its initialisation. */`,
    `// prettier-ignore`,
    // One entry per line, each with its comma: a model without parameters gets `[]`, not `[,]`
    // (an array with a hole, which tsc types as undefined[]).
    `export const PARAMS: rt.ParamInfo[] = [\n${params.map((p) => `${p},\n`).join("")}];`,
    ``,
    ...functions.flatMap((f) => [f, ""]),
    `/** Builds ${commentText(g.name)}: ${g.params.toLocaleString("en-US")} learnable parameters. */`,
    `export function buildModel(): tf.LayersModel {`,
    ...top,
    `return tf.model({ name: ${lit(g.name)}, inputs: ` +
      `[${g.inputs.map((io) => scope.vars.get(io.node)).join(", ")}], outputs: [${outputs.join(", ")}] });`,
    `}`,
    ``,
  ].join("\n");
  const train = [
    header,
    `import { runTraining } from ${lit(runtime)};`,
    `import { buildModel, CLASSES, INPUTS, MODEL_NAME, PARAMS } from "./model.js";`,
    ``,
    `// Options: --help lists them (data, epochs, steps, batch, lr and schedule, optimizer, out, resume, seed).`,
    `process.exitCode = await runTraining({ name: MODEL_NAME, buildModel, inputs: INPUTS, params: PARAMS, ` +
      `classes: CLASSES, argv: process.argv.slice(2) });`,
    ``,
  ].join("\n");
  return { files: { "model.ts": model, "train.ts": train }, diagnostics: ds };
}
