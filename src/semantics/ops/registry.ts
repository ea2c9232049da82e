// The operation registry: every built-in op is one entry here, with its arguments, shape rule,
// parameter count and MAC count. Emitters add their lowering per op name in their own stage.
// Takes: op definitions from the family files (conv.ts, norm.ts, ...). Gives: lookup by name.
// Must not: know about the AST or the evaluator; a shape rule sees only shapes and argument values.

import type { AttrValue } from "../../ir/ir.js";
import type { Code, MessageArgs } from "../../diagnostics/messages.js";
import type { Dim } from "../../ir/dims.js";
import type { OpName } from "../../ir/ops.js";

/** The type of an op argument; values are checked against it before the shape rule runs. */
export type ArgType =
  | "int"
  | "float"
  | "bool"
  /** one int, or a list with one int per spatial dim (kernel, stride, dilation) */
  | "ints"
  | { enum: readonly string[]; orInts?: boolean; orFloat?: boolean; orBool?: boolean };

export type ArgValue = number | boolean | string | number[];

export interface ArgSpec {
  name: string;
  type: ArgType;
  /** Absent: the argument is required. */
  default?: ArgValue;
  /** May be given without its name, in this order. */
  positional?: boolean;
  doc: string;
}

export interface InferCtx {
  readonly op: string;
  readonly inputs: readonly (readonly Dim[])[];
  readonly args: Readonly<Record<string, ArgValue>>;
  /** Report an error at the op's call site; the rule then returns undefined. */
  error<C extends Code>(code: C, args: MessageArgs<C>, hint?: string): undefined;
}

export interface InferResult {
  shape: Dim[];
  /** Learnable parameters (BN running statistics are not learnable and not counted). */
  params?: number;
  /** Multiply-accumulates for one sample; NaN when a spatial size is symbolic. */
  macs?: number;
  /** Resolved attributes for the IR (kernel lists, explicit pads, ...). */
  attrs?: Record<string, AttrValue>;
}

export interface OpDef {
  /** An IR op (src/ir/ops.ts): a registered op without lowerings does not type-check. */
  name: OpName;
  aliases?: readonly string[];
  family:
    | "conv"
    | "norm"
    | "activation"
    | "pool"
    | "shape"
    | "merge"
    | "linear"
    | "regularize"
    | "scale"
    | "transformer"
    | "spiking";
  summary: string;
  args: readonly ArgSpec[];
  /** How many tensors it takes: 1 for pipeline ops; "many" for merges such as concat. */
  arity: 1 | "many";
  /** The input ranks its shape rule accepts (a test checks the rule against this list); the
   * README's op table and the parity tests are generated from it. */
  ranks: readonly number[];
  infer(ctx: InferCtx): InferResult | undefined;
}

/** Any rank from a batch of vectors [N, F] to a batch of volumes [N, C, D, H, W]. */
export const ANY_RANK: readonly number[] = [2, 3, 4, 5];
/** Batches with 1, 2 or 3 spatial dims: [N, C, L], [N, C, H, W], [N, C, D, H, W]. */
export const SPATIAL: readonly number[] = [3, 4, 5];

const table = new Map<string, OpDef>();
const primary: OpDef[] = [];

export function registerOps(defs: readonly OpDef[]): void {
  for (const d of defs) {
    for (const n of [d.name, ...(d.aliases ?? [])]) {
      if (table.has(n)) throw new Error(`op ${n} registered twice`);
      table.set(n, d);
    }
    primary.push(d);
  }
}

export function lookupOp(name: string): OpDef | undefined {
  return table.get(name);
}

export function allOps(): readonly OpDef[] {
  return primary;
}

export function allOpNames(): string[] {
  return [...table.keys()];
}

export function describeArgType(t: ArgType): string {
  if (typeof t === "string") return t === "ints" ? "int or list of ints" : t;
  const parts = t.enum.map((v) => `\`${v}\``);
  if (t.orInts) parts.unshift("int");
  if (t.orFloat) parts.unshift("number");
  if (t.orBool) parts.unshift("bool");
  return parts.join(" | ");
}
