// The golden-file helper every golden test uses: a missing golden fails with a message that
// says how to write it; UPDATE_GOLDEN=1 writes it; a differing one fails. Runs in a temp folder.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { expectGolden } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "resnetc-golden-"));

describe("expectGolden", () => {
  // Stubbed in every case, so `npm run golden` (UPDATE_GOLDEN=1 for the whole run) tests the same.
  afterEach(() => void vi.unstubAllEnvs());

  it("fails when the golden is missing, tells how to write it, and writes nothing", () => {
    vi.stubEnv("UPDATE_GOLDEN", "");
    const golden = join(work, "missing.txt");
    expect(() => expectGolden("output\n", golden)).toThrow(
      new RegExp(
        /golden file .*missing\.txt is missing: /.source +
          /run `UPDATE_GOLDEN=1 npx vitest run test\/helpers\.test\.ts` to write it, then review it/.source,
      ),
    );
    expect(existsSync(golden)).toBe(false);
  });

  it("with UPDATE_GOLDEN=1 writes a missing golden (and its folder), which then passes", () => {
    vi.stubEnv("UPDATE_GOLDEN", "1");
    const golden = join(work, "new", "case.txt");
    expectGolden("output\n", golden);
    expect(readFileSync(golden, "utf8")).toBe("output\n");
    vi.stubEnv("UPDATE_GOLDEN", "");
    expect(() => expectGolden("output\n", golden)).not.toThrow();
  });

  it("fails when the output differs from the golden, and leaves the golden as it was", () => {
    vi.stubEnv("UPDATE_GOLDEN", "");
    const golden = join(work, "old.txt");
    writeFileSync(golden, "old\n");
    expect(() => expectGolden("new\n", golden)).toThrow(
      /output differs from the golden file .*old\.txt; if the change is intended, run `UPDATE_GOLDEN=1/,
    );
    expect(readFileSync(golden, "utf8")).toBe("old\n");
    vi.stubEnv("UPDATE_GOLDEN", "1");
    expectGolden("new\n", golden);
    expect(readFileSync(golden, "utf8")).toBe("new\n");
  });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));
