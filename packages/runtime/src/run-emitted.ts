// `resnetc train FILE`: runs the TypeScript program the compiler emitted, in this process, without
// a build step. The compiler (which has no TypeScript or tfjs dependency) hands over the emitted
// texts, emitted with the imports emittedModuleUrls() gives (this installation's tfjs and
// runtime); this module transpiles model.ts and calls runTraining.
// Takes: the emitted `model.ts` text and the training options. Gives: an exit code.
// Must not: leave its temporary folder behind.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { InputInfo } from "./train.js";
import type { ParamInfo } from "./params.js";

interface EmittedModel {
  buildModel: () => never;
  INPUTS: InputInfo[];
  PARAMS: ParamInfo[];
  CLASSES: number;
  MODEL_NAME: string;
}

/** The module specifiers `resnetc train` has the emitter write (the temporary folder the program
 * runs from has no node_modules): file URLs of this package and of its tfjs. */
export function emittedModuleUrls(): { runtime: string; tfjs: string } {
  const require = createRequire(import.meta.url);
  return {
    runtime: new URL("./index.js", import.meta.url).href,
    tfjs: pathToFileURL(require.resolve("@tensorflow/tfjs")).href,
  };
}

export async function trainEmitted(modelTs: string, argv: string[]): Promise<number> {
  const ts = (await import("typescript")).default;
  const js = ts.transpileModule(modelTs, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const dir = mkdtempSync(join(tmpdir(), "resnetc-train-"));
  try {
    writeFileSync(join(dir, "model.mjs"), js);
    const mod = (await import(pathToFileURL(join(dir, "model.mjs")).href)) as EmittedModel;
    const { runTraining } = await import("./train.js");
    return await runTraining({
      name: mod.MODEL_NAME,
      buildModel: mod.buildModel,
      inputs: mod.INPUTS,
      params: mod.PARAMS,
      classes: mod.CLASSES,
      argv,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
