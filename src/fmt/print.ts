// The formatter's printer: a `.resnet` concrete syntax tree (Chevrotain's, from the real parser)
// to a prettier Doc, in the one canonical style of grammar/README.md, "Formatting".
// Takes: the CST of a file that parsed without errors, its text, tokens and comments. Gives: a Doc.
// Must not: change what the program means. Two rules keep meaning: a call's `(` touches its callee
// (`f(x)` calls, `f (x)` is two stages) and line breaks go only inside `( )` and `[ ]`, where the
// lexer ignores them; between statements they end statements, so the printer puts one there.
// Every comment is printed once: own-line comments between statements stay on their own lines,
// a comment after code stays after that token (prettier's lineSuffix), and an own-line comment
// inside brackets goes before the next token, on its own line.

import type { Doc } from "prettier";
import { builders } from "prettier/doc";
import type { CstElement, CstNode, IToken } from "../syntax/chevrotain.js";
import { Newline } from "../syntax/lexer.js";

const { group, indent, line, softline, hardline, hardlineWithoutBreakParent, lineSuffix, breakParent, ifBreak } =
  builders;

/** What the plugin's parser gives the printer. */
export interface ResnetFileAst {
  type: "resnet-file";
  cst: CstNode;
  text: string;
  /** The lexer's tokens (statement-ending NEWLINEs included) and its comments, in source order. */
  tokens: IToken[];
  commentTokens: IToken[];
}

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

function startOf(e: CstElement): number {
  return isToken(e) ? e.startOffset : e.location!.startOffset;
}

function endOf(e: CstElement): number {
  return isToken(e) ? e.endOffset! : e.location!.endOffset!;
}

/** A node's children, tokens and nodes together, in source order, without statement ends. */
function ordered(n: CstNode): CstElement[] {
  const all: CstElement[] = [];
  for (const k of Object.keys(n.children)) all.push(...n.children[k]!);
  return all.filter((e) => !(isToken(e) && e.tokenType === Newline)).sort((a, b) => startOf(a) - startOf(b));
}

function kid(n: CstNode, name: string, i = 0): CstNode | undefined {
  const e = n.children[name]?.[i];
  return e && !isToken(e) ? e : undefined;
}

function kids(n: CstNode, name: string): CstNode[] {
  return (n.children[name] ?? []).filter((e): e is CstNode => !isToken(e));
}

function token(n: CstNode, name: string, i = 0): IToken | undefined {
  const e = n.children[name]?.[i];
  return e && isToken(e) ? e : undefined;
}

function tokens(n: CstNode, name: string): IToken[] {
  return (n.children[name] ?? []).filter(isToken);
}

interface BodyDoc {
  doc: Doc;
  /** Set when the body may stay on one line: the id of its group, so `shortcut` can follow it. */
  groupId?: symbol;
}

export class ResnetPrinter {
  /** Comments after code on the same line, by the start offset of the token they follow. */
  private readonly trailing = new Map<number, IToken[]>();
  /** Comments on their own line, by the start offset of the token after them. */
  private readonly leading = new Map<number, IToken[]>();
  private readonly ownLine = new Set<IToken>();
  /** Trailing comments inside ( ) or [ ]: the code goes on after them, so their line must break. */
  private readonly midStatement = new Set<IToken>();
  private readonly printed = new Set<IToken>();

  constructor(private readonly ast: ResnetFileAst) {
    const solid = ast.tokens.filter((t) => t.tokenType !== Newline);
    let i = 0;
    for (const c of ast.commentTokens) {
      while (i < solid.length && solid[i]!.startOffset < c.startOffset) i++;
      const prev = solid[i - 1];
      const next = solid[i];
      const between = ast.text.slice(prev ? prev.endOffset! + 1 : 0, c.startOffset);
      if (prev && !between.includes("\n")) {
        push(this.trailing, prev.startOffset, c);
        const after = ast.tokens[firstAfter(ast.tokens, c.startOffset)];
        if (after && after.tokenType !== Newline) this.midStatement.add(c);
      } else {
        this.ownLine.add(c);
        if (next) push(this.leading, next.startOffset, c);
      }
    }
  }

