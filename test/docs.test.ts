// Generated documentation is current, and every diagnostic code is exercised by a test.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { messages } from "../src/diagnostics/messages.js";
import { repoRoot } from "./helpers.js";

describe("docs", () => {
  it("docs/diagnostics.md matches the messages table (npm run docs)", () => {
    expect(() => execFileSync(process.execPath, ["scripts/gen-diagnostics.js", "--check"], { cwd: repoRoot, stdio: "pipe" })).not.toThrow();
  });

  it("grammar/diagrams.html and grammar/ops.md are current, and grammar/README.md's examples and EBNF agree with the compiler", () => {
    expect(() => execFileSync(process.execPath, ["scripts/gen-grammar.js", "--check"], { cwd: repoRoot, stdio: "pipe" })).not.toThrow();
  });

  it("every diagnostic code appears in the bad-program corpus's golden output", () => {
    const goldens = readdirSync(join(repoRoot, "test", "bad"))
      .filter((f) => f.endsWith(".expected"))
      .map((f) => readFileSync(join(repoRoot, "test", "bad", f), "utf8"))
      .join("\n");
    // Codes that need a flag or an emitter (RN126, RN5xx, RN6xx) are asserted in test/*.test.ts.
    const testSources = readdirSync(join(repoRoot, "test"))
      .filter((f) => f.endsWith(".test.ts") && f !== "docs.test.ts")
      .map((f) => readFileSync(join(repoRoot, "test", f), "utf8"))
      .join("\n");
    const missing = Object.keys(messages).filter((c) => !goldens.includes(` ${c} `) && !testSources.includes(c));
    expect(missing).toEqual([]);
  });
});
