// Hostile input cannot inject code (hardening issue, finding 1): user strings, file names and
// names reach the emitted TypeScript only through src/emit/escape.ts, and identifiers are
// generated. Each case here ran attacker code, or failed to compile, before that.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { tscStrict } from "../scripts/tsc-strict.js";
import { describe, expect, it } from "vitest";
import { commentText, IdentAllocator, tsLiteral } from "../src/emit/escape.js";
import { repoRoot, runCliAsync } from "./helpers.js";

// Inside the repository, so the emitted `@resnetc/runtime` import resolves for tsc.
const work = join(repoRoot, "out", "codegen-safety");
const bin = join(repoRoot, "bin", "resnetc.js");

/** The text of every token of a TypeScript source except comments and string/template literals. */
function codeOutsideCommentsAndStrings(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.ES2022, false, ts.LanguageVariant.Standard, text);
  const parts: string[] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (
      k === ts.SyntaxKind.SingleLineCommentTrivia ||
      k === ts.SyntaxKind.MultiLineCommentTrivia ||
      k === ts.SyntaxKind.StringLiteral ||
      k === ts.SyntaxKind.NoSubstitutionTemplateLiteral
    )
      continue;
    parts.push(scanner.getTokenText());
  }
  return parts.join(" ");
}

function typeCheck(files: string[]): void {
  const r = tscStrict(files, repoRoot);
  expect(r.output).toBe("");
  expect(r.status).toBe(0);
}

/** Compiles `source` (saved as `fileName` in a fresh folder) to TypeScript; returns the folder. */
async function compileTs(name: string, fileName: string, source: string): Promise<string> {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  mkdirSync(dirname(join(dir, fileName)), { recursive: true });
  writeFileSync(join(dir, fileName), source);
  const r = await runCliAsync(["compile", fileName, "--target", "ts", "-o", "ts"], dir);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return join(dir, "ts");
}

const PAYLOADS = [
  "*/ console.log('INJECTED ' + 6 * 7) /*",
  "`; console.log('INJECTED ' + 6 * 7); `",
  "${console.log('INJECTED ' + 6 * 7)}",
  "\u2028console.log('INJECTED ' + 6 * 7)\u2029",
  "\r console.log('INJECTED ' + 6 * 7) \r",
  "\\'); console.log('INJECTED ' + 6 * 7); ('\\",
];

describe("strings in .resnet files", () => {
  it("cannot close the block's doc comment or any literal: `train --help` runs no injected code", async () => {
    // As a string argument, inside a list argument (a parameter whose default is a list), and
    // inside a block passed as an argument: every path by which an argument reaches a doc comment.
    // Also through this session's routes: a shared block (`share`), a shared block passed as an
    // argument, a stage without a name, and an int-defaulted parameter given a string.
    const calls = PAYLOADS.flatMap((p, i) => [
      `  B(tag="${p}")`,
      `  L(t=["${p}", "a"])`,
      `  W(attn=B(tag="${p}"))`,
      `  let s${i} = share B(tag="${p}")`,
      `  s${i} W(attn=s${i})`,
      `  stage { B(tag="${p}") I(t="${p}") }`,
    ]);
    const src =
      `block B(tag: str = "x") {\n  relu\n}\nblock L(t = [1, 2]) {\n  relu\n}\nblock I(t = 3) {\n  relu\n}\n` +
      `block W(attn: block = none) {\n  attn\n}\nmodel M {\n  input x: f32[N, 3, 4, 4]\n${calls.join("\n")}\n` +
      `  flatten dense(2)\n}\n`;
    const dir = await compileTs("strings", "m.resnet", src);
    const model = readFileSync(join(dir, "model.ts"), "utf8");
    // No text of a string argument reaches the generated code, not even inside a comment: the
    // block's doc comment gives the string's length. The code still type-checks.
    expect(model).not.toContain("INJECTED");
    expect(model).not.toContain("console.log");
    expect(model).toMatch(/\/\*\* B\(tag=<string of \d+ characters>\)/);
    expect(model).toMatch(/\/\*\* L\(t=\[<string of \d+ characters>, <string of 1 characters>\]\)/);
    expect(model).toMatch(/\/\*\* W\(attn=B\(tag=<string of \d+ characters>\)\)/);
    typeCheck([join(dir, "model.ts"), join(dir, "train.ts")]);
    // Before the fix, the first payload made this print INJECTED 42.
    const r = spawnSync(process.execPath, [bin, "train", join(work, "strings", "m.resnet"), "--help"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.stdout + r.stderr).not.toContain("INJECTED");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--epochs");
  }, 180_000);

  it("a file name with a newline, `*/` and quotes stays inside the header and location comments", async () => {
    // A folder name may hold `*/`; a file name a newline, quotes, backticks and U+2028.
    const name = "x */ y/evil\nconsole.log('INJECTED_FILE') \u2028`${1}`.resnet";
    const dir = await compileTs("filename", name, "model M {\n  input x: f32[N, 4]\n  dense(2)\n}\n");
    for (const f of ["model.ts", "train.ts"]) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(text).toContain("INJECTED_FILE"); // it is there, escaped, in comments
      expect(codeOutsideCommentsAndStrings(text)).not.toContain("INJECTED");
    }
    typeCheck([join(dir, "model.ts"), join(dir, "train.ts")]);
  }, 120_000);
});

