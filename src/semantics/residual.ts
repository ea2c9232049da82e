// Residual units: `residual(modifiers) { branch } shortcut KIND`.
// Takes: the evaluator and one residual statement. Gives: the merged tensor and its nodes.
// Must not: guess a shortcut the user did not ask for; every kind is one of the paper's options:
//   identity    x itself (shapes must agree)
//   pad         option A (He et al. 2015, Sec. 4.2): identity when shapes agree, else subsample
//               by the stride and zero-pad the new channels; no parameters
//   auto        option B: identity when shapes agree, else project
//   project     option C when used everywhere: 1x1 conv (with the stride) + BN
//   avgproject  ResNet-D (He et al. 2019, "Bag of Tricks"): 2x2 avgpool then 1x1 conv + BN
//   avgpad      PyramidNet (Han et al. 2017): identity when shapes agree, else a 2x2 (stride-sized)
//               average pool, then zero channels after the old ones; no parameters
//   none        no shortcut: a plain network (the paper's degradation baselines)
//   { ... }     any pipeline the user writes
// Merges `add` and `mul` broadcast (NumPy rules, same rank): squeeze-excitation's [N, C, 1, 1]
// gate times x. With `mul`, a branch that broadcasts onto x keeps x as the shortcut whatever the
// kind (a gate is not a strided branch); with `add`, only `identity` and a custom shortcut do
// (`auto` reads a smaller branch as a strided one and projects).

import type { Stmt } from "../ast/ast.js";
import type { AttrValue, OpName } from "../ir/ir.js";
import { MERGE_KINDS, SHORTCUT_KINDS } from "./builtins.js";
import { dimAdd, dimEq, dimStr, dimFloorDiv, isConst, shapeEq, shapeStr, type Dim } from "../ir/dims.js";
import type { Elaborator, Frame } from "./elaborate.js";
import { lookupOp, type ArgSpec } from "./ops/index.js";
import { Env } from "./scope.js";
import { describe, POISON, toArgValue, type Value } from "./values.js";
import { broadcast } from "./ops/shape.js";

type Tensor = Extract<Value, { k: "tensor" }>;

const MODIFIERS: ArgSpec[] = [
  {
    name: "merge",
    type: { enum: MERGE_KINDS },
    default: "add",
    doc: "how branch and shortcut combine: add, mul, concat (DenseNet), and / iand (SEW ResNet)",
  },
  { name: "scale", type: "float", doc: "constant factor on the branch (EDSR 0.1; Inception-ResNet)" },
  { name: "gate", type: "float", doc: "learned scalar on the branch with this initial value (ReZero / SkipInit: 0)" },
  { name: "layerscale", type: "float", doc: "learned per-channel factor with this initial value (CaiT: 1e-5 / 1e-6)" },
  { name: "drop_path", type: "float", doc: "stochastic depth: drop the branch with this probability while training" },
];

const MODIFIER_NAMES = MODIFIERS.map((m) => ({ name: m.name }));

