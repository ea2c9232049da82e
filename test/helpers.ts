// Shared test helpers: run the CLI in-process, check in-memory sources, compare output with
// reviewed golden files, and the shape of the diagnostic-producer tables the docs test runs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { check, type Host } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";
import type { Graph } from "../src/ir/ir.js";

export const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], cwd = repoRoot): CliRun {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(args, { cwd, out: (s) => out.push(s), err: (s) => err.push(s) });
  if (typeof code !== "number") throw new Error(`resnetc ${args[0]} is asynchronous: use runCliAsync`);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

export async function runCliAsync(args: string[], cwd = repoRoot): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { cwd, out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** A host whose files live in memory, falling back to the real std/ library for std imports. */
export function memoryHost(files: Record<string, string>): Host {
  const real = nodeHost(repoRoot);
  return {
    readFile(path) {
      if (path in files) return new TextEncoder().encode(files[path]!);
      return real.readFile(path);
    },
    resolveImport(from, spec) {
      if (spec in files) return spec;
      return real.resolveImport(from, spec);
    },
  };
}

/** Checks one in-memory program; returns its graphs and diagnostics. */
export function checkSource(source: string, model?: string) {
  const host = memoryHost({ "main.resnet": source });
  return check(["main.resnet"], host, model === undefined ? {} : { model });
}

export function graphOf(source: string, model?: string): Graph {
  const r = checkSource(source, model);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`unexpected errors: ${errors.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  if (r.graphs.length !== 1) throw new Error(`expected one graph, got ${r.graphs.length}`);
  return r.graphs[0]!;
}

export function codes(source: string): string[] {
  return checkSource(source).diagnostics.map((d) => d.code);
}

/**
 * Compares `actual` with the golden file at `path` (absolute, or relative to the repository).
 * A missing golden fails like a wrong one: a golden written on the fly would pin output nobody
 * has read. With UPDATE_GOLDEN=1 the file is written instead (only when it changes), so that
 * the change shows in `git diff` and is reviewed there before it is committed.
 */
export function expectGolden(actual: string, path: string): void {
  const file = isAbsolute(path) ? path : join(repoRoot, path);
  const shown = relative(repoRoot, file);
  if (process.env["UPDATE_GOLDEN"] === "1") {
    if (existsSync(file) && readFileSync(file, "utf8") === actual) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  const testPath = expect.getState().testPath;
  const rerun = `UPDATE_GOLDEN=1 npx vitest run ${testPath ? relative(repoRoot, testPath) : ""}`.trimEnd();
  if (!existsSync(file))
    throw new Error(
      `golden file ${shown} is missing: run \`${rerun}\` to write it, then review it (git status, git diff) ` +
        `before committing it`,
    );
  expect(
    actual,
    `output differs from the golden file ${shown}; if the change is intended, run \`${rerun}\` and review the diff`,
  ).toBe(readFileSync(file, "utf8"));
}

/**
 * Cases that make real code emit a diagnostic no program in test/bad produces alone (a flag, an
 * emitter, a checkpoint), keyed by the code each must produce; each returns the codes it got.
 * A test file exports its table as `diagnosticProducers`, and test/docs.test.ts runs it to show
 * that every code in the messages table has a producer. The docs test imports the file with
 * its tests and hooks switched off, so an entry must not rely on the file's beforeAll.
 */
export type DiagnosticProducers = Record<string, () => Iterable<string> | Promise<Iterable<string>>>;

/** The codes in CLI output (`file:line:col error RN123 message`). */
export function codesIn(output: string): string[] {
  return [...output.matchAll(/ (?:error|warning) (RN\d{3}) /g)].map((m) => m[1]!);
}

/**
 * A test that runs onnx.checker.check_model(full_check=True) over the ONNX files `paths()` gives,
 * with Debian's python3-onnx in /usr/bin/python3. Where it is not installed the test is skipped
 * with a warning, except under CI, where that is a failing test instead.
 */
export function itPassesOnnxChecker(title: string, paths: () => string[], timeout = 120_000): void {
  const available = spawnSync("/usr/bin/python3", ["-c", "import onnx"], { encoding: "utf8" }).status === 0;
  if (!available) {
    const why = "python3-onnx is not installed (apt-get install python3-onnx); skipping onnx.checker";
    if (process.env["CI"]) it("python3-onnx must be installed in CI", () => expect.fail(why));
    else console.warn(why);
  }
  it.runIf(available)(
    title,
    () => {
      const files = paths();
      expect(files.length).toBeGreaterThan(0);
      const script =
        "import onnx, sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), " +
        "full_check=True)\nprint('ok', len(sys.argv) - 1)";
      expect(execFileSync("/usr/bin/python3", ["-c", script, ...files], { encoding: "utf8" }).trim()).toBe(
        `ok ${files.length}`,
      );
    },
    timeout,
  );
}
