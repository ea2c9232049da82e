// The fuzzer (fuzz/, `npm run fuzz`) and what it found.
// - Every crash it found is kept, minimised, in test/fuzz-regressions/ and run here the way the
//   fuzzer runs a case (fuzz/oracle.js: check with an in-memory Host, ONNX emission, ONNX Runtime
//   with the shapes compared, TypeScript emission, tsc --strict on the TypeScript of a case that
//   failed to type-check): none may fail. A file whose header has `# expect-fail: BRANCH ...` is
//   a bug another branch is fixing; its test is `it.fails` until that branch lands and removes
//   the line.
// - The fuzzer itself: cases depend on (seed, index) alone, and a short run prints the JSON
//   line it promises with counts that add up.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCase, loadCorpus } from "../fuzz/cases.js";
import { runCase } from "../fuzz/oracle.js";
import { typecheck } from "../fuzz/typecheck.js";
import { repoRoot } from "./helpers.js";

const dir = join(repoRoot, "test", "fuzz-regressions");
const corpus = loadCorpus(repoRoot);
const kept = readdirSync(dir)
  .filter((f) => f.endsWith(".resnet"))
  .sort()
  .map((f) => {
    const text = readFileSync(join(dir, f), "utf8");
    const field = (name: string) => new RegExp(`^# ${name}: (.*)$`, "m").exec(text)?.[1]?.trim();
    return {
      file: f,
      text,
      kind: field("fuzz")?.split(":")[0],
      origin: field("origin") ?? "generated",
      expectFail: field("expect-fail"),
    };
  });

describe("crashes the fuzzer found, kept in test/fuzz-regressions", () => {
  it("are there, each saying what failed", () => {
    expect(kept.length).toBeGreaterThanOrEqual(5);
    for (const k of kept)
      expect(k.kind, k.file).toMatch(/^(internalError|slow|invalidOnnx|shapeDisagreement|tsTypeError|oversized)$/);
  });
  for (const k of kept) {
    const run = k.expectFail ? it.fails : it;
    run(
      `${k.file}: no internal error, ONNX Runtime ` +
        `agrees${k.expectFail ? ` (expected to fail ` + `until ${k.expectFail})` : ""}`,
      async () => {
        // The kept program takes its original's place, so relative imports resolve as they did.
        const root = k.origin === "generated" ? "gen/case.resnet" : k.origin;
        const files = new Map(corpus);
        files.set(root, k.text);
        const r = await runCase(files, root, { keepTs: k.kind === "tsTypeError" });
        expect(r.failure?.message ?? "", k.file).toBe("");
        if (k.kind === "tsTypeError") {
          expect(r.ts, "the model emits TypeScript").toBeDefined();
          const errors = typecheck(new Map([[0, r.ts!]]), join(repoRoot, "out", "fuzz-regressions-ts"), repoRoot);
          expect(errors.get(0) ?? "").toBe("");
        }
      },
      120_000,
    );
  }
});

describe("the fuzzer", () => {
  it("builds each case from (seed, index) alone: mutations of the corpus and generated programs", () => {
    const a = Array.from({ length: 300 }, (_, i) => buildCase(corpus, 5, i));
    const b = Array.from({ length: 300 }, (_, i) => buildCase(corpus, 5, 299 - i)).reverse();
    expect(a.map((c) => c.files.get(c.root))).toEqual(b.map((c) => c.files.get(c.root)));
    const generated = a.filter((c) => c.origin === "generated").length;
    expect(generated).toBeGreaterThan(60);
    expect(generated).toBeLessThan(240);
    // A mutant differs from its original (almost always: a swap of two equal lines does not).
    const changed = a.filter((c) => c.origin !== "generated" && c.files.get(c.root) !== corpus.get(c.origin)).length;
    expect(changed).toBeGreaterThan(0.9 * (300 - generated));
    // Another seed gives other programs.
    expect(buildCase(corpus, 6, 0).files.get(buildCase(corpus, 6, 0).root)).not.toBe(a[0]!.files.get(a[0]!.root));
  });

  it("npm run fuzz: a short run prints its table and one JSON line whose counts add up", () => {
    const r = spawnSync(
      process.execPath,
      ["fuzz/fuzz.js", "--runs", "40", "--seed", "11", "--jobs", "1", "--minimise", "0", "--out", "out/fuzz-test"],
      { cwd: repoRoot, encoding: "utf8" },
    );
    const last = r.stdout.trim().split("\n").pop()!;
    const s = JSON.parse(last);
    expect(s.runs).toBe(40);
    expect(s.seed).toBe(11);
    const failures = s.internalErrors + s.slow + s.invalidOnnx + s.shapeDisagreements + s.tsTypeErrors + s.oversized;
    expect(s.ok + s.diagnostics + failures).toBe(40);
    expect(s.ok).toBeGreaterThan(0);
    expect(s.diagnostics).toBeGreaterThan(0);
    expect(r.status).toBe(failures > 0 ? 1 : 0);
    expect(r.stdout).toMatch(/shape disagreements with ONNX Runtime\s+\d+/);
  }, 120_000);
});