export function residualUnit(el: Elaborator, s: Extract<Stmt, { kind: "residual" }>, f: Frame): Value {
  const x = el.needCur(f.cur, s.headSpan, "residual");
  if (x.k !== "tensor") return POISON;
  // The resolver checks the argument names of ops and blocks, not a residual's modifiers: an
  // unknown one is reported here, or the unit (and all after it) would vanish without a word.
  const unknown = s.args.filter((a) => a.name !== undefined && !MODIFIERS.some((m) => m.name === a.name));
  for (const a of unknown)
    el.report("RN112", a.nameSpan ?? a.span, {
      op: "residual",
      arg: a.name!,
      known: MODIFIERS.map((m) => m.name).join(", "),
    });
  if (unknown.length) return POISON;
  const bound = el.bindArgs(
    "residual",
    MODIFIER_NAMES,
    s.args,
    f,
    (n) => {
      const t = MODIFIERS.find((m) => m.name === n)!.type;
      return { check: (v) => toArgValue(v, t), enumValues: typeof t === "object" ? t.enum : [] };
    },
    s.headSpan,
  );
  if (!bound) return POISON;
  const merge = (bound.get("merge") as string | undefined) ?? "add";

  // The branch shares the block's naming scope, so a bottleneck's ops are conv1..conv3, bn1..bn3.
  const branch: Frame = { ...f, env: new Env(f.env), cur: x };
  const branchStart = el.nodes.length;
  el.exec(s.body, branch);
  const branchEnd = el.nodes.length;
  let b = branch.cur;
  if (!b || b.k !== "tensor") return POISON;

  for (const m of ["scale", "gate", "layerscale", "drop_path"] as const) {
    const v = bound.get(m) as number | undefined;
    if (v === undefined) continue;
    const op = lookupOp(m)!;
    const values: Record<string, number> = m === "scale" ? { by: v } : m === "drop_path" ? { p: v } : { init: v };
    const r = el.opNode(op, [b], values, s.headSpan, f.naming.next(m));
    if (r.k !== "tensor") return POISON;
    b = r;
  }

  // The shortcut.
  let sc: Value;
  let kind = "custom";
  if (s.shortcut?.kind === "custom") {
    const inner: Frame = {
      ...f,
      env: new Env(f.env),
      naming: f.naming.child(f.naming.unique("shortcut"), false),
      cur: x,
    };
    el.exec(s.shortcut.body, inner);
    sc = inner.cur ?? POISON;
  } else {
    const e = s.shortcut?.expr;
    // `shortcut identity relu`: the kind took the rest of the line, as in any expression.
    if (e?.kind === "chain" && e.items.length > 1)
      return el.report(
        "RN115",
        e.span,
        { what: "shortcut kind", expected: "one kind", found: "a pipeline" },
        "`shortcut` takes the rest of the line as its kind: put the next stage on a line of its own, " +
          "or wrap the unit in parentheses: `(residual { ... } shortcut identity) relu`",
      );
    const spec = e ? el.scalar(e, f, SHORTCUT_KINDS, "shortcut kind") : ({ k: "atom", v: "auto" } as Value);
    if (spec.k === "poison") return POISON;
    if (spec.k !== "atom" || !(SHORTCUT_KINDS as readonly string[]).includes(spec.v))
      return el.report("RN115", s.shortcut!.expr.span, {
        what: "shortcut",
        expected: SHORTCUT_KINDS.map((k) => `\`${k}\``).join(" | ") + " or { pipeline }",
        found: describe(spec),
      });
    kind = spec.v;
    if (kind === "none") return b;
    // Dense connectivity keeps the input as it is: `auto` never projects a concat's shortcut.
    if (kind === "auto" && merge === "concat") kind = "identity";
    // A gate (squeeze-excitation: [N, C, 1, 1] times x) broadcasts onto x: no projection.
    if (merge === "mul" && kind !== "project" && kind !== "identity" && broadcastsOnto(b.shape, x.shape))
      kind = "identity";
    sc = kind === "identity" ? x : shortcut(el, kind, x, b, s, f);
  }
  if (sc.k !== "tensor") return POISON;

  return mergeNode(el, merge, b, sc, kind, s, f, branchStrides(el, branchStart, branchEnd));
}

/** Whether `b` has the rank of `x` and each of its dims is x's or 1 (the branch broadcasts onto x). */
function broadcastsOnto(b: readonly Dim[], x: readonly Dim[]): boolean {
  return b.length === x.length && !shapeEq(b, x) && b.every((d, i) => d === 1 || dimEq(d, x[i]!));
}

/** The strides of the branch's own layers, multiplied per spatial dim (convs and pools). */
function branchStrides(el: Elaborator, start: number, end: number): number[] {
  let acc: number[] = [];
  for (let i = start; i < end; i++) {
    const st = (el.nodes[i]!.attrs as { stride?: unknown }).stride;
    if (!Array.isArray(st)) continue;
    acc = st.map((v, j) => (typeof v === "number" ? v : 1) * (acc[j] ?? 1));
  }
  return acc;
}

/** The stride per spatial dim that maps the input's spatial size onto the branch's (as a strided
 * 1x1 conv would); dims may differ (`[1, 2, 2]`: video, keeping the frames). */
