// Evaluation and shape inference: runs a model's definition with its parameters, instantiating
// blocks, loops and residual units, and builds the typed graph IR.
// Takes: a resolved program and one model. Gives: [graph, diagnostics]; after an error the
// offending value becomes "poison" and checking goes on, so independent errors all surface.
// Must not: report unknown names again (the resolver did) or touch files.

import type { Arg, Definition, Expr, Stmt } from "../ast/ast.js";
import { compilerAssert, diag, type Diagnostic, type Note, type Span } from "../diagnostics/diagnostic.js";
import type { Code, MessageArgs } from "../diagnostics/messages.js";
import type { AttrValue, BlockInstance, Graph, GraphIO, IrNode, OpName } from "../ir/ir.js";
import { settleIoNames } from "./io-names.js";
import { ATOMS, LIMITS, PARAM_TYPES, SCALAR_FUNCTIONS } from "./builtins.js";
import { dimStr, isConst, shapeStr, sym, type Dim } from "../ir/dims.js";
import { lookupOp, lookupPartsOp, type ArgValue, type OpDef, type PartsDef } from "./ops/index.js";
import type { InferCtx, InferResult } from "./ops/registry.js";
import { InstanceMemo, type CheckCache } from "./check-cache.js";
import { residualUnit } from "./residual.js";
import type { Program } from "./resolve.js";
import { Env, Naming, NameTable } from "./scope.js";
import { scalarBuiltin } from "./scalar-builtins.js";
import { arith, describe, fromDim, int, isScalar, POISON, toArgValue, type SharedBlock, type Value } from "./values.js";
import { paramSpecs } from "../weights/init.js";

type PartsValue = Extract<Value, { k: "parts" }>;
type BlockValue = Extract<Value, { k: "block" }>;

const BLOCK_EXPECTED = "a block (its name, `Name(args)`, or `none`)";

/** Element types an input may declare (the emitters compute in float32). */
const INPUT_DTYPES = ["f32"];

const paramSpecCache = new WeakMap<Definition, { name: string; positional: boolean }[]>();
const positionalCache = new WeakMap<
  readonly { name: string; positional?: boolean }[],
  { name: string; positional?: boolean }[]
>();

/** Thrown to stop elaborating a model that hit a hard limit; caught in `elaborateModel`. */
class Abort {}

/** Codes whose cause lies in the values a block was given, so they are reported where it was called. */
const AT_CALL_SITE = new Set<Code>([
  "RN201",
  "RN202",
  "RN203",
  "RN204",
  "RN205",
  "RN206",
  "RN207",
  "RN208",
  "RN209",
  "RN210",
]);

/** A name written with `as` at a call (`_`: a block instance adds no prefix). */
export interface LayerName {
  name: string;
  span: Span;
}

export interface Frame {
  env: Env;
  naming: Naming;
  cur: Value | undefined;
  def: Definition;
}

