// Hostile sizes (issue 16, findings 4 and 6, and the limits): every one is a located RN4xx
// diagnostic, never a stack overflow, an out-of-memory death or a quadratic stall; real
// architectures stay under every limit. Speed is asserted structurally (work counted), never
// timed; bench/check-scaling.js times it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { check, checkIsolated } from "../src/compiler.js";
import { LIMITS } from "../src/semantics/builtins.js";
import { NameTable } from "../src/semantics/scope.js";
import { SOURCE_LIMITS } from "../src/syntax/nesting.js";
import { emitTs, TS_MAX_CHARS } from "../src/emit/ts/emit.js";
import { checkSource, codesIn, graphOf, memoryHost, repoRoot, runCli, type DiagnosticProducers } from "./helpers.js";

const model = (body: string, input = "f32[N, 8]"): string => `model M {\n  input x: ${input}\n${body}\n}\n`;

/** Codes of a check, with the 1-based line:col of each, and no exception allowed to escape. */
function located(source: string): string[] {
  const r = checkSource(source);
  return r.diagnostics.map((d) => {
    const p = r.sources.get(d.span.file)!.position(d.span.start);
    return `${d.code}@${p.line}:${p.col}`;
  });
}

/** RN405 needs a program too long for a readable test/bad case; RN406 and RN007 come from the
 * TypeScript emitter and the per-file isolation: no .resnet in test/bad gives them, so
 * test/docs.test.ts runs these. */
export const diagnosticProducers: DiagnosticProducers = {
  "RN405 a 1,500-term sum": () =>
    checkSource(model(`  let y = x\n  y = ${Array(1500).fill("x").join(" + ")}\n  output y`)).diagnostics.map(
      (d) => d.code,
    ),
  // 25,000 layers whose lines carry a 200-character stage name: ~9.2 MB of TypeScript.
  "RN406 TypeScript over its size limit": () =>
    emitTs(graphOf(model(`  stage ${"s".repeat(200)} { relu * 25000 }`))).diagnostics.map((d) => d.code),
  "RN007 an exception inside the compiler, isolated to its file": () =>
    checkIsolated("a.resnet", memoryHost({}), {}, () => {
      throw new RangeError("Maximum call stack size exceeded");
    }).diagnostics.map((d) => d.code),
};

