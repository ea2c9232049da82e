// Picks the fastest TensorFlow.js backend present: tfjs-node-gpu, then tfjs-node, then wasm
// (when @tensorflow/tfjs-backend-wasm is installed), then the pure-JS cpu backend; and says
// which runs, why the faster ones were skipped, and how to get one.
// Takes: an optional preference and an injectable importer (for tests). Gives: the choice.
// Must not: exit the process; a package present without its native part fails to import, and
// that is a reason to skip it, not an error.

import * as tf from "@tensorflow/tfjs";
import { registerFastCpuKernels } from "./kernels.js";
import { registerWasmTrainingKernels } from "./wasm-kernels.js";
import { registerFusedBatchNorm } from "./batchnorm.js";
import { registerThreadedWasm } from "./wasm-threads.js";
import { registerReluGrad } from "./relu-grad.js";

export interface BackendChoice {
  name: "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
  package: string;
  reason: string;
  skipped: string[];
  advice?: string;
}

/** The backends, fastest first: `chooseBackend` tries them in this order and `resnetc doctor`
 * reports each (one list, so the two cannot disagree). */
export const CANDIDATES: readonly { name: BackendChoice["name"]; pkg: string; backend: string }[] = [
  { name: "tensorflow-gpu", pkg: "@tensorflow/tfjs-node-gpu", backend: "tensorflow" },
  { name: "tensorflow", pkg: "@tensorflow/tfjs-node", backend: "tensorflow" },
  { name: "wasm", pkg: "@tensorflow/tfjs-backend-wasm", backend: "wasm" },
  { name: "cpu", pkg: "@tensorflow/tfjs", backend: "cpu" },
];

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0]!.slice(0, 160);
}

export async function chooseBackend(opts: { prefer?: string; importer?: (pkg: string) => Promise<unknown> } = {}): Promise<BackendChoice> {
  const importer = opts.importer ?? ((p: string) => import(p));
  const skipped: string[] = [];
  const order = opts.prefer ? CANDIDATES.filter((c) => c.name === opts.prefer) : CANDIDATES;
  if (opts.prefer && order.length === 0) throw new Error(`unknown backend ${opts.prefer} (tensorflow-gpu, tensorflow, wasm, cpu)`);
  for (const c of order) {
    try {
      if (c.name !== "cpu") await importer(c.pkg);
      // The threaded build when the real package is loaded (an injected importer tests the choice alone).
      if (c.name === "wasm" && !opts.importer) registerThreadedWasm();
      if (!(await tf.setBackend(c.backend))) throw new Error(`tf.setBackend("${c.backend}") failed`);
      await tf.ready();
      // The cpu backend prints its own "install tfjs-node" banner on first use; ours (describeChoice)
      // already says which backend runs and how to get a faster one.
      const b = tf.backend() as unknown as { firstUse?: boolean };
      if (c.name === "cpu" && "firstUse" in b) b.firstUse = false;
      if (c.name === "cpu") registerFastCpuKernels();
      if (c.name === "wasm") registerWasmTrainingKernels();
      if (c.name === "cpu" || c.name === "wasm") {
        registerFusedBatchNorm(c.name);
        registerReluGrad(c.name);
      }
      const ours = c.name === "cpu" ? "; with resnetc's training kernels" : c.name === "wasm" ? `; ${wasmThreads()}, with resnetc's training kernels` : "";
      const choice: BackendChoice = { name: c.name, package: c.pkg, reason: (skipped.length ? "the faster ones did not load" : "the fastest available") + ours, skipped };
      if (c.name === "cpu" || c.name === "wasm")
        choice.advice = "for real training speed install @tensorflow/tfjs-node (CPU, uses libtensorflow) or @tensorflow/tfjs-node-gpu (CUDA); `resnetc doctor` checks what this machine has";
      return choice;
    } catch (e) {
      const why = /Cannot find (package|module)/.test(firstLine(e)) ? "not installed" : firstLine(e);
      skipped.push(`${c.pkg}: ${why}`);
      if (opts.prefer) throw new Error(`backend ${opts.prefer} is not available: ${why}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.join("; ")}`);
}

/** "N threads" of the running wasm backend (XNNPACK's pool). */
function wasmThreads(): string {
  const b = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  const n = Math.max(1, b.wasm?.tfjs?.getThreadsCount?.() ?? 1);
  return `${n} thread${n === 1 ? "" : "s"}`;
}

export function describeChoice(c: BackendChoice): string {
  const lines = [`backend: ${c.name} (${c.package}), ${c.reason}`];
  for (const s of c.skipped) lines.push(`  skipped ${s}`);
  if (c.advice) lines.push(`  ${c.advice}`);
  return lines.join("\n");
}
