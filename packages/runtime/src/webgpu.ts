// WebGPU for TensorFlow.js: in a browser `navigator.gpu`; in Node, Dawn through the `webgpu`
// package (an optional dependency with prebuilt binaries), installed as `navigator.gpu` so that
// @tensorflow/tfjs-backend-webgpu finds it. Also says what adapter that is: vendor, architecture,
// hardware or software (SwiftShader, llvmpipe, or one that reports itself as a fallback), limits.
// Takes: nothing (the environment). Gives: the adapter's description, or why there is none.
// Must not: throw for a missing package or adapter (that is a reason to skip the backend), or
// pick a software adapter on its own: `auto` uses WebGPU only on hardware (backend.ts).
//
// On Linux without a GPU, Dawn finds SwiftShader (a Vulkan on the CPU, in Debian's chromium
// package) when VK_ICD_FILENAMES names its manifest; Dawn also wants XDG_RUNTIME_DIR set.

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader, llvmpipe) or an adapter that says it is a fallback. */
  software: boolean;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number };
}

export type WebGpuProbe = { ok: true; adapter: AdapterReport } | { ok: false; why: string; hint: string };

/** Debian/Ubuntu's chromium ships SwiftShader's Vulkan driver here. */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

interface GpuLike {
  requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
}

let installed: Promise<GpuLike | string> | undefined;

/** `navigator.gpu`, installing Dawn's in Node when the `webgpu` package is present. A string
 * says why there is none. */
export function nodeGpu(importer: (pkg: string) => Promise<unknown> = (p) => import(p)): Promise<GpuLike | string> {
  installed ??= (async () => {
    const nav = (globalThis as unknown as { navigator?: { gpu?: GpuLike } }).navigator;
    if (nav?.gpu) return nav.gpu;
    let mod: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    try {
      mod = (await importer("webgpu")) as typeof mod;
    } catch (e) {
      return /Cannot find (package|module)|ERR_MODULE_NOT_FOUND/.test(String((e as Error).message))
        ? "the `webgpu` package (Dawn for Node) is not installed"
        : `the \`webgpu\` package does not load: ${String((e as Error).message).split("\n")[0]}`;
    }
    // Dawn prints an error line on every start without it; any writable folder will do.
    process.env["XDG_RUNTIME_DIR"] ??= (await import("node:os")).tmpdir();
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    const g = globalThis as unknown as { navigator?: Record<string, unknown> };
    if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true, writable: true });
    Object.defineProperty(g.navigator!, "gpu", { value: gpu, configurable: true });
    return gpu;
  })();
  return installed;
}

function describe(a: AdapterLike): AdapterReport {
  const info = a.info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ");
  return {
    vendor: info.vendor || "unknown",
    architecture: info.architecture || "unknown",
    device: info.device || "",
    description: info.description || "",
    software: a.isFallbackAdapter === true || info.isFallbackAdapter === true || SOFTWARE.test(text),
    limits: {
      maxBufferSize: a.limits["maxBufferSize"] ?? 0,
      maxStorageBufferBindingSize: a.limits["maxStorageBufferBindingSize"] ?? 0,
      maxComputeWorkgroupStorageSize: a.limits["maxComputeWorkgroupStorageSize"] ?? 0,
    },
  };
}

/** Finds the WebGPU adapter tfjs would use (high-performance preference, as tfjs asks). */
export async function probeWebGpu(importer?: (pkg: string) => Promise<unknown>): Promise<WebGpuProbe> {
  const gpu = await nodeGpu(importer);
  if (typeof gpu === "string")
    return {
      ok: false,
      why: gpu,
      hint:
        "npm install webgpu @tensorflow/tfjs-backend-webgpu (optional dependencies of @resnetc/runtime; an " +
        "install may have skipped them)",
    };
  let adapter: AdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return {
      ok: false,
      why: `requestAdapter failed: ${String((e as Error).message).split("\n")[0]}`,
      hint: vulkanHint(),
    };
  }
  if (!adapter) return { ok: false, why: "no WebGPU adapter found", hint: vulkanHint() };
  return { ok: true, adapter: describe(adapter) };
}

function vulkanHint(): string {
  return process.platform === "linux"
    ? `install your GPU's Vulkan driver; without a GPU, SwiftShader works for testing (apt-get install chromium, ` +
        `then VK_ICD_FILENAMES=${SWIFTSHADER_ICD})`
    : "update the GPU driver (Dawn needs Metal on macOS, D3D12 on Windows)";
}

export function adapterLine(a: AdapterReport): string {
  const name =
    [a.vendor, a.architecture, a.device || a.description].filter((x) => x && x !== "unknown").join(" ") ||
    "unnamed adapter";
  return (
    `${name} (${a.software ? "software: correct but slow" : "hardware"}), max ` +
    `buffer ${(a.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB`
  );
}
