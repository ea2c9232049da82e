// Residual units: `residual(modifiers) { branch } shortcut KIND`.
// Takes: the evaluator and one residual statement. Gives: the merged tensor and its nodes.
// Must not: guess a shortcut the user did not ask for; every kind is one of the paper's options:
//   identity    x itself (shapes must agree)
//   pad         option A (He et al. 2015, Sec. 4.2): identity when shapes agree, else subsample
//               by the stride and zero-pad the new channels; no parameters
//   auto        option B: identity when shapes agree, else project
//   project     option C when used everywhere: 1x1 conv (with the stride) + BN
//   avgproject  ResNet-D (He et al. 2019, "Bag of Tricks"): 2x2 avgpool then 1x1 conv + BN
//   none        no shortcut: a plain network (the paper's degradation baselines)
//   { ... }     any pipeline the user writes

import type { Stmt } from "../ast/ast.js";
import type { AttrValue, OpName } from "../ir/ir.js";
import { MERGE_KINDS, SHORTCUT_KINDS } from "./builtins.js";
import { dimAdd, dimEq, dimFloorDiv, isConst, shapeEq, shapeStr, type Dim } from "../ir/dims.js";
import type { Elaborator, Frame } from "./elaborate.js";
import { lookupOp, type ArgSpec } from "./ops/index.js";
import { Env } from "./scope.js";
import { describe, POISON, toArgValue, type Value } from "./values.js";

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
  el.exec(s.body, branch);
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
    const spec = s.shortcut ? el.scalar(s.shortcut.expr, f, SHORTCUT_KINDS) : ({ k: "atom", v: "auto" } as Value);
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
    sc = kind === "identity" ? x : shortcut(el, kind, x, b, s, f);
  }
  if (sc.k !== "tensor") return POISON;

  return mergeNode(el, merge, b, sc, kind, s, f);
}

/** The stride that maps the input's spatial size onto the branch's (as a strided 1x1 conv would). */
function findStride(from: readonly Dim[], to: readonly Dim[]): number | undefined {
  // Ranks that differ have no stride (and the merge's hint asks before comparing ranks).
  if (from.length !== to.length) return undefined;
  for (let st = 1; st <= 64; st++) {
    if (from.every((d, i) => dimEq(dimAdd(dimFloorDiv(dimAdd(d, -1), st), 1), to[i]!))) return st;
  }
  return undefined;
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
  const same = stride === 1 && ci === cb;
  if (same && kind !== "project") return x;
  if (kind === "pad") {
    if (cb < ci)
      return el.report(
        "RN209",
        s.headSpan,
        {
          detail: `option A pads channels with zeros, but the branch has fewer channels (${cb}) than the input (${ci})`,
        },
        "use `shortcut project`",
      );
    const before = Math.floor((cb - ci) / 2);
    const attrs: Record<string, AttrValue> = { stride, pad_before: before, pad_after: cb - ci - before };
    return el.addNode("shortcut_pad", [x.id], { shape: B.slice() }, attrs, s.headSpan, f.naming.next("shortcut"));
  }
  // Projection: a Sequential named `downsample`, as in torchvision.
  const seq = f.naming.child(f.naming.unique("downsample"), true);
  let t: Value = x;
  if (kind === "avgproject" && stride > 1) {
    t = el.opNode(
      lookupOp("avgpool")!,
      [x],
      { k: stride, stride, padding: "valid", ceil: true },
      s.headSpan,
      seq.next("avgpool"),
    );
    if (t.k !== "tensor") return POISON;
  }
  const convStride = kind === "avgproject" ? 1 : stride;
  t = el.opNode(
    lookupOp("conv")!,
    [t as Tensor],
    { out: cb, k: 1, stride: convStride, padding: 0, dilation: 1, groups: 1, bias: false, init: "kaiming" },
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
  if (!shapeEq(B, S)) {
    const stride = findStride(S.slice(2), B.slice(2));
    const hint =
      kind === "identity" || kind === "custom"
        ? `use \`shortcut project\` (1x1 conv${stride && stride > 1 ? `, stride ${stride}` : ""}) or \`shortcut pad\``
        : undefined;
    return el.report("RN201", s.headSpan, { merge, branch: shapeStr(B), shortcut: shapeStr(S) }, hint);
  }
  const op = MERGE_OPS[merge as Exclude<(typeof MERGE_KINDS)[number], "concat">];
  return el.addNode(op, [b.id, sc.id], { shape: B.slice() }, { merge }, s.headSpan, f.naming.next(op));
}
