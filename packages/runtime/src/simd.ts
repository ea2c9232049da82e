// resnetc's SIMD kernels (simd.wat) instantiated on the wasm backend's own memory, so they work
// in place on tfjs tensors: Winograd convolutions and filter gradients, the filter gradient's
// blocked product, batch norm's sums and affine maps, ReLU and its gradient, copies. JavaScript
// runs such loops ~10x slower, and XNNPACK has no kernels for the gradients.
// On tfjs's threaded build (shared memory) a helper thread instantiates the same module on the
// same memory, and `both` runs one call on each thread (for kernels that split their output):
// while resnetc's kernels run, XNNPACK's own thread pool is idle, so this uses the second core.
// Takes: the wasm backend. Gives: `simdKernels(backend)`: the module's functions, `both`, and a
// scratch allocator on the heap; or undefined where the module cannot run on it (callers then
// use their JavaScript loops or the backend's kernels). RESNETC_WASM_SIMD=0 turns it off and
// RESNETC_WASM_THREADS=0 the helper thread (for comparisons).
// Must not: keep scratch memory (`withScratch` frees it); hold views of the heap across an
// allocation (the heap may grow and move); keep a process alive (the helper is unreferenced);
// hang when the helper cannot start (it then runs both calls on this thread).

import os from "node:os";
import { Worker } from "node:worker_threads";
import { SIMD_PLAIN, SIMD_SHARED } from "./simd-wasm.js";

type Ptr = number;
export interface SimdExports {
  colsum(x: Ptr, rows: number, c: number, out: Ptr): void;
  colsumSqDev(x: Ptr, rows: number, c: number, mean: Ptr, out: Ptr): void;
  colsumGrad(dy: Ptr, x: Ptr, rows: number, c: number, mean: Ptr, outB: Ptr, outG: Ptr): void;
  affine(x: Ptr, y: Ptr, rows: number, c: number, s: Ptr, t: Ptr): void;
  affine2(u: Ptr, v: Ptr, out: Ptr, rows: number, c: number, a: Ptr, b: Ptr, d: Ptr): void;
  relu(x: Ptr, out: Ptr, n4: number): void;
  reluGrad(dy: Ptr, x: Ptr, out: Ptr, n4: number): void;
  winograd(
    x: Ptr,
    h: number,
    w: number,
    c: number,
    u: Ptr,
    co: number,
    y: Ptr,
    buf: Ptr,
    zero: Ptr,
    t: number,
    b0: number,
    b1: number,
  ): void;
  winogradDw(
    x: Ptr,
    h: number,
    w: number,
    c: number,
    dy: Ptr,
    co: number,
    s: Ptr,
    buf: Ptr,
    zero: Ptr,
    t: number,
    q0: number,
    q1: number,
  ): void;
  gatherRuns(src: Ptr, from: Ptr, count: number, run: number, dst: Ptr): void;
  phaseGrid(
    x: Ptr,
    n: number,
    h: number,
    w: number,
    c: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
    hq: number,
    wq: number,
    cp: number,
    out: Ptr,
  ): void;
  scatterPhase(
    src: Ptr,
    n: number,
    rows: number,
    cols: number,
    c: number,
    dst: Ptr,
    h: number,
    w: number,
    sh: number,
    sw: number,
    r0: number,
    c0: number,
  ): void;
  dwGemm(
    xg: Ptr,
    dy: Ptr,
    out: Ptr,
    rows: number,
    rowOff: Ptr,
    wo: number,
    cp: number,
    co: number,
    taps: number,
    tapOff: Ptr,
    rb: number,
    o0: number,
    o1: number,
  ): void;
}
type Name = keyof SimdExports;
const NAMES: Name[] = [
  "colsum",
  "colsumSqDev",
  "colsumGrad",
  "affine",
  "affine2",
  "relu",
  "reluGrad",
  "gatherRuns",
  "winograd",
  "winogradDw",
  "phaseGrid",
  "scatterPhase",
  "dwGemm",
];

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
  /** Threads `both` uses: 2 with the helper, else 1. */
  threads: number;
  /** fn[name](...mine) here and fn[name](...theirs) on the helper thread at the same time (one
   * after the other without a helper). The two calls must write disjoint memory. */
  both(name: Name, mine: number[], theirs: number[]): void;
  /** fn[name](...args). */
  call(name: Name, args: number[]): void;
  /** Byte offset of a tensor's data in the heap. */
  ptr(t: { dataId: object }): number;
  /** Runs `f` with `bytes` of zeroed heap scratch at a 16-byte aligned offset, then frees it. */
  withScratch<T>(bytes: number, f: (at: number) => T): T;
  /** Views of the heap; fetch them after any allocation. */
  f32(at: number, length: number): Float32Array;
  f64(at: number, length: number): Float64Array;
  i32(at: number, length: number): Int32Array;
}

