// Shared test helpers: run the CLI in-process, and check in-memory sources.
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
