// Residual units as expressions: repeated with `*`, chained in a pipeline, applied with `(...)(x)`.
// Takes: small in-memory programs. Gives: checks that each expression form builds exactly the
// graph (same ONNX bytes, same seed) that the same units written as statements build, that the
// formatter keeps the forms, and that misuse gets located diagnostics, not crashes.
// Must not: compare against hard-coded counts where the statement form can be the reference.

import { describe, expect, it } from "vitest";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { formatSource } from "../src/fmt/format.js";
import { checkSource, graphOf } from "./helpers.js";

const onnx = (src: string, model: string): Uint8Array => emitOnnx(graphOf(src, model), { seed: 7 }).bytes!;
/** Both programs' model M, with the same seed, give the same ONNX bytes. */
const sameGraph = (a: string, b: string): void =>
  void expect(Buffer.from(onnx(a, "M")).equals(Buffer.from(onnx(b, "M")))).toBe(true);

describe("a residual unit is an expression", () => {
  it("`(residual { ... }) * 3` builds the graph of three residual statements", () => {
    const unit = "residual { dense(32) relu dense(32) }";
    const expr = `model M {\n  input x: f32[N, 32]\n  (${unit}) * 3\n  dense(5)\n}\n`;
    const stmts = `model M {\n  input x: f32[N, 32]\n  ${unit}\n  ${unit}\n  ${unit}\n  dense(5)\n}\n`;
    const g = graphOf(expr, "M");
    expect(g.nodes.filter((n) => n.op === "add")).toHaveLength(3);
    sameGraph(expr, stmts);
  });

  it("repeats a unit with a shortcut kind and modifiers, inside a block", () => {
    const expr = [
      "block Body(c: int, n: int) {",
      "  (residual(scale=0.1) { conv(c) relu conv(c) } shortcut identity) * n",
      "}",
      "model M {",
      "  input x: f32[N, 8, 6, 6]",
      "  Body(8, 2)",
      "}",
      "",
    ].join("\n");
    const stmts = [
      "block Body(c: int, n: int) {",
      "  for i in 1..n {",
      "    residual(scale=0.1) { conv(c) relu conv(c) }",
      "    shortcut identity",
      "  }",
      "}",
      "model M {",
      "  input x: f32[N, 8, 6, 6]",
      "  Body(8, 2)",
      "}",
      "",
    ].join("\n");
    sameGraph(expr, stmts);
  });

  it("chains in a pipeline and applies to a named value", () => {
    const chained = [
      "model M {",
      "  input x: f32[N, 3, 8, 8]",
      "  conv(8) residual { conv(8) bn relu conv(8) bn } relu gap flatten dense(4)",
      "}",
      "",
    ].join("\n");
    const lines = [
      "model M {",
      "  input x: f32[N, 3, 8, 8]",
      "  conv(8)",
      "  residual { conv(8) bn relu conv(8) bn }",
      "  relu",
      "  gap",
      "  flatten",
      "  dense(4)",
      "}",
      "",
    ].join("\n");
    sameGraph(chained, lines);
    const applied = [
      "model A {",
      "  input x: f32[N, 16]",
      "  let y = dense(16)",
      "  output (residual { dense(16) relu })(y)",
      "}",
      "",
    ].join("\n");
    const g = graphOf(applied, "A");
    const add = g.nodes.find((n) => n.op === "add")!;
    const y = g.nodes.find((n) => n.name === "dense1")!;
    // The shortcut is y itself: the add reads y and the branch's last layer.
    expect(add.inputs).toContain(y.id);
  });

  it("the formatter keeps every form and is idempotent on them", async () => {
    const src = [
      "model M {",
      "  input x: f32[N, 16]",
      "  (residual { dense(16) relu }) * 2",
      "  dense(16) residual { dense(16) } relu",
      "  (residual { dense(16) } shortcut identity) relu",
      "}",
      "",
    ].join("\n");
    const fmt = async (text: string): Promise<string> => {
      const r = await formatSource("m.resnet", text);
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
      return r.text;
    };
    const once = await fmt(src);
    expect(once).toBe(src);
    expect(await fmt(once)).toBe(once);
    sameGraph(once, src);
  });

  it("misuse is a located diagnostic", () => {
    const bad = (line: string): string[] =>
      checkSource(`model M {\n  input x: f32[N, 16]\n  ${line}\n}\n`).diagnostics.map(
        (d) => `${d.code}@${d.span.start}`,
      );
    // A negative repeat count, a unit as a number, a shortcut kind followed by more stages.
    expect(bad("(residual { dense(16) }) * -1")[0]).toMatch(/^RN119@/);
    expect(bad("dense(residual { relu })")[0]).toMatch(/^RN115@/);
    const sc = checkSource("model M {\n  input x: f32[N, 16]\n  residual { dense(16) } shortcut identity relu\n}\n");
    const d = sc.diagnostics.find((x) => x.code === "RN115")!;
    expect(d.message).toContain("shortcut kind");
    expect(d.hint ?? "").toContain("(residual { ... } shortcut identity) relu");
  });
});