describe("ONNX doc strings and the --text listing", () => {
  it("a file name with a newline cannot forge listing lines or carry control characters", async () => {
    const dir = join(work, "onnx-text");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const name = "a\nnode forged = Evil()\u001b[2J.resnet";
    writeFileSync(join(dir, name), "model M {\n  input x: f32[N, 4]\n  dense(2) relu\n}\n");
    const r = await runCliAsync(["compile", name, "--target", "onnx", "-o", "m.onnx", "--text"], dir);
    expect(r.code).toBe(0);
    const listing = r.stdout.split("\n").slice(0, -1); // the last line is the summary
    expect(listing.length).toBeGreaterThanOrEqual(5);
    for (const line of listing) expect(line).toMatch(/^(model|input|init|node|output) [\x20-\x7e]*$/);
    expect(listing.some((l) => l.startsWith("node forged"))).toBe(false);
    expect(r.stdout).toContain("/a\\u000anode forged = Evil()\\u001b[2J.resnet:3:3");
  });
});

describe("names in .resnet files", () => {
  it("TypeScript keywords and the emitter's own names as input and value names compile and type-check", async () => {
    const src = [
      "model M {",
      "  input class: f32[N, 4]",
      "  input rt: f32[N, 4]",
      "  input yield: f32[N, 4]",
      "  input buildModel: f32[N, 4]",
      "  let tf = class + rt",
      "  let x = tf + yield",
      "  let name = x + buildModel",
      "  output dense(2)(name)",
      "}",
      "",
    ].join("\n");
    const dir = await compileTs("keywords", "k.resnet", src);
    typeCheck([join(dir, "model.ts"), join(dir, "train.ts")]);
    const model = readFileSync(join(dir, "model.ts"), "utf8");
    // The ONNX and tfjs input names are the user's, as strings; the variables are generated.
    expect(model).toContain('rt.input({ name: "class"');
    expect(model).not.toMatch(/const (class|rt|yield|tf|x|name|buildModel) =/);
  }, 120_000);
});

describe("escape.ts", () => {
  it("tsLiteral gives one-line literals that evaluate back to the input", () => {
    for (const s of [...PAYLOADS, "plain", "", "\u0000\u001b[31m"]) {
      const lit = tsLiteral(s);
      expect(lit).not.toMatch(/[\n\r\u2028\u2029]/);
      expect(new Function(`return ${lit};`)()).toBe(s);
    }
  });

  it("commentText is printable ASCII that cannot end a comment", () => {
    for (const s of [...PAYLOADS, "a*/b", "x\ny", "\u001b[2J"]) {
      const c = commentText(s);
      expect(c).toMatch(/^[\x20-\x7e]*$/);
      expect(c).not.toContain("*/");
    }
    expect(commentText("examples/resnet18.resnet:3:5")).toBe("examples/resnet18.resnet:3:5");
  });

  it("IdentAllocator: prefixed, valid, unique, short, and linear when many names collide", () => {
    const ids = new IdentAllocator("v_");
    const made = ["a.b", "a_b", "a.b", "class", "1x", "a_b_2", "é"].map((n) => ids.fresh(n));
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(id).toMatch(/^v_[A-Za-z0-9_]*$/);
    // 20,000 names that share one 48-character base: suffixes come from a counter (no rescans).
    const long = new IdentAllocator("v_");
    const many = Array.from({ length: 20_000 }, () => long.fresh("s".repeat(100_000)));
    expect(new Set(many).size).toBe(20_000);
    for (const id of many) expect(id.length).toBeLessThan(60);
  });
});
