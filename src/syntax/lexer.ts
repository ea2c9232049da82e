// Lexer for `.resnet` source.
// Takes: source text. Gives: tokens, with newlines kept as statement separators except inside
// ( ) and [ ], where a pipeline or an argument list may span lines; the comments apart; plus lexing
// diagnostics.
// Must not: know about the grammar beyond bracket nesting.

import { createToken, Lexer, type IToken, type TokenType } from "./chevrotain.js";

/** A layer name (`stage NAME`, `as NAME`): an identifier or a keyword, since PyTorch modules are
 * often called `model`, `block`, `shortcut` or `stage` (a category: no text of its own). */
export const LayerName = createToken({ name: "LayerName", pattern: Lexer.NA });

export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  categories: [LayerName],
});

function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: word,
    longer_alt: Identifier,
    label: `'${word}'`,
    categories: [LayerName],
  });
}

export const Import = keyword("import");
export const Block = keyword("block");
export const Model = keyword("model");
export const Input = keyword("input");
export const Output = keyword("output");
export const Let = keyword("let");
export const For = keyword("for");
export const In = keyword("in");
export const If = keyword("if");
export const Else = keyword("else");
export const When = keyword("when");
export const Residual = keyword("residual");
export const Shortcut = keyword("shortcut");
export const Expect = keyword("expect");
export const Stage = keyword("stage");
export const True = keyword("true");
export const False = keyword("false");
export const And = keyword("and");
export const Or = keyword("or");
export const Not = keyword("not");
export const As = keyword("as");
export const Share = keyword("share");

export const FloatLit = createToken({ name: "FloatLit", pattern: /\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/ });
export const IntLit = createToken({ name: "IntLit", pattern: /\d+/ });
export const StringLit = createToken({ name: "StringLit", pattern: /"[^"\n]*"/ });
/** An opening quote with no closing one on its line: lexed so the error is precise. */
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"[^"\n]*/ });

export const LParen = createToken({ name: "LParen", pattern: "(", label: "'('" });
export const RParen = createToken({ name: "RParen", pattern: ")", label: "')'" });
export const LCurly = createToken({ name: "LCurly", pattern: "{", label: "'{'" });
export const RCurly = createToken({ name: "RCurly", pattern: "}", label: "'}'" });
export const LBracket = createToken({ name: "LBracket", pattern: "[", label: "'['" });
export const RBracket = createToken({ name: "RBracket", pattern: "]", label: "']'" });
export const Comma = createToken({ name: "Comma", pattern: ",", label: "','" });
export const Colon = createToken({ name: "Colon", pattern: ":", label: "':'" });
export const Range = createToken({ name: "Range", pattern: "..", label: "'..'" });
export const EqEq = createToken({ name: "EqEq", pattern: "==", label: "'=='" });
export const NotEq = createToken({ name: "NotEq", pattern: "!=", label: "'!='" });
export const LessEq = createToken({ name: "LessEq", pattern: "<=", label: "'<='" });
export const GreaterEq = createToken({ name: "GreaterEq", pattern: ">=", label: "'>='" });
export const Less = createToken({ name: "Less", pattern: "<", label: "'<'" });
export const Greater = createToken({ name: "Greater", pattern: ">", label: "'>'" });
export const Equals = createToken({ name: "Equals", pattern: "=", label: "'='" });
export const Plus = createToken({ name: "Plus", pattern: "+", label: "'+'" });
export const Minus = createToken({ name: "Minus", pattern: "-", label: "'-'" });
export const Star = createToken({ name: "Star", pattern: "*", label: "'*'" });
export const DSlash = createToken({ name: "DSlash", pattern: "//", label: "'//'" });
export const Slash = createToken({ name: "Slash", pattern: "/", label: "'/'" });
export const Percent = createToken({ name: "Percent", pattern: "%", label: "'%'" });
/** End of a statement: a line break or a `;`. */
export const Newline = createToken({ name: "Newline", pattern: /\r?\n|;/, label: "end of line", line_breaks: true });

/** In its own token group: the parser never sees comments, the formatter reads them from `comments`. */
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: "comments" });
export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\f\v\u00a0\ufeff]+/,
  group: Lexer.SKIPPED,
});

export const keywords = [
  Import,
  Block,
  Model,
  Input,
  Output,
  Let,
  For,
  In,
  If,
  Else,
  When,
  Residual,
  Shortcut,
  Expect,
  Stage,
  True,
  False,
  And,
  Or,
  Not,
  As,
  Share,
];

export const allTokens: TokenType[] = [
  LayerName,
  WhiteSpace,
  Comment,
  Newline,
  ...keywords,
  FloatLit,
  IntLit,
  StringLit,
  UnterminatedString,
  LParen,
  RParen,
  LCurly,
  RCurly,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Range,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  DSlash,
  Slash,
  Percent,
  Identifier,
];

const lexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false });

export interface LexError {
  kind: "char" | "string";
  start: number;
  end: number;
  text: string;
}

export interface LexResult {
  tokens: IToken[];
  /** Every `#` comment, in source order (for the formatter; nothing else reads them). */
  comments: IToken[];
  errors: LexError[];
}

export function lex(text: string): LexResult {
  const raw = lexer.tokenize(text);
  const errors: LexError[] = raw.errors.map((e) => ({
    kind: "char",
    start: e.offset,
    end: e.offset + e.length,
    text: text.slice(e.offset, e.offset + e.length),
  }));
  const tokens: IToken[] = [];
  let depth = 0;
  for (const t of raw.tokens) {
    if (t.tokenType === UnterminatedString) {
      errors.push({ kind: "string", start: t.startOffset, end: t.endOffset! + 1, text: t.image });
      continue;
    }
    if (t.tokenType === LParen || t.tokenType === LBracket) depth++;
    else if ((t.tokenType === RParen || t.tokenType === RBracket) && depth > 0) depth--;
    else if (t.tokenType === LCurly || t.tokenType === RCurly) depth = 0; // a brace always resyncs
    if (t.tokenType === Newline) {
      if (depth > 0) continue;
      const prev = tokens[tokens.length - 1];
      if (!prev || prev.tokenType === Newline) continue;
    }
    tokens.push(t);
  }
  errors.sort((a, b) => a.start - b.start);
  return { tokens, comments: raw.groups["comments"] ?? [], errors };
}
