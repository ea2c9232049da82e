// Helpers of the runtime's tests: where things are, and the resnetc CLI run in-process (through
// resnetc's public API, as a user of both packages would).
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { main } from "resnetc";

/** This package's folder (packages/runtime). */
export const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The resnetc installation the runtime runs beside (its examples/ are the models trained here). */
export const resnetcRoot = dirname(createRequire(import.meta.url).resolve("resnetc/package.json"));
/** Scratch space for emitted programs: inside this package, so `@resnetc/runtime` and tfjs resolve. */
export const outDir = join(pkgRoot, "out");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCliAsync(args: string[], cwd = resnetcRoot): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { cwd, out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}
