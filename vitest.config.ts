// Vitest settings for the whole suite.
// Takes: nothing. Gives: a per-test time limit of 60 s where a test sets none: on a loaded 2-core
// machine (CI, or several suites at once) a test that takes 1 s alone took 5-7 s, past vitest's 5 s
// default. Must not: hide a hang (60 s is still a limit) or change what any test asserts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
