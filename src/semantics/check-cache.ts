// What one check can hand to the next when the program changed only in places: the language
// server's cache, so a re-check after an edit redoes only the definitions and block instances the
// edit reached.
// Takes: Definition objects that stay the same object while their text is unchanged (the language
// server's piecewise parser reuses them, moving their spans in place), and, from the resolver and
// the elaborator, what each definition's check produced and which names it looked up.
// Gives: `CheckCache` (pass it in CheckOptions.cache): per definition, the resolver's result
// (names it references), reused while every name it looked up still means the same definition;
// per block and its arguments' values and input shape, the layers and instances one instantiation
// made (a "segment"), replayed (new nodes, names under the new instance's prefix, new ids) where
// the same block is instantiated again with the same values.
// Must not: change any result: only what was checked clean is kept (no diagnostic, no shared
// block, no name made unique, no span outside the definitions it came from, no value but numbers,
// booleans, words and strings), a replay that could reach a limit is not done, and what is kept
// is a copy the later stages (bias=auto, dead layers) cannot change. `resnetc check` passes no
// cache, so it elaborates as it always did.

import type { Definition } from "../ast/ast.js";
import type { Span } from "../diagnostics/diagnostic.js";
import { shapeStr } from "../ir/dims.js";
import type { AttrValue, BlockInstance, IrNode } from "../ir/ir.js";
import { LIMITS } from "./builtins.js";
import type { Value } from "./values.js";

type Tensor = Extract<Value, { k: "tensor" }>;

/** What the resolver found in one definition that checked clean. */
export interface ResolvedDef {
  /** Blocks it references (what `used` and the recursion check need). */
  refs: string[];
  /** Every name it looked up among the program's definitions, and what it was then. */
  lookups: [string, Definition | undefined][];
}

/** One clean instantiation of a block, relative to where it started: node `i` of the segment is
 * `nodes[start + i]`; input -1 is the tensor that flowed in. */
interface Segment {
  deps: Dep[];
  /** The call stack's and the elaborator's depth when it was made: a replay deeper than that could
   * have reached a depth limit, so it is not done. */
  stack: number;
  depth: number;
  nodes: NodeTemplate[];
  /** Instances it made (nested ones, then its own): `local` is the name after the instance's. */
  blocks: { b: BlockInstance; local: string; input: number; output: number; call: boolean }[];
  out: number;
  params: number;
  nameChars: number;
  maxLocal: number;
}

/** A layer of a segment: an IrNode less what a replay gives it (id, name, inputs, and the call's
 * span where `call`). */
interface NodeTemplate {
  op: IrNode["op"];
  local: string;
  inputs: number[];
  attrs: Record<string, AttrValue>;
  /** The attributes that are lists (copied item by item; the others are copied whole). */
  lists: string[];
  shape: IrNode["shape"];
  dtype: string;
  params: number;
  macs: number;
  span: Span;
  call: boolean;
}

/** The keys of a node as the elaborator makes it, in order: a replayed node has the same. */
const NODE_KEYS = "id,op,name,inputs,attrs,shape,dtype,params,macs,span";

/** A name the elaborator looked up among the definitions, what it meant, and whether it was
 * recursive (then instantiating it gives nothing, silently). */
type Dep = [string, Definition | undefined, boolean];

/** Most segments kept per block (different arguments or input shapes); then it starts afresh. */
const PER_BLOCK = 64;

export class CheckCache {
  readonly resolved = new WeakMap<Definition, ResolvedDef>();
  readonly segments = new WeakMap<Definition, Map<string, Segment>>();
  private readonly spanSets = new WeakMap<Definition, WeakSet<object>>();
  /** Counts since the last `resetStats` (for tests and the benchmark). */
  readonly stats = { resolveHits: 0, resolveMisses: 0, replays: 0, records: 0 };

  resetStats(): void {
    this.stats.resolveHits = this.stats.resolveMisses = this.stats.replays = this.stats.records = 0;
  }

  /** The resolver's result for `def` if every name it looked up means the same now. */
  resolvedFor(def: Definition, defs: ReadonlyMap<string, Definition>): ResolvedDef | undefined {
    const r = this.resolved.get(def);
    if (r && r.lookups.every(([n, d]) => defs.get(n) === d)) {
      this.stats.resolveHits++;
      return r;
    }
    this.stats.resolveMisses++;
    return undefined;
  }

  /** Every span object of a definition's text (its header and body). */
  spansOf(def: Definition): WeakSet<object> {
    let set = this.spanSets.get(def);
    if (set) return set;
    set = new WeakSet();
    const todo: unknown[] = [def];
    const seen = new Set<object>();
    while (todo.length) {
      const v = todo.pop();
      if (v === null || typeof v !== "object" || seen.has(v)) continue;
      seen.add(v);
      if (Array.isArray(v)) {
        for (const x of v) todo.push(x);
        continue;
      }
      const o = v as Record<string, unknown>;
      if (typeof o["file"] === "string" && typeof o["start"] === "number" && typeof o["end"] === "number") set.add(o);
      for (const k in o) todo.push(o[k]);
    }
    this.spanSets.set(def, set);
    return set;
  }
}

