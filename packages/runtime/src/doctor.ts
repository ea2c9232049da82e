// `resnetc doctor`: which TensorFlow.js backends load on this machine, which one emitted
// programs will use, and for tfjs-node-gpu the CUDA and cuDNN it needs against those found,
// with the fix for each problem; for wasm, its threads and whether resnetc's SIMD kernels run.
// Takes: probes (injectable for tests). Gives: a report and an
// exit code (0 when at least the cpu backend works). Must not: install or change anything.

import { execFileSync } from "node:child_process";
import { CANDIDATES } from "./backend.js";
import { adapterLine, probeWebGpu, type WebGpuProbe } from "./webgpu.js";

/** tfjs-node(-gpu) 4.x binds libtensorflow 2.9.1, built against CUDA 11.2 and cuDNN 8.1
 * (tfjs-node's README, "GPU support"; its scripts/deps-constants.js pins LIBTENSORFLOW_VERSION). */
export const NEEDS = { libtensorflow: "2.9.1", cuda: "11.2", cudnn: "8.1" };

export interface Probe {
  importPackage(pkg: string): Promise<unknown>;
  /** Starts the wasm backend as emitted programs do: its thread count and whether resnetc's SIMD
   * kernels run on it. */
  wasm?(): Promise<{ threads: number; simd: boolean }>;
  run(cmd: string, args: string[]): { code: number; stdout: string };
  nodeVersion: string;
  /** The WebGPU adapter (Dawn in Node), or why there is none. */
  webgpu?(): Promise<WebGpuProbe>;
}

export const realProbe: Probe = {
  importPackage: (pkg) => import(pkg),
  webgpu: () => probeWebGpu(),
  async wasm() {
    const { chooseBackend } = await import("./backend.js");
    const { simdKernels } = await import("./simd.js");
    const tf = await import("@tensorflow/tfjs");
    await chooseBackend({ prefer: "wasm" });
    const b = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
    return { threads: Math.max(1, b.wasm?.tfjs?.getThreadsCount?.() ?? 1), simd: simdKernels(b) !== undefined };
  },
  run(cmd, args) {
    try {
      return {
        code: 0,
        stdout: execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }),
      };
    } catch (e) {
      return { code: 1, stdout: String((e as { stdout?: string }).stdout ?? "") };
    }
  },
  nodeVersion: process.version,
};

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
}

/** Versions of a shared library the dynamic linker knows, e.g. libcudart.so.11.0 -> ["11.0"]. */
function libVersions(ldconfig: string, lib: string): string[] {
  const found = new Set<string>();
  for (const line of ldconfig.split("\n")) {
    const m = new RegExp(`${lib}\\.so\\.([0-9.]+)`).exec(line);
    if (m) found.add(m[1]!);
  }
  return [...found].sort();
}

