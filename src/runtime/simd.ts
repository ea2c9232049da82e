// resnetc's SIMD kernels (simd.wat) instantiated on the wasm backend's own memory, so they work
// in place on tfjs tensors: batch norm's sums and affine maps, and the layout changes of the
// convolution gradients. JavaScript runs these loops ~10x slower.
// Takes: the wasm backend. Gives: `simdKernels(backend)`: the module's functions and a scratch
// allocator on the heap, or undefined where the module cannot run on it (then callers use their
// JavaScript loops); RESNETC_WASM_SIMD=0 turns it off (for comparisons).
// Must not: keep scratch memory (`withScratch` frees it) or hold views of the heap across an
// allocation (the heap may grow and move).

import { SIMD_PLAIN, SIMD_SHARED } from "./simd-wasm.js";

type Ptr = number;
export interface SimdExports {
  colsum(x: Ptr, rows: number, c: number, out: Ptr): void;
  colsumSqDev(x: Ptr, rows: number, c: number, mean: Ptr, out: Ptr): void;
  colsumGrad(dy: Ptr, x: Ptr, rows: number, c: number, mean: Ptr, outB: Ptr, outG: Ptr): void;
  affine(x: Ptr, y: Ptr, rows: number, c: number, s: Ptr, t: Ptr): void;
  affine2(u: Ptr, v: Ptr, out: Ptr, rows: number, c: number, a: Ptr, b: Ptr, d: Ptr): void;
  phasePlanes(x: Ptr, n: number, h: number, w: number, c: number, sh: number, sw: number, top: number, left: number, hq: number, wq: number, out: Ptr): void;
  gridPad(x: Ptr, n: number, ho: number, wo: number, c: number, hq: number, wq: number, out: Ptr): void;
}

/** The parts of tfjs's wasm backend this uses. */
export interface WasmHeapBackend {
  wasm: {
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
  };
  dataIdMap: { get(id: object): { memoryOffset: number } };
}

export interface Simd {
  fn: SimdExports;
  /** Byte offset of a tensor's data in the heap. */
  ptr(t: { dataId: object }): number;
  /** Runs `f` with `bytes` of zeroed heap scratch at a 16-byte aligned offset, then frees it. */
  withScratch<T>(bytes: number, f: (at: number) => T): T;
  /** Views of the heap; fetch them after any allocation. */
  f32(at: number, length: number): Float32Array;
  f64(at: number, length: number): Float64Array;
}

const cache = new WeakMap<object, Simd | null>();

export function simdKernels(backend: unknown): Simd | undefined {
  if (process.env["RESNETC_WASM_SIMD"] === "0") return undefined;
  const b = backend as WasmHeapBackend;
  const mod = b?.wasm;
  if (!mod) return undefined;
  const known = cache.get(mod);
  if (known !== undefined) return known ?? undefined;
  let made: Simd | null = null;
  try {
    const memory = mod.wasmMemory ?? mod.asm?.memory;
    if (memory instanceof WebAssembly.Memory) {
      const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
      const bytes = Buffer.from(shared ? SIMD_SHARED : SIMD_PLAIN, "base64");
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const fn = instance.exports as unknown as SimdExports;
      made = {
        fn,
        ptr: (t) => b.dataIdMap.get(t.dataId).memoryOffset,
        withScratch(bytes, f) {
          const raw = mod._malloc(bytes + 16) >>> 0;
          const at = (raw + 15) & ~15;
          new Uint8Array(memory.buffer, at, bytes).fill(0);
          try {
            return f(at);
          } finally {
            mod._free(raw);
          }
        },
        f32: (at, length) => new Float32Array(memory.buffer, at, length),
        f64: (at, length) => new Float64Array(memory.buffer, at, length),
      };
    }
  } catch {
    made = null; // no SIMD in this engine, or a memory it cannot import: the JavaScript loops run
  }
  cache.set(mod, made);
  return made ?? undefined;
}
