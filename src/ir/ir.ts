// The typed graph IR that semantic analysis produces and every emitter consumes.
// Takes: nothing (types only). Gives: a model as a list of nodes in topological order, each with
// its canonical NCHW output shape, learnable parameter count, MACs and a structural name
// (`layer2.0.conv1`) that emitters reuse for weights. Must not: import from syntax or semantics.

import type { Span } from "../diagnostics/diagnostic.js";
import type { Dim } from "./dims.js";
import type { OpAttrs, OpName } from "./ops.js";

export type { OpAttrs, OpName } from "./ops.js";

export type AttrValue = number | string | boolean | number[] | null;

interface NodeBase {
  /** Index in `Graph.nodes`; also the id of the tensor this node produces. */
  id: number;
  /** Structural name, unique in the graph: `layer1.0.conv1`, `layer2.0.downsample.0`. */
  name: string;
  inputs: number[];
  shape: Dim[];
  dtype: string;
  /** Learnable parameters of this layer (for a layer that `shares`, those it uses). */
  params: number;
  macs: number;
  span: Span;
  /** The id of the layer whose parameters this one uses (a later use of a `share`d block); such
   * a layer has no parameters of its own in checkpoints, ONNX initializers or the model's count. */
  shares?: number;
}

/** A node of one op, with that op's typed attributes (and any others the elaborator kept). */
export type IrNodeOf<O extends OpName> = NodeBase & { op: O; attrs: OpAttrs[O] & Record<string, AttrValue> };

/** A node: a union discriminated by `op`, closed over the ops of src/ir/ops.ts. */
export type IrNode = { [O in OpName]: IrNodeOf<O> }[OpName];

export interface GraphIO {
  name: string;
  node: number;
  shape: Dim[];
  dtype: string;
}

/** One instantiation of a `.resnet` block: its nodes are `nodes[start..end)`, contiguous. */
export interface BlockInstance {
  /** Structural name, the prefix of its nodes' names: `layer1.0`, `basic1`. */
  name: string;
  block: string;
  /** The arguments it was instantiated with, as text (`c=64, stride=2, sc=auto`); a string
   * argument appears only as its length, so emitted comments carry no text of it. */
  args: string;
  /** Node id of the tensor that flows in, and of the one that flows out. */
  input: number;
  output: number;
  start: number;
  end: number;
  span: Span;
}

/** The instance tree: each instance's direct children (the top-level ones under `null`), in
 * order. Instances are contiguous node ranges listed outer before inner, so one stack pass does. */
export function instanceChildren(blocks: readonly BlockInstance[]): Map<BlockInstance | null, BlockInstance[]> {
  const children = new Map<BlockInstance | null, BlockInstance[]>();
  const stack: BlockInstance[] = [];
  for (const b of blocks) {
    while (stack.length && stack[stack.length - 1]!.end <= b.start) stack.pop();
    const parent = stack[stack.length - 1] ?? null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(b);
    stack.push(b);
  }
  return children;
}

export interface Graph {
  name: string;
  file: string;
  nodes: IrNode[];
  blocks: BlockInstance[];
  inputs: GraphIO[];
  outputs: GraphIO[];
  params: number;
  macs: number;
}
