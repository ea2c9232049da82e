// The corpus of bad programs in test/bad: each file's full `resnetc check` output is pinned in
// NAME.expected, reviewed when it changes. Regenerate with UPDATE_GOLDEN=1 and read the diff.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./helpers.js";

const dir = join(repoRoot, "test", "bad");
const cases = readdirSync(dir).filter((f) => f.endsWith(".resnet")).sort();
const update = process.env["UPDATE_GOLDEN"] === "1";
const warningsOnly = new Set(["warnings.resnet", "discarded-value.resnet"]);

describe("bad programs", () => {
  it("has a corpus of at least 40 programs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const file of cases) {
    it(file, () => {
      const run = runCli(["check", `test/bad/${file}`]);
      const output = `exit ${run.code}\n${run.stderr}\n`;
      // Never a stack trace or an internal error, whatever the input.
      expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(output).not.toContain("internal error");
      // Every program here has at least one diagnostic; all but the warnings-only ones an error.
      expect(run.stderr).toMatch(/ (error|warning) RN\d{3} /);
      expect(run.code).toBe(warningsOnly.has(file) ? 0 : 1);
      const golden = join(dir, file.replace(/\.resnet$/, ".expected"));
      if (update || !existsSync(golden)) writeFileSync(golden, output);
      expect(output).toBe(readFileSync(golden, "utf8"));
    });
  }
});
