// From Chevrotain's concrete syntax tree to our AST.
// Takes: a (possibly partial, after error recovery) CST. Gives: an AST with a span on every node;
// pieces the parser could not read become `error` expressions or are dropped.
// Must not: report diagnostics or resolve names.

import type { CstNode, IToken, CstElement } from "./chevrotain.js";
import type { Arg, BinaryOp, Definition, Expr, FileAst, Import, Param, ShortcutClause, Stmt } from "../ast/ast.js";
import type { Span } from "../diagnostics/diagnostic.js";
import { parser } from "./parser.js";

type Children = Record<string, CstElement[] | undefined>;

const BaseVisitor = parser.getBaseCstVisitorConstructor();

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

export class AstBuilder extends BaseVisitor {
  constructor(private readonly fileName: string) {
    super();
    this.validateVisitor();
  }

  // ---- helpers ----
  private tok(c: Children, name: string, i = 0): IToken | undefined {
    const e = c[name]?.[i];
    return e && isToken(e) && !isNaN(e.startOffset) ? e : undefined;
  }
  private node(c: Children, name: string, i = 0): CstNode | undefined {
    const e = c[name]?.[i];
    return e && !isToken(e) ? e : undefined;
  }
  private nodes(c: Children, name: string): CstNode[] {
    return (c[name] ?? []).filter((e): e is CstNode => !isToken(e));
  }
  private tokSpan(t: IToken): Span {
    return { file: this.fileName, start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 };
  }
  /** The span of everything under a CST node (Chevrotain tracks it with positionTracking "full"). */
  private nodeSpan(n: CstNode): Span {
    const loc = n.location;
    if (loc && !isNaN(loc.startOffset))
      return { file: this.fileName, start: loc.startOffset, end: (loc.endOffset ?? loc.startOffset) + 1 };
    return { file: this.fileName, start: 0, end: 0 };
  }
  private join(a: Span, b: Span): Span {
    return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
  }
  private errorExpr(n?: CstNode): Expr {
    return { kind: "error", span: n ? this.nodeSpan(n) : { file: this.fileName, start: 0, end: 0 } };
  }
  private exprOf(n: CstNode | undefined): Expr {
    return n ? (this.visit(n) as Expr) : this.errorExpr();
  }

  // ---- declarations ----
  file(c: Children): FileAst {
    const imports: Import[] = this.nodes(c, "importDecl")
      .map((n) => this.visit(n) as Import | undefined)
      .filter((x): x is Import => !!x);
    const definitions: Definition[] = [...this.nodes(c, "blockDecl"), ...this.nodes(c, "modelDecl")]
      .map((n) => this.visit(n) as Definition | undefined)
      .filter((d): d is Definition => !!d)
      .sort((a, b) => a.span.start - b.span.start);
    return { file: this.fileName, imports, definitions };
  }

  importDecl(c: Children): Import | undefined {
    const s = this.tok(c, "StringLit");
    const kw = this.tok(c, "Import");
    if (!s || !kw) return undefined;
    return { path: s.image.slice(1, -1), span: this.join(this.tokSpan(kw), this.tokSpan(s)) };
  }

  private definition(kind: "block" | "model", c: Children, n: CstNode): Definition | undefined {
    const name = this.tok(c, "Identifier");
    if (!name) return undefined;
    const pl = this.node(c, "paramList");
    const params = pl ? (this.visit(pl) as Param[]) : [];
    const body = this.node(c, "body");
    return {
      kind,
      name: name.image,
      params,
      body: body ? (this.visit(body) as Stmt[]) : [],
      nameSpan: this.tokSpan(name),
      span: this.nodeSpan(n),
      file: this.fileName,
    };
  }
  blockDecl(c: Children, _p?: unknown): Definition | undefined {
    return this.definition("block", c, this.current!);
  }
  modelDecl(c: Children): Definition | undefined {
    return this.definition("model", c, this.current!);
  }

  // Chevrotain passes children, not the node; keep the node for spans.
  private current: CstNode | undefined;
  override visit(n: CstNode | CstNode[], param?: unknown): any {
    const node = Array.isArray(n) ? n[0] : n;
    const saved = this.current;
    this.current = node;
    try {
      return super.visit(n, param);
    } finally {
      this.current = saved;
    }
  }

  paramList(c: Children): Param[] {
    return this.nodes(c, "param")
      .map((n) => this.visit(n) as Param | undefined)
      .filter((p): p is Param => !!p);
  }

  param(c: Children): Param | undefined {
    const name = this.tok(c, "Identifier", 0);
    if (!name) return undefined;
    const type = this.tok(c, "Identifier", 1) ?? this.tok(c, "Shortcut") ?? this.tok(c, "Block");
    const def = this.node(c, "argValue");
    const p: Param = { name: name.image, span: this.nodeSpan(this.current!) };
    if (type) {
      p.type = type.image;
      p.typeSpan = this.tokSpan(type);
    }
    if (def) p.default = this.exprOf(def);
    return p;
  }

