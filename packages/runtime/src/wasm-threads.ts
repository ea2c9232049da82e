// Multi-threaded wasm in Node. @tensorflow/tfjs-backend-wasm ships a threaded SIMD build
// (XNNPACK on a pthreadpool) but only ever loads it in browsers: its loader hands the worker
// script to emscripten as a Blob URL, which Node's worker_threads cannot start. And the build
// sizes its pool as half the logical cores (it assumes two hyper-threads per core), so on a
// 2-core machine it would use one thread anyway. This module loads the same threaded build
// with file paths for the worker and main scripts, reports the cores as they are, and registers
// it as the `wasm` backend; every wasm kernel (and resnetc's) then runs on it unchanged.
// Takes: the number of threads. Gives: whether the threaded backend is registered.
// Must not: break the plain wasm backend: on any failure it leaves the stock registration.

import { writeFileAtomic } from "resnetc/io";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";

type EmscriptenModule = {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: unknown;
  PThread?: { runningWorkers: { unref?(): void }[]; unusedWorkers: { unref?(): void }[] };
};

let registered: number | undefined;

/** Writes `text` to `path` unless it is already there (atomically, so parallel runs agree). */
function ensureFile(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return;
  writeFileAtomic(path, text);
}

/** Registers the threaded wasm backend with `threads` threads (default: every core). Returns the
 * thread count, or 0 where threads are not possible (no SharedArrayBuffer, or the package's
 * layout is not the one this was written for); then the stock single-threaded backend stays. */
export function registerThreadedWasm(threads = os.cpus().length): number {
  if (registered !== undefined) return registered;
  registered = 0;
  if (threads < 2 || typeof SharedArrayBuffer === "undefined" || process.env["RESNETC_WASM_THREADS"] === "0") return 0;
  try {
    const require = createRequire(import.meta.url);
    const pkg = require("@tensorflow/tfjs-backend-wasm") as {
      BackendWasm: new (m: unknown) => tf.KernelBackend;
      setThreadsCount(n: number): void;
      version_wasm: string;
    };
    const factoryPath = require.resolve("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js");
    const factory = require(factoryPath) as (config: object) => Promise<EmscriptenModule>;
    const { wasmWorkerContents } =
      require("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js") as {
        wasmWorkerContents: string;
      };
    if (typeof factory !== "function" || typeof wasmWorkerContents !== "string") return 0;
    const dir = join(os.tmpdir(), `resnetc-wasm-threads-${pkg.version_wasm}`);
    mkdirSync(dir, { recursive: true });
    const workerJs = join(dir, "worker.js");
    const mainJs = join(dir, "main.js");
    // As tfjs's loader does before making its Blob: newlines inside the script's strings stay escaped.
    ensureFile(workerJs, wasmWorkerContents.replace(/\n/g, "\\n"));
    ensureFile(mainJs, `var WasmBackendModuleThreadedSimd = ${factory.toString()}`);
    const wasmFile = join(dirname(factoryPath), "tfjs-backend-wasm-threaded-simd.wasm");
    if (!existsSync(wasmFile)) return 0;

    const engine = tf.engine() as unknown as {
      registryFactory: Record<string, { factory: () => Promise<tf.KernelBackend>; priority: number } | undefined>;
    };
    const stock = engine.registryFactory["wasm"];
    if (!stock) return 0;
    tf.removeBackend("wasm");
    tf.registerBackend(
      "wasm",
      async () => {
        try {
          return await threaded();
        } catch {
          // Not this package's layout after all, or no threads here: the stock backend.
          registered = 0;
          return stock.factory();
        }
      },
      stock.priority,
    );
    const threaded = async (): Promise<tf.KernelBackend> => {
      // The build's pool is min(requested, logical cores / 2): report each core twice while
      // the module starts so that it can use every core.
      const cpus = os.cpus;
      os.cpus = () => {
        const c = cpus();
        return [...c, ...c];
      };
      let module: EmscriptenModule;
      try {
        module = await factory({
          locateFile: (p: string) => (p.endsWith(".worker.js") ? workerJs : p.endsWith(".wasm") ? wasmFile : p),
          mainScriptUrlOrBlob: mainJs,
        });
      } finally {
        os.cpus = cpus;
      }
      module.tfjs = {
        init: module.cwrap("init", null, []),
        initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
        getThreadsCount: module.cwrap("get_threads_count", "number", []),
        registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
        disposeData: module.cwrap("dispose_data", null, ["number"]),
        dispose: module.cwrap("dispose", null, []),
      };
      pkg.setThreadsCount(threads);
      const backend = new pkg.BackendWasm(module);
      // The pool's threads are Node workers that would keep the process alive after the program
      // ends; they run while the main thread waits for them, so unreferenced is enough.
      for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])])
        w.unref?.();
      return backend;
    };
    registered = threads;
    return threads;
  } catch {
    return 0;
  }
}
