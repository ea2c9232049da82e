// Formatting one `.resnet` source text: the entry point the CLI and the tests use.
// Takes: a file name (for diagnostics) and its text. Gives: the formatted text, or the compiler's
// own lexical and syntax diagnostics when the text does not parse (then nothing is formatted).
// Must not: return a text that means something else: the result is parsed again and its AST
// (spans aside) and its comments must equal the input's, or formatting fails as a bug.

import { format } from "prettier/standalone";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { lex } from "../syntax/lexer.js";
import { parseSource } from "../syntax/parse.js";
import { resnetPlugin, RESNET_PRINT_WIDTH } from "./plugin.js";

export type FormatResult = { ok: true; text: string } | { ok: false; diagnostics: Diagnostic[] };

export class FormatterBug extends Error {}

/** The AST without positions: what the compiler reads, so equal ASTs compile alike. */
function meaning(file: string, text: string): string {
  const [ast] = parseSource(file, text);
  return JSON.stringify(ast, (key, value: unknown) => (/span$|Span$/.test(key) || key === "file" ? undefined : value));
}

function commentTexts(text: string): string[] {
  return lex(text).comments.map((c) => c.image.trimEnd());
}

export async function formatSource(file: string, text: string): Promise<FormatResult> {
  const [, diagnostics] = parseSource(file, text);
  if (diagnostics.some((d) => d.severity === "error")) return { ok: false, diagnostics };
  // A lone carriage return is whitespace to the lexer, but prettier reads it as a line break,
  // which would end a statement: make it the space it already means.
  const input = text.replace(/\r(?!\n)/g, " ");
  const out = await format(input, { parser: "resnet", plugins: [resnetPlugin], printWidth: RESNET_PRINT_WIDTH });
  if (meaning(file, out) !== meaning(file, text))
    throw new FormatterBug(`formatting ${file} would change what it means; please report this file`);
  if (commentTexts(out).join("\n") !== commentTexts(input).join("\n"))
    throw new FormatterBug(`formatting ${file} would lose or move a comment; please report this file`);
  return { ok: true, text: out };
}
