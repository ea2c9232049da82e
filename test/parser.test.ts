// Table-driven parser tests: source -> a compact rendering of the AST, and syntax errors.
import { describe, expect, it } from "vitest";
import { ResnetParser } from "../src/syntax/parser.js";
import type { Expr, Stmt } from "../src/ast/ast.js";
import { parseSource } from "../src/syntax/parse.js";

function show(e: Expr): string {
  switch (e.kind) {
    case "num":
      return String(e.value);
    case "str":
      return JSON.stringify(e.value);
    case "bool":
      return String(e.value);
    case "name":
      return e.name;
    case "list":
      return `[${e.items.map(show).join(", ")}]`;
    case "unary":
      return `(${e.op} ${show(e.arg)})`;
    case "binary":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "chain":
      return `{${e.items.map(show).join(" ")}}`;
    case "call":
      return `${show(e.callee)}(${e.args.map((a) => (a.name ? `${a.name}=` : "") + show(a.value)).join(", ")})`;
    case "index":
      return `${show(e.obj)}[${show(e.index)}]`;
    case "cond":
      return `(${show(e.then)} when ${show(e.cond)} else ${show(e.else)})`;
    case "named":
      return `${show(e.inner)} as ${e.name}`;
    case "residual":
      return `residual{${e.unit.body.length}}`;
    case "error":
      return "<error>";
  }
}

function firstStmt(src: string): Stmt {
  const [ast, diags] = parseSource("t.resnet", `block B() {\n${src}\n}`);
  expect(diags.map((d) => d.message)).toEqual([]);
  return ast.definitions[0]!.body[0]!;
}

function expr(src: string): string {
  const s = firstStmt(src);
  if (s.kind !== "expr") throw new Error(`not an expression statement: ${s.kind}`);
  return show(s.expr);
}

describe("expressions", () => {
  const table: [string, string][] = [
    ["conv(64, k=7, stride=2) bn relu", "{conv(64, k=7, stride=2) bn relu}"],
    ["Basic(64) * 2 Basic(128)", "{(Basic(64) * 2) Basic(128)}"],
    ["a * b + c", "((a * b) + c)"],
    ["conv(64) bn + x", "({conv(64) bn} + x)"],
    ["a - b", "(a - b)"],
    ["-a b", "{(- a) b}"],
    ["c * 4 // 2 % 3", "(((c * 4) // 2) % 3)"],
    ["(dense(d) tanh)(h) * (dense(d) tanh)(v)", "({dense(d) tanh}(h) * {dense(d) tanh}(v))"],
    ["(dense(d) when i == 1 else identity)(h)", "(dense(d) when (i == 1) else identity)(h)"],
    ["dense(answers)(h)", "dense(answers)(h)"],
    ["relu (x)", "{relu {x}}"],
    ["shape()[1]", "shape()[1]"],
    ["a when not b and c or d else e", "(a when (((not b) and c) or d) else e)"],
    ["conv(c, k=[3, 1], padding=same)", "conv(c, k=[3, 1], padding=same)"],
    ["x when a < b else y", "(x when (a < b) else y)"],
    ['f(1.5e-3, true, "s")', 'f(0.0015, true, "s")'],
  ];
  for (const [src, want] of table) it(src, () => expect(expr(src)).toBe(want));
});

describe("statements", () => {
  it("input / output / let / assign / expect", () => {
    expect(firstStmt("input image: f32[N, 3, 224, 224]")).toMatchObject({ kind: "input", name: "image", dtype: "f32" });
    expect(firstStmt("output logits = dense(10)")).toMatchObject({ kind: "output", name: "logits" });
    expect(firstStmt("output dense(10)")).toMatchObject({ kind: "output" });
    expect(firstStmt("let h = q")).toMatchObject({ kind: "let", name: "h" });
    expect(firstStmt("h = h + j")).toMatchObject({ kind: "assign", name: "h" });
    expect(firstStmt("expect [N, 512, 7, 7]")).toMatchObject({ kind: "expect" });
  });
  it("residual with modifiers and a shortcut on the next line", () => {
    const s = firstStmt("residual(scale=0.1) {\n conv(c) bn\n}\nshortcut pad");
    expect(s).toMatchObject({ kind: "residual", shortcut: { kind: "spec" } });
    if (s.kind === "residual") {
      expect(s.args.map((a) => a.name)).toEqual(["scale"]);
      expect(s.body).toHaveLength(1);
    }
  });
  it("custom shortcut bodies", () => {
    expect(firstStmt("residual { relu } shortcut { avgpool(k=2) conv(c, k=1) }")).toMatchObject({
      kind: "residual",
      shortcut: { kind: "custom" },
    });
  });
  it("for, if/else if/else on separate lines, stage", () => {
    expect(firstStmt("for i in 1..n { relu }")).toMatchObject({ kind: "for", var: "i" });
    const s = firstStmt("if a { relu }\nelse if b { tanh }\nelse { gelu }");
    expect(s).toMatchObject({ kind: "if", else: [{ kind: "if", else: [{ kind: "expr" }] }] });
    expect(firstStmt("stage layer1 { Basic(64) * 2 }")).toMatchObject({ kind: "stage", name: "layer1" });
  });
  it("newlines end statements except inside brackets; `;` ends one too", () => {
    const [ast] = parseSource("t.resnet", "block B() {\n conv(64,\n   k=3) bn\n relu; relu\n}");
    expect(ast.definitions[0]!.body).toHaveLength(3);
  });
  it("parameters with types and defaults, `shortcut` as a type", () => {
    const [ast] = parseSource("t.resnet", "block B(c: int, stride: int = 1, sc: shortcut = auto, w = 2) { relu }");
    expect(ast.definitions[0]!.params.map((p) => [p.name, p.type ?? null, p.default ? show(p.default) : null])).toEqual(
      [
        ["c", "int", null],
        ["stride", "int", "1"],
        ["sc", "shortcut", "auto"],
        ["w", null, "2"],
      ],
    );
  });
});

describe("syntax errors", () => {
  const errors = (src: string) => parseSource("t.resnet", src)[1].map((d) => `${d.code} ${d.message}`);
  it("reports every independent error in one run", () => {
    expect(errors("block A( { relu }\nblock B() { conv(3,) }\nmodel C { let = 1 }")).toHaveLength(3);
  });
  it("a bad character", () => expect(errors("block A() { relu $ }")).toEqual(['RN101 unexpected character "$"']));
  it("an unterminated string", () =>
    expect(errors('import "x\nblock A() { relu }')).toEqual(["RN103 unterminated string"]));
  it("stray text at top level, then parsing goes on", () => {
    const [ast, ds] = parseSource("t.resnet", "relu relu\nblock A() { relu }\n}\nblock B() { relu }");
    expect(ds.map((d) => d.code)).toEqual(["RN104", "RN104"]);
    expect(ast.definitions.map((d) => d.name)).toEqual(["A", "B"]);
  });
  it("missing closing brace at end of file", () =>
    expect(errors("block A() {\n relu\n")).toEqual(["RN102 expected `}`, found end of file"]));
});

describe("the grammar itself", () => {
  // The shared parser skips Chevrotain's grammar validations to start faster; they run here, so
  // an ambiguous or left-recursive rule still fails the build.
  it("passes Chevrotain's validations (ambiguities, left recursion, unreachable alternatives)", () => {
    expect(() => new ResnetParser({ validate: true })).not.toThrow();
  });
});
