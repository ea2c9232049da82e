// The corpus of bad programs in test/bad: each file's full `resnetc check` output is pinned in
// NAME.expected, reviewed when it changes; a missing one fails. Write them with UPDATE_GOLDEN=1
// (npm run golden) and read the diff.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectGolden, repoRoot, runCli } from "./helpers.js";

const dir = join(repoRoot, "test", "bad");
const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".resnet"))
  .sort();
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
      expectGolden(output, join(dir, file.replace(/\.resnet$/, ".expected")));
    });
  }
});
