// Chevrotain, loaded from the single-file bundle its package ships (lib/chevrotain.min.mjs).
// Its ES module graph (hundreds of files) takes about 0.5 s to load; the bundle, the same
// version's same code, about 25 ms, and every `resnetc` command starts by loading the parser.
// Types still come from the package itself.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as ChevrotainApi from "chevrotain";

const entry = createRequire(import.meta.url).resolve("chevrotain"); // .../lib/src/api.js
const chevrotain = (await import(
  pathToFileURL(join(dirname(entry), "..", "chevrotain.min.mjs")).href
)) as typeof ChevrotainApi;

export const { createToken, Lexer, CstParser, EOF } = chevrotain;
export type { CstElement, CstNode, IRecognitionException, IToken, TokenType } from "chevrotain";