function findStride(from: readonly Dim[], to: readonly Dim[]): number[] | undefined {
  // Ranks that differ have no stride (and the merge's hint asks before comparing ranks).
  if (from.length !== to.length) return undefined;
  const out: number[] = [];
  for (const [i, d] of from.entries()) {
    let found: number | undefined;
    for (let st = 1; st <= 64 && found === undefined; st++)
      if (dimEq(dimAdd(dimFloorDiv(dimAdd(d, -1), st), 1), to[i]!)) found = st;
    if (found === undefined) return undefined;
    out.push(found);
  }
  return out;
}

/** One int when every dim has the same stride (`2`), else the list (`[1, 2, 2]`); 1 without spatial dims. */
function strideValue(st: readonly number[]): number | number[] {
  return st.every((v) => v === st[0]) ? (st[0] ?? 1) : [...st];
}

function strideText(st: readonly number[]): string {
  const v = strideValue(st);
  return typeof v === "number" ? String(v) : `[${v.join(", ")}]`;
}

function shortcut(
  el: Elaborator,
  kind: string,
  x: Tensor,
  b: Tensor,
  s: Extract<Stmt, { kind: "residual" }>,
  f: Frame,
): Value {
  const X = x.shape;
  const B = b.shape;
  if (X.length !== B.length || X.length < 2 || !dimEq(X[0]!, B[0]!))
    return el.report(
      "RN201",
      s.headSpan,
      { merge: "shortcut", branch: shapeStr(B), shortcut: shapeStr(X) },
      "the branch must keep the batch dim and the rank",
    );
  const stride = findStride(X.slice(2), B.slice(2));
  if (stride === undefined)
    return el.report(
      "RN209",
      s.headSpan,
      {
        detail:
          `no stride maps the input's spatial size ${shapeStr(X.slice(2))} onto the ` +
          `branch's ${shapeStr(B.slice(2))}`,
      },
      "strided branches must use the stride once, with `auto` padding",
    );
  const ci = X[1]!;
  const cb = B[1]!;
  if (!isConst(ci) || !isConst(cb))
    return el.report("RN208", s.headSpan, { op: "shortcut", detail: "channel counts must be known numbers" });
  const strided = stride.some((v) => v !== 1);
  const same = !strided && ci === cb;
  if (same && kind !== "project") return x;
  const sv = strideValue(stride);
  if ((kind === "pad" || kind === "avgpad") && cb < ci)
    return el.report(
      "RN209",
      s.headSpan,
      {
        detail: `option A pads channels with zeros, but the branch has fewer channels (${cb}) than the input (${ci})`,
      },
      "use `shortcut project`",
    );
  if (kind === "pad" && typeof sv !== "number")
    return el.report(
      "RN209",
      s.headSpan,
      { detail: `option A subsamples with one stride in every dim, but the branch's stride is ${strideText(stride)}` },
      "use `shortcut avgpad`, `shortcut project` or `shortcut avgproject`",
    );
  if (kind === "avgpad") {
    // PyramidNet: nn.AvgPool2d(2, stride=2, ceil_mode=True), then zero channels (no parameters).
    let t: Value = x;
    if (strided) {
      t = el.opNode(
        lookupOp("avgpool")!,
        [x],
        { k: sv, stride: sv, padding: "valid", ceil: true },
        s.headSpan,
        f.naming.unique("downsample"),
      );
      if (t.k !== "tensor") return POISON;
    }
    if (ci === cb) return t;
    // The new channels come after the old ones, as PyramidNet's code concatenates them
    // (torch.cat((shortcut, padding), 1)), not split around them as option A does.
    const attrs: Record<string, AttrValue> = { stride: 1, pad_before: 0, pad_after: cb - ci };
    return el.addNode("shortcut_pad", [t.id], { shape: B.slice() }, attrs, s.headSpan, f.naming.next("shortcut"));
  }
  if (kind === "pad") {
    const before = Math.floor((cb - ci) / 2);
    const attrs: Record<string, AttrValue> = { stride: sv, pad_before: before, pad_after: cb - ci - before };
    return el.addNode("shortcut_pad", [x.id], { shape: B.slice() }, attrs, s.headSpan, f.naming.next("shortcut"));
  }
  // Projection: a Sequential named `downsample`, as in torchvision.
  const seq = f.naming.child(f.naming.unique("downsample"), true);
  let t: Value = x;
  if (kind === "avgproject" && strided) {
    t = el.opNode(
      lookupOp("avgpool")!,
      [x],
      { k: sv, stride: sv, padding: "valid", ceil: true },
      s.headSpan,
      seq.next("avgpool"),
    );
    if (t.k !== "tensor") return POISON;
  }
  const convStride = kind === "avgproject" ? 1 : sv;
  t = el.opNode(
    lookupOp("conv")!,
    [t as Tensor],
    { out: cb, k: 1, stride: convStride, padding: 0, dilation: 1, groups: 1, bias: false, init: "kaiming", gain: 1 },
    s.headSpan,
    seq.next("conv"),
  );
  if (t.k !== "tensor") return POISON;
  return el.opNode(lookupOp("bn")!, [t], { gamma: "ones", eps: 1e-5, momentum: 0.1 }, s.headSpan, seq.next("bn"));
}