  body(c: Children): Stmt[] {
    return this.nodes(c, "statement")
      .map((n) => this.visit(n) as Stmt | undefined)
      .filter((s): s is Stmt => !!s);
  }

  statement(c: Children): Stmt | undefined {
    const [first] = Object.values(c).flat() as CstNode[];
    return first ? (this.visit(first) as Stmt | undefined) : undefined;
  }

  inputStmt(c: Children): Stmt | undefined {
    const name = this.tok(c, "Identifier", 0);
    const dtype = this.tok(c, "Identifier", 1);
    const dims = this.node(c, "dimList");
    if (!name || !dtype || !dims) return undefined;
    return {
      kind: "input",
      name: name.image,
      dtype: dtype.image,
      dims: this.visit(dims) as Expr[],
      nameSpan: this.tokSpan(name),
      span: this.nodeSpan(this.current!),
    };
  }

  outputStmt(c: Children): Stmt | undefined {
    const e = this.node(c, "expr");
    if (!e) return undefined;
    const name = this.tok(c, "Identifier");
    const s: Stmt = { kind: "output", value: this.exprOf(e), span: this.nodeSpan(this.current!) };
    if (name) s.name = name.image;
    return s;
  }

  letStmt(c: Children): Stmt | undefined {
    const name = this.tok(c, "Identifier");
    const e = this.node(c, "expr");
    if (!name || !e) return undefined;
    const share = this.tok(c, "Share");
    const s: Stmt = {
      kind: "let",
      name: name.image,
      nameSpan: this.tokSpan(name),
      value: this.exprOf(e),
      span: this.nodeSpan(this.current!),
    };
    if (share) s.shareSpan = this.tokSpan(share);
    return s;
  }

  expectStmt(c: Children): Stmt | undefined {
    const d = this.node(c, "dimList");
    if (!d) return undefined;
    return { kind: "expect", dims: this.visit(d) as Expr[], span: this.nodeSpan(this.current!) };
  }

  dimList(c: Children): Expr[] {
    return this.nodes(c, "expr").map((n) => this.exprOf(n));
  }

  residualStmt(c: Children): Stmt | undefined {
    const bodies = this.nodes(c, "body");
    const kw = this.tok(c, "Residual");
    if (!bodies[0] || !kw) return undefined;
    const al = this.node(c, "argList");
    const s: Stmt = {
      kind: "residual",
      args: al ? (this.visit(al) as Arg[]) : [],
      body: this.visit(bodies[0]) as Stmt[],
      span: this.nodeSpan(this.current!),
      headSpan: al ? this.join(this.tokSpan(kw), this.nodeSpan(al)) : this.tokSpan(kw),
    };
    const sc = this.tok(c, "Shortcut");
    if (sc) {
      let clause: ShortcutClause | undefined;
      const e = this.node(c, "expr");
      if (bodies[1])
        clause = {
          kind: "custom",
          body: this.visit(bodies[1]) as Stmt[],
          span: this.join(this.tokSpan(sc), this.nodeSpan(bodies[1])),
        };
      else if (e) clause = { kind: "spec", expr: this.exprOf(e), span: this.join(this.tokSpan(sc), this.nodeSpan(e)) };
      if (clause) s.shortcut = clause;
    }
    return s;
  }

  forStmt(c: Children): Stmt | undefined {
    const v = this.tok(c, "Identifier");
    const ends = this.nodes(c, "addExpr");
    const body = this.node(c, "body");
    if (!v || ends.length < 2 || !body) return undefined;
    return {
      kind: "for",
      var: v.image,
      varSpan: this.tokSpan(v),
      from: this.exprOf(ends[0]),
      to: this.exprOf(ends[1]),
      body: this.visit(body) as Stmt[],
      span: this.nodeSpan(this.current!),
    };
  }

  ifStmt(c: Children): Stmt | undefined {
    const cond = this.node(c, "expr");
    const bodies = this.nodes(c, "body");
    if (!cond || !bodies[0]) return undefined;
    const s: Stmt = {
      kind: "if",
      cond: this.exprOf(cond),
      then: this.visit(bodies[0]) as Stmt[],
      span: this.nodeSpan(this.current!),
    };
    const elif = this.node(c, "ifStmt");
    if (elif) {
      const e = this.visit(elif) as Stmt | undefined;
      if (e) s.else = [e];
    } else if (bodies[1]) s.else = this.visit(bodies[1]) as Stmt[];
    return s;
  }

