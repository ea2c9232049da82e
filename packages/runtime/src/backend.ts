// Picks the fastest TensorFlow.js backend present: tfjs-node-gpu (CUDA), then WebGPU on a
// hardware adapter (any GPU with a Vulkan, Metal or D3D12 driver: Dawn in Node, the browser's
// own elsewhere), then tfjs-node, then wasm with resnetc's kernels, then the pure-JS cpu
// backend; and says which runs, why the faster ones were skipped, and how to get one. A software
// WebGPU adapter (SwiftShader, llvmpipe, a fallback adapter) is used only when asked for
// (`--backend webgpu`): it proves the path, on the CPU, far slower than wasm.
// Takes: an optional preference and an injectable importer (for tests). Gives: the choice.
// Must not: exit the process; a package present without its native part fails to import, and
// that is a reason to skip it, not an error.

import * as tf from "@tensorflow/tfjs";
import { registerFastCpuKernels } from "./kernels.js";
import { registerWasmTrainingKernels } from "./wasm-kernels.js";
import { registerFusedBatchNorm } from "./batchnorm.js";
import { registerSpikeKernels } from "./layers-spike.js";
import { registerThreadedWasm } from "./wasm-threads.js";
import { registerReluGrad } from "./relu-grad.js";
import { adapterLine, probeWebGpu, type AdapterReport } from "./webgpu.js";
import { registerWebGpuKernels } from "./webgpu-kernels.js";

export type BackendName = "node-gpu" | "webgpu" | "node" | "wasm" | "cpu";

export interface BackendChoice {
  name: BackendName;
  package: string;
  reason: string;
  skipped: string[];
  advice?: string;
  /** The WebGPU adapter, when the backend is webgpu. */
  adapter?: AdapterReport;
}

/** The backends, fastest first: `chooseBackend` tries them in this order and `resnetc doctor`
 * reports each (one list, so the two cannot disagree). */
export const CANDIDATES: readonly { name: BackendName; pkg: string; backend: string }[] = [
  { name: "node-gpu", pkg: "@tensorflow/tfjs-node-gpu", backend: "tensorflow" },
  { name: "webgpu", pkg: "@tensorflow/tfjs-backend-webgpu", backend: "webgpu" },
  { name: "node", pkg: "@tensorflow/tfjs-node", backend: "tensorflow" },
  { name: "wasm", pkg: "@tensorflow/tfjs-backend-wasm", backend: "wasm" },
  { name: "cpu", pkg: "@tensorflow/tfjs", backend: "cpu" },
];

/** Names accepted by --backend besides the canonical ones (tfjs's own backend names). */
const ALIASES: Record<string, BackendName | "auto"> = {
  auto: "auto",
  "tensorflow-gpu": "node-gpu",
  tensorflow: "node",
};
export const BACKEND_NAMES = ["auto", ...CANDIDATES.map((c) => c.name)].join(", ");

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0]!.slice(0, 160);
}

class Skip extends Error {}

export async function chooseBackend(
  opts: { prefer?: string; importer?: (pkg: string) => Promise<unknown> } = {},
): Promise<BackendChoice> {
  const importer = opts.importer ?? ((p: string) => import(p));
  const skipped: string[] = [];
  const wanted = opts.prefer === undefined ? "auto" : (ALIASES[opts.prefer] ?? opts.prefer);
  const order = wanted === "auto" ? CANDIDATES : CANDIDATES.filter((c) => c.name === wanted);
  if (order.length === 0) throw new Error(`unknown backend ${opts.prefer} (${BACKEND_NAMES})`);
  const forced = wanted !== "auto";
  for (const c of order) {
    try {
      let adapter: AdapterReport | undefined;
      if (c.name === "webgpu") {
        const probe = await probeWebGpu(opts.importer);
        if (!probe.ok) throw new Skip(`${probe.why} (${probe.hint})`);
        adapter = probe.adapter;
        if (adapter.software && !forced)
          throw new Skip(`only a software adapter (${adapterLine(adapter)}); --backend webgpu uses it anyway`);
      }
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
      if (c.name === "webgpu") registerWebGpuKernels();
      if (c.name === "cpu" || c.name === "wasm") {
        registerFusedBatchNorm(c.name);
        registerSpikeKernels(c.name);
        registerReluGrad(c.name);
      }
      const ours =
        c.name === "cpu"
          ? "; with resnetc's training kernels"
          : c.name === "wasm"
            ? `; ${wasmThreads()}, with resnetc's training kernels`
            : adapter
              ? `; ${adapterLine(adapter)}`
              : "";
      const choice: BackendChoice = {
        name: c.name,
        package: c.pkg,
        reason:
          (forced ? "as asked" : skipped.length ? "the faster ones did not load" : "the fastest available") + ours,
        skipped,
      };
      if (adapter) choice.adapter = adapter;
      if (c.name === "cpu" || c.name === "wasm" || adapter?.software)
        choice.advice =
          "for real training speed use a GPU: WebGPU on any GPU with a Vulkan, Metal or D3D12 driver (npm install " +
          "webgpu @tensorflow/tfjs-backend-webgpu), or @tensorflow/tfjs-node-gpu (CUDA 11.2); `resnetc doctor` " +
          "checks what this machine has";
      return choice;
    } catch (e) {
      const why =
        e instanceof Skip
          ? e.message
          : /Cannot find (package|module)/.test(firstLine(e))
            ? "not installed"
            : firstLine(e);
      skipped.push(`${c.pkg}: ${why}`);
      if (forced) throw new Error(`backend ${opts.prefer} is not available: ${why}`);
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