  /** The whole file: imports, definitions and the comments between them, then one line break. */
  file(): Doc {
    const cst = this.ast.cst;
    const items: CstElement[] = [...kids(cst, "importDecl"), ...kids(cst, "blockDecl"), ...kids(cst, "modelDecl")];
    const comments = this.claim(-1, this.ast.text.length, items);
    if (items.length === 0 && comments.length === 0) return "";
    return [this.items(items, comments, true), hardline];
  }

  /** Every comment was printed exactly once (a printer bug otherwise). */
  unprinted(): IToken[] {
    return this.ast.commentTokens.filter((c) => !this.printed.has(c));
  }

  // ---- comments and tokens ----

  /** Own-line comments strictly between `from` and `to` that lie outside every one of `inside`. */
  private claim(from: number, to: number, inside: readonly CstElement[]): IToken[] {
    // Binary searches, not scans: a 1 MiB file may have thousands of bodies and comments.
    const comments = this.ast.commentTokens;
    const sorted = [...inside].sort((a, b) => startOf(a) - startOf(b));
    const out: IToken[] = [];
    for (let i = firstAfter(comments, from); i < comments.length && comments[i]!.startOffset < to; i++) {
      const c = comments[i]!;
      if (!this.ownLine.has(c) || this.printed.has(c)) continue;
      const j = firstAfter(sorted, c.startOffset) - 1; // the last item starting before the comment
      if (j >= 0 && endOf(sorted[j]!) >= c.startOffset) continue;
      out.push(c);
    }
    return out;
  }

  private comment(c: IToken): string {
    this.printed.add(c);
    return c.image.trimEnd();
  }

  /** Comments after code: printed at the end of the line, after the code that ends it. */
  private trailingOf(t: IToken): Doc[] {
    const out: Doc[] = [];
    for (const c of this.trailing.get(t.startOffset) ?? []) {
      if (this.printed.has(c)) continue;
      out.push(lineSuffix("  " + this.comment(c)));
      if (this.midStatement.has(c)) out.push(breakParent);
    }
    return out;
  }

  /** A token, with the comments that belong to it. */
  private tok(t: IToken, withTrailing = true): Doc {
    // Own-line comments before a token in mid-line (`else`, `shortcut`, an operand inside brackets):
    // each on its own line, the token on the next. Line breaks are legal in all those places.
    const out: Doc[] = this.leadingOf(t).flatMap((c) => [hardline, c]);
    if (out.length) out.push(hardline);
    out.push(t.image);
    if (withTrailing) out.push(...this.trailingOf(t));
    return out;
  }

  /** The own-line comments before `t` not yet printed, marked printed. */
  private leadingOf(t: IToken): string[] {
    return (this.leading.get(t.startOffset) ?? []).filter((c) => !this.printed.has(c)).map((c) => this.comment(c));
  }

  private el(e: CstElement): Doc {
    return isToken(e) ? this.tok(e) : this.node(e);
  }

  /** Children separated by single spaces, except before those `tight` picks. */
  private spaced(n: CstNode, tight: (e: CstElement, prev: CstElement) => boolean = () => false): Doc {
    const out: Doc[] = [];
    let prev: CstElement | undefined;
    for (const e of ordered(n)) {
      if (prev && !tight(e, prev)) out.push(" ");
      out.push(this.el(e));
      prev = e;
    }
    return out;
  }

  // ---- lists of statements or definitions ----