describe("finding 4: nesting is a located limit, not a stack overflow", () => {
  const n = SOURCE_LIMITS.nesting;
  // The sizes the fuzzer overflowed at, and far beyond; each reported at the first token past the
  // limit (the model's `{` is the first level, `dense(` the second, `when` the third).
  const cases: [string, string, string][] = [
    ["140 nested `(`", model(`  ${"(".repeat(140)}relu${")".repeat(140)}`), `RN404@3:${2 + n}`], // the n-th `(`
    ["150 nested `[`", model(`  dense(${"[".repeat(150)}1${"]".repeat(150)})`), `RN404@3:${7 + n}`], // the (n-1)-th `[`
    // the n-th
    ["400 nested stages", model(`${"stage s {\n".repeat(400)}relu\n${"}\n".repeat(400)}`), `RN404@${2 + n}:9`],
    [
      "400 nested residual units",
      model(`${"residual {\n".repeat(400)}relu\n${"}\n".repeat(400)}`),
      `RN404@${2 + n}:10`,
    ],
    ["10,000 unary minus", model(`  dense(${"-".repeat(10000)}8)`), `RN404@3:${7 + n}`], // the (n-1)-th `-`
    // the (n-2)-th `not`
    ["10,000 `not`", model(`  dense(8 when ${"not ".repeat(10000)}true else 4)`), `RN404@3:${16 + 4 * (n - 3)}`],
    // the (n-1)-th `when`
    ["2,000 chained `when`", model(`  dense(${"1 when false else ".repeat(2000)}8)`), `RN404@3:${11 + 18 * (n - 2)}`],
    [
      "1,000 `else if`",
      model(`  if false { relu }${" else if false { relu }".repeat(1000)}`),
      `RN404@3:${35 + 23 * (n - 2)}`,
    ], // the `{` after the (n-1)-th
  ];
  for (const [what, source, expected] of cases) it(what, () => expect(located(source)).toEqual([expected]));

  it("a long name or string is RN401 at its token", () => {
    expect(located(model(`  stage ${"s".repeat(100_000)} { relu * 1000 }`))).toEqual(["RN401@3:9"]);
    expect(located(`block B(t: str) { relu }\n${model(`  B(t="${"x".repeat(SOURCE_LIMITS.string + 1)}")`)}`)).toEqual([
      "RN401@4:7",
    ]);
  });

  it("nesting at the limit checks and compiles, with Node's stack cut to 60%", () => {
    // Each construct exactly at the limit, in files run by the real CLI in a child process whose
    // stack is 600 KB instead of 984 KB: the limit leaves margin, not a knife edge.
    // `k` levels inside the model's `{` (and `dense(`, and `when`) reach exactly the limit.
    const files: Record<string, string> = {
      paren: model(`  ${"(".repeat(n - 1)}relu${")".repeat(n - 1)}`),
      apply: model(`  let y = ${"(relu)(".repeat(n - 1)}x${")".repeat(n - 1)}\n  output y`),
      call: model(`  dense(${"max(".repeat(n - 2)}8${", 1)".repeat(n - 2)})`),
      bracket: model(`  dense(${"[".repeat(n - 2)}8${"][0]".repeat(n - 2)})`),
      stage: model(`${"stage s {\n".repeat(n - 1)}relu\n${"}\n".repeat(n - 1)}`),
      residual: model(`${"residual {\n".repeat(n - 1)}relu\n${"}\n".repeat(n - 1)}`),
      minus: model(`  dense(${"-".repeat(2 * ((n - 2) >> 1))}8)`),
      not: model(`  dense(8 when ${"not ".repeat(2 * ((n - 3) >> 1))}true else 4)`),
    };
    const dir = mkdtempSync(join(tmpdir(), "resnetc-nesting-"));
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.resnet`), text);
      const r = spawnSync(process.execPath, ["--stack-size=600", join(repoRoot, "bin/resnetc.js"), "check", dir], {
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\n").filter((l) => / ok \(M /.test(l))).toHaveLength(Object.keys(files).length);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("finding 4: long flat sums and chains", () => {
  const sum = (terms: number, term: string): string => Array(terms).fill(term).join(" + ");

  it("a sum within the expansion limit checks, of tensors and of numbers", () => {
    const g = graphOf(model(`  let y = x\n  y = ${sum(400, "x")}\n  output y`));
    expect(g.nodes.filter((n) => n.op === "add")).toHaveLength(399);
    expect(graphOf(model(`  dense(${sum(400, "1")})`)).nodes[1]!.attrs["out"]).toBe(400);
  });

  it("a 1,500-term sum is RN405 at the term where it passes the limit, not a stack overflow", () => {
    expect(located(model(`  let y = x\n  y = ${sum(1500, "x")}\n  output y`))).toEqual(["RN405@4:7"]);
    expect(located(`model M(c: int = ${sum(1500, "1")}) {\n  input x: f32[N, 8]\n  dense(c)\n}\n`)).toEqual([
      "RN405@1:18",
    ]);
  });

  it("a pipeline of 10,000 stages and a chain of 1,500 blocks each using the next are flat", () => {
    expect(graphOf(model(`  ${"relu ".repeat(10_000)}`)).nodes).toHaveLength(10_001);
    const blocks = Array.from(
      { length: 1500 },
      (_, i) => `block L${i}() { ${i === 1499 ? "relu" : `L${i + 1}`} }`,
    ).join("\n");
    // The resolver walks the block graph with an explicit stack; elaboration stops at RN403.
    expect(located(`${blocks}\n${model("  L0")}`).map((c) => c.slice(0, 5))).toEqual(["RN403"]);
  });
});

describe("finding 4: one bad file never stops lint", () => {
  const dir = mkdtempSync(join(tmpdir(), "resnetc-lint-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a file that used to overflow the stack is reported, and so are the files after it", () => {
    mkdirSync(join(dir, "models"));
    writeFileSync(join(dir, "models", "a-deep.resnet"), model(`  ${"(".repeat(2000)}relu${")".repeat(2000)}`));
    writeFileSync(join(dir, "models", "b-bad.resnet"), model("  conv(8, k=3)"));
    writeFileSync(join(dir, "models", "c-good.resnet"), model("  relu"));
    const r = runCli(["lint", "--format", "sarif", "models"], dir);
    const sarif = JSON.parse(r.stdout) as {
      runs: {
        results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[];
      }[];
    };
    const results = sarif.runs[0]!.results.map(
      (x) => `${x.ruleId} ${x.locations[0]!.physicalLocation.artifactLocation.uri}`,
    );
    expect(results).toEqual(["RN404 models/a-deep.resnet", "RN207 models/b-bad.resnet"]);
    expect(r.code).toBe(1);
  });

  it("an exception escaping the compiler becomes RN007 on that file alone", () => {
    const r = checkIsolated("x.resnet", memoryHost({ "x.resnet": model("  relu") }), {}, () => {
      throw new Error("boom");
    });
    expect(r.diagnostics.map((d) => [d.code, d.span.file, d.message])).toEqual([
      [
        "RN007",
        "x.resnet",
        "resnetc could not finish checking x.resnet (Error: boom): this is a bug in resnetc, please report it " +
          "with this file",
      ],
    ]);
  });
});

describe("finding 6: cost amplification", () => {
  it("name de-duplication is linear: 20,000 layers named alike cost one probe each, plus one per clash", () => {
    const t = new NameTable();
    for (let i = 0; i < 20_000; i++) t.claim("s.0");
    expect(t.claim("s.0_5")).toBe("s.0_5_2"); // taken by the 4th clash above
    expect(t.probes).toBeLessThanOrEqual(2 * 20_000 + 2);
  });

  it("`for i in 1..20000 { stage s { relu } }` is one RN130; its layers still get s.0, s.0_2, ... s.0_20000", () => {
    // A stage name repeated in one scope is RN130 (reported once for the loop); checking goes on
    // with names made unique, in linear time.
    const r = checkSource(model("  for i in 1..20000 { stage s { relu } }"));
    expect(r.diagnostics.map((d) => d.code)).toEqual(["RN130"]);
    const g = r.graphs[0]!;
    expect(g.nodes.map((n) => n.name).slice(1, 4)).toEqual(["s.0", "s.0_2", "s.0_3"]);
    expect(g.nodes[20_000]!.name).toBe("s.0_20000");
  });

  it("a layer name over 1,024 characters, and 16 MiB of names in all, are RN401", () => {
    const long = "s".repeat(SOURCE_LIMITS.name);
    const nested = (depth: number, inner: string): string =>
      `${`stage ${long} {\n`.repeat(depth)}${inner}\n${"}\n".repeat(depth)}`;
    expect(located(model(nested(5, "relu")))).toEqual(["RN401@8:1"]); // the relu inside
    // Names of ~977 characters (3 x 257 + 201 + the index) under the 1,024 of one name: 17,500
    // of them pass 16 MiB in all, which stops the model at the layer that passes it.
    const total = checkSource(model(nested(3, `stage ${"t".repeat(200)} { relu * 17500 }`))).diagnostics;
    expect(total.map((d) => d.code)).toEqual(["RN401"]);
    expect(total[0]!.message).toMatch(
      new RegExp(
        `^total length of the layer names 16,77\\d,\\d{3} \\(at this layer\\) exceeds the limit of ` +
          `${LIMITS.layerNameChars.toLocaleString("en-US")}$`,
      ),
    );
  });

  it("nested repeats over the layer limit stop at the outer count after one repetition", () => {
    expect(located(model("  (relu * 10000) * 10"))).toEqual(["RN402@3:20"]); // the `10`
    expect(located(model("  for i in 1..10 { relu * 10000 }"))).toEqual(["RN402@3:15"]);
  });

  it("`(relu * 100000) * 4` (400,000 layers: 4.4 GB of heap in the TS emitter before) is RN402 at check", () => {
    // the inner count: one repetition is already over
    expect(located(model("  (relu * 100000) * 4"))).toEqual(["RN402@3:11"]);
  });

  it("RN406 is located at the layer whose line passes the limit", () => {
    const r = emitTs(graphOf(model(`  stage ${"s".repeat(200)} { relu * 25000 }`)));
    expect(r.diagnostics.map((d) => [d.code, d.span.start > 0])).toEqual([["RN406", true]]);
  });
});

describe("limits on tensors and parameters, before any allocation", () => {
  it("a tensor of 10^8 x 10^8 is RN401 at its input", () => {
    expect(located(model("  relu", "f32[100000000, 100000000]"))).toEqual(["RN401@2:3"]);
  });
  it("dense(50000) on 50,000 features is RN401 for the layer", () => {
    expect(located(model("  dense(50000)", "f32[N, 50000]"))).toEqual(["RN401@3:3"]);
  });
  it("a model over 500,000,000 parameters is RN401 at the layer that passes it", () => {
    // Each layer is 256,016,000 (under the layer limit); the second passes the model's.
    expect(located(model("  dense(16000) dense(16000)", "f32[N, 16000]"))).toEqual(["RN401@3:16"]);
  });
  it("every example stays under every limit", () => {
    for (const f of ["resnet152.resnet", "cifar-resnet.resnet", "resnet50.resnet", "plain-imagenet.resnet"]) {
      const r = check([`examples/${f}`], memoryHost({}));
      expect(codesIn(r.diagnostics.map((d) => ` ${d.severity} ${d.code} `).join("\n"))).toEqual([]);
      expect(r.graphs.length).toBeGreaterThan(0);
    }
  });
});
