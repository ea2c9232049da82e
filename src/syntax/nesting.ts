// Source limits checked on the token stream, before the parser runs.
// Takes: the lexer's tokens. Gives: RN404 at the first token that nests deeper than
// SOURCE_LIMITS.nesting, and RN401 for names and strings over their length limits.
// Must not: parse. The point is to run before the parser: Chevrotain parses by recursive
// descent and the CST visitor, the resolver and the elaborator recurse along the same nesting,
// so a bound on nesting here bounds the call stack of every later stage. It over-approximates
// (a count is kept until the statement, argument or bracket ends, not until the operand does),
// which only matters for programs no one writes: 48 `not`s in one argument.

import type { IToken, TokenType } from "./chevrotain.js";
import * as T from "./lexer.js";

export const SOURCE_LIMITS = {
  /** Deepest nesting of brackets, braces, prefix operators, `when` and `else if`. Real programs
   * stay under 10. A level costs up to 14 parser rules plus the CST visitor's frames: a cold
   * process overflowed Node's default stack at ~110 nested applications `(relu)(...)` and ~130
   * `(` (the fuzzer at ~140), so 48 leaves more than 2x margin (a test runs it with 60% of the
   * stack). */
  nesting: 48,
  /** Longest name: names become layer names in ONNX and TypeScript, copied into every node, edge
   * and parameter name below them (a 100 KB stage name made a 400 MB ONNX). */
  name: 256,
  /** Longest string literal: strings are copied into every block instance's description. */
  string: 1024,
} as const;

export interface SourceLimitError {
  code: "RN404" | "RN401";
  token: IToken;
  what?: string;
  value?: number;
  limit: number;
}

/** Tokens after which a `-` is binary (subtraction); anywhere else it is a prefix operator. */
const OPERAND_END = new Set<TokenType>([
  T.Identifier,
  T.IntLit,
  T.FloatLit,
  T.StringLit,
  T.True,
  T.False,
  T.RParen,
  T.RBracket,
]);
const OPEN = new Set<TokenType>([T.LParen, T.LBracket, T.LCurly]);
const CLOSE = new Set<TokenType>([T.RParen, T.RBracket, T.RCurly]);

export function checkSourceLimits(tokens: readonly IToken[]): SourceLimitError[] {
  const errors: SourceLimitError[] = [];
  // One entry per open bracket (the first stands for top level): the prefix operators, `when`s
  // and `else if`s counted inside it since its current argument or statement began.
  const extras: number[] = [0];
  let level = 0;
  const deeper = (t: IToken, by: number): boolean => {
    level += by;
    if (level <= SOURCE_LIMITS.nesting) return false;
    errors.push({ code: "RN404", token: t, limit: SOURCE_LIMITS.nesting });
    return true;
  };
  const resetExtras = (): void => {
    level -= extras[extras.length - 1]!;
    extras[extras.length - 1] = 0;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const type = t.tokenType;
    if (type === T.Identifier && t.image.length > SOURCE_LIMITS.name)
      errors.push({ code: "RN401", token: t, what: "name length", value: t.image.length, limit: SOURCE_LIMITS.name });
    else if (type === T.StringLit && t.image.length - 2 > SOURCE_LIMITS.string)
      errors.push({
        code: "RN401",
        token: t,
        what: "string length",
        value: t.image.length - 2,
        limit: SOURCE_LIMITS.string,
      });
    let extra = 0;
    if (OPEN.has(type)) {
      extras.push(0);
      if (deeper(t, 1)) break;
      continue;
    }
    if (CLOSE.has(type)) {
      if (extras.length > 1) level -= 1 + extras.pop()!;
      continue;
    }
    if (type === T.Comma) resetExtras();
    else if (type === T.Newline) {
      // `}` NEWLINE `else` continues the same `if` statement.
      if (tokens[i + 1]?.tokenType !== T.Else) resetExtras();
    } else if (type === T.Not || type === T.When) extra = 1;
    else if (type === T.Minus) extra = i > 0 && OPERAND_END.has(tokens[i - 1]!.tokenType) ? 0 : 1;
    else if (type === T.Else && tokens[i + 1]?.tokenType === T.If) extra = 1;
    if (extra) {
      extras[extras.length - 1] = extras[extras.length - 1]! + extra;
      if (deeper(t, extra)) break;
    }
  }
  return errors;
}
