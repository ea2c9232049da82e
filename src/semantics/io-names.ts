// The names of a model's inputs and outputs, settled once the whole model is elaborated.
// Takes: the elaborated nodes, inputs and outputs (an output without a name has name ""), and a
// reporter. Gives: every output named (`output`, `output2`, ... where the user gave no name,
// skipping names already taken), and RN128 where a user's name is already taken.
// Must not: rename a layer or a user's input or output: layer names are parameter names
// (`dense1.weight`), and callers feed and fetch tensors by the names they wrote.
//
// Why: an ONNX graph is in SSA form: "the names of all inputs, outputs and node outputs must be
// unique within a graph" (ONNX IR spec, "Names Within a Graph"); onnx.checker and ONNX Runtime
// refuse a model where a graph input, a layer's output and a renamed graph output share a name.

import type { Span } from "../diagnostics/diagnostic.js";
import type { Code, MessageArgs } from "../diagnostics/messages.js";
import type { GraphIO, IrNode } from "../ir/ir.js";

type Report = <C extends Code>(
  code: C,
  span: Span,
  args: MessageArgs<C>,
  hint?: string,
  notes?: { message: string; span: Span }[],
) => void;

const HINT = "ONNX needs every input, output and layer name in a graph to be unique: choose another name";

export function settleIoNames(
  nodes: readonly IrNode[],
  inputs: readonly GraphIO[],
  outputs: GraphIO[],
  outputSpans: readonly Span[],
  report: Report,
): void {
  // Only the names looked up below: the inputs' and outputs' names and generated `output...` ones
  // (a map of every layer's name cost a language-server re-check of 7,000 layers 2 ms).
  const wanted = new Set<string>();
  for (const io of inputs) wanted.add(io.name);
  for (const io of outputs) wanted.add(io.name);
  const nodeByName = new Map<string, IrNode>();
  for (const n of nodes) if (wanted.has(n.name) || n.name.startsWith("output")) nodeByName.set(n.name, n);
  const what = (n: IrNode): string => (n.op === "input" ? `the input \`${n.name}\`` : `the layer \`${n.name}\``);
  const where = (n: IrNode): { message: string; span: Span }[] => [
    { message: `${what(n)} is ${n.op === "input" ? "declared" : "made"} here`, span: n.span },
  ];

  // An input named after an earlier layer (or declared twice by a loop) got a deduplicated node name.
  for (const io of inputs) {
    const own = nodes[io.node]!;
    const other = nodeByName.get(io.name);
    if (own.name !== io.name && other)
      report("RN128", own.span, { kind: "input", name: io.name, taken: what(other) }, HINT, where(other));
  }

  // Users' names first, so that a generated name never takes one of them.
  const claimed = new Map<string, Span>();
  for (const [i, io] of outputs.entries()) {
    if (io.name === "") continue;
    const span = outputSpans[i]!;
    const other = nodeByName.get(io.name);
    const first = claimed.get(io.name);
    // The output may be that very tensor: `output dense1 = dense(10)(h)`, or `output x = x`.
    if (other && other.id !== io.node)
      report("RN128", span, { kind: "output", name: io.name, taken: what(other) }, HINT, where(other));
    else if (first)
      report("RN128", span, { kind: "output", name: io.name, taken: "another output" }, HINT, [
        { message: "the other output", span: first },
      ]);
    else claimed.set(io.name, span);
  }
  for (const [i, io] of outputs.entries()) {
    if (io.name !== "") continue;
    const base = i === 0 ? "output" : `output${i + 1}`;
    let name = base;
    for (let k = 2; claimed.has(name) || (nodeByName.has(name) && nodeByName.get(name)!.id !== io.node); k++)
      name = `${base}_${k}`;
    claimed.set(name, outputSpans[i]!);
    io.name = name;
  }
}