/** The IR op of each element-wise merge kind (concat is the concat op). */
const MERGE_OPS: Record<Exclude<(typeof MERGE_KINDS)[number], "concat">, OpName> = {
  add: "add",
  mul: "mul",
  and: "sew_and",
  iand: "sew_iand",
};

function mergeNode(
  el: Elaborator,
  merge: string,
  b: Tensor,
  sc: Tensor,
  kind: string,
  s: Extract<Stmt, { kind: "residual" }>,
  f: Frame,
  ownStrides: readonly number[],
): Value {
  const B = b.shape;
  const S = sc.shape;
  if (merge === "concat") {
    const ok = B.length === S.length && B.every((d, i) => i === 1 || dimEq(d, S[i]!));
    if (!ok)
      return el.report(
        "RN201",
        s.headSpan,
        { merge: "concat", branch: shapeStr(B), shortcut: shapeStr(S) },
        "concat needs equal shapes outside the channel dim",
      );
    return el.opNode(lookupOp("concat")!, [b, sc], { axis: 1 }, s.headSpan, f.naming.next("concat"));
  }
  // add and mul broadcast (same rank): squeeze-excitation's [N, C, 1, 1] gate times [N, C, H, W].
  const out = shapeEq(B, S)
    ? B.slice()
    : (merge === "add" || merge === "mul") && B.length === S.length
      ? broadcast(B, S)
      : undefined;
  if (!out) {
    const hint = kind === "identity" || kind === "custom" ? mismatchHint(B, S, ownStrides) : undefined;
    return el.report("RN201", s.headSpan, { merge, branch: shapeStr(B), shortcut: shapeStr(S) }, hint);
  }
  const op = MERGE_OPS[merge as Exclude<(typeof MERGE_KINDS)[number], "concat">];
  return el.addNode(op, [b.id, sc.id], { shape: out }, { merge }, s.headSpan, f.naming.next(op));
}

/** The hint of a branch/shortcut mismatch: a projection with the stride the branch's own layers
 * have, never one that no layer has (an 8x8 -> 1x1 global pool is not a stride-8 branch). */
function mismatchHint(B: readonly Dim[], S: readonly Dim[], ownStrides: readonly number[]): string {
  if (B.length !== S.length) return "the branch must keep the rank";
  if (B.length > 2 && B.slice(2).every((d) => d === 1) && !dimEq(B[1]!, S[1]!))
    return (
      `a branch pooled to size 1 broadcasts onto the shortcut only with its channels ` +
      `(${dimStr(S[1]!)}), as squeeze-excitation's gate does`
    );
  const need = findStride(S.slice(2), B.slice(2));
  if (!need) return "no stride maps the shortcut's spatial size onto the branch's: write `shortcut { ... }`";
  const own = need.map((_, i) => ownStrides[i] ?? 1);
  const strided = need.some((v) => v !== 1);
  if (strided && need.some((v, i) => v !== own[i]))
    return (
      `the branch's layers have stride ${strideText(own)}, which does not map ${shapeStr(S.slice(2))} onto ` +
      `${shapeStr(B.slice(2))}: write \`shortcut { ... }\``
    );
  return `use \`shortcut project\` (1x1 conv${strided ? `, stride ${strideText(need)}` : ""}) or \`shortcut pad\``;
}
