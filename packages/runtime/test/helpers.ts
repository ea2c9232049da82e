// Helpers of the runtime's tests: where things are, and the resnetc CLI run in-process (through
// resnetc's public API, as a user of both packages would).
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { Writable } from "node:stream";
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

/**
 * Compiles DIR/tiny.resnet to DIR/gen and gives a function that trains it in this process with
 * the options given, its output collected (not a terminal, so one line per state).
 */
export async function inProcessTrainer(
  dir: string,
): Promise<(argv: string[]) => Promise<{ code: number; text: string }>> {
  const gen = join(dir, "gen");
  const compiled = await runCliAsync(["compile", join(dir, "tiny.resnet"), "--target", "ts", "-o", gen]);
  if (compiled.code !== 0) throw new Error(`compile failed: ${compiled.stderr}`);
  const mod = await import(join(gen, "model.ts"));
  const { runTraining } = await import("@resnetc/runtime");
  return async (argv) => {
    const lines: string[] = [];
    const out = Object.assign(new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }), { isTTY: false });
    const code = await runTraining({
      name: mod.MODEL_NAME,
      buildModel: mod.buildModel,
      inputs: mod.INPUTS,
      params: mod.PARAMS,
      classes: mod.CLASSES,
      argv,
      out,
    });
    return { code, text: lines.join("") };
  };
}