/** The part of the elaborator a memo reads and extends. */
export interface MemoHost {
  readonly nodes: IrNode[];
  readonly blocks: BlockInstance[];
  readonly diagnostics: unknown[];
  readonly sharedBlocks: unknown[];
  readonly inputs: unknown[];
  readonly outputs: unknown[];
  readonly names: { claim(name: string): string; probes: number; chars: number };
  params: number;
  readonly depthNow: number;
  readonly stackNow: number;
  readonly program: { defs: ReadonlyMap<string, Definition> };
  readonly recursive: ReadonlySet<string>;
}

/** A key for a parameter's value, or undefined when such values are not memoised. */
function valueKey(v: Value | undefined): string | undefined {
  if (!v) return undefined;
  switch (v.k) {
    case "int":
      return `i${v.v}`;
    case "float":
      return Object.is(v.v, -0) ? "f-0" : `f${v.v}`;
    case "bool":
      return v.v ? "T" : "F";
    case "atom":
      return `a${v.v}`;
    case "str":
      return `s${JSON.stringify(v.v)}`;
    case "list": {
      const items: string[] = [];
      for (const x of v.v) {
        const k = valueKey(x);
        if (k === undefined) return undefined;
        items.push(k);
      }
      return `[${items.join(",")}]`;
    }
    default:
      return undefined;
  }
}

/** A copy of a node's attributes that shares no list with them (`lists`: the keys of the lists). */
function copyAttrs(a: Record<string, AttrValue>, lists: readonly string[]): Record<string, AttrValue> {
  const out = { ...a };
  for (const k of lists) out[k] = [...(a[k] as number[])];
  return out;
}

/** A recording in progress: one instantiation, from its first layer. */
interface Recording {
  deps: Map<string, Dep>;
  ok: boolean;
}

/** One elaboration's use of a CheckCache: records and replays block instantiations. */
export class InstanceMemo {
  private readonly open: Recording[] = [];

  constructor(
    readonly cache: CheckCache,
    private readonly el: MemoHost,
  ) {}

  /** A definition looked up by name: noted in every recording in progress. */
  lookup(name: string): Definition | undefined {
    const d = this.el.program.defs.get(name);
    const top = this.open[this.open.length - 1];
    if (top && !top.deps.has(name)) top.deps.set(name, [name, d, this.el.recursive.has(name)]);
    return d;
  }

  /** The key of an instantiation of `def` with these parameter values on `input`, or undefined
   * when it is not memoised. */
  keyOf(def: Definition, valueOf: (name: string) => Value | undefined, input: Value): string | undefined {
    if (input.k !== "tensor") return undefined;
    let key = shapeStr(input.shape);
    for (const p of def.params) {
      const k = valueKey(valueOf(p.name));
      if (k === undefined) return undefined;
      key += `\u0001${k}`;
    }
    return key;
  }

  /** The instantiation replayed (its output), or undefined when none was kept or it may not be replayed. */
  replay(def: Definition, key: string, input: Tensor, instanceName: string, span: Span): Value | undefined {
    const seg = this.cache.segments.get(def)?.get(key);
    if (!seg) return undefined;
    const el = this.el;
    if (el.stackNow > seg.stack || el.depthNow > seg.depth) return undefined;
    for (const [n, d, r] of seg.deps) if (el.program.defs.get(n) !== d || el.recursive.has(n) !== r) return undefined;
    const prefix = `${instanceName}.`;
    if (
      el.nodes.length + seg.nodes.length > LIMITS.nodes ||
      el.params + seg.params > LIMITS.modelParams ||
      prefix.length + seg.maxLocal > LIMITS.layerName ||
      el.names.chars + seg.nameChars + seg.nodes.length * (prefix.length + 16) > LIMITS.layerNameChars
    )
      return undefined;
    const top = this.open[this.open.length - 1];
    if (top) for (const d of seg.deps) if (!top.deps.has(d[0])) top.deps.set(d[0], d);
    const start = el.nodes.length;
    const at = (rel: number): number => (rel < 0 ? input.id : start + rel);
    for (const t of seg.nodes) {
      const inputs = new Array<number>(t.inputs.length);
      for (let i = 0; i < inputs.length; i++) inputs[i] = at(t.inputs[i]!);
      const n = {
        id: el.nodes.length,
        op: t.op,
        name: el.names.claim(prefix + t.local),
        inputs,
        attrs: copyAttrs(t.attrs, t.lists),
        shape: t.shape,
        dtype: t.dtype,
        params: t.params,
        macs: t.macs,
        span: t.call ? span : t.span,
      } as IrNode;
      el.nodes.push(n);
    }
    el.params += seg.params;
    for (const t of seg.blocks)
      el.blocks.push({
        ...t.b,
        name: instanceName + t.local,
        input: at(t.input),
        output: at(t.output),
        start: start + t.b.start,
        end: start + t.b.end,
        span: t.call ? span : t.b.span,
      });
    this.cache.stats.replays++;
    if (seg.out < 0) return input;
    const out = el.nodes[start + seg.out]!;
    return { k: "tensor", id: out.id, shape: out.shape };
  }