export class Elaborator {
  readonly nodes: IrNode[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly names = new NameTable();
  /** Running total of learnable parameters (before `bias=auto` is settled), for the model limit. */
  params = 0;
  /** Current nesting of `flow` and statements: the call stack's depth, bounded by LIMITS.expandDepth. */
  private depth = 0;
  private readonly callStack: { def: Definition; span: Span }[] = [];
  readonly inputs: GraphIO[] = [];
  readonly blocks: BlockInstance[] = [];
  /** Every `share`d block value made while elaborating, with its uses. */
  readonly sharedBlocks: SharedBlock[] = [];
  sawInput = false;
  readonly outputs: GraphIO[] = [];
  readonly outputSpans: Span[] = [];
  sawOutput = false;

  /** Block instantiations recorded and replayed through a CheckCache (the language server's). */
  private readonly memo: InstanceMemo | undefined;

  constructor(
    readonly program: Program,
    readonly recursive: ReadonlySet<string>,
    cache?: CheckCache,
  ) {
    this.memo = cache && new InstanceMemo(cache, this);
  }
  get depthNow(): number {
    return this.depth;
  }
  get stackNow(): number {
    return this.callStack.length;
  }
  /** A block or model by name (noted by the memo, whose recordings depend on what names mean). */
  private defOf(name: string): Definition | undefined {
    return this.memo ? this.memo.lookup(name) : this.program.defs.get(name);
  }

  // ---- diagnostics ----
  report<C extends Code>(code: C, span: Span, args: MessageArgs<C>, hint?: string, notes: Note[] = []): Value {
    const extra: { hint?: string; notes: Note[] } = { notes: [...notes] };
    if (hint) extra.hint = hint;
    const outer = this.callStack[0];
    const inner = this.callStack[this.callStack.length - 1];
    if (outer && inner) {
      if (AT_CALL_SITE.has(code)) {
        extra.notes.unshift({ message: `in block \`${inner.def.name}\`, from here`, span });
        span = outer.span;
      } else if (outer.span.start !== span.start || outer.span.file !== span.file)
        extra.notes.push({ message: `while instantiating \`${outer.def.name}\` here`, span: outer.span });
    }
    this.diagnostics.push(diag(code, span, args, extra));
    return POISON;
  }

  // ---- graph ----
  addNode(
    op: OpName,
    inputs: number[],
    res: InferResult,
    attrs: Record<string, AttrValue>,
    span: Span,
    name: string,
  ): Value {
    if (this.nodes.length >= LIMITS.nodes) {
      this.report("RN402", span, { limit: LIMITS.nodes }, "reduce repeat counts or depth");
      throw new Abort();
    }
    let elements = 1;
    for (const d of res.shape) {
      if (!isConst(d)) continue;
      if (d > LIMITS.dim)
        return this.report("RN401", span, { what: "dimension", value: String(d), limit: String(LIMITS.dim) });
      elements *= d;
    }
    if (elements > LIMITS.tensorElements)
      return this.report(
        "RN401",
        span,
        {
          what: `elements of one tensor (${shapeStr(res.shape)})`,
          value: count(elements),
          limit: count(LIMITS.tensorElements),
        },
        "symbolic dims such as the batch count as 1",
      );
    const params = res.params ?? 0;
    if (params > LIMITS.layerParams)
      return this.report("RN401", span, {
        what: "parameter count of one layer",
        value: count(params),
        limit: count(LIMITS.layerParams),
      });
    this.params += params;
    if (this.params > LIMITS.modelParams) {
      // Stop here: the model is already over, and every later layer would say so again.
      this.report(
        "RN401",
        span,
        {
          what: "parameter count of the model",
          value: `${count(this.params)} (at this layer)`,
          limit: count(LIMITS.modelParams),
        },
        "ONNX files are limited to 2 GiB",
      );
      throw new Abort();
    }
    if (name.length > LIMITS.layerName)
      return this.report(
        "RN401",
        span,
        { what: "layer name length", value: String(name.length), limit: String(LIMITS.layerName) },
        "shorten stage and block names, or nest them less",
      );
    const unique = this.names.claim(name);
    if (this.names.chars > LIMITS.layerNameChars) {
      this.report(
        "RN401",
        span,
        {
          what: "total length of the layer names",
          value: `${count(this.names.chars)} (at this layer)`,
          limit: count(LIMITS.layerNameChars),
        },
        "shorten stage and block names",
      );
      throw new Abort();
    }
    // `attrs` is a fresh object per call (the op's checked arguments): extend it in place.
    if (res.attrs) Object.assign(attrs, res.attrs);
    // The shape rule of `op` resolved its typed attributes (src/ir/ops.ts): the one place an
    // untyped record becomes an IrNode.
    const node = {
      id: this.nodes.length,
      op,
      name: unique,
      inputs,
      attrs,
      shape: res.shape,
      dtype: "f32",
      params,
      macs: (res.macs ?? 0) * batchMultiple(res.shape[0]),
      span,
    } as IrNode;
    this.nodes.push(node);
    return { k: "tensor", id: node.id, shape: res.shape };
  }

  // ---- blocks and ops ----
  needCur(cur: Value | undefined, span: Span, name: string): Value {
    if (cur === undefined) return this.report("RN120", span, { name });
    return cur;
  }

  /** Part `i` of a `chunk`/`split` list: one `slice` node, made when first used. */
  part(p: PartsValue, i: number, span: Span, f: Frame): Value {
    const made = p.made[i];
    if (made) return made;
    const [start, end] = p.bounds[i]!;
    const op = lookupOp("slice")!;
    return (p.made[i] = this.opNode(op, [p.of], { start, end, axis: p.axis }, span, f.naming.next(op.name)));
  }

  applyCallable(name: string, args: Arg[], span: Span, f: Frame, cur: Value | undefined, as?: LayerName): Value {
    const def = this.defOf(name);
    if (def?.kind === "block") return this.applyBlock(def, args, span, f, cur, as);
    const parts = lookupPartsOp(name);
    if (parts) return this.applyParts(parts, args, span, f, cur);
    const op = lookupOp(name);
    compilerAssert(op, `callable ${name}`);
    // An op has no prefix to leave out: report, and go on with its counted name.
    if (as?.name === "_")
      this.report(
        "RN131",
        as.span,
        { name: "_", detail: `leaves out a block instance's prefix, and the op \`${name}\` makes no instance` },
        "name the layer with `as NAME`, or leave out `as`",
      );
    return this.applyOp(op, name, args, span, f, cur, as?.name === "_" ? undefined : as);
  }

  /** Depth of later uses of shared blocks being built (see applyShared). */
  private tiedUses = 0;

  /** Where RN130 was reported: a loop or a repeat reports a name once, not once per pass. */
  private readonly reportedNames = new Set<string>();

  /** The full name for `as`: in the current scope, once. A second use is RN130 (and the layer
   * is named apart, `fc_2`, so checking goes on). */
  layerName(
    f: Frame,
    as: LayerName,
    hint = "names in one scope must differ: pick another name, or leave out `as` for a counted one",
  ): string {
    const r = f.naming.named(as.name, as.span);
    if (typeof r === "string" || this.tiedUses > 0) return f.naming.prefix + as.name;
    const key = `${as.span.file}:${as.span.start}`;
    if (!this.reportedNames.has(key)) {
      this.reportedNames.add(key);
      const scope = f.naming.prefix ? `\`${f.naming.prefix.slice(0, -1)}\`` : "the model";
      this.report(
        "RN130",
        as.span,
        { name: as.name, scope },
        hint,
        r.earlier && (r.earlier.start !== as.span.start || r.earlier.file !== as.span.file)
          ? [{ message: "first used here", span: r.earlier }]
          : [],
      );
    }
    return f.naming.prefix + as.name;
  }

  /** `stage NAME` / `stage NAME[i]` (`NAME.i`): a name of its scope, once, as `as` names are: a
   * second stage of one name (a loop's) would silently get `_2` layer names. */
  private stageName(s: Extract<Stmt, { kind: "stage" }>, f: Frame): string {
    let local = s.name!;
    if (s.index) {
      const i = this.scalar(s.index, f);
      if (i.k === "int" && i.v >= 0) local = `${local}.${i.v}`;
      else if (i.k !== "poison")
        this.report(
          "RN131",
          s.index.span,
          { name: `${local}[...]`, detail: `needs an index that is an int >= 0, found ${describe(i)}` },
          "write `stage NAME[i]` with an int i >= 0, e.g. `stage blocks[i - 1]` in a loop",
        );
    }
    return this.layerName(
      f,
      { name: local, span: s.nameSpan! },
      "a stage's name is a layer name: in a loop, index it (`stage blocks[i] { ... }`: blocks.0, blocks.1, ...)",
    );
  }

  /** Evaluates and type-checks named and positional arguments against `specs`. */
  bindArgs(
    opName: string,
    specs: readonly { name: string; positional?: boolean }[],
    args: Arg[],
    f: Frame,
    typeOf: (name: string) => {
      check: (v: Value) => ArgValue | Value | { expected: string };
      enumValues: readonly string[];
      block?: boolean;
    },
    callSpan: Span,
  ): Map<string, ArgValue | Value> | undefined {
    let positional = positionalCache.get(specs);
    if (!positional) positionalCache.set(specs, (positional = specs.filter((s) => s.positional)));
    const out = new Map<string, ArgValue | Value>();
    let pos = 0;
    let ok = true;
    for (const a of args) {
      let spec: { name: string } | undefined;
      if (a.name === undefined) {
        spec = positional[pos++];
        if (!spec) {
          this.report("RN114", a.span, {
            op: opName,
            max: positional.length,
            found: args.filter((x) => x.name === undefined).length,
          });
          ok = false;
          continue;
        }
      } else {
        spec = specs.find((s) => s.name === a.name);
        if (!spec) {
          ok = false; // the resolver reported the unknown argument
          continue;
        }
      }
      if (out.has(spec.name)) {
        this.report("RN116", a.span, { op: opName, arg: spec.name });
        ok = false;
        continue;
      }
      const t = typeOf(spec.name);
      const what = `${opName} argument \`${spec.name}\``;
      const v = t.block ? this.blockRef(a.value, f, what) : this.scalar(a.value, f, t.enumValues, what);
      if (v.k === "poison") {
        ok = false;
        continue;
      }
      const checked = t.check(v);
      if (typeof checked === "object" && checked !== null && "expected" in checked && !Array.isArray(checked)) {
        this.report(
          "RN115",
          a.value.span,
          { what: `${opName} argument \`${spec.name}\``, expected: checked.expected, found: describe(v) },
          v.k === "float" && checked.expected.startsWith("int") && usesSlash(a.value)
            ? "`/` always gives a float: use `//`, round() or ceil() for an int"
            : undefined,
        );
        ok = false;
        continue;
      }
      out.set(spec.name, checked as ArgValue);
    }
    void callSpan;
    return ok ? out : undefined;
  }

  applyOp(
    op: OpDef,
    calledAs: string,
    args: Arg[],
    span: Span,
    f: Frame,
    cur: Value | undefined,
    as?: LayerName,
  ): Value {
    const tensorArgs = op.arity === "many" ? args.filter((a) => a.name === undefined) : [];
    const optionArgs = op.arity === "many" ? args.filter((a) => a.name !== undefined) : args;
    const bound = this.bindArgs(
      calledAs,
      op.args,
      optionArgs,
      f,
      (n) => {
        const t = op.args.find((s) => s.name === n)!.type;
        return { check: (v) => toArgValue(v, t), enumValues: typeof t === "object" ? t.enum : [] };
      },
      span,
    );
    if (!bound) return POISON;
    const values: Record<string, ArgValue> = {};
    for (const s of op.args) {
      const v = bound.get(s.name) as ArgValue | undefined;
      if (v !== undefined) values[s.name] = v;
      else if (s.default !== undefined) values[s.name] = s.default;
      else return this.report("RN113", span, { op: calledAs, arg: s.name });
    }
    let inputs: Value[];
    if (op.arity === "many") {
      if (tensorArgs.length === 0)
        return this.report("RN207", span, {
          op: calledAs,
          expected: "tensors to combine, e.g. concat(a, b)",
          found: "none",
        });
      inputs = tensorArgs.map((a) => this.flow(a.value, f, cur));
      // A list of parts given alone is all the tensors (`concat(xs)`); any other single one follows the current.
      if (tensorArgs.length === 1 && inputs[0]!.k === "parts")
        inputs = inputs[0]!.bounds.map((_, i) => this.part(inputs[0] as PartsValue, i, tensorArgs[0]!.value.span, f));
      else if (tensorArgs.length === 1 && cur !== undefined) inputs.unshift(cur);
    } else inputs = [this.needCur(cur, span, calledAs)];
    if (inputs.some((v) => v.k === "poison")) return POISON;
    for (const [i, v] of inputs.entries())
      if (v.k !== "tensor")
        return this.report("RN127", op.arity === "many" ? (tensorArgs[i]?.value.span ?? span) : span, {
          found: describe(v),
        });
    const name = as ? this.layerName(f, as) : f.naming.next(op.name);
    return this.opNode(op, inputs as Extract<Value, { k: "tensor" }>[], values, span, name, calledAs);
  }

  /** `chunk(n)` / `split([...])`: the list of parts of the current tensor; no node until indexed. */
  private applyParts(def: PartsDef, args: Arg[], span: Span, f: Frame, cur: Value | undefined): Value {
    const bound = this.bindArgs(
      def.name,
      def.args,
      args,
      f,
      (n) => {
        const t = def.args.find((s) => s.name === n)!.type;
        return { check: (v) => toArgValue(v, t), enumValues: [] };
      },
      span,
    );
    if (!bound) return POISON;
    const values: Record<string, ArgValue> = {};
    for (const s of def.args) {
      const v = (bound.get(s.name) as ArgValue | undefined) ?? s.default;
      if (v === undefined) return this.report("RN113", span, { op: def.name, arg: s.name });
      values[s.name] = v;
    }
    const x = this.needCur(cur, span, def.name);
    if (x.k === "poison") return x;
    if (x.k !== "tensor") return this.report("RN127", span, { found: describe(x) });
    let failed = false;
    const p = def.parts({
      op: def.name,
      inputs: [x.shape],
      args: values,
      error: (code, a, hint) => ((failed = true), void this.report(code, span, a, hint)),
    });
    if (!p || failed) return POISON;
    return { k: "parts", of: x, axis: p.axis, bounds: p.bounds, made: [] };
  }

  /** Runs an op's shape rule on tensors and adds its node. Also used by residual units. */
  opNode(
    op: OpDef,
    inputs: Extract<Value, { k: "tensor" }>[],
    values: Record<string, ArgValue>,
    span: Span,
    name: string,
    calledAs: string = op.name,
  ): Value {
    let failed = false;
    const ctx: InferCtx = {
      op: calledAs,
      inputs: inputs.map((t) => t.shape),
      args: values,
      error: (code, a, hint) => {
        failed = true;
        this.report(code, span, a, hint);
        return undefined;
      },
    };
    const res = op.infer(ctx);
    if (!res || failed) return POISON;
    return this.addNode(
      op.name,
      inputs.map((t) => t.id),
      res,
      { ...values } as Record<string, AttrValue>,
      span,
      name,
    );
  }

  applyBlock(def: Definition, args: Arg[], span: Span, f: Frame, cur: Value | undefined, as?: LayerName): Value {
    if (this.recursive.has(def.name)) return POISON; // reported by the resolver
    if (this.callStack.length >= LIMITS.depth) return this.report("RN403", span, { limit: LIMITS.depth });
    const bound = this.bindBlockArgs(def, args, f, span);
    if (!bound) return POISON;
    return this.instantiate(def, bound, span, f, cur, as);
  }

  private bindBlockArgs(def: Definition, args: Arg[], f: Frame, span: Span): Map<string, ArgValue | Value> | undefined {
    let specs = paramSpecCache.get(def);
    if (!specs) paramSpecCache.set(def, (specs = def.params.map((p) => ({ name: p.name, positional: true }))));
    return this.bindArgs(def.name, specs, args, f, (n) => paramType(def.params.find((x) => x.name === n)!.type), span);
  }

  /** A block given as an argument or default (a `block` parameter): `SE`, `SE(r=16)`, `none`
   * (or `identity`), another `block` parameter, or a `when` choice of them. Its arguments are
   * evaluated here, where it is written; it is instantiated where the body applies it. */
  blockRef(e: Expr, f: Frame, what: string): Value {
    if (e.kind === "cond") {
      const c = this.scalar(e.cond, f);
      if (c.k === "poison") return c;
      if (c.k !== "bool")
        return this.report("RN115", e.cond.span, { what: "condition", expected: "true or false", found: describe(c) });
      return this.blockRef(c.v ? e.then : e.else, f, what);
    }
    if (e.kind === "chain" && e.items.length === 1) return this.blockRef(e.items[0]!, f, what);
    const callee = e.kind === "call" ? e.callee : e;
    const args = e.kind === "call" ? e.args : [];
    if (callee.kind === "name") {
      const known = f.env.lookup(callee.name);
      if (known?.k === "block" && args.length === 0) return known;
      if (!known && (callee.name === "none" || callee.name === "identity") && args.length === 0)
        return { k: "block", def: undefined, bound: new Map(), text: "none" };
      const def = known ? undefined : this.defOf(callee.name);
      if (def?.kind === "block") {
        if (this.recursive.has(def.name)) return POISON; // reported by the resolver
        const given = this.bindBlockArgs(def, args, f, e.span);
        if (!given) return POISON;
        const shown = def.params.filter((p) => given.has(p.name));
        const text = shown.length
          ? `${def.name}(${shown.map((p) => `${p.name}=${argText(given.get(p.name) as Value)}`).join(", ")})`
          : def.name;
        return { k: "block", def, bound: given, text };
      }
      if (!known && (lookupOp(callee.name) || lookupPartsOp(callee.name)))
        return this.report(
          "RN115",
          e.span,
          { what, expected: BLOCK_EXPECTED, found: `the op \`${callee.name}\`` },
          `ops are not blocks: write \`block Name() { ${callee.name} }\` and pass \`Name\``,
        );
    }
    // Anything else: a number, a word, a pipeline.
    const v = this.isScalarExpr(e, f) ? this.scalar(e, f) : undefined;
    if (v?.k === "poison") return v;
    return this.report(
      "RN115",
      e.span,
      { what, expected: BLOCK_EXPECTED, found: v ? describe(v) : "a pipeline" },
      v ? undefined : "make the pipeline a block and pass its name",
    );
  }

  /** Applies a block value (a `block` parameter) like a block call: its arguments from where it
   * was given, and the ones written here; `none` is the flowing value itself. */
  applyBlockValue(v: BlockValue, args: Arg[], span: Span, f: Frame, cur: Value | undefined, as?: LayerName): Value {
    if (!v.def) {
      if (args.some((a) => a.name === undefined))
        return this.report("RN114", span, { op: "none", max: 0, found: args.filter((a) => !a.name).length });
      return this.needCur(cur, span, "none");
    }
    if (this.callStack.length >= LIMITS.depth) return this.report("RN403", span, { limit: LIMITS.depth });
    const extra = this.bindBlockArgs(v.def, args, f, span);
    if (!extra) return POISON;
    const merged = new Map(v.bound as Map<string, ArgValue | Value>);
    for (const [k, x] of extra) {
      if (merged.has(k))
        return this.report(
          "RN116",
          args.find((a) => a.name === k)?.span ?? span,
          { op: v.text, arg: k },
          "the block was given this argument where it was passed",
        );
      merged.set(k, x);
    }
    if (v.shared) return this.applyShared(v.def, v.shared, merged, span, f, cur, as);
    return this.instantiate(v.def, merged, span, f, cur, as);
  }

  /** `let body = share Body(64)`: the value of `share`, a block value that records its uses. */
  private shareValue(s: Extract<Stmt, { kind: "let" }>, f: Frame): Value {
    const e = s.value.kind === "chain" && s.value.items.length === 1 ? s.value.items[0]! : s.value;
    const callee = e.kind === "call" ? e.callee : e;
    const known = callee.kind === "name" ? f.env.lookup(callee.name) : undefined;
    const isBlock = callee.kind === "name" && (known ? known.k === "block" : this.defOf(callee.name)?.kind === "block");
    if (!isBlock) {
      const found =
        callee.kind === "name" && known
          ? `\`${callee.name}\`, ${describe(known)}`
          : callee.kind === "name" && (callee.name === "none" || callee.name === "identity")
            ? `\`${callee.name}\`, which has no layers`
            : callee.kind === "name" && (lookupOp(callee.name) || lookupPartsOp(callee.name))
              ? `the op \`${callee.name}\` (make a block of it: \`block Name() { ${callee.name}(...) }\`)`
              : "an expression that is not a block call";
      return this.report("RN132", e.span, { found }, "write `let NAME = share BlockName(args)`");
    }
    const v = this.blockRef(e, f, "`share`");
    if (v.k !== "block") return v;
    if (!v.def) return this.report("RN132", e.span, { found: `\`${v.text}\`, which has no layers` });
    if (v.shared) return v; // `share` of a shared block: the same parameters still
    const rec: SharedBlock = { name: s.name, span: s.shareSpan!, uses: [] };
    this.sharedBlocks.push(rec);
    return { ...v, shared: rec };
  }

  /** One application of a shared block: a new instance (`body`, then `body2`, ...) whose layers
   * with parameters are recorded, to be tied to the first use's once the graph is complete. The
   * structure must be the same at every use: the same ops with parameters, in the same order. */
  private applyShared(
    def: Definition,
    rec: SharedBlock,
    bound: Map<string, ArgValue | Value>,
    span: Span,
    f: Frame,
    cur: Value | undefined,
    as?: LayerName,
  ): Value {
    const start = this.nodes.length;
    // A later use repeats the first use's written names (`stage head`, `as fc`) in the same scope
    // when the block is inlined (`as _`): its layers are tied, named apart (`head_2`) and never
    // own parameters, so that is not RN130.
    if (rec.uses.length > 0) this.tiedUses++;
    let out: Value;
    try {
      out = this.instantiate(def, bound, span, f, cur, as, as ? undefined : f.naming.unique(rec.name));
    } finally {
      if (rec.uses.length > 0) this.tiedUses--;
    }
    if (out.k !== "tensor") return out;
    const nodes = this.nodes.slice(start).filter((n) => paramSpecs(n).length > 0);
    const first = rec.uses[0];
    if (first) {
      const note = [{ message: `\`${rec.name}\` is shared here`, span: rec.span }];
      if (nodes.length !== first.nodes.length)
        return this.report(
          "RN211",
          span,
          {
            name: rec.name,
            detail:
              `it makes ${nodes.length} layer${nodes.length === 1 ? "" : "s"} with parameters here and ` +
              `${first.nodes.length} at its first use`,
          },
          "a shared block must build the same layers at every use: give it the same arguments",
          note,
        );
      const i = nodes.findIndex((n, k) => n.op !== first.nodes[k]!.op);
      if (i >= 0)
        return this.report(
          "RN211",
          span,
          {
            name: rec.name,
            detail:
              `its layer \`${nodes[i]!.name}\` is a ${nodes[i]!.op} here, and ` +
              `\`${first.nodes[i]!.name}\` a ${first.nodes[i]!.op} at its first use`,
          },
          "a shared block must build the same layers at every use: give it the same arguments",
          note,
        );
    }
    rec.uses.push({ at: span, nodes });
    return out;
  }

  private instantiate(
    def: Definition,
    bound: Map<string, ArgValue | Value>,
    span: Span,
    f: Frame,
    cur: Value | undefined,
    as?: LayerName,
    named?: string,
  ): Value {
    const env = new Env();
    const input = this.needCur(cur, span, def.name);
    if (input.k === "poison") return POISON;
    // `as _`: the block's layers are named as if written here (no instance, no prefix).
    const inline = as?.name === "_";
    const instanceName = inline
      ? ""
      : as
        ? this.layerName(f, as)
        : (named ?? f.naming.nextBlock(def.name.toLowerCase()));
    const naming = inline ? f.naming : f.naming.child(instanceName, false);
    const inner: Frame = { env, naming, cur: input, def };
    this.callStack.push({ def, span });
    try {
      if (!this.bindParams(def, bound, inner, span)) return POISON;
      // ---- memo (CheckCache): the same block with the same values on the same shape, replayed ----
      // (Any state of the elaborator besides these that changes how a body elaborates must join
      // the key, or keep the memo out while it is set.)
      const key =
        this.memo && this.tiedUses === 0 && !inline && named === undefined && input.k === "tensor"
          ? this.memo.keyOf(def, (n) => env.lookup(n), input)
          : undefined;
      if (key !== undefined && input.k === "tensor") {
        const replayed = this.memo!.replay(def, key, input, instanceName, span);
        if (replayed) return replayed;
      }
      const mark = key !== undefined ? this.memo!.begin() : undefined;
      // ---- end memo ----
      const start = this.nodes.length;
      this.exec(def.body, inner);
      const out = inner.cur ?? POISON;
      if (out.k === "tensor" && input.k === "tensor" && !inline) {
        const args = def.params.map((p) => `${p.name}=${argText(env.lookup(p.name))}`).join(", ");
        this.blocks.push({
          name: instanceName,
          block: def.name,
          args,
          input: input.id,
          output: out.id,
          start,
          end: this.nodes.length,
          span,
        });
      }
      if (mark && input.k === "tensor") this.memo!.finish(mark, def, key!, input, instanceName, span, out);
      return out;
    } finally {
      this.callStack.pop();
    }
  }

  /** Binds parameters in order: a default may use the parameters before it. */
  bindParams(def: Definition, given: Map<string, ArgValue | Value>, f: Frame, span: Span): boolean {
    for (const p of def.params) {
      const g = given.get(p.name) as Value | undefined;
      if (g !== undefined) {
        f.env.declare(p.name, g);
        continue;
      }
      if (!p.default) {
        this.report("RN113", span, { op: def.name, arg: p.name });
        return false;
      }
      const pt = paramType(p.type);
      const v = pt.block
        ? this.blockRef(p.default, f, `default of \`${p.name}\``)
        : this.scalar(p.default, f, pt.enumValues);
      if (v.k === "poison") return false;
      const checked = paramType(p.type).check(v);
      if ("expected" in (checked as object)) {
        this.report("RN115", p.default.span, {
          what: `default of \`${p.name}\``,
          expected: (checked as { expected: string }).expected,
          found: describe(v),
        });
        return false;
      }
      f.env.declare(p.name, checked as Value);
    }
    return true;
  }

  // ---- expressions ----

  /** Whether `e` denotes a number (or bool, enum word, list, dim) rather than a pipeline or tensor:
   * whether every part `scalarPart` looks at is scalar, walked with an explicit stack because a
   * long sum is a left-deep tree as deep as it has terms. */
  isScalarExpr(root: Expr, f: Frame): boolean {
    const todo: Expr[] = [root];
    for (let e = todo.pop(); e; e = todo.pop()) {
      const r = this.scalarPart(e, f);
      if (r === false) return false;
      if (r !== true) todo.push(...r);
    }
    return true;
  }

  /** One step of `isScalarExpr`: a verdict, or the sub-expressions that decide it. */
  private scalarPart(e: Expr, f: Frame): boolean | Expr[] {
    switch (e.kind) {
      case "num":
      case "str":
      case "bool":
      case "list":
      case "error":
        return true;
      case "index":
        // `xs[0]` of a list of tensors (chunk, split) is a tensor; of a list of numbers, a number.
        return [e.obj];
      case "name": {
        const v = f.env.lookup(e.name);
        if (v) return isScalar(v) || v.k === "poison";
        return !this.isCallableName(e.name) && e.name !== "identity";
      }
      case "unary":
        return [e.arg];
      case "binary":
        if (
          e.op === "==" ||
          e.op === "!=" ||
          e.op === "and" ||
          e.op === "or" ||
          e.op === "<" ||
          e.op === "<=" ||
          e.op === ">" ||
          e.op === ">="
        )
          return true;
        return [e.right, e.left];
      case "call":
        return e.callee.kind === "name" && SCALAR_FUNCTIONS.has(e.callee.name) && !f.env.lookup(e.callee.name);
      case "cond":
        return [e.then];
      case "named":
      case "residual":
        return false;
      case "chain":
        // `(n)` is a bracketed scalar; `(relu)` a one-stage pipeline.
        return e.items.length === 1 && [e.items[0]!];
    }
  }

  private isCallableName(n: string): boolean {
    return this.defOf(n)?.kind === "block" || lookupOp(n) !== undefined || lookupPartsOp(n) !== undefined;
  }

  /** Evaluates an expression that must give a scalar (argument, condition, count). */
  scalar(e: Expr, f: Frame, enumValues: readonly string[] = [], what = "argument"): Value {
    if (
      e.kind === "name" &&
      !f.env.lookup(e.name) &&
      (enumValues.includes(e.name) || (enumValues.length > 0 && ATOMS.has(e.name)))
    )
      return { k: "atom", v: e.name };
    if (e.kind === "cond") {
      const c = this.scalar(e.cond, f);
      if (c.k === "poison") return c;
      if (c.k !== "bool")
        return this.report("RN115", e.cond.span, { what: "condition", expected: "true or false", found: describe(c) });
      return this.scalar(c.v ? e.then : e.else, f, enumValues, what);
    }
    if (e.kind === "name" && f.env.lookup(e.name)?.k === "parts")
      return this.report("RN115", e.span, { what, expected: "a number", found: describe(f.env.lookup(e.name)!) });
    if (e.kind === "name" && f.env.lookup(e.name)?.k === "tensor")
      return this.report("RN121", e.span, { name: e.name }, `${what} needs a number here`);
    if (!this.isScalarExpr(e, f))
      return this.report("RN115", e.span, { what, expected: "a number, boolean or enum word", found: "a pipeline" });
    const v = this.flow(e, f, f.cur);
    if (v.k === "tensor") return this.report("RN121", e.span, { name: e.kind === "name" ? e.name : "this expression" });
    return v;
  }

  /** Evaluates `e` on the current value. Every recursion of the elaborator passes through here
   * or `stmt`, so their depth bounds its call stack (RN405 past LIMITS.expandDepth). */
  flow(e: Expr, f: Frame, cur: Value | undefined): Value {
    this.enter(e.span);
    const v = this.flowExpr(e, f, cur);
    this.depth--;
    return v;
  }

  private enter(span: Span): void {
    if (++this.depth <= LIMITS.expandDepth) return;
    this.report("RN405", span, { limit: LIMITS.expandDepth }, "split long sums with `let`, or nest blocks less deeply");
    throw new Abort();
  }

  private flowExpr(e: Expr, f: Frame, cur: Value | undefined): Value {
    if (cur?.k === "poison" && !this.isScalarExpr(e, f)) return POISON;
    switch (e.kind) {
      case "num":
        // An integer literal past 2^53 is not exact in a double, and past 2^63 it would reach
        // ONNX's int64 attributes as a wrapped (negative) number: refuse it here.
        if (e.isInt && !Number.isSafeInteger(e.value))
          return this.report("RN401", e.span, { what: "integer literal", value: String(e.value), limit: "2^53 - 1" });
        return e.isInt ? int(e.value) : { k: "float", v: e.value };
      case "str":
        return { k: "str", v: e.value };
      case "bool":
        return { k: "bool", v: e.value };
      case "error":
        return POISON;
      case "list": {
        const items = e.items.map((i) => this.scalar(i, f));
        return items.some((i) => i.k === "poison") ? POISON : { k: "list", v: items };
      }
      case "name": {
        const v = f.env.lookup(e.name);
        if (v?.k === "block") return this.applyBlockValue(v, [], e.span, f, cur);
        if (v) return v;
        if (e.name === "identity") return this.needCur(cur, e.span, "identity");
        if (this.isCallableName(e.name)) return this.applyCallable(e.name, [], e.span, f, cur);
        if (ATOMS.has(e.name)) return { k: "atom", v: e.name };
        // A scalar function is not a value: `conv(2) (int)` used to become poison silently,
        // leaving a model without output that check called ok (found by the fuzzer).
        if (SCALAR_FUNCTIONS.has(e.name))
          return this.report("RN115", e.span, {
            what: `\`${e.name}\``,
            expected: "a value or a stage",
            found: `a function of numbers (call it: \`${e.name}(...)\`)`,
          });
        return POISON; // unknown: reported by the resolver
      }
      case "unary": {
        const v = this.scalar(e.arg, f);
        if (v.k === "poison") return v;
        if (e.op === "not")
          return v.k === "bool"
            ? { k: "bool", v: !v.v }
            : this.report("RN115", e.arg.span, { what: "`not`", expected: "true or false", found: describe(v) });
        const r = arith("-", int(0), v);
        return typeof r === "string" ? this.report("RN118", e.span, { what: "negation", detail: r }) : r;
      }
      case "index": {
        const obj = this.isScalarExpr(e.obj, f) ? this.scalar(e.obj, f) : this.flow(e.obj, f, cur);
        const i = this.scalar(e.index, f);
        if (obj.k === "poison" || i.k === "poison") return POISON;
        if (obj.k === "parts") {
          if (i.k !== "int")
            return this.report("RN115", e.index.span, { what: "index", expected: "int", found: describe(i) });
          const n = obj.bounds.length;
          const idx = i.v < 0 ? n + i.v : i.v;
          if (idx < 0 || idx >= n)
            return this.report("RN119", e.index.span, { what: "index", value: `in -${n}..${n - 1}, found ${i.v}` });
          return this.part(obj, idx, e.span, f);
        }
        if (obj.k !== "list")
          return this.report("RN115", e.obj.span, { what: "indexing", expected: "a list", found: describe(obj) });
        if (i.k !== "int")
          return this.report("RN115", e.index.span, { what: "index", expected: "int", found: describe(i) });
        const idx = i.v < 0 ? obj.v.length + i.v : i.v;
        const item = obj.v[idx];
        return (
          item ??
          this.report("RN119", e.index.span, {
            what: "index",
            value: `in -${obj.v.length}..${obj.v.length - 1}, found ${i.v}`,
          })
        );
      }
      case "cond": {
        const c = this.scalar(e.cond, f);
        if (c.k === "poison") return c;
        if (c.k !== "bool")
          return this.report("RN115", e.cond.span, {
            what: "condition",
            expected: "true or false",
            found: describe(c),
          });
        return this.flow(c.v ? e.then : e.else, f, cur);
      }
      case "chain": {
        if (e.items.length === 1) return this.flow(e.items[0]!, f, cur);
        let v = cur;
        for (const item of e.items) {
          const r = this.flow(item, f, v);
          if (r.k === "poison") return r;
          // `let xs = x chunk(4)`: a list of parts may end a pipeline, not feed the next stage.
          if (r.k === "parts" && item === e.items[e.items.length - 1]) return r;
          if (r.k === "parts") return this.report("RN127", item.span, { found: describe(r) });
          if (r.k !== "tensor")
            return this.report("RN115", item.span, {
              what: "pipeline stage",
              expected: "an op, a block or a tensor",
              found: describe(r),
            });
          v = r;
        }
        return v ?? POISON;
      }
      case "call":
        return this.call(e, f, cur);
      case "named":
        return this.named(e, f, cur);
      case "binary":
        return this.binary(e, f, cur);
      case "residual":
        // A residual unit in an expression applies to the value flowing in, as any stage does.
        return residualUnit(this, e.unit, { ...f, cur });
    }
  }

  /** `op(...) as NAME`, `Block(...) as NAME`: the call, with its layer name written out. */
  private named(e: Extract<Expr, { kind: "named" }>, f: Frame, cur: Value | undefined): Value {
    const inner = e.inner;
    const callee = inner.kind === "call" ? inner.callee : inner;
    // `as convs[i]`: the name `convs.0`, `convs.1`, ... (PyTorch's ModuleList of layers).
    let name = e.name;
    if (e.index) {
      const i = this.scalar(e.index, f);
      if (i.k === "poison") return this.flow(inner, f, cur);
      if (i.k !== "int" || i.v < 0 || e.name === "_") {
        this.report(
          "RN131",
          e.nameSpan,
          {
            name: `${e.name}[...]`,
            detail:
              e.name === "_"
                ? "has no name to index: `as _` leaves out a prefix"
                : `needs an index that is an int >= 0, found ${describe(i)}`,
          },
          "write `as NAME[i]` with an int i >= 0, e.g. `as convs[i - 1]` in a loop",
        );
        return this.flow(inner, f, cur);
      }
      name = `${e.name}.${i.v}`;
    }
    const as = { name, span: e.nameSpan };
    const given = callee.kind === "name" ? f.env.lookup(callee.name) : undefined;
    if (given?.k === "block" && given.def)
      return this.applyBlockValue(given, inner.kind === "call" ? inner.args : [], inner.span, f, cur, as);
    if (callee.kind === "name" && !f.env.lookup(callee.name) && this.isCallableName(callee.name))
      return this.applyCallable(callee.name, inner.kind === "call" ? inner.args : [], inner.span, f, cur, as);
    const found =
      callee.kind === "name" && f.env.lookup(callee.name)
        ? `\`${callee.name}\`, a value`
        : callee.kind === "name" && callee.name === "identity"
          ? "`identity`, which makes no layer"
          : inner.kind === "chain" || inner.kind === "binary"
            ? "a pipeline (name its layers one by one, or make it a block)"
            : "this expression";
    this.report("RN131", e.nameSpan, { name: e.name, detail: `names an op or block call, not ${found}` });
    // Checking goes on with the expression as if it had no name.
    return this.flow(inner, f, cur);
  }

  private call(e: Extract<Expr, { kind: "call" }>, f: Frame, cur: Value | undefined): Value {
    const c = e.callee;
    const given = c.kind === "name" ? f.env.lookup(c.name) : undefined;
    if (given?.k === "block") return this.applyBlockValue(given, e.args, e.span, f, cur);
    if (c.kind === "name" && !f.env.lookup(c.name)) {
      if (this.isCallableName(c.name)) return this.applyCallable(c.name, e.args, e.span, f, cur);
      if (SCALAR_FUNCTIONS.has(c.name)) {
        // shape(t) takes a tensor, len(xs) also a list of parts (chunk, split).
        const flows = (a: Arg): boolean => c.name === "shape" || (c.name === "len" && !this.isScalarExpr(a.value, f));
        const args = e.args.map((a) => (flows(a) ? this.flow(a.value, f, cur) : this.scalar(a.value, f)));
        if (args.some((a) => a.k === "poison")) return POISON;
        if (c.name === "len" && args.length === 1 && args[0]!.k === "parts") return int(args[0]!.bounds.length);
        if (c.name === "shape" && args.length === 0) {
          const t = this.needCur(cur, e.span, "shape");
          if (t.k !== "tensor") return POISON;
          args.push(t);
        }
        const r = scalarBuiltin(c.name, args);
        return typeof r === "string" ? this.report("RN118", e.span, { what: `${c.name}()`, detail: r }) : r;
      }
      if (!ATOMS.has(c.name)) return POISON; // unknown: reported by the resolver
    }
    // Application: `(pipeline)(x)` or `dense(d)(x)` runs the callee on the value of its argument.
    if (e.args.length !== 1 || e.args[0]!.name !== undefined)
      return this.report("RN115", e.span, {
        what: "application",
        expected: "exactly one tensor, e.g. (dense(64) relu)(x)",
        found: `${e.args.length} argument${e.args.length === 1 ? "" : "s"}`,
      });
    const x = this.flow(e.args[0]!.value, f, cur);
    if (x.k === "poison") return x;
    if (x.k !== "tensor") return this.report("RN127", e.args[0]!.value.span, { found: describe(x) });
    return this.flow(c, f, x);
  }

  private binary(e: Extract<Expr, { kind: "binary" }>, f: Frame, cur: Value | undefined): Value {
    if (e.op === "==" || e.op === "!=") {
      // `attn == none`, `attn != SE`: block parameters compare with `none` and block names.
      const blockOf = (x: Expr): BlockValue | undefined => {
        if (x.kind !== "name") return undefined;
        const v = f.env.lookup(x.name);
        if (v?.k === "block") return v;
        if (v) return undefined;
        if (x.name === "none") return { k: "block", def: undefined, bound: new Map(), text: "none" };
        const d = this.defOf(x.name);
        return d?.kind === "block" ? { k: "block", def: d, bound: new Map(), text: d.name } : undefined;
      };
      const bl = blockOf(e.left);
      const br = blockOf(e.right);
      if (
        bl &&
        br &&
        (f.env.lookup((e.left as { name: string }).name) || f.env.lookup((e.right as { name: string }).name))
      )
        return { k: "bool", v: (bl.def === br.def) === (e.op === "==") };
      // `sc == identity`: an enum word compared with a value, not the `identity` op.
      const atomOf = (x: Expr): Value | undefined =>
        x.kind === "name" && ATOMS.has(x.name) && !f.env.lookup(x.name) ? { k: "atom", v: x.name } : undefined;
      const a = atomOf(e.left);
      const b = atomOf(e.right);
      if (a || b) {
        const l = a ?? this.scalar(e.left, f);
        const r = b ?? this.scalar(e.right, f);
        if (l.k === "poison" || r.k === "poison") return POISON;
        const res = arith(e.op, l, r);
        return typeof res === "string" ? this.report("RN118", e.span, { what: `\`${e.op}\``, detail: res }) : res;
      }
    }
    const leftScalar = this.isScalarExpr(e.left, f);
    const rightScalar = this.isScalarExpr(e.right, f);
    if (leftScalar && rightScalar) {
      const a = this.scalar(e.left, f);
      const b = this.scalar(e.right, f);
      if (a.k === "poison" || b.k === "poison") return POISON;
      const r = arith(e.op, a, b);
      return typeof r === "string" ? this.report("RN118", e.span, { what: `\`${e.op}\``, detail: r }) : r;
    }
    if (e.op === "*" && rightScalar) return this.repeat(e.left, e.right, f, cur);
    if (e.op !== "+" && e.op !== "-" && e.op !== "*")
      return this.report("RN115", e.opSpan, {
        what: `\`${e.op}\``,
        expected: "numbers (tensors combine with `+`, `-` and `*`)",
        found: "a tensor or pipeline",
      });
    const a = this.flow(e.left, f, cur);
    const b = this.flow(e.right, f, cur);
    if (a.k === "poison" || b.k === "poison") return POISON;
    if (a.k !== "tensor") return this.report("RN127", e.left.span, { found: describe(a) });
    if (b.k !== "tensor") return this.report("RN127", e.right.span, { found: describe(b) });
    const op = lookupOp(e.op === "+" ? "add" : e.op === "-" ? "sub" : "mul")!;
    return this.opNode(op, [a, b], {}, e.opSpan, f.naming.next(op.name));
  }

  /** `stage * n`: the stage applied n times in sequence. */
  private repeat(body: Expr, countExpr: Expr, f: Frame, cur: Value | undefined): Value {
    const n = this.scalar(countExpr, f, [], "repeat count");
    if (n.k === "poison") return n;
    if (n.k !== "int")
      return this.report("RN115", countExpr.span, { what: "repeat count", expected: "int", found: describe(n) });
    if (n.v < 0)
      return this.report("RN119", countExpr.span, { what: "repeat count", value: `at least 0, found ${n.v}` });
    if (n.v > LIMITS.repeat)
      return this.report("RN401", countExpr.span, {
        what: "repeat count",
        value: String(n.v),
        limit: String(LIMITS.repeat),
      });
    let v = this.needCur(cur, body.span, "repeat");
    const start = this.nodes.length;
    for (let i = 0; i < n.v && v.k === "tensor"; i++) {
      v = this.flow(body, f, v);
      if (i === 0) this.projectNodes(start, n.v, countExpr.span);
    }
    return v;
  }

  /** After the first of `count` repetitions, which added the nodes from `start` on: stops with
   * RN402 now if the rest would pass the layer limit, before they are built. Nested repeats
   * (`(relu * 100000) * 4`) are caught at the outer count instead of after 500,000 nodes. */
  private projectNodes(start: number, count: number, span: Span): void {
    const per = this.nodes.length - start;
    if (this.nodes.length + per * (count - 1) <= LIMITS.nodes) return;
    this.report(
      "RN402",
      span,
      { limit: LIMITS.nodes },
      `one repetition adds ${per} layer${per === 1 ? "" : "s"}; reduce the count or depth`,
    );
    throw new Abort();
  }

  // ---- statements ----
  exec(stmts: Stmt[], f: Frame): void {
    for (const s of stmts) this.stmt(s, f);
  }

  private stmt(s: Stmt, f: Frame): void {
    this.enter(s.span);
    this.stmtInner(s, f);
    this.depth--;
  }

  private stmtInner(s: Stmt, f: Frame): void {
    switch (s.kind) {
      case "input":
        // Only models have inputs and outputs; the resolver reported these in a block.
        if (f.def.kind === "model") this.input(s, f);
        return;
      case "output": {
        if (f.def.kind !== "model") return;
        this.sawOutput = true;
        const v = this.flow(s.value, f, f.cur);
        if (v.k === "tensor") {
          // Unnamed outputs are named once the model is complete (settleIoNames).
          this.outputs.push({ name: s.name ?? "", node: v.id, shape: v.shape, dtype: "f32" });
          this.outputSpans.push(s.span);
        } else if (v.k !== "poison") this.report("RN127", s.value.span, { found: describe(v) });
        return;
      }
      case "let":
        f.env.declare(s.name, s.shareSpan ? this.shareValue(s, f) : this.flow(s.value, f, f.cur));
        return;
      case "assign":
        if (s.name) f.env.assign(s.name, this.flow(s.value, f, f.cur));
        return;
      case "expr": {
        const v = this.flow(s.expr, f, f.cur);
        if (v.k === "tensor" || v.k === "poison") f.cur = v;
        else this.report("RN305", s.span, {});
        return;
      }
      case "expect":
        return this.expect(s, f);
      case "residual":
        f.cur = residualUnit(this, s, f);
        return;
      case "for": {
        const a = this.scalar(s.from, f, [], "loop bound");
        const b = this.scalar(s.to, f, [], "loop bound");
        if (a.k === "poison" || b.k === "poison") return;
        if (a.k !== "int" || b.k !== "int") {
          this.report("RN115", (a.k !== "int" ? s.from : s.to).span, {
            what: "loop bound",
            expected: "int",
            found: describe(a.k !== "int" ? a : b),
          });
          return;
        }
        if (b.v - a.v + 1 > LIMITS.repeat) {
          this.report("RN401", s.to.span, {
            what: "loop length",
            value: String(b.v - a.v + 1),
            limit: String(LIMITS.repeat),
          });
          return;
        }
        const start = this.nodes.length;
        for (let i = a.v; i <= b.v && f.cur?.k !== "poison"; i++) {
          if (i === a.v + 1) this.projectNodes(start, b.v - a.v + 1, s.to.span);
          const env = new Env(f.env);
          env.declare(s.var, int(i));
          const inner: Frame = { ...f, env: new Env(env) };
          this.exec(s.body, inner);
          f.cur = inner.cur;
        }
        return;
      }
      case "if": {
        const c = this.scalar(s.cond, f, [], "condition");
        if (c.k === "poison") return;
        if (c.k !== "bool") {
          this.report("RN115", s.cond.span, { what: "condition", expected: "true or false", found: describe(c) });
          return;
        }
        const body = c.v ? s.then : s.else;
        if (!body) return;
        const inner: Frame = { ...f, env: new Env(f.env) };
        this.exec(body, inner);
        f.cur = inner.cur;
        return;
      }
      case "stage": {
        // A stage without a name takes the next name of the scope it is in: the next index
        // inside a stage (PyTorch's Sequential in a Sequential: `tail.0.0`), else `stage1`, ...
        const name = s.name === undefined ? f.naming.nextBlock("stage") : this.stageName(s, f);
        const inner: Frame = { ...f, env: new Env(f.env), naming: f.naming.child(name, true) };
        this.exec(s.body, inner);
        f.cur = inner.cur;
        return;
      }
    }
  }

  private input(s: Extract<Stmt, { kind: "input" }>, f: Frame): void {
    this.sawInput = true;
    const bad = (): void => {
      // Keep checking the rest of the model without cascading errors from this input.
      f.env.declare(s.name, POISON);
      f.cur = POISON;
    };
    if (!INPUT_DTYPES.includes(s.dtype))
      return (
        this.report("RN115", s.span, {
          what: `input \`${s.name}\` element type`,
          expected: INPUT_DTYPES.map((t) => `\`${t}\``).join(" | "),
          found: `\`${s.dtype}\``,
        }),
        bad()
      );
    const shape: Dim[] = [];
    for (const d of s.dims) {
      if (d.kind === "name" && d.name === "_")
        return (
          this.report("RN115", d.span, {
            what: "input dimension",
            expected: "a positive int or a name (`_` matches anything only in `expect`)",
            found: "`_`",
          }),
          bad()
        );
      if (d.kind === "name" && !f.env.lookup(d.name)) {
        const v = sym(d.name);
        f.env.declare(d.name, { k: "dim", v });
        shape.push(v);
        continue;
      }
      const v = this.scalar(d, f, [], "dimension");
      if (v.k === "poison") return bad();
      if (v.k === "dim") shape.push(v.v);
      else if (v.k !== "int")
        return (
          this.report("RN115", d.span, { what: "dimension", expected: "a positive int or a name", found: describe(v) }),
          bad()
        );
      else if (v.v <= 0) return (this.report("RN204", d.span, { what: "dimension", found: String(v.v) }), bad());
      else if (v.v > LIMITS.dim)
        return (
          this.report("RN401", d.span, { what: "dimension", value: String(v.v), limit: String(LIMITS.dim) }),
          bad()
        );
      else shape.push(v.v);
    }
    const t = this.addNode("input", [], { shape }, { dtype: s.dtype }, s.span, s.name);
    if (t.k !== "tensor") return bad(); // over a limit, reported
    f.env.declare(s.name, t);
    if (t.k === "tensor") this.inputs.push({ name: s.name, node: t.id, shape, dtype: s.dtype });
    // One input flows into the pipeline; with several, statements must name the one they use.
    f.cur = this.inputs.length === 1 ? t : undefined;
  }

  private expect(s: Extract<Stmt, { kind: "expect" }>, f: Frame): void {
    const t = this.needCur(f.cur, s.span, "expect");
    if (t.k !== "tensor") return;
    const found = t.shape;
    const expectedText = s.dims.map((d) => (d.kind === "name" && !f.env.lookup(d.name) ? d.name : null));
    const fail = (): void =>
      void this.report("RN206", s.span, {
        expected: `[${s.dims.map((d, i) => expectedText[i] ?? exprText(d, f, this)).join(", ")}]`,
        found: shapeStr(found),
      });
    if (s.dims.length !== found.length) return fail();
    const binds: [string, Dim][] = [];
    for (const [i, d] of s.dims.entries()) {
      const actual = found[i]!;
      if (d.kind === "name" && d.name === "_") continue;
      if (d.kind === "name" && !f.env.lookup(d.name)) {
        const earlier = binds.find(([n]) => n === d.name);
        if (earlier && dimStr(earlier[1]) !== dimStr(actual)) return fail();
        binds.push([d.name, actual]);
        continue;
      }
      const v = this.scalar(d, f);
      if (v.k === "poison") return;
      const want = v.k === "int" ? String(v.v) : v.k === "dim" ? dimStr(v.v) : undefined;
      if (want === undefined)
        return void this.report("RN115", d.span, {
          what: "expected dimension",
          expected: "an int or a dimension name",
          found: describe(v),
        });
      if (want !== dimStr(actual)) return fail();
    }
    for (const [n, d] of binds) f.env.declare(n, fromDim(d));
  }
}

/** A count as it reads best in a message: 500,000,000. */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * An argument as block instances record it for emitted comments: numbers, booleans and atoms as
 * written; a string only by its length. Generated code carries no text of a string argument, not
 * even escaped inside a comment (a `*\/` payload in a block argument once ran under
 * `resnetc train FILE --help`).
 */
function argText(v: Value | undefined): string {
  if (!v) return "?";
  if (v.k === "str") return `<string of ${v.v.length} characters>`;
  // A list may hold strings too (`t = [1, 2]` given `["*/ ..."]`): the same rule for each item.
  if (v.k === "list") return `[${v.v.map(argText).join(", ")}]`;
  if (v.k === "int" || v.k === "float" || v.k === "bool" || v.k === "atom") return String(v.v);
  if (v.k === "block") return v.text;
  return describe(v);
}

function usesSlash(root: Expr): boolean {
  const todo = [root];
  for (let e = todo.pop(); e; e = todo.pop()) {
    if (e.kind === "binary") {
      if (e.op === "/") return true;
      todo.push(e.left, e.right);
    } else if (e.kind === "unary") todo.push(e.arg);
    else if (e.kind === "cond") todo.push(e.then, e.else);
  }
  return false;
}

function exprText(d: Expr, f: Frame, el: Elaborator): string {
  const v = el.isScalarExpr(d, f) ? el.scalar(d, f) : POISON;
  if (v.k === "int") return String(v.v);
  if (v.k === "dim") return dimStr(v.v);
  return "?";
}

/** Checks for a block or model parameter of the declared type (no type: any scalar). */
export function paramType(type: string | undefined): {
  check: (v: Value) => Value | { expected: string };
  enumValues: readonly string[];
  block?: boolean;
} {
  const t = type === undefined ? undefined : PARAM_TYPES[type];
  if (t === undefined) return { check: (v) => v, enumValues: [...ATOMS] };
  if (t === "block")
    return { check: (v) => (v.k === "block" ? v : { expected: BLOCK_EXPECTED }), enumValues: [], block: true };
  if (typeof t === "object")
    return {
      check: (v) => (v.k === "atom" && t.includes(v.v) ? v : { expected: t.map((x) => `\`${x}\``).join(" | ") }),
      enumValues: t,
    };
  return {
    check: (v) => {
      if (t === "float" && (v.k === "int" || v.k === "float")) return { k: "float", v: v.v };
      if (v.k === t) return v;
      return { expected: t };
    },
    enumValues: [],
  };
}

export interface ElaborateResult {
  graph?: Graph;
  diagnostics: Diagnostic[];
}

/** Elaborates one model with its default parameters (or `overrides`), then settles bias=auto. */
export function elaborateModel(
  program: Program,
  model: Definition,
  recursive: ReadonlySet<string>,
  overrides: Record<string, Value> = {},
  cache?: CheckCache,
): ElaborateResult {
  const el = new Elaborator(program, recursive, cache);
  const f: Frame = { env: new Env(), naming: new Naming("", false), cur: undefined, def: model };
  try {
    const given = new Map<string, Value>(Object.entries(overrides));
    if (el.bindParams(model, given, f, model.nameSpan)) {
      el.exec(inlineBody(program, model), f);
      if (!el.sawInput) el.report("RN122", model.nameSpan, { name: model.name });
      else if (el.outputs.length === 0 && f.cur?.k === "tensor") {
        el.outputs.push({ name: "", node: f.cur.id, shape: f.cur.shape, dtype: "f32" });
        el.outputSpans.push(model.nameSpan);
      } else if (!el.sawOutput && f.cur === undefined)
        el.report(
          "RN129",
          model.nameSpan,
          { name: model.name },
          "with several inputs nothing flows to the end by itself: say what the model returns with `output NAME = ...`",
        );
      settleIoNames(
        el.nodes,
        el.inputs,
        el.outputs,
        el.outputSpans,
        (code, span, args, hint, notes) => void el.report(code, span, args, hint, notes),
      );
    }
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    return { diagnostics: el.diagnostics };
  }
  const graph = finishGraph(model, el);
  return { graph, diagnostics: el.diagnostics };
}

/**
 * A model whose body is one block call (besides `input`, `output` and `expect`), as in
 * `model ResNet20 { input image: f32[N, 3, 32, 32]; CifarResNet(n=3) }`, names the block's layers
 * as if they were written in the model: `layer1.0.conv1`, not `cifarresnet1.layer1.0.conv1`.
 * The call becomes `CifarResNet(n=3) as _`; a call with its own `as` keeps it.
 */
function inlineBody(program: Program, model: Definition): Stmt[] {
  const rest = model.body.filter((s) => s.kind !== "input" && s.kind !== "output" && s.kind !== "expect");
  const only = rest.length === 1 && rest[0]!.kind === "expr" ? rest[0] : undefined;
  if (!only) return model.body;
  const e = only.expr;
  const callee = e.kind === "call" ? e.callee : e;
  if (callee.kind !== "name" || program.defs.get(callee.name)?.kind !== "block") return model.body;
  const inline: Stmt = { ...only, expr: { kind: "named", inner: e, name: "_", nameSpan: e.span, span: e.span } };
  return model.body.map((s) => (s === only ? inline : s));
}

/**
 * Leaves out the layers whose values reach no output, such as those of a `let` that is never
 * used (RN304 says so): they would be parameters that nothing trains, counted and exported.
 * Inputs stay, used or not. Node ids are renumbered to stay equal to positions; a block instance
 * whose output is left out goes too, and one whose input is left out is no longer an instance
 * (its live layers stay, under their names).
 */
function leaveOutDeadLayers(el: Elaborator): void {
  const nodes = el.nodes;
  if (el.outputs.length === 0) return; // after an error: keep what was built, for the summary
  const live = new Uint8Array(nodes.length);
  for (const o of el.outputs) live[o.node] = 1;
  for (let id = nodes.length - 1; id >= 0; id--) {
    const n = nodes[id]!;
    if (n.op === "input") live[id] = 1;
    if (live[id]) for (const i of n.inputs) live[i] = 1;
  }
  if (live.every((x) => x === 1)) return;
  // before[i]: the live nodes before position i, which is node i's new id when it is live.
  const before = new Int32Array(nodes.length + 1);
  for (let i = 0; i < nodes.length; i++) before[i + 1] = before[i]! + live[i]!;
  let k = 0;
  for (let i = 0; i < nodes.length; i++) {
    if (!live[i]) continue;
    const n = nodes[i]!;
    (n as { id: number }).id = before[i]!;
    n.inputs = n.inputs.map((x) => before[x]!);
    nodes[k++] = n;
  }
  nodes.length = k;
  for (const io of [...el.inputs, ...el.outputs]) io.node = before[io.node]!;
  const blocks = el.blocks.filter((b) => live[b.output] && live[b.input]);
  for (const b of blocks) {
    b.start = before[b.start]!;
    b.end = before[b.end]!;
    b.input = before[b.input]!;
    b.output = before[b.output]!;
  }
  el.blocks.length = 0;
  for (const b of blocks) el.blocks.push(b);
}

const HAS_BIAS = new Set<string>(["conv", "dwconv", "sepconv", "dense"]);

/**
 * Ties the layers of every use of a `share`d block to the first use's, position by position:
 * each later layer gets `shares` (the id of the layer whose parameters it uses). Runs once dead
 * layers are left out (the first live use owns the parameters) and `bias=auto` is settled: a
 * tied layer has a bias when any use needs one. Parameter shapes must then agree (RN211):
 * channels, kernel, groups; spatial sizes may differ.
 */
function tieSharedLayers(el: Elaborator): void {
  if (el.sharedBlocks.length === 0) return;
  const live = new Set<IrNode>(el.nodes);
  const reported = new Set<Span>();
  for (const rec of el.sharedBlocks) {
    const width = rec.uses[0]?.nodes.length ?? 0;
    for (let i = 0; i < width; i++) {
      const members = rec.uses.flatMap((u) => (live.has(u.nodes[i]!) ? [{ n: u.nodes[i]!, at: u.at }] : []));
      let owner = members[0]?.n;
      if (!owner) continue;
      // A use inside another shared block's later use is tied through the outer one already.
      while (owner.shares !== undefined) owner = el.nodes[owner.shares]!;
      if (HAS_BIAS.has(owner.op) && members.some((m) => m.n.attrs["bias"] === true))
        for (const m of [{ n: owner }, ...members])
          if (m.n.attrs["bias"] === false) {
            m.n.attrs["bias"] = true;
            m.n.params += m.n.attrs["out"] as number;
          }
      const want = paramSpecs(owner).map((p) => [p.name.slice(owner.name.length), p.dims.join(", ")] as const);
      for (const { n, at } of members) {
        if (n === owner) continue;
        const got = paramSpecs(n).map((p) => [p.name.slice(n.name.length), p.dims.join(", ")] as const);
        const k = got.findIndex((g, j) => g[0] !== want[j]?.[0] || g[1] !== want[j]?.[1]);
        if (k >= 0 || got.length !== want.length) {
          if (!reported.has(at)) {
            reported.add(at);
            const [suffix, dims] = got[k] ?? got[0] ?? [".weight", "?"];
            const theirs = want.find((w) => w[0] === suffix)?.[1];
            el.diagnostics.push(
              diag(
                "RN211",
                at,
                {
                  name: rec.name,
                  detail:
                    `its layer \`${n.name}\` would have ${suffix.slice(1)} [${dims}], and \`${owner.name}\`, ` +
                    `whose parameters it uses, ` +
                    (theirs === undefined ? `has no ${suffix.slice(1)}` : `has [${theirs}]`),
                },
                {
                  hint: "a shared block's layers need the same channels at every use (spatial sizes may differ)",
                  notes: [{ message: `\`${rec.name}\` is shared here`, span: rec.span }],
                },
              ),
            );
          }
          continue;
        }
        n.shares = owner.id;
      }
    }
  }
}

/** Settles `bias=auto` (no bias when every consumer is a normalisation, looking past dropout and
 * drop-path, which keep the shape and have no parameters) and sums the totals. */
function finishGraph(model: Definition, el: Elaborator): Graph {
  leaveOutDeadLayers(el);
  // How many consumers each tensor has, and whether one of them is not a norm.
  const count = new Uint32Array(el.nodes.length);
  const feedsNonNorm = new Uint8Array(el.nodes.length);
  const firstConsumer = new Int32Array(el.nodes.length).fill(-1);
  for (const n of el.nodes)
    for (const i of n.inputs) {
      count[i]!++;
      if (firstConsumer[i] === -1) firstConsumer[i] = n.id;
    }
  // Backwards, so a regulariser's own consumers are settled before it is looked through
  // (consumers come after their inputs): `conv dropout(0.3) bn` is a conv feeding a norm.
  for (let id = el.nodes.length - 1; id >= 0; id--) {
    const n = el.nodes[id]!;
    const family = lookupOp(n.op)?.family;
    const transparent = family === "norm" || (family === "regularize" && count[id]! > 0 && feedsNonNorm[id] === 0);
    if (!transparent) for (const i of n.inputs) feedsNonNorm[i] = 1;
  }
  for (const n of el.nodes) {
    const bias = n.attrs["bias"];
    if (bias !== undefined && HAS_BIAS.has(n.op)) {
      const allNorm = count[n.id]! > 0 && feedsNonNorm[n.id] === 0;
      if (bias === "auto") {
        n.attrs["bias"] = !allNorm;
        if (!allNorm) n.params += n.attrs["out"] as number;
      } else if (bias === true && allNorm) {
        let norm = el.nodes[firstConsumer[n.id]!]!;
        while (lookupOp(norm.op)?.family === "regularize") norm = el.nodes[firstConsumer[norm.id]!]!;
        el.diagnostics.push(diag("RN303", n.span, { norm: norm.op }));
      }
    }
  }
  tieSharedLayers(el);
  let params = 0;
  let macs = 0;
  for (const n of el.nodes) {
    // A layer that uses another's parameters adds none of its own.
    if (n.shares === undefined) params += n.params;
    macs += n.macs;
  }
  // Instances were recorded as they finished; order them by where they start (outer first).
  const blocks = [...el.blocks].sort((a, b) => a.start - b.start || b.end - a.end);
  return {
    name: model.name,
    file: model.file,
    nodes: el.nodes,
    blocks,
    inputs: el.inputs,
    outputs: el.outputs,
    params,
    macs,
  };
}

export type { OpDef };
export { shapeStr };

/** k for a batch dim `k*N` (one symbol times a constant: time folded into the batch by
 * time_repeat), else 1: a shape rule counts MACs per batch element, and a sample is then k of them. */
function batchMultiple(d: Dim | undefined): number {
  if (d === undefined || typeof d === "number" || d.terms.size !== 1) return 1;
  const [[key, k]] = [...d.terms];
  return key !== "" && Number.isInteger(k) && k > 1 ? k : 1;
}
