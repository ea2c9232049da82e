// The abstract syntax tree of a `.resnet` file.
// Takes: nothing (types only). Gives: the node shapes the parser's visitor builds and the
// semantic stages read. Must not: hold meaning (types, shapes); that is the checker's job.

import type { Span } from "../diagnostics/diagnostic.js";

export type Expr =
  | { kind: "num"; value: number; isInt: boolean; span: Span }
  | { kind: "str"; value: string; span: Span }
  | { kind: "bool"; value: boolean; span: Span }
  | { kind: "name"; name: string; span: Span }
  | { kind: "list"; items: Expr[]; span: Span }
  | { kind: "unary"; op: "-" | "not"; arg: Expr; span: Span }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr; opSpan: Span; span: Span }
  | { kind: "chain"; items: Expr[]; span: Span }
  | { kind: "call"; callee: Expr; args: Arg[]; span: Span }
  | { kind: "index"; obj: Expr; index: Expr; span: Span }
  | { kind: "cond"; then: Expr; cond: Expr; else: Expr; span: Span }
  /** `inner as name`: an op or block call given its layer name (`_`: a block adds no prefix). */
  | { kind: "named"; inner: Expr; name: string; nameSpan: Span; span: Span; index?: Expr }
  /** A residual unit used as a value: `(residual { ... }) * 4`, `conv(64) residual { ... } relu`.
   * A statement that is only a residual unit is the `residual` statement, not this. */
  | { kind: "residual"; unit: ResidualStmt; span: Span }
  /** Stands in for an expression the parser could not read; checking skips it. */
  | { kind: "error"; span: Span };

export type BinaryOp = "+" | "-" | "*" | "/" | "//" | "%" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or";

export interface Arg {
  name?: string;
  nameSpan?: Span;
  value: Expr;
  span: Span;
}

export type Stmt =
  | { kind: "input"; name: string; dtype: string; dims: Expr[]; nameSpan: Span; span: Span }
  | { kind: "output"; name?: string; value: Expr; span: Span }
  /** `let body = share Body(64)`: `shareSpan` marks a shared block (one set of parameters for
   * every use of `body`). */
  | { kind: "let"; name: string; value: Expr; nameSpan: Span; span: Span; shareSpan?: Span }
  | { kind: "assign"; name: string; value: Expr; nameSpan: Span; span: Span }
  | { kind: "expr"; expr: Expr; span: Span }
  | { kind: "expect"; dims: Expr[]; span: Span }
  | ResidualStmt
  | { kind: "for"; var: string; from: Expr; to: Expr; body: Stmt[]; varSpan: Span; span: Span }
  | { kind: "if"; cond: Expr; then: Stmt[]; else?: Stmt[]; span: Span }
  /** `stage NAME { }`; without a name, the next index of the enclosing stage (`tail.0.0`);
   * `stage NAME[i] { }` is `NAME.i` (a loop's stages: `blocks.0`, `blocks.1`, ...). */
  | { kind: "stage"; name?: string; body: Stmt[]; nameSpan?: Span; span: Span; index?: Expr };

export interface ResidualStmt {
  kind: "residual";
  args: Arg[];
  body: Stmt[];
  shortcut?: ShortcutClause;
  span: Span;
  headSpan: Span;
}

export type ShortcutClause = { kind: "spec"; expr: Expr; span: Span } | { kind: "custom"; body: Stmt[]; span: Span };

export interface Param {
  name: string;
  type?: string;
  typeSpan?: Span;
  default?: Expr;
  span: Span;
}

export interface Definition {
  kind: "block" | "model";
  name: string;
  params: Param[];
  body: Stmt[];
  nameSpan: Span;
  span: Span;
  file: string;
}

export interface Import {
  path: string;
  span: Span;
}

export interface FileAst {
  file: string;
  imports: Import[];
  definitions: Definition[];
}
