// Weight sharing (`let body = share Body(...)`, MDSR's body used at every scale): one set of
// parameters for every use of the block, in the count, in checkpoints, in ONNX (one initializer
// read by several nodes) and in the tfjs model (one layer object applied several times). The
// numbers (ONNX Runtime against the float64 interpreter, tfjs gradients against finite
// differences, shared parameters included) are test/reference.test.ts's and test/parity.test.ts's
// shared cases; the misuse diagnostics are test/bad/share-misuse.resnet's.
import { describe, expect, it } from "vitest";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { emitTs } from "../src/emit/ts/emit.js";
import { summaryTable } from "../src/ir/summary.js";
import { graphParams } from "../src/weights/init.js";
import { checkSource } from "./helpers.js";

const BODY = `
block Res(c: int) {
  residual { conv(c, k=3) bn relu conv(c, k=3) bn }
}
block Body(c: int, n: int) {
  Res(c) * n
  conv(c, k=3)
}
`;

function graph(src: string) {
  const r = checkSource(src);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.graphs[0]!;
}

const twoScales = (shared: boolean): string =>
  `${BODY}
model M {
  input a: f32[N, 3, 12, 12]
  input b: f32[N, 3, 9, 7]
  ${shared ? "let body = share Body(8, 2)" : ""}
  output ya = a conv(8, k=3) ${shared ? "body" : "Body(8, 2)"} conv(3, k=3)
  output yb = b conv(8, k=3) ${shared ? "body" : "Body(8, 2)"} conv(3, k=3)
}
`;

/** A block of one conv, shared as `c`, and a model body using it. */
const oneConv = (body: string): string =>
  `block C() {\n  conv(4, k=3)\n}\nmodel M {\n  input x: f32[N, 4, 6, 6]\n  let c = share C\n  ${body}\n}\n`;

describe("share: one set of parameters for every use of a block", () => {
  const shared = graph(twoScales(true));
  const separate = graph(twoScales(false));
  // One Body(8, 2): 2 units of 2 convs (576 weights) and 2 BNs (16 each), then a conv with a bias.
  const bodyParams = 2 * 2 * (576 + 16) + 576 + 8;

  it("counts the body once: the unshared model's count less one body", () => {
    expect(separate.params - shared.params).toBe(bodyParams);
    const heads = 2 * (216 + 8) + 2 * (216 + 3);
    expect(shared.params).toBe(bodyParams + heads);
  });

  it("names the uses body, body2, and keeps the first use's names in checkpoints", () => {
    const names = graphParams(shared).map((p) => p.name);
    expect(names).toContain("body.res1.conv1.weight");
    expect(names).toContain("body.res1.bn1.running_var");
    expect(names.some((n) => n.startsWith("body2."))).toBe(false);
    const second = shared.nodes.filter((n) => n.name.startsWith("body2.") && n.shares !== undefined);
    expect(second.map((n) => `${n.name} -> ${shared.nodes[n.shares!]!.name}`)).toEqual([
      "body2.res1.conv1 -> body.res1.conv1",
      "body2.res1.bn1 -> body.res1.bn1",
      "body2.res1.conv2 -> body.res1.conv2",
      "body2.res1.bn2 -> body.res1.bn2",
      "body2.res2.conv1 -> body.res2.conv1",
      "body2.res2.bn1 -> body.res2.bn1",
      "body2.res2.conv2 -> body.res2.conv2",
      "body2.res2.bn2 -> body.res2.bn2",
      "body2.conv1 -> body.conv1",
    ]);
    expect(summaryTable(shared)).toMatch(/body2\.res1\.conv1 +conv +\[N, 8, 9, 7\] +\(shares body\.res1\.conv1\)/);
  });

  it("gives ONNX one initializer per shared parameter", () => {
    const a = emitOnnx(shared);
    const b = emitOnnx(separate);
    expect(a.diagnostics).toEqual([]);
    expect(b.parameterElements - a.parameterElements).toBe(bodyParams + 2 * 2 * 16); // + running stats
  });

  it("gives tfjs one layer per shared parameter: a SHARED table, no rows of the later use's own", () => {
    const ts = emitTs(shared);
    expect(ts.diagnostics).toEqual([]);
    const model = ts.files!["model.ts"]!;
    expect(model).toContain('"body2.res1.conv1": "body.res1.conv1",');
    expect(model).toContain('"body2.conv1": "body.conv1",');
    expect(model).not.toMatch(/name: "body2\./);
    expect(model).toMatch(/rt\.shareLayers\(SHARED\);[\s\S]*rt\.shareLayers\(\{\}\);\s*return model;/);
    expect(emitTs(separate).files!["model.ts"]).not.toContain("shareLayers");
  });

  it("gives a conv a bias at every use when one use needs it (bias=auto, a BN follows one use only)", () => {
    const g = graph(oneConv("x c bn relu c"));
    const [first, second] = g.nodes.filter((n) => n.op === "conv");
    expect(first!.attrs["bias"]).toBe(true);
    expect(second!.attrs["bias"]).toBe(true);
    expect(second!.shares).toBe(first!.id);
    expect(g.params).toBe(4 * 4 * 9 + 4 + 8);
  });

  it("ties to the first live use: a first use that reaches no output does not own the parameters", () => {
    const g = graph(oneConv("let _dead = x c\n  x relu c"));
    const convs = g.nodes.filter((n) => n.op === "conv");
    expect(convs.map((n) => [n.name, n.shares])).toEqual([["c2.conv1", undefined]]);
    expect(graphParams(g).map((p) => p.name)).toEqual(["c2.conv1.weight", "c2.conv1.bias"]);
  });
});
