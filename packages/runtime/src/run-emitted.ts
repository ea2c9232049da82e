// `resnetc train FILE`: runs the TypeScript program the compiler emitted, in this process, without
// a build step. The compiler (which has no TypeScript or tfjs dependency) hands over the emitted
// texts; this module transpiles model.ts, points its imports at this installation's tfjs and
// runtime, and calls runTraining.
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

/** The emitted module specifiers, resolved from this package (the temp folder has no node_modules). */
function resolvedImports(): Record<string, string> {
  const require = createRequire(import.meta.url);
  return {
    "@tensorflow/tfjs": pathToFileURL(require.resolve("@tensorflow/tfjs")).href,
    "@resnetc/runtime": new URL("./index.js", import.meta.url).href,
  };
}

export async function trainEmitted(modelTs: string, argv: string[]): Promise<number> {
  const ts = (await import("typescript")).default;
  let js = ts.transpileModule(modelTs, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  for (const [spec, url] of Object.entries(resolvedImports()))
    js = js.split(`from "${spec}"`).join(`from ${JSON.stringify(url)}`);
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