  stageStmt(c: Children): Stmt | undefined {
    const name = this.tok(c, "LayerName");
    const body = this.node(c, "body");
    if (!body) return undefined;
    const s: Stmt = { kind: "stage", body: this.visit(body) as Stmt[], span: this.nodeSpan(this.current!) };
    if (name) {
      s.name = name.image;
      s.nameSpan = this.tokSpan(name);
      const index = this.node(c, "expr");
      if (index) s.index = this.exprOf(index);
    }
    return s;
  }

  exprStmt(c: Children): Stmt | undefined {
    const es = this.nodes(c, "expr");
    if (!es[0]) return undefined;
    const span = this.nodeSpan(this.current!);
    const lhs = this.exprOf(es[0]);
    if (this.tok(c, "Equals")) {
      const value = es[1] ? this.exprOf(es[1]) : this.errorExpr();
      if (lhs.kind === "name") return { kind: "assign", name: lhs.name, nameSpan: lhs.span, value, span };
      // `f(x) = ...` is not an assignment target; keep it as an error expression for the checker.
      return { kind: "assign", name: "", nameSpan: lhs.span, value, span };
    }
    // A statement that is only a residual unit stays the `residual` statement.
    if (lhs.kind === "residual") return lhs.unit;
    return { kind: "expr", expr: lhs, span };
  }

  // ---- expressions ----
  expr(c: Children): Expr {
    const ors = this.nodes(c, "orExpr");
    const first = this.exprOf(ors[0]);
    if (!this.tok(c, "When")) return first;
    return {
      kind: "cond",
      then: first,
      cond: this.exprOf(ors[1]),
      else: this.exprOf(this.node(c, "expr")),
      span: this.nodeSpan(this.current!),
    };
  }

  private leftAssoc(c: Children, sub: string, ops: string[]): Expr {
    const operands = this.nodes(c, sub).map((n) => this.exprOf(n));
    const opToks = ops.flatMap((o) => (c[o] ?? []).filter(isToken)).sort((a, b) => a.startOffset - b.startOffset);
    let acc = operands[0] ?? this.errorExpr();
    for (let i = 1; i < operands.length; i++) {
      const t = opToks[i - 1];
      const right = operands[i]!;
      const op = (t?.image ?? "+") as BinaryOp;
      acc = {
        kind: "binary",
        op,
        left: acc,
        right,
        opSpan: t ? this.tokSpan(t) : right.span,
        span: this.join(acc.span, right.span),
      };
    }
    return acc;
  }

  orExpr(c: Children): Expr {
    return this.leftAssoc(c, "andExpr", ["Or"]);
  }
  andExpr(c: Children): Expr {
    return this.leftAssoc(c, "notExpr", ["And"]);
  }
  notExpr(c: Children): Expr {
    const inner = this.node(c, "notExpr");
    if (inner) return { kind: "unary", op: "not", arg: this.exprOf(inner), span: this.nodeSpan(this.current!) };
    return this.exprOf(this.node(c, "cmpExpr"));
  }
  cmpExpr(c: Children): Expr {
    return this.leftAssoc(c, "addExpr", ["EqEq", "NotEq", "LessEq", "GreaterEq", "Less", "Greater"]);
  }
  addExpr(c: Children): Expr {
    return this.leftAssoc(c, "chain", ["Plus", "Minus"]);
  }
  chain(c: Children): Expr {
    const items = [this.exprOf(this.node(c, "mulExpr")), ...this.nodes(c, "chainItem").map((n) => this.exprOf(n))];
    if (items.length === 1) return items[0]!;
    return { kind: "chain", items, span: this.join(items[0]!.span, items[items.length - 1]!.span) };
  }

  /** `postfix (mulOp unary)*` and `unary (mulOp unary)*` fold the same way. */
  private mulFold(first: Expr, c: Children): Expr {
    const rights = this.nodes(c, "unary").map((n) => this.exprOf(n));
    const ops = this.nodes(c, "mulOp").map((n) => Object.values(n.children).flat()[0] as IToken | undefined);
    const start = first === undefined ? 0 : 0;
    let acc = first;
    for (let i = start; i < rights.length; i++) {
      const t = ops[i];
      const right = rights[i]!;
      acc = {
        kind: "binary",
        op: (t?.image ?? "*") as BinaryOp,
        left: acc,
        right,
        opSpan: t ? this.tokSpan(t) : right.span,
        span: this.join(acc.span, right.span),
      };
    }
    return acc;
  }
  chainItem(c: Children): Expr {
    return this.mulFold(this.exprOf(this.node(c, "postfix")), c);
  }
  mulExpr(c: Children): Expr {
    const unaries = this.nodes(c, "unary");
    const first = this.exprOf(unaries[0]);
    const rest: Children = { ...c, unary: unaries.slice(1) };
    return this.mulFold(first, rest);
  }
  mulOp(): undefined {
    return undefined;
  }
  unary(c: Children): Expr {
    const inner = this.node(c, "unary");
    if (inner) {
      const arg = this.exprOf(inner);
      if (arg.kind === "num") return { ...arg, value: -arg.value, span: this.nodeSpan(this.current!) };
      return { kind: "unary", op: "-", arg, span: this.nodeSpan(this.current!) };
    }
    return this.exprOf(this.node(c, "postfix"));
  }