  /** Items one per line, in source order, with the blank lines of the source kept (one at most). */
  private items(nodes: readonly CstElement[], comments: readonly IToken[], topLevel: boolean): Doc {
    const all = [...nodes, ...comments].sort((a, b) => startOf(a) - startOf(b));
    const out: Doc[] = [];
    let prev: CstElement | undefined;
    for (const e of all) {
      if (prev) {
        out.push(hardline);
        const gap = this.ast.text.slice(endOf(prev) + 1, startOf(e));
        const afterDefinition = topLevel && !isToken(prev) && prev.name !== "importDecl";
        if (afterDefinition || gap.split("\n").length > 2) out.push(hardline);
      }
      out.push(isToken(e) ? this.comment(e) : this.node(e));
      prev = e;
    }
    return out;
  }

  /**
   * `{ statements }`. A nested body (not a block's or model's) that holds one statement and was
   * written on one line stays on one line while it fits; every other body has one statement per line.
   */
  private body(n: CstNode, nested: boolean): BodyDoc {
    const open = token(n, "LCurly")!;
    const close = token(n, "RCurly")!;
    const stmts = kids(n, "statement");
    const comments = this.claim(open.startOffset, close.startOffset, stmts);
    const closing = (): Doc[] => [this.tok(close, false)];
    if (stmts.length === 0 && comments.length === 0) {
      const doc = [this.tok(open), ...closing()];
      return { doc: [doc, ...this.trailingOf(close)] };
    }
    const oneLine = !this.ast.text.slice(open.startOffset, close.startOffset).includes("\n");
    if (nested && stmts.length === 1 && comments.length === 0 && oneLine) {
      const groupId = Symbol("body");
      const doc = group([this.tok(open), indent([line, this.node(stmts[0]!)]), line, ...closing()], { id: groupId });
      return { doc: [doc, ...this.trailingOf(close)], groupId };
    }
    const doc = [
      this.tok(open),
      indent([hardline, this.items(stmts, comments, false)]),
      hardline,
      ...closing(),
      ...this.trailingOf(close),
    ];
    return { doc };
  }

  /** `(a, b)` or `[a, b]`: on one line if it fits, else one item per line. No trailing comma. */
  private list(open: IToken, items: readonly CstNode[], commas: readonly IToken[], close: IToken): Doc {
    const next = this.ast.commentTokens[firstAfter(this.ast.commentTokens, open.startOffset)];
    const commented = next !== undefined && next.startOffset < close.startOffset;
    if (items.length === 0 && !commented) return [this.tok(open), this.tok(close)];
    // One item never breaks alone: `pixel_shuffle(\n  2\n)` helps no one (the item's own lists may).
    if (items.length === 1 && !commented) return [this.tok(open), this.node(items[0]!), this.tok(close)];
    const parts: Doc[] = [];
    const openDoc = this.tok(open);
    items.forEach((item, i) => {
      // An item starts its line when the list breaks: its comments go on the lines before it.
      for (const c of this.leadingOf(firstToken(item))) parts.push(c, hardline);
      parts.push(this.node(item));
      const comma = commas[i];
      if (comma && i < items.length - 1) parts.push(this.tok(comma), line);
    });
    // Own-line comments before the closing bracket stay indented with the items.
    for (const c of this.leadingOf(close)) {
      if (parts.length) parts.push(hardline);
      parts.push(c, breakParent);
    }
    return group([openDoc, indent([softline, ...parts]), softline, this.tok(close)]);
  }

  private bracketList(n: CstNode, itemName: string, open: string, close: string): Doc {
    return this.list(token(n, open)!, kids(n, itemName), tokens(n, "Comma"), token(n, close)!);
  }

  // ---- rules ----

