// The prettier plugin for `.resnet` files: language, parser and printer.
// Takes: source text (through prettier). Gives: the `resnet` parser (resnetc's own Chevrotain lexer and
// parser, comments kept apart) and the `resnet-cst` printer (print.ts).
// Must not: format a file that does not parse: the parser throws on the first lexical or syntax error
// (format.ts reports the compiler's located diagnostics before prettier is called).

import type { Plugin } from "prettier";
import { lex } from "../syntax/lexer.js";
import { checkSourceLimits } from "../syntax/nesting.js";
import { parser } from "../syntax/parser.js";
import { ResnetPrinter, type ResnetFileAst } from "./print.js";

/** The line width of `.resnet` files: the project's prettier printWidth for TypeScript too. */
export const RESNET_PRINT_WIDTH = 120;

export class FormatParseError extends Error {}

function parseForFormat(text: string): ResnetFileAst {
  const lexed = lex(text);
  if (lexed.errors.length) throw new FormatParseError(`cannot lex at offset ${lexed.errors[0]!.start}`);
  if (checkSourceLimits(lexed.tokens).length) throw new FormatParseError("over a source limit");
  parser.input = lexed.tokens;
  const cst = parser.file();
  const error = parser.errors[0];
  if (error) throw new FormatParseError(`${error.message} at offset ${error.token.startOffset}`);
  return { type: "resnet-file", cst, text, tokens: lexed.tokens, commentTokens: lexed.comments };
}

export const resnetPlugin: Plugin<ResnetFileAst> = {
  languages: [{ name: "resnet", parsers: ["resnet"], extensions: [".resnet"] }],
  parsers: {
    resnet: {
      parse: parseForFormat,
      astFormat: "resnet-cst",
      locStart: () => 0,
      locEnd: (node) => node.text.length,
    },
  },
  printers: {
    "resnet-cst": {
      print(path) {
        const printer = new ResnetPrinter(path.node);
        const doc = printer.file();
        const lost = printer.unprinted();
        if (lost.length) throw new Error(`formatter bug: comment at offset ${lost[0]!.startOffset} not printed`);
        return doc;
      },
    },
  },
  defaultOptions: { printWidth: RESNET_PRINT_WIDTH, tabWidth: 2, useTabs: false },
};
