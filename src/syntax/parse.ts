// Source text -> AST, with every lexical and syntax error as a diagnostic.
// Takes: a file name and its text. Gives: [AST, diagnostics]; the AST is partial where the
// parser recovered. Must not: read files or resolve imports (the loader does).

import type { IRecognitionException, IToken, TokenType } from "./chevrotain.js";
import type { FileAst } from "../ast/ast.js";
import { diag, type Diagnostic, type Span } from "../diagnostics/diagnostic.js";
import { AstBuilder } from "./cst-to-ast.js";
import { allTokens, Block, Import, lex, Model, Newline } from "./lexer.js";
import { checkSourceLimits } from "./nesting.js";

const TOP_LEVEL = new Set<TokenType>([Block, Model, Import]);
import { parser } from "./parser.js";

/** What the parser was in the middle of, in the user's words. */
const ruleWords: Record<string, string> = {
  file: "`block`, `model` or `import`",
  importDecl: 'a file name in quotes, e.g. import "std/resnet.resnet"',
  blockDecl: "a block definition: block Name(params) { ... }",
  modelDecl: "a model definition: model Name(params) { ... }",
  paramList: "a parameter list",
  param: "a parameter: name: type = default",
  body: "a statement or `}`",
  statement: "a statement",
  inputStmt: "an input declaration: input name: f32[N, C, H, W]",
  outputStmt: "an output: output expr",
  letStmt: "let name = expr",
  expectStmt: "a shape in brackets, e.g. expect [N, 64, 56, 56]",
  dimList: "a list of dims in brackets",
  residualStmt: "residual { ... }",
  forStmt: "for i in a..b { ... }",
  ifStmt: "if condition { ... }",
  stageStmt: "stage name { ... }",
  primary: "an expression",
  postfix: "an expression",
  unary: "an expression",
  argList: "an argument list",
  arg: "an argument",
};

function tokenWords(t: TokenType): string {
  if (t.name === "EOF") return "end of file";
  if (t.name === "Identifier") return "a name";
  if (t.name === "LayerName") return "a layer name";
  if (t.name === "IntLit") return "an integer";
  if (t.name === "FloatLit") return "a number";
  if (t.name === "StringLit") return "a string";
  if (t.LABEL) return t.LABEL.replace(/^'(.*)'$/, "`$1`");
  const p = t.PATTERN;
  return typeof p === "string" ? `\`${p}\`` : t.name;
}

export function describeFound(t: IToken): string {
  if (t.tokenType.name === "EOF") return "end of file";
  if (t.tokenType.name === "Newline") return t.image === ";" ? "`;`" : "end of line";
  return `\`${t.image}\``;
}

function expectedOf(e: IRecognitionException): string {
  if (e.name === "MismatchedTokenException") {
    const m = /--> (.+?) <--/.exec(e.message);
    if (m) {
      const label = m[1]!;
      const t = allTokens.find((tt) => tt.name === label || tt.LABEL === label);
      return t ? tokenWords(t) : label.replace(/^'(.*)'$/, "`$1`");
    }
  }
  const stack = e.context.ruleStack;
  for (let i = stack.length - 1; i >= 0; i--) {
    const w = ruleWords[stack[i]!];
    if (w && !["postfix", "unary"].includes(stack[i]!)) return w;
  }
  return "an expression";
}

export function parseSource(file: string, text: string): [FileAst, Diagnostic[]] {
  const diagnostics: Diagnostic[] = [];
  const span = (start: number, end: number): Span => ({ file, start, end: Math.max(end, start + 1) });
  const lexed = lex(text);
  for (const e of lexed.errors) {
    if (e.kind === "string")
      diagnostics.push(diag("RN103", span(e.start, e.end), {}, { hint: 'close the string with `"` on the same line' }));
    else diagnostics.push(diag("RN101", span(e.start, e.end), { char: JSON.stringify(e.text) }));
  }
  // Nesting past the limit is never parsed: the parser and every later stage recurse along it.
  for (const e of checkSourceLimits(lexed.tokens)) {
    const at = span(e.token.startOffset, (e.token.endOffset ?? e.token.startOffset) + 1);
    if (e.code === "RN404") {
      diagnostics.push(
        diag("RN404", at, { limit: e.limit }, { hint: "split the expression with `let`, or the nesting into blocks" }),
      );
      return [{ file, imports: [], definitions: [] }, diagnostics];
    }
    diagnostics.push(diag("RN401", at, { what: e.what!, value: String(e.value), limit: String(e.limit) }));
  }
  // Text between definitions that belongs to none stops Chevrotain's top rule; report it and
  // parse again from the next line that starts a definition, so later definitions are checked.
  const definitions: FileAst["definitions"] = [];
  const imports: FileAst["imports"] = [];
  let tokens = lexed.tokens;
  const lineOf = (offset: number): number => text.slice(0, offset).split("\n").length;
  const lexLines = new Set(lexed.errors.map((e) => lineOf(e.start)));
  for (;;) {
    parser.input = tokens;
    const cst = parser.file();
    let resumeAt: number | undefined;
    for (const e of parser.errors) {
      const t = e.token;
      // At end of input Chevrotain reports the EOF token with no position: point past the text.
      const start = isNaN(t.startOffset) ? text.length : t.startOffset;
      const end = isNaN(t.startOffset) ? text.length : (t.endOffset ?? t.startOffset) + 1;
      const atTopLevel = e.name === "NotAllInputParsedException" || /--> EOF <--/.test(e.message);
      if (!atTopLevel || isNaN(t.startOffset)) {
        // A bad character or string already explains what follows it on its line.
        if (lexLines.has(t.startLine ?? -1)) continue;
        diagnostics.push(diag("RN102", span(start, end), { expected: expectedOf(e), found: describeFound(t) }));
        continue;
      }
      const idx = tokens.indexOf(t);
      let lineEnd = idx;
      while (lineEnd + 1 < tokens.length && tokens[lineEnd + 1]!.tokenType !== Newline) lineEnd++;
      diagnostics.push(
        diag("RN104", span(start, (tokens[lineEnd]!.endOffset ?? start) + 1), {
          found: `\`${text.slice(start, (tokens[lineEnd]!.endOffset ?? start) + 1)}\``,
        }),
      );
      resumeAt = idx + 1;
    }
    const part = new AstBuilder(file).visit(cst) as FileAst;
    if (resumeAt !== undefined) {
      // Chevrotain's own recovery may already have read definitions past the stray text.
      const parsedEnd = Math.max(
        -1,
        ...part.definitions.map((d) => d.span.end),
        ...part.imports.map((i) => i.span.end),
      );
      let j = resumeAt;
      while (
        j < tokens.length &&
        !(
          TOP_LEVEL.has(tokens[j]!.tokenType) &&
          tokens[j - 1]!.tokenType === Newline &&
          tokens[j]!.startOffset >= parsedEnd
        )
      )
        j++;
      resumeAt = j;
    }
    definitions.push(...part.definitions);
    imports.push(...part.imports);
    if (resumeAt === undefined || resumeAt >= tokens.length) break;
    tokens = tokens.slice(resumeAt);
  }
  return [{ file, imports, definitions }, diagnostics];
}
