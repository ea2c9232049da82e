// The `.resnet` grammar, as a pure Chevrotain CstParser (no embedded actions).
// Takes: tokens from `lexer.ts`. Gives: a concrete syntax tree, possibly partial, and every
// syntax error found (error recovery is on, so one run reports all independent ones).
// Must not: build the AST or look at meaning; `cst-to-ast.ts` does that.
// The readable reference is `grammar/README.md`; `npm run docs` regenerates the railroad
// diagrams in `grammar/diagrams.html` from this class.

import { CstParser, EOF, type IToken, type TokenType } from "./chevrotain.js";
import * as T from "./lexer.js";

export class ResnetParser extends CstParser {
  /**
   * `validate`: run Chevrotain's grammar validations (ambiguities, left recursion) in
   * performSelfAnalysis. They only find bugs in this file and cost ~40% of the parser's start-up
   * (which every `resnetc lint` pays), so the shared instance skips them and a test constructs
   * one with them on (Chevrotain's `skipValidations` is meant for exactly this).
   */
  constructor(options: { validate?: boolean } = {}) {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      nodeLocationTracking: "full",
      skipValidations: options.validate !== true,
    });
    this.performSelfAnalysis();
  }

  /** True when the next token that is not a line break is `tok` (so `}` NEWLINE `else` works). */
  private nextSolidIs(tok: TokenType): boolean {
    let i = 1;
    while (this.LA(i).tokenType === T.Newline) i++;
    return this.LA(i).tokenType === tok;
  }

  /** A call's `(` must touch its callee: `f(x)` calls, `f (x)` is `f` then a parenthesised stage. */
  private touchesPrevious(): boolean {
    const prev = this.LA(0);
    const next = this.LA(1);
    return prev.endOffset !== undefined && next.startOffset === prev.endOffset + 1;
  }

  public file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.blockDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.CONSUME(T.Newline) },
      ]);
    });
  });

  public importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLit);
  });

  public blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.paramList);
    this.SUBRULE(this.body);
  });

  public modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.SUBRULE(this.body);
  });

  public paramList = this.RULE("paramList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.param) });
    this.CONSUME(T.RParen);
  });

  public param = this.RULE("param", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      // `shortcut` and `block` are keywords and also the names of parameter types.
      this.OR([
        { ALT: () => this.CONSUME2(T.Identifier) },
        { ALT: () => this.CONSUME(T.Shortcut) },
        { ALT: () => this.CONSUME(T.Block) },
      ]);
    });
    this.OPTION2(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.argValue);
    });
  });

  public body = this.RULE("body", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Newline) }, { ALT: () => this.SUBRULE(this.statement) }]);
    });
    this.CONSUME(T.RCurly);
  });

  public statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputStmt) },
      { ALT: () => this.SUBRULE(this.outputStmt) },
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.expectStmt) },
      { ALT: () => this.SUBRULE(this.forStmt) },
      { ALT: () => this.SUBRULE(this.ifStmt) },
      { ALT: () => this.SUBRULE(this.stageStmt) },
      { ALT: () => this.SUBRULE(this.exprStmt) },
    ]);
  });

  public inputStmt = this.RULE("inputStmt", () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.CONSUME2(T.Identifier); // dtype, e.g. f32
    this.SUBRULE(this.dimList);
  });

  public outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(T.Output);
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.expr);
  });

  public letStmt = this.RULE("letStmt", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.OPTION(() => this.CONSUME(T.Share));
    this.SUBRULE(this.expr);
  });

  public expectStmt = this.RULE("expectStmt", () => {
    this.CONSUME(T.Expect);
    this.SUBRULE(this.dimList);
  });

  public dimList = this.RULE("dimList", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expr) });
    this.CONSUME(T.RBracket);
  });

  public residualStmt = this.RULE("residualStmt", () => {
    this.CONSUME(T.Residual);
    this.OPTION(() => this.SUBRULE(this.argList));
    this.SUBRULE(this.body);
    this.OPTION2({
      GATE: () => this.nextSolidIs(T.Shortcut),
      DEF: () => {
        this.MANY(() => this.CONSUME(T.Newline));
        this.CONSUME(T.Shortcut);
        this.OR([{ ALT: () => this.SUBRULE2(this.body) }, { ALT: () => this.SUBRULE(this.expr) }]);
      },
    });
  });

  public forStmt = this.RULE("forStmt", () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.SUBRULE(this.addExpr);
    this.CONSUME(T.Range);
    this.SUBRULE2(this.addExpr);
    this.SUBRULE(this.body);
  });

  public ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expr);
    this.SUBRULE(this.body);
    this.OPTION({
      GATE: () => this.nextSolidIs(T.Else),
      DEF: () => {
        this.MANY(() => this.CONSUME(T.Newline));
        this.CONSUME(T.Else);
        this.OR([{ ALT: () => this.SUBRULE(this.ifStmt) }, { ALT: () => this.SUBRULE2(this.body) }]);
      },
    });
  });

  public stageStmt = this.RULE("stageStmt", () => {
    this.CONSUME(T.Stage);
    this.OPTION(() => {
      this.CONSUME(T.LayerName);
      this.OPTION2(() => {
        this.CONSUME(T.LBracket);
        this.SUBRULE(this.expr);
        this.CONSUME(T.RBracket);
      });
    });
    this.SUBRULE(this.body);
  });

  /** A pipeline on the current value, or `name = expr` (assignment to a `let` name). */
  public exprStmt = this.RULE("exprStmt", () => {
    this.SUBRULE(this.expr);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE2(this.expr);
    });
  });

  // ---- expressions, loosest first ----

  public expr = this.RULE("expr", () => {
    this.SUBRULE(this.orExpr);
    this.OPTION(() => {
      this.CONSUME(T.When);
      this.SUBRULE2(this.orExpr);
      this.CONSUME(T.Else);
      this.SUBRULE(this.expr);
    });
  });

  public orExpr = this.RULE("orExpr", () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(T.Or);
      this.SUBRULE2(this.andExpr);
    });
  });

  public andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.notExpr);
    this.MANY(() => {
      this.CONSUME(T.And);
      this.SUBRULE2(this.notExpr);
    });
  });

  public notExpr = this.RULE("notExpr", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          this.SUBRULE(this.notExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.cmpExpr) },
    ]);
  });

  public cmpExpr = this.RULE("cmpExpr", () => {
    this.SUBRULE(this.addExpr);
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.EqEq) },
        { ALT: () => this.CONSUME(T.NotEq) },
        { ALT: () => this.CONSUME(T.LessEq) },
        { ALT: () => this.CONSUME(T.GreaterEq) },
        { ALT: () => this.CONSUME(T.Less) },
        { ALT: () => this.CONSUME(T.Greater) },
      ]);
      this.SUBRULE2(this.addExpr);
    });
  });

  /** `+` and `-` bind looser than juxtaposition: `conv(64) bn + x` adds `x` to the chain. */
  public addExpr = this.RULE("addExpr", () => {
    this.SUBRULE(this.chain);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.chain);
    });
  });

  /** Juxtaposition: stages applied left to right. Only the first may start with `-`. */
  public chain = this.RULE("chain", () => {
    this.SUBRULE(this.mulExpr);
    this.MANY(() => this.SUBRULE(this.chainItem));
  });

  public chainItem = this.RULE("chainItem", () => {
    this.SUBRULE(this.postfix);
    this.MANY(() => {
      this.SUBRULE(this.mulOp);
      this.SUBRULE(this.unary);
    });
  });

  /** `*` binds tighter than juxtaposition: `Basic(64) * 2 Basic(128)` repeats only `Basic(64)`. */
  public mulExpr = this.RULE("mulExpr", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.SUBRULE(this.mulOp);
      this.SUBRULE2(this.unary);
    });
  });

  public mulOp = this.RULE("mulOp", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Star) },
      { ALT: () => this.CONSUME(T.DSlash) },
      { ALT: () => this.CONSUME(T.Slash) },
      { ALT: () => this.CONSUME(T.Percent) },
    ]);
  });

  public unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  public postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY({
      GATE: () => this.LA(1).tokenType !== T.LParen || this.touchesPrevious(),
      DEF: () => {
        this.OR([
          { ALT: () => this.SUBRULE(this.argList) },
          {
            ALT: () => {
              this.CONSUME(T.LBracket);
              this.SUBRULE(this.expr);
              this.CONSUME(T.RBracket);
            },
          },
        ]);
      },
    });
    // `dense(1000) as fc`: the layer's (or block instance's) name in its scope; `as convs[i]`
    // names it `convs.0`, `convs.1`, ... (PyTorch's ModuleList).
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME(T.LayerName);
      this.OPTION2(() => {
        this.CONSUME2(T.LBracket);
        this.SUBRULE2(this.expr);
        this.CONSUME2(T.RBracket);
      });
    });
  });

  public argList = this.RULE("argList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.arg) });
    this.CONSUME(T.RParen);
  });

  public arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.argValue);
  });

  /** An argument's value; the keyword `and` stands alone as a value too (`merge=and`, SEW ResNet). */
  public argValue = this.RULE("argValue", () => {
    this.OR([
      {
        GATE: () =>
          this.LA(1).tokenType === T.And && (this.LA(2).tokenType === T.Comma || this.LA(2).tokenType === T.RParen),
        ALT: () => this.CONSUME(T.And),
      },
      { ALT: () => this.SUBRULE(this.expr) },
    ]);
  });

  public primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.FloatLit) },
      { ALT: () => this.CONSUME(T.IntLit) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Identifier) },
      // A residual unit is an expression (a statement of its own is an expression statement):
      // `(residual { ... }) * 4` repeats it, `conv(64) residual { ... } relu` chains it.
      { ALT: () => this.SUBRULE(this.residualStmt) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE2(this.expr) });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });
}

/** One instance, reused: Chevrotain's self-analysis is the expensive part. */
export const parser = new ResnetParser();

export function isEof(t: IToken): boolean {
  return t.tokenType === EOF;
}