// The helper's protocol, on a shared Int32Array: [state, function index, argument count, args...].
const STARTING = 4,
  IDLE = 0,
  POSTED = 1,
  DONE = 2,
  FAILED = 3;
const HELPER = `
const { workerData } = require("node:worker_threads");
const { bytes, memory, control, names } = workerData;
const ctl = new Int32Array(control);
let ex;
try {
  ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  Atomics.store(ctl, 0, ${IDLE});
} catch (e) {
  Atomics.store(ctl, 0, ${FAILED});
}
Atomics.notify(ctl, 0);
for (;;) {
  if (!ex) break;
  const s = Atomics.load(ctl, 0);
  if (s !== ${POSTED}) { Atomics.wait(ctl, 0, s); continue; }
  try {
    ex[names[ctl[1]]](...ctl.subarray(3, 3 + ctl[2]));
    Atomics.store(ctl, 0, ${DONE});
  } catch (e) {
    Atomics.store(ctl, 0, ${FAILED});
  }
  Atomics.notify(ctl, 0);
}
`;

/** Starts the helper thread and waits (up to 5 s) until it has instantiated the module. */
function startHelper(bytes: Uint8Array, memory: WebAssembly.Memory): Int32Array | undefined {
  if (process.env["RESNETC_WASM_THREADS"] === "0" || os.cpus().length < 2) return undefined;
  try {
    const control = new SharedArrayBuffer(4 * 32);
    const ctl = new Int32Array(control);
    ctl[0] = STARTING;
    const worker = new Worker(HELPER, { eval: true, workerData: { bytes, memory, control, names: NAMES } });
    worker.unref();
    Atomics.wait(ctl, 0, STARTING, 5000);
    if (Atomics.load(ctl, 0) === IDLE) return ctl;
    void worker.terminate();
  } catch {
    // no worker threads here: one thread does both halves
  }
  return undefined;
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
      let ctl: Int32Array | undefined | null = shared ? null : undefined; // null: not started yet
      const call = (name: Name, args: number[]) => (fn[name] as (...a: number[]) => void)(...args);
      made = {
        fn,
        get threads() {
          return ctl ? 2 : 1;
        },
        both(name, mine, theirs) {
          if (ctl === null) ctl = startHelper(bytes, memory);
          if (!ctl) {
            call(name, mine);
            call(name, theirs);
            return;
          }
          ctl[1] = NAMES.indexOf(name);
          ctl[2] = theirs.length;
          ctl.set(theirs, 3);
          Atomics.store(ctl, 0, POSTED);
          Atomics.notify(ctl, 0);
          call(name, mine);
          // The halves take milliseconds and end close together: spin a little before sleeping
          // (a wake-up from Atomics.wait costs tens of microseconds).
          for (let spin = 0; spin < 20000 && Atomics.load(ctl, 0) === POSTED; spin++);
          while (Atomics.load(ctl, 0) === POSTED) Atomics.wait(ctl, 0, POSTED);
          const state = Atomics.load(ctl, 0);
          Atomics.store(ctl, 0, IDLE);
          Atomics.notify(ctl, 0);
          if (state !== DONE) throw new Error(`resnetc's SIMD helper thread failed in ${name}`);
        },
        call,
        ptr: (t) => b.dataIdMap.get(t.dataId).memoryOffset,
        withScratch(bytes, f) {
          const raw = mod._malloc(bytes + 16) >>> 0;
          const at = Math.ceil(raw / 16) * 16; // (no bitwise ops: offsets may pass 2^31)
          new Uint8Array(memory.buffer, at, bytes).fill(0);
          try {
            return f(at);
          } finally {
            mod._free(raw);
          }
        },
        f32: (at, length) => new Float32Array(memory.buffer, at, length),
        f64: (at, length) => new Float64Array(memory.buffer, at, length),
        i32: (at, length) => new Int32Array(memory.buffer, at, length),
      };
    }
  } catch {
    made = null; // no SIMD in this engine, or a memory it cannot import: the JavaScript loops run
  }
  cache.set(mod, made);
  return made ?? undefined;
}
