// The VS Code extension's TextMate grammar (editors/vscode/syntaxes/resnet.tmLanguage.json),
// tokenized as VS Code does it (vscode-textmate with the Oniguruma WebAssembly regex engine).
// Takes: every example and standard library file. Gives: checks that the grammar agrees with the
// compiler's own lexer on keywords, numbers, strings and comments, that op names (all of the
// registry's) are ops, and that every character of every line gets a scope of its own.
// Must not: depend on VS Code itself.

import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";
import { allOpNames, PARTS_OPS } from "../src/semantics/ops/index.js";
import { lex } from "../src/syntax/lexer.js";
import { repoRoot } from "./helpers.js";

const require = createRequire(import.meta.url);
const grammarPath = join(repoRoot, "editors", "vscode", "syntaxes", "resnet.tmLanguage.json");
let grammar: textmate.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope: string) =>
      scope === "source.resnet" ? textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath) : null,
  });
  grammar = (await registry.loadGrammar("source.resnet"))!;
});

/** The scopes of every character of `text`, line by line (index: offset in the file). */
function scopesOf(text: string): string[][] {
  const out: string[][] = [];
  let state = textmate.INITIAL;
  let offset = 0;
  for (const line of text.split("\n")) {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    for (const t of r.tokens)
      for (let i = t.startIndex; i < Math.min(t.endIndex, line.length); i++) out[offset + i] = t.scopes;
    for (let i = 0; i < line.length; i++) if (!out[offset + i]) out[offset + i] = [];
    out[offset + line.length] = ["\n"];
    offset += line.length + 1;
  }
  return out;
}

const files = [
  ...readdirSync(join(repoRoot, "examples"))
    .filter((f) => f.endsWith(".resnet"))
    .map((f) => join("examples", f)),
  ...readdirSync(join(repoRoot, "std"))
    .filter((f) => f.endsWith(".resnet"))
    .map((f) => join("std", f)),
];

describe("the TextMate grammar", () => {
  it("finds the examples", () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it("names every op of the registry an op", () => {
    const text = [...allOpNames(), ...PARTS_OPS.map((p) => p.name)].map((n) => `  ${n}`).join("\n");
    const scopes = scopesOf(text);
    let offset = 0;
    for (const line of text.split("\n")) {
      expect(scopes[offset + 2], line).toContain("support.function.op.resnet");
      offset += line.length + 1;
    }
  });

  it.each(files)("%s: agrees with the compiler's lexer, and leaves no character unscoped", (file) => {
    const text = readFileSync(join(repoRoot, file), "utf8");
    const scopes = scopesOf(text);
    // Every character that is not white space has a scope beyond the file's, and none is invalid.
    for (let i = 0; i < text.length; i++) {
      if (/\s/.test(text[i]!)) continue;
      const s = scopes[i]!;
      const where = `${file} offset ${i} (${JSON.stringify(text.slice(i, i + 12))})`;
      expect(s.length, where).toBeGreaterThan(1);
      expect(s.join(" "), where).not.toMatch(/invalid/);
    }
    const { tokens, comments } = lex(text);
    expect(comments.length + tokens.length).toBeGreaterThan(0);
    for (const c of comments) expect(scopes[c.startOffset], file).toContain("comment.line.number-sign.resnet");
    let checked = 0;
    for (const [k, t] of tokens.entries()) {
      const s = scopes[t.startOffset]!;
      const where = `${file} offset ${t.startOffset}: ${t.image}`;
      const name = t.tokenType.name;
      if (name === "IntLit") expect(s, where).toContain("constant.numeric.integer.resnet");
      else if (name === "FloatLit") expect(s, where).toContain("constant.numeric.float.resnet");
      else if (name === "StringLit") expect(s, where).toContain("string.quoted.double.resnet");
      else if (t.tokenType.LABEL === `'${t.image}'` && /^[a-z]+$/.test(t.image)) {
        // A keyword: `true`/`false` are constants, `block`/`shortcut` after `:` are parameter types.
        const prev = tokens[k - 1];
        if (t.image === "true" || t.image === "false") expect(s, where).toContain("constant.language.boolean.resnet");
        else if (prev?.image === ":") expect(s, where).toContain("storage.type.resnet");
        else
          expect(
            s.some((x) => x.startsWith("keyword.")),
            `${where}: ${s.join(" ")}`,
          ).toBe(true);
      } else if (name === "Identifier" && tokens[k - 1] && /^(block|model)$/.test(tokens[k - 1]!.image))
        expect(s, where).toContain("entity.name.type.resnet");
      else continue;
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