export async function doctor(io: { out(s: string): void }, probe: Probe = realProbe): Promise<number> {
  io.out(`node ${probe.nodeVersion}`);
  const results: { name: string; pkg: string; ok: boolean; why: string }[] = [];
  let webgpu: WebGpuProbe | undefined;
  for (const { name, pkg } of CANDIDATES) {
    try {
      await probe.importPackage(pkg);
      if (name === "webgpu") {
        // Loading the package is not enough: auto uses WebGPU on a hardware adapter only.
        const w = probe.webgpu ? await probe.webgpu() : ({ ok: false, why: "not probed", hint: "" } as const);
        webgpu = w;
        if (!w.ok) results.push({ name, pkg, ok: false, why: `loads; ${w.why}` });
        else
          results.push({
            name,
            pkg,
            ok: !w.adapter.software,
            why: w.adapter.software
              ? `loads; software adapter only (used with --backend webgpu)`
              : "loads; hardware adapter",
          });
        continue;
      }
      results.push({ name, pkg, ok: true, why: "loads" });
    } catch (e) {
      const msg = firstLine(e);
      results.push({
        name,
        pkg,
        ok: false,
        why: /Cannot find (package|module)|ERR_MODULE_NOT_FOUND/.test(msg)
          ? "not installed"
          : `installed but does not load: ${msg}`,
      });
    }
  }
  io.out("backends, fastest first:");
  for (const r of results) io.out(`  ${r.ok ? "ok  " : "--  "} ${r.name.padEnd(15)} ${r.pkg.padEnd(31)} ${r.why}`);
  const best = results.find((r) => r.ok);
  io.out(best ? `emitted programs will use: ${best.name}` : "no backend loads: reinstall @tensorflow/tfjs");
  const byName = (n: string) => results.find((r) => r.name === n)!;
  if (byName("wasm").ok && probe.wasm) {
    try {
      const w = await probe.wasm();
      io.out(
        `wasm: XNNPACK on ${w.threads} ` +
          `thread${w.threads === 1 ? "" : "s"}` +
          `${w.threads === 1 ? " (RESNETC_WASM_THREADS=0, one core, or no SharedArrayBuffer)" : ""}; resnetc's ` +
          `SIMD kernels (Winograd convolutions, training gradients): ` +
          `${w.simd ? "on" : "off (RESNETC_WASM_SIMD=0, or this engine has no WebAssembly SIMD)"}`,
      );
    } catch (e) {
      io.out(`wasm: loads but does not start: ${firstLine(e)}`);
    }
  }

  // WebGPU: the adapter, hardware or software, and its limits; or what is missing.
  if (webgpu?.ok)
    io.out(
      `WebGPU adapter: ${adapterLine(webgpu.adapter)}; max storage ` +
        `binding ${(webgpu.adapter.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, workgroup ` +
        `storage ${(webgpu.adapter.limits.maxComputeWorkgroupStorageSize / 1024).toFixed(0)} KiB`,
    );
  else io.out(`WebGPU: ${webgpu ? webgpu.why : "@tensorflow/tfjs-backend-webgpu not installed"}`);

  // GPU: what tfjs-node-gpu needs against what this machine has.
  const smi = probe.run("nvidia-smi", ["--query-gpu=name,driver_version", "--format=csv,noheader"]);
  const ld = probe.run("ldconfig", ["-p"]);
  const cudart = libVersions(ld.stdout, "libcudart");
  const cudnn = libVersions(ld.stdout, "libcudnn");
  io.out(`GPU (for @tensorflow/tfjs-node-gpu, libtensorflow ${NEEDS.libtensorflow}):`);
  io.out(
    `  GPU and driver: ` +
      `${smi.code === 0 && smi.stdout.trim() ? smi.stdout.trim().split("\n").join("; ") : "not found (nvidia-smi)"}`,
  );
  io.out(
    `  CUDA runtime:   needs ${NEEDS.cuda}, ` +
      `found ${cudart.length ? cudart.map((v) => `libcudart.so.${v}`).join(", ") : "none"}`,
  );
  io.out(
    `  cuDNN:          needs ${NEEDS.cudnn}, ` +
      `found ${cudnn.length ? cudnn.map((v) => `libcudnn.so.${v}`).join(", ") : "none"}`,
  );
  const fixes: string[] = [];
  const gpu = byName("node-gpu");
  const cpuNative = byName("node");
  if (!gpu.ok) {
    if (gpu.why === "not installed")
      fixes.push(
        "for the GPU: `npm install @tensorflow/tfjs-node-gpu` (its install script downloads libtensorflow from " +
          "storage.googleapis.com: that host must be reachable)",
      );
    else
      fixes.push(
        "tfjs-node-gpu is present without its native part: `npm rebuild @tensorflow/tfjs-node-gpu` where " +
          "storage.googleapis.com is reachable (npm may also have skipped its install script: `npm " +
          "install-scripts ls`)",
      );
  }
  if (smi.code !== 0)
    fixes.push(
      "no NVIDIA driver found: install the driver for your GPU (nvidia-smi must work) before tfjs-node-gpu can use it",
    );
  if (!cudart.some((v) => v.startsWith("11")))
    fixes.push(
      `install the CUDA ${NEEDS.cuda} runtime (libcudart.so.11.0) and put it on the linker path (ldconfig or ` +
        `LD_LIBRARY_PATH)`,
    );
  if (!cudnn.some((v) => v.startsWith("8"))) fixes.push(`install cuDNN ${NEEDS.cudnn} for CUDA 11 (libcudnn.so.8)`);
  if (!webgpu?.ok || webgpu.adapter.software)
    fixes.push(
      `for WebGPU (any GPU with a Vulkan, Metal or D3D12 ` +
        `driver): ${webgpu && !webgpu.ok && webgpu.hint ? webgpu.hint : "a GPU and its driver"}`,
    );
  if (!cpuNative.ok)
    fixes.push(
      "without a GPU, `npm install @tensorflow/tfjs-node` (libtensorflow on the CPU) trains faster than the wasm " +
        "and cpu backends (multi-threaded, oneDNN)",
    );
  if (fixes.length) {
    io.out("to get a faster backend:");
    for (const f of fixes) io.out(`  - ${f}`);
  }
  return byName("cpu").ok ? 0 : 1;
}