  /** Starts recording an instantiation (before its body runs); `finish` ends it. */
  begin(): {
    rec: Recording;
    nodes: number;
    blocks: number;
    diags: number;
    shared: number;
    io: number;
    probes: number;
    params: number;
    depth: number;
    stack: number;
  } {
    const rec: Recording = { deps: new Map(), ok: true };
    this.open.push(rec);
    const el = this.el;
    return {
      rec,
      nodes: el.nodes.length,
      blocks: el.blocks.length,
      diags: el.diagnostics.length,
      shared: el.sharedBlocks.length,
      io: el.inputs.length + el.outputs.length,
      probes: el.names.probes,
      params: el.params,
      depth: el.depthNow,
      stack: el.stackNow,
    };
  }

  /** Ends a recording begun with `begin` (also when the body failed: `out` is then not a tensor),
   * keeping the segment when it checked clean. */
  finish(
    mark: ReturnType<InstanceMemo["begin"]>,
    def: Definition,
    key: string,
    input: Tensor,
    instanceName: string,
    span: Span,
    out: Value,
  ): void {
    const top = this.open.pop();
    const parent = this.open[this.open.length - 1];
    if (parent && top) for (const [n, d] of top.deps) if (!parent.deps.has(n)) parent.deps.set(n, d);
    const segment = top && this.segment(mark, def, input, instanceName, span, out);
    if (!segment) return;
    let byKey = this.cache.segments.get(def);
    if (!byKey) this.cache.segments.set(def, (byKey = new Map()));
    if (byKey.size >= PER_BLOCK) byKey.clear();
    byKey.set(key, segment);
    this.cache.stats.records++;
  }

  private segment(
    mark: ReturnType<InstanceMemo["begin"]>,
    def: Definition,
    input: Tensor,
    instanceName: string,
    span: Span,
    out: Value,
  ): Segment | undefined {
    const el = this.el;
    const start = mark.nodes;
    const count = el.nodes.length - start;
    if (
      out.k !== "tensor" ||
      el.diagnostics.length !== mark.diags ||
      el.sharedBlocks.length !== mark.shared ||
      el.inputs.length + el.outputs.length !== mark.io ||
      el.names.probes - mark.probes !== count // a name was made unique: kept as it was asked for
    )
      return undefined;
    const deps = [...mark.rec.deps.values()];
    // Spans must be the call's or of the definitions' text, which moves with it.
    const own = [def, ...deps.map((d) => d[1]).filter((d): d is Definition => d !== undefined)].map((d) =>
      this.cache.spansOf(d),
    );
    const ours = (s: Span): boolean => own.some((set) => set.has(s));
    const prefix = `${instanceName}.`;
    const rel = (id: number): number | undefined => (id === input.id ? -1 : id >= start ? id - start : undefined);
    const nodes: Segment["nodes"] = [];
    let nameChars = 0;
    let maxLocal = 0;
    for (let i = start; i < el.nodes.length; i++) {
      const n = el.nodes[i]!;
      if (!n.name.startsWith(prefix) || Object.keys(n).join(",") !== NODE_KEYS) return undefined;
      const call = n.span === span;
      if (!call && !ours(n.span)) return undefined;
      const inputs: number[] = [];
      for (const x of n.inputs) {
        const r = rel(x);
        if (r === undefined) return undefined;
        inputs.push(r);
      }
      const local = n.name.slice(prefix.length);
      nameChars += n.name.length - prefix.length;
      maxLocal = Math.max(maxLocal, local.length);
      const lists = Object.keys(n.attrs).filter((k) => Array.isArray(n.attrs[k]));
      const attrs = copyAttrs(n.attrs, lists);
      const { op, shape, dtype, params, macs } = n;
      nodes.push({ op, local, inputs, attrs, lists, shape, dtype, params, macs, span: n.span, call });
    }
    const blocks: Segment["blocks"] = [];
    for (let i = mark.blocks; i < el.blocks.length; i++) {
      const b = el.blocks[i]!;
      if (b.name !== instanceName && !b.name.startsWith(prefix)) return undefined;
      const call = b.span === span;
      if (!call && !ours(b.span)) return undefined;
      const [bi, bo] = [rel(b.input), rel(b.output)];
      if (bi === undefined || bo === undefined || b.start < start || b.end < b.start) return undefined;
      blocks.push({
        b: { ...b, start: b.start - start, end: b.end - start },
        local: b.name.slice(instanceName.length),
        input: bi,
        output: bo,
        call,
      });
    }
    const o = rel(out.id);
    if (o === undefined || (o < 0 ? out !== input : out.shape !== el.nodes[out.id]!.shape)) return undefined;
    return {
      deps,
      stack: mark.stack,
      depth: mark.depth,
      nodes,
      blocks,
      out: o,
      params: el.params - mark.params,
      nameChars,
      maxLocal,
    };
  }
}