  private node(n: CstNode): Doc {
    switch (n.name) {
      case "blockDecl":
      case "modelDecl": {
        const kw = token(n, n.name === "blockDecl" ? "Block" : "Model")!;
        const params = kid(n, "paramList");
        return [
          this.tok(kw),
          " ",
          this.tok(token(n, "Identifier")!),
          params ? this.node(params) : "",
          " ",
          this.body(kid(n, "body")!, false).doc,
        ];
      }
      case "body":
        return this.body(n, true).doc;
      case "paramList":
        return this.bracketList(n, "param", "LParen", "RParen");
      case "argList":
        return this.bracketList(n, "arg", "LParen", "RParen");
      case "dimList":
        return this.bracketList(n, "expr", "LBracket", "RBracket");
      case "param":
        return this.spaced(n, (e) => isToken(e) && e.tokenType.name === "Colon");
      case "arg":
        return this.spaced(n, () => true); // k=3
      case "inputStmt":
        return this.spaced(
          n,
          (e) => (isToken(e) && e.tokenType.name === "Colon") || (!isToken(e) && e.name === "dimList"),
        );
      case "forStmt":
        return this.spaced(
          n,
          (e, prev) =>
            (isToken(e) && e.tokenType.name === "Range") || (isToken(prev) && prev.tokenType.name === "Range"),
        );
      case "residualStmt":
        return this.residual(n);
      case "ifStmt":
        return this.ifStmt(n);
      case "stageStmt": {
        // `stage NAME { }`, `stage NAME[i] { }`, or `stage { }` (the next index of the enclosing stage).
        const name = token(n, "LayerName");
        const index = kid(n, "expr");
        return [
          this.tok(token(n, "Stage")!),
          " ",
          name
            ? [
                this.tok(name),
                index ? [this.tok(token(n, "LBracket")!), this.node(index), this.tok(token(n, "RBracket")!)] : "",
                " ",
              ]
            : "",
          this.body(kid(n, "body")!, true).doc,
        ];
      }
      case "unary":
        return this.spaced(n, () => true); // -x
      case "postfix":
        return this.spaced(n, (e, prev) => {
          const asWord = (x: CstElement): boolean => isToken(x) && x.tokenType.name === "As";
          return !asWord(e) && !asWord(prev);
        });
      case "primary": {
        const bracket = token(n, "LBracket");
        if (bracket) return this.bracketList(n, "expr", "LBracket", "RBracket");
        return this.spaced(n, () => true); // a token, or ( expr )
      }
      default:
        // statement, argValue, mulOp and the statements and expressions whose parts are spaced.
        return this.spaced(n);
    }
  }

  /** `residual(args) { ... }` then `shortcut`: on the same line when the body stays on one line. */
  private residual(n: CstNode): Doc {
    const args = kid(n, "argList");
    const bodies = kids(n, "body");
    const head: Doc[] = [this.tok(token(n, "Residual")!), args ? this.node(args) : "", " "];
    const main = this.body(bodies[0]!, true);
    const sc = token(n, "Shortcut");
    if (!sc) return [...head, main.doc];
    const lead = this.leadingOf(sc).flatMap((c) => [hardline, c]);
    const expr = kid(n, "expr");
    const shortcut: Doc = [this.tok(sc), " ", expr ? this.node(expr) : this.body(bodies[1]!, true).doc];
    if (main.groupId === undefined || lead.length) return [...head, main.doc, ...lead, hardline, shortcut];
    return [
      ...head,
      main.doc,
      ifBreak([hardlineWithoutBreakParent, shortcut], [" ", shortcut], { groupId: main.groupId }),
    ];
  }

  /** `if c { ... } else if d { ... } else { ... }`, `else` always after the `}`. */
  private ifStmt(n: CstNode): Doc {
    const bodies = kids(n, "body");
    const out: Doc[] = [
      this.tok(token(n, "If")!),
      " ",
      this.node(kid(n, "expr")!),
      " ",
      this.body(bodies[0]!, true).doc,
    ];
    const kw = token(n, "Else");
    if (kw) {
      const elseIf = kid(n, "ifStmt");
      out.push(" ", this.tok(kw), " ", elseIf ? this.node(elseIf) : this.body(bodies[1]!, true).doc);
    }
    return out;
  }
}

/** The index of the first element that starts after `offset` (elements sorted by start). */
function firstAfter(sorted: readonly CstElement[], offset: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (startOf(sorted[mid]!) > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function firstToken(n: CstNode): IToken {
  const first = ordered(n)[0]!;
  return isToken(first) ? first : firstToken(first);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
