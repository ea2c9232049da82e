// Generated documentation is current, and every diagnostic code in the messages table has a case
// that really produces it: a program in test/bad run through the checker here, or an entry of a
// `diagnosticProducers` table (this file's, or one a test file exports) called here.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { nodeHost } from "../src/cli/host.js";
import { check } from "../src/compiler.js";
import { messages } from "../src/diagnostics/messages.js";
import type { Diagnostic } from "../src/diagnostics/diagnostic.js";
import { emitOnnx } from "../src/emit/onnx/emit.js";
import { emitTs } from "../src/emit/ts/emit.js";
import type { Tensor } from "../src/weights/checkpoint.js";
import { graphOf, repoRoot, type DiagnosticProducers } from "./helpers.js";

const testDir = join(repoRoot, "test");
const codesOf = (ds: readonly Diagnostic[]): string[] => ds.map((d) => d.code);

/** Codes that need a missing file, an emitter or a checkpoint: no program in test/bad gives them. */
const producers: DiagnosticProducers = {
  "RN001 a file that cannot be read": () =>
    codesOf(check(["test/bad/no-such-file.resnet"], nodeHost(repoRoot)).diagnostics),
  "RN501 an op newer than the requested opset": () =>
    codesOf(emitOnnx(graphOf(`model T { input x: f32[N, 16, 64]; layernorm dense(64) }`), { opset: 16 }).diagnostics),
  "RN502 an opset resnetc cannot emit": () =>
    codesOf(emitOnnx(graphOf(`model T { input x: f32[N, 4]; relu }`), { opset: 10 }).diagnostics),
  "RN503 a transpose that moves the batch dim, which tfjs cannot express": () =>
    codesOf(emitTs(graphOf(`model T { input x: f32[N, 4, 6]; transpose([1, 0, 2]) }`)).diagnostics),
  ...checkpointProducers(),
};

/** RN602 to RN605: a checkpoint for a one-conv model, each case spoiled in one way. */
function checkpointProducers(): DiagnosticProducers {
  const g = graphOf(`model T { input x: f32[N, 1, 4, 4]; conv(1, k=3, bias=true) }`);
  const conv = g.nodes.find((n) => n.op === "conv")!.name;
  const weight: [string, Tensor] = [`${conv}.weight`, { dims: [1, 1, 3, 3], data: new Float32Array(9) }];
  const bias: [string, Tensor] = [`${conv}.bias`, { dims: [1], data: new Float32Array(1) }];
  const codes = (...tensors: [string, Tensor][]) => codesOf(emitOnnx(g, { weights: new Map(tensors) }).diagnostics);
  return {
    "RN602 a parameter the checkpoint lacks": () => codes(weight),
    "RN603 a tensor of the wrong shape": () =>
      codes([weight[0], { dims: [1, 1, 5, 5], data: new Float32Array(25) }], bias),
    "RN604 a tensor the model does not use": () =>
      codes(weight, bias, ["fc.weight", { dims: [2], data: new Float32Array(2) }]),
    "RN605 a value that is not finite": () => codes(weight, [bias[0], { dims: [1], data: Float32Array.of(NaN) }]),
  };
}

/**
 * The `diagnosticProducers` table of each other test file that exports one, by file name. The
 * file is imported with vitest's suite and hook functions switched off, so that only its
 * top-level code runs here and its tests are not registered a second time, inside this file.
 */
async function exportedProducers(): Promise<Record<string, DiagnosticProducers>> {
  const files = readdirSync(testDir)
    .filter((f) => f.endsWith(".test.ts") && f !== "docs.test.ts")
    .filter((f) => /^export const diagnosticProducers\b/m.test(readFileSync(join(testDir, f), "utf8")))
    .sort();
  // Callable, and every property is itself again: covers `it.each(...)(...)`, `describe.skip`...
  // but not `then`, so that nothing mistakes it for a promise and awaits it forever.
  const off: unknown = new Proxy(() => off, { get: (_, key) => (key === "then" ? undefined : off) });
  const names = ["describe", "suite", "it", "test", "bench", "beforeAll", "afterAll", "beforeEach", "afterEach"];
  vi.doMock("vitest", async (real) => ({
    ...(await real<object>()),
    ...Object.fromEntries(names.map((n) => [n, off])),
  }));
  const tables: Record<string, DiagnosticProducers> = {};
  try {
    for (const f of files)
      tables[f] = (
        (await import(/* @vite-ignore */ join(testDir, f))) as { diagnosticProducers: DiagnosticProducers }
      ).diagnosticProducers;
  } finally {
    vi.doUnmock("vitest");
  }
  return tables;
}

describe("docs", { timeout: 120_000 }, () => {
  it("docs/diagnostics.md matches the messages table (npm run docs)", () => {
    expect(() =>
      execFileSync(process.execPath, ["scripts/gen-diagnostics.js", "--check"], { cwd: repoRoot, stdio: "pipe" }),
    ).not.toThrow();
  });

  it("README.md's op table matches the registry and both backends' lowering tables (npm run docs)", () => {
    expect(() =>
      execFileSync(process.execPath, ["scripts/gen-op-table.js", "--check"], { cwd: repoRoot, stdio: "pipe" }),
    ).not.toThrow();
  });

  it("examples/README.md's table matches the compiler and examples/reference-counts.json (npm run docs)", () => {
    expect(() =>
      execFileSync(process.execPath, ["scripts/gen-examples-table.js", "--check"], { cwd: repoRoot, stdio: "pipe" }),
    ).not.toThrow();
  });

  it(
    "grammar/diagrams.html and grammar/ops.md are current, and grammar/README.md's examples and EBNF agree " +
      "with the compiler",
    () => {
      expect(() =>
        execFileSync(process.execPath, ["scripts/gen-grammar.js", "--check"], { cwd: repoRoot, stdio: "pipe" }),
      ).not.toThrow();
    },
  );

  it("every diagnostic code is produced by a program in test/bad or a producer case", async () => {
    const produced = new Set<string>();
    const host = nodeHost(repoRoot);
    for (const f of readdirSync(join(testDir, "bad")).filter((f) => f.endsWith(".resnet")))
      for (const code of codesOf(check([`test/bad/${f}`], host).diagnostics)) produced.add(code);
    const tables = { "docs.test.ts": producers, ...(await exportedProducers()) };
    // Each case must produce the code its name starts with, so a case that rots is found even
    // while another case still produces that code.
    const wrong: string[] = [];
    for (const [file, table] of Object.entries(tables))
      for (const [name, run] of Object.entries(table)) {
        const codes = [...(await run())];
        codes.forEach((c) => produced.add(c));
        if (!codes.includes(name.slice(0, 5))) wrong.push(`${file}: "${name}" gave [${codes.join(", ")}]`);
      }
    expect(wrong, "producer cases that did not produce the code their name starts with").toEqual([]);
    const missing = Object.keys(messages).filter((c) => !produced.has(c));
    expect(
      missing,
      "codes no case produces: add a program to test/bad (npm run golden, then review its .expected), or an entry " +
        "to a test file's exported diagnosticProducers",
    ).toEqual([]);
  });
});