  postfix(c: Children): Expr {
    let acc = this.exprOf(this.node(c, "primary"));
    // Calls and indexes, in source order.
    const parts: { at: number; apply: (e: Expr) => Expr }[] = [];
    for (const al of this.nodes(c, "argList")) {
      const span = this.nodeSpan(al);
      parts.push({
        at: span.start,
        apply: (e) => ({ kind: "call", callee: e, args: this.visit(al) as Arg[], span: this.join(e.span, span) }),
      });
    }
    const as = this.tok(c, "As");
    // Brackets after `as` index the name (`as convs[i]`), not the value.
    const afterAs = (t: IToken): boolean => as !== undefined && t.startOffset > as.startOffset;
    const lbs = (c["LBracket"] ?? []).filter(isToken).filter((t) => !afterAs(t));
    const rbs = (c["RBracket"] ?? []).filter(isToken).filter((t) => !afterAs(t));
    const allIdx = this.nodes(c, "expr");
    const idx = allIdx.slice(0, lbs.length);
    const nameIndex = as && allIdx.length > lbs.length ? allIdx[lbs.length] : undefined;
    const nameClose = (c["RBracket"] ?? []).filter(isToken).find(afterAs);
    lbs.forEach((lb, i) => {
      const rb = rbs[i];
      const end = rb ? this.tokSpan(rb) : this.tokSpan(lb);
      parts.push({
        at: lb.startOffset,
        apply: (e) => ({ kind: "index", obj: e, index: this.exprOf(idx[i]), span: this.join(e.span, end) }),
      });
    });
    parts.sort((a, b) => a.at - b.at);
    for (const p of parts) acc = p.apply(acc);
    const name = this.tok(c, "LayerName");
    if (as && name) {
      const nameSpan = nameClose ? this.join(this.tokSpan(name), this.tokSpan(nameClose)) : this.tokSpan(name);
      const e: Expr = { kind: "named", inner: acc, name: name.image, nameSpan, span: this.join(acc.span, nameSpan) };
      if (nameIndex) e.index = this.exprOf(nameIndex);
      return e;
    }
    return acc;
  }

  argList(c: Children): Arg[] {
    return this.nodes(c, "arg").map((n) => this.visit(n) as Arg);
  }

  argValue(c: Children): Expr {
    const and = this.tok(c, "And");
    if (and) return { kind: "name", name: "and", span: this.tokSpan(and) };
    return this.exprOf(this.node(c, "expr"));
  }

  arg(c: Children): Arg {
    const value = this.exprOf(this.node(c, "argValue"));
    const name = this.tok(c, "Identifier");
    const a: Arg = { value, span: this.nodeSpan(this.current!) };
    if (name) {
      a.name = name.image;
      a.nameSpan = this.tokSpan(name);
    }
    return a;
  }

  primary(c: Children): Expr {
    const span = this.nodeSpan(this.current!);
    const t =
      this.tok(c, "FloatLit") ??
      this.tok(c, "IntLit") ??
      this.tok(c, "StringLit") ??
      this.tok(c, "True") ??
      this.tok(c, "False") ??
      (this.tok(c, "LParen") || this.tok(c, "LBracket") ? undefined : this.tok(c, "Identifier"));
    if (t) {
      switch (t.tokenType.name) {
        case "FloatLit":
          return { kind: "num", value: Number(t.image), isInt: false, span };
        case "IntLit":
          return { kind: "num", value: Number(t.image), isInt: true, span };
        case "StringLit":
          return { kind: "str", value: t.image.slice(1, -1), span };
        case "True":
          return { kind: "bool", value: true, span };
        case "False":
          return { kind: "bool", value: false, span };
        default:
          return { kind: "name", name: t.image, span };
      }
    }
    if (this.tok(c, "LParen")) {
      const inner = this.exprOf(this.node(c, "expr"));
      // `(relu)(x)` applies relu to x, unlike `relu(x)`: a bracketed name is a one-stage pipeline.
      if (inner.kind === "name") return { kind: "chain", items: [inner], span };
      // Keep the parentheses in the span, so underlines cover what the user wrote.
      return { ...inner, span };
    }
    const unit = this.node(c, "residualStmt");
    if (unit) {
      const stmt = this.visit(unit) as Stmt | undefined;
      return stmt?.kind === "residual" ? { kind: "residual", unit: stmt, span } : this.errorExpr(this.current);
    }
    if (this.tok(c, "LBracket")) return { kind: "list", items: this.nodes(c, "expr").map((n) => this.exprOf(n)), span };
    return this.errorExpr(this.current);
  }
}
