// Training kernels for tfjs's `wasm` backend, registered through tfjs's public kernel API. The
// wasm backend runs convolutions and matrix products through XNNPACK (SIMD, ~10 GMAC/s a core
// here) but has no Conv2DBackpropFilter and no depthwise gradients, so it cannot train a
// convolution at all, and its Conv2DBackpropInput is a scalar loop ~10x slower than its forward
// convolution. Here, with N*Ho*Wo output positions P:
//   dW  resnetc's own SIMD product (simd.wat dwGemm) over stride-phase grids of x: per tap a
//       [Ci, P] x [P, Co] sum, blocked so that x and dy stay in cache, half the output channels
//       on resnetc's helper thread. XNNPACK streams such long sums from memory (it packs one
//       side and never blocks the long dimension): 2x slower. Without the SIMD module (or Co not
//       a multiple of 4): one XNNPACK BatchMatMul per tap, on a view of the phase planes.
//   dx  stride 1: one XNNPACK Conv2D of dy with the filter rotated and its channel axes swapped;
//       strided: one such Conv2D per stride phase ("sub-pixel", the forward pass's work), put back
//       in place by the SIMD module; otherwise (or without it) one Conv2D of zero-dilated dy.
// Depthwise gradients (a few multiply-adds per element) are direct loops; Tile and Slice, which a
// training step needs (batch-norm gradients, option A shortcuts), are block copies; Identity
// shares memory instead of copying it. The forward 3x3 convolution (FusedConv2D) and ReLU are
// replaced too, where resnetc's SIMD versions are faster; they fall back to the stock kernels.
// Takes: nothing (it registers kernels). Gives: `registerWasmTrainingKernels()` and the kernel
// functions (tests compare them with the cpu backend's). Must not: change results beyond float
// rounding; leak wasm heap memory (every temporary is disposed before returning).

import * as tf from "@tensorflow/tfjs";
import { copyPlan } from "./copy-kernels.js";
import { simdKernels, type Simd } from "./simd.js";

import type { KernelArgs } from "./kernel-args.js";
interface WasmBackend {
  makeOutput(shape: number[], dtype: "float32", memoryOffset?: number): tf.TensorInfo;
  dataIdMap: { get(id: object): { id: number; memoryOffset: number }; delete(id: object): void };
  wasm: { tfjs: { disposeData(id: number): void } };
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function conv2DInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
  depthwise = false,
): Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs["strides"] as [number, number],
    (attrs["dilations"] as [number, number] | undefined) ?? 1,
    attrs["pad"] as "same",
    attrs["dimRoundingMode"] as "floor" | undefined,
    depthwise,
    tf.backend_util.convertConv2DDataFormat((attrs["dataFormat"] as "NHWC" | "NCHW" | undefined) ?? "NHWC"),
  );
  // Everything resnetc emits is NHWC (channels last), tfjs's default.
  if (info.dataFormat !== "channelsLast")
    throw new Error("resnetc's wasm training kernels support NHWC (channels-last) data only");
  return info;
}

/** Runs another kernel of the wasm backend (its XNNPACK convolution or matrix product). */
function run(
  name: string,
  backend: unknown,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
  return (k.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)({ inputs, backend, attrs });
}

/** A tensor of `shape` that reads `base`'s memory from element `offset` on (no copy); release
 * it with `releaseView`, which forgets it without freeing the memory it shares. */
function view(backend: WasmBackend, base: tf.TensorInfo, offset: number, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, "float32", backend.dataIdMap.get(base.dataId).memoryOffset + 4 * offset);
}
function releaseView(backend: WasmBackend, v: tf.TensorInfo): void {
  backend.wasm.tfjs.disposeData(backend.dataIdMap.get(v.dataId).id);
  backend.dataIdMap.delete(v.dataId);
}

/** dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*s - top + kh*d, ow*s - left + kw*d, ci] * dy[n, oh, ow, co].
 *
 * 3x3 stride-1 pad-1 convolutions (most of a ResNet) go to Winograd (winogradFilterGrad).
 * Otherwise, tap by tap, dW[kh, kw] is a product [Ci, P] x [P, Co] over output positions P, on x
 * padded and split by stride phase: xq[ph, pw, ci][n, i, j] = x[n, i*s + ph - top, j*s + pw - left, ci]
 * on an Hq x Wq grid. Tap (kh, kw) reads phase (kh*d mod s, kw*d mod s) shifted by
 * (floor(kh*d / s), floor(kw*d / s)) grid steps, a shift of the whole plane in memory, so no
 * im2col is needed. With the SIMD module, resnetc's blocked product (simd.wat dwGemm) walks the
 * phase grids (channels last) and dy directly. Without it, each tap is one BatchMatMul (XNNPACK)
 * of a view into the channels-first planes at that offset, against dy padded onto an (N+1)-image
 * grid: reads past a plane's end land in the next plane (or the extra zero channel after the
 * last) and meet dy's zero padding, which the extra image n = N and the grid's margins provide. */
export function wasmConv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs["x"]!;
  const dy = args.inputs["dy"]!;
  const filterShape = args.attrs!["filterShape"] as number[];
  const info = conv2DInfo(x.shape, filterShape, args.attrs!);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight,
    filterWidth,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const hq = outHeight + Math.floor(((filterHeight - 1) * dh) / sh);
  const wq = outWidth + Math.floor(((filterWidth - 1) * dw) / sw);
  // Rows and columns of x the convolution can read (the rest is cropped).
  const rows = Math.min(inHeight, sh * hq - top);
  const cols = Math.min(inWidth, sw * wq - left);
  const simd = simdKernels(backend);
  if (simd && isWinogradShape(info)) {
    const dW = winogradFilterGrad(backend, simd, x, dy, filterShape);
    if (dW) return dW;
  }
  if (simd && outChannels % 4 === 0) {
    // resnetc's own product (simd.wat dwGemm) over the phase grids, blocked for the cache.
    const cp = Math.ceil(inChannels / 8) * 8;
    const plane = batchSize * hq * wq * cp;
    const taps = filterHeight * filterWidth;
    const xg = backend.makeOutput([sh * sw * plane], "float32");
    simd.fn.phaseGrid(
      simd.ptr(x),
      batchSize,
      inHeight,
      inWidth,
      inChannels,
      sh,
      sw,
      top,
      left,
      hq,
      wq,
      cp,
      simd.ptr(xg),
    );
    const out = backend.makeOutput(filterShape, "float32");
    const outRows = batchSize * outHeight;
    // Scratch: int32 tapOff [taps] and rowOff [outRows] (16-byte aligned), then float32 sums [taps, co, cp].
    const tables = 16 * Math.ceil(taps / 4) + 16 * Math.ceil(outRows / 4);
    simd.withScratch(tables + 4 * taps * outChannels * cp, (at) => {
      const tapOff = simd.i32(at, taps);
      for (let kh = 0; kh < filterHeight; kh++)
        for (let kw = 0; kw < filterWidth; kw++) {
          const phase = ((kh * dh) % sh) * sw + ((kw * dw) % sw);
          const shift = Math.floor((kh * dh) / sh) * wq + Math.floor((kw * dw) / sw);
          tapOff[kh * filterWidth + kw] = phase * plane + shift * cp;
        }
      const rowAt = at + 16 * Math.ceil(taps / 4);
      const rowOff = simd.i32(rowAt, outRows);
      for (let r = 0; r < outRows; r++) rowOff[r] = (Math.floor(r / outHeight) * hq + (r % outHeight)) * wq * cp * 4;
      // Blocks of rows whose x and dy fit ~32 KB (the L1 cache).
      const rb = Math.max(1, Math.floor(8192 / ((cp + outChannels) * outWidth)));
      const args = (o0: number, o1: number) => [
        simd.ptr(xg),
        simd.ptr(dy),
        at + tables,
        outRows,
        rowAt,
        outWidth,
        cp,
        outChannels,
        taps,
        at,
        rb,
        o0,
        o1,
      ];
      // Half the output channels (in fours) on each thread.
      const mid = 4 * Math.ceil(outChannels / 8);
      if (mid < outChannels) simd.both("dwGemm", args(0, mid), args(mid, outChannels));
      else simd.call("dwGemm", args(0, outChannels));
      // [taps, co, cp] -> [taps, ci, co]
      const g = simd.f32(at + tables, taps * outChannels * cp);
      const dW = backend.typedArrayFromHeap(out);
      for (let t = 0; t < taps; t++)
        for (let ci = 0; ci < inChannels; ci++)
          for (let co = 0; co < outChannels; co++)
            dW[(t * inChannels + ci) * outChannels + co] = g[(t * outChannels + co) * cp + ci]!;
    });
    backend.disposeData(xg.dataId);
    return out;
  }
  // Otherwise one BatchMatMul (XNNPACK) per tap, on the backend's kernels: crop x, pad it, split
  // the phases with two transposes; pad dy onto the grid.
  const c1 = inChannels + 1;
  const grid = (batchSize + 1) * hq * wq;
  const temps: tf.TensorInfo[] = [];
  let xc = x;
  if (rows < inHeight || cols < inWidth)
    temps.push((xc = run("Slice", backend, { x }, { begin: [0, 0, 0, 0], size: [batchSize, rows, cols, inChannels] })));
  const xp = run(
    "PadV2",
    backend,
    { x: xc },
    {
      paddings: [
        [0, 1],
        [top, sh * hq - top - rows],
        [left, sw * wq - left - cols],
        [0, 1],
      ],
      constantValue: 0,
    },
  );
  temps.push(xp);
  // [(N+1)*hq, sh, wq*sw*c1] -> [sh, (N+1)*hq, wq*sw*c1] = [sh, grid, sw*c1] -> [sh, sw*c1, grid]
  const t1 = run(
    "Transpose",
    backend,
    { x: { dataId: xp.dataId, shape: [(batchSize + 1) * hq, sh, wq * sw * c1], dtype: "float32" } },
    { perm: [1, 0, 2] },
  );
  temps.push(t1);
  const xq = run(
    "Transpose",
    backend,
    { x: { dataId: t1.dataId, shape: [sh, grid, sw * c1], dtype: "float32" } },
    { perm: [0, 2, 1] },
  );
  const dyp = run(
    "PadV2",
    backend,
    { x: dy },
    {
      paddings: [
        [0, 1],
        [0, hq - outHeight],
        [0, wq - outWidth],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  temps.push(xq, dyp);
  const dyGrid = { dataId: dyp.dataId, shape: [1, grid, outChannels], dtype: "float32" as const };
  const out = backend.makeOutput(filterShape, "float32");
  const block = inChannels * outChannels;
  for (let kh = 0; kh < filterHeight; kh++)
    for (let kw = 0; kw < filterWidth; kw++) {
      const phase = ((kh * dh) % sh) * sw + ((kw * dw) % sw);
      const shift = Math.floor((kh * dh) / sh) * wq + Math.floor((kw * dw) / sw);
      const a = view(backend, xq, phase * c1 * grid + shift, [1, inChannels, grid]);
      const tap = run("BatchMatMul", backend, { a, b: dyGrid }, { transposeA: false, transposeB: false });
      releaseView(backend, a);
      // Read the heap after the product: an allocation may have moved it.
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(tap), (kh * filterWidth + kw) * block);
      backend.disposeData(tap.dataId);
    }
  for (const t of temps) if (t !== x) backend.disposeData(t.dataId);
  return out;
}

/** dx = the "full" correlation of dy (stride-dilated, padded) with the filter rotated 180 degrees
 * and its channel axes swapped: a stride-1 "valid" Conv2D the backend runs fast. */
export function wasmConv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs["dy"]!;
  const filter = args.inputs["filter"]!;
  const inputShape = args.attrs!["inputShape"] as number[];
  const info = conv2DInfo(inputShape, filter.shape, args.attrs!);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  } = info;
  const padTop = filterHeight - 1 - info.padInfo.top;
  const padLeft = filterWidth - 1 - info.padInfo.left;
  const simd = simdKernels(backend);
  const stride1 = strideHeight === 1 && strideWidth === 1;
  if (simd && !stride1) {
    const dx = subpixelInput(backend, simd, dy, filter, info);
    if (dx) return dx;
  }
  // The filter rotated 180 degrees, its channel axes swapped: [kh, kw, Co, Ci].
  const wf = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], "float32");
  const wfv = backend.typedArrayFromHeap(wf);
  const wv = backend.typedArrayFromHeap(filter);
  for (let a = 0; a < filterHeight; a++)
    for (let b = 0; b < filterWidth; b++) {
      const src = ((filterHeight - 1 - a) * filterWidth + (filterWidth - 1 - b)) * inChannels * outChannels;
      const dst = (a * filterWidth + b) * outChannels * inChannels;
      for (let ci = 0; ci < inChannels; ci++)
        for (let co = 0; co < outChannels; co++) wfv[dst + co * inChannels + ci] = wv[src + ci * outChannels + co]!;
    }
  const conv = (x: tf.TensorInfo, pad: unknown): tf.TensorInfo => {
    const dx = run(
      "Conv2D",
      backend,
      { x, filter: wf },
      { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [1, 1] },
    );
    backend.disposeData(wf.dataId);
    return dx;
  };
  // Stride 1: no zeros to insert, so the convolution pads dy itself (no copy); a 3x3 pad-1 one
  // is itself a 3x3 pad-1 convolution, by Winograd where it fits.
  const padBottom = inHeight + filterHeight - 1 - outHeight - padTop;
  const padRight = inWidth + filterWidth - 1 - outWidth - padLeft;
  if (stride1 && Math.min(padTop, padLeft, padBottom, padRight) >= 0) {
    const dx = simd && isWinogradShape(info) ? winogradConv(backend, simd, dy, wf) : undefined;
    if (dx) {
      backend.disposeData(wf.dataId);
      return dx;
    }
    return conv(dy, [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ]);
  }
  const qh = inHeight + filterHeight - 1;
  const qw = inWidth + filterWidth - 1;
  const q = backend.makeOutput([batchSize, qh, qw, outChannels], "float32");
  const qv = backend.typedArrayFromHeap(q);
  const dyv = backend.typedArrayFromHeap(dy);
  qv.fill(0);
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++) {
      const r = oh * strideHeight + padTop;
      if (r < 0 || r >= qh) continue;
      for (let ow = 0; ow < outWidth; ow++) {
        const c = ow * strideWidth + padLeft;
        if (c < 0 || c >= qw) continue;
        const from = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        qv.set(dyv.subarray(from, from + outChannels), ((n * qh + r) * qw + c) * outChannels);
      }
    }
  const dx = conv(q, "valid");
  backend.disposeData(q.dataId);
  return dx;
}

const WINOGRAD_MIN = 1 << 20;

/** A 3x3, stride-1, pad-1 convolution of x [n, h, w, c] with g [3, 3, c, co] by Winograd
 * F(2x2, 3x3) in the SIMD module (simd.wat winograd): 16 multiply-adds per 2x2 outputs and input
 * channel x output channel where the direct convolution (XNNPACK's) does 36; the tile blocks are
 * split across resnetc's helper thread. Undefined where the shape does not fit it (odd sizes,
 * channels not multiples of 4 and 8, or too small to pay for the hand-over); the caller then uses
 * XNNPACK. Float error: a few ulps more
 * than the direct sum (the transforms add and subtract inputs before the products). */
function winogradConv(backend: WasmBackend, simd: Simd, x: tf.TensorInfo, g: tf.TensorInfo): tf.TensorInfo | undefined {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const co = g.shape[3]!;
  const t = 8;
  if (
    h % 2 !== 0 ||
    w % 2 !== 0 ||
    c % 4 !== 0 ||
    co % 8 !== 0 ||
    g.shape[0] !== 3 ||
    g.shape[1] !== 3 ||
    x.dtype !== "float32"
  )
    return undefined;
  // Small convolutions: XNNPACK's is done before the hand-over to the helper thread pays off.
  if (n * h * w * c * co < WINOGRAD_MIN) return undefined;
  // U[p*4 + q, k, o] = sum over a, b of G[p, a] g[a, b, k, o] G[q, b], G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]]
  const u = backend.makeOutput([16, c, co], "float32");
  const uv = backend.typedArrayFromHeap(u);
  const gv = backend.typedArrayFromHeap(g);
  const kc = c * co;
  const Gg = new Float64Array(12); // G g for one (k, o): 4 x 3
  for (let e = 0; e < kc; e++) {
    for (let b = 0; b < 3; b++) {
      const g0 = gv[b * kc + e]!,
        g1 = gv[(3 + b) * kc + e]!,
        g2 = gv[(6 + b) * kc + e]!;
      Gg[b] = g0;
      Gg[3 + b] = (g0 + g1 + g2) / 2;
      Gg[6 + b] = (g0 - g1 + g2) / 2;
      Gg[9 + b] = g2;
    }
    for (let p = 0; p < 4; p++) {
      const r0 = Gg[p * 3]!,
        r1 = Gg[p * 3 + 1]!,
        r2 = Gg[p * 3 + 2]!;
      uv[p * 4 * kc + e] = r0;
      uv[(p * 4 + 1) * kc + e] = (r0 + r1 + r2) / 2;
      uv[(p * 4 + 2) * kc + e] = (r0 - r1 + r2) / 2;
      uv[(p * 4 + 3) * kc + e] = r2;
    }
  }
  const y = backend.makeOutput([n, h, w, co], "float32");
  const tiles = n * (h / 2) * (w / 2);
  const bufBytes = 4 * 16 * t * (c + co);
  simd.withScratch(16 + 2 * bufBytes, (at) => {
    const args = (first: number, last: number, part: number) => [
      simd.ptr(x),
      h,
      w,
      c,
      simd.ptr(u),
      co,
      simd.ptr(y),
      at + 16 + part * bufBytes,
      at,
      t,
      first,
      last,
    ];
    // Half the tiles (in whole blocks) on each thread.
    const half = t * Math.ceil(tiles / t / 2);
    if (half < tiles) simd.both("winograd", args(0, half, 0), args(half, tiles, 1));
    else simd.call("winograd", args(0, tiles, 0));
  });
  backend.disposeData(u.dataId);
  return y;
}

/** The filter gradient of a 3x3, stride-1, pad-1 convolution by Winograd F(3x3, 2x2) in the SIMD
 * module (simd.wat winogradDw): 16 multiply-adds per 2x2 output positions and input x output
 * channel where the direct sum does 36. Each thread sums half the tiles into its own [16, co, c]
 * transform-domain sums; here they are added and taken back, dW = G'SG. Undefined where the
 * shape does not fit (odd sizes, c not a multiple of 8, co of 4). */
function winogradFilterGrad(
  backend: WasmBackend,
  simd: Simd,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: number[],
): tf.TensorInfo | undefined {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const co = dy.shape[3]!;
  if (
    h % 2 !== 0 ||
    w % 2 !== 0 ||
    c % 8 !== 0 ||
    co % 4 !== 0 ||
    x.dtype !== "float32" ||
    n * h * w * c * co < WINOGRAD_MIN
  )
    return undefined;
  const tiles = n * (h / 2) * (w / 2);
  const t = 32;
  const sBytes = 4 * 16 * co * c;
  const bufBytes = 4 * 16 * t * (c + co);
  const out = backend.makeOutput(filterShape, "float32");
  simd.withScratch(16 + 2 * sBytes + 2 * bufBytes, (at) => {
    const args = (q0: number, q1: number, part: number) => [
      simd.ptr(x),
      h,
      w,
      c,
      simd.ptr(dy),
      co,
      at + 16 + part * sBytes,
      at + 16 + 2 * sBytes + part * bufBytes,
      at,
      t,
      q0,
      q1,
    ];
    const half = tiles >> 1;
    if (half > 0) simd.both("winogradDw", args(0, half, 0), args(half, tiles, 1));
    else simd.call("winogradDw", args(0, tiles, 0));
    const s0 = simd.f32(at + 16, 16 * co * c);
    const s1 = simd.f32(at + 16 + sBytes, 16 * co * c);
    const dW = backend.typedArrayFromHeap(out);
    // dW[a, b, k, o] = sum over p, q of G[p, a] S[p*4 + q, o, k] G[q, b], G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]]
    const G = [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ];
    const S = new Float64Array(16);
    for (let o = 0; o < co; o++)
      for (let k = 0; k < c; k++) {
        for (let f = 0; f < 16; f++) S[f] = s0[(f * co + o) * c + k]! + s1[(f * co + o) * c + k]!;
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++) {
            let z = 0;
            for (let p = 0; p < 4; p++) {
              const gpa = G[p]![a]!;
              if (gpa === 0) continue;
              for (let q = 0; q < 4; q++) z += gpa * S[p * 4 + q]! * G[q]![b]!;
            }
            dW[((a * 3 + b) * c + k) * co + o] = z;
          }
      }
  });
  return out;
}

/** Is this convolution 3x3, stride 1, dilation 1, padded by 1 all round (what Winograd does)? */
function isWinogradShape(info: Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    p.top === 1 &&
    p.bottom === 1 &&
    p.left === 1 &&
    p.right === 1
  );
}

/** FusedConv2D (tfjs-layers' Conv2D calls it) by Winograd where it fits and has no bias or
 * activation (what resnetc's convolutions before batch norm are); XNNPACK otherwise. */
function fusedConv2D(stock: (a: KernelArgs) => tf.TensorInfo): (args: KernelArgs) => tf.TensorInfo {
  return (args) => {
    const backend = args.backend as WasmBackend;
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs!;
    const simd = simdKernels(backend);
    if (
      simd &&
      !bias &&
      !preluActivationWeights &&
      (attrs["activation"] ?? "linear") === "linear" &&
      (attrs["dataFormat"] ?? "NHWC") === "NHWC"
    ) {
      const info = conv2DInfo(x!.shape, filter!.shape, attrs);
      if (isWinogradShape(info)) {
        const y = winogradConv(backend, simd, x!, filter!);
        if (y) return y;
      }
    }
    return stock(args);
  };
}

/** The input gradient of a strided convolution by stride phase ("sub-pixel"): the rows of dx with
 * ih + top = i*s + r take only the taps a = q*s + r, at dy row i - q. So each phase (r, c) is a
 * stride-1 convolution of dy with the sub-filter of its taps (flipped, channel axes swapped),
 * and its output goes to every s-th row and column of dx (simd.wat scatterPhase). The phases'
 * sub-filters hold the filter's taps once between them, so this does the forward pass's
 * multiply-adds; the zero-dilated dy of the general path does s*s times as many.
 * Returns undefined where a phase would need negative padding (the general path then runs). */
function subpixelInput(
  backend: WasmBackend,
  simd: Simd,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: Conv2DInfo,
): tf.TensorInfo | undefined {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight,
    filterWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // One axis of a phase: q taps, dx rows i0 .. i0 + count - 1, the convolution's padding.
  const axis = (r: number, s: number, k: number, pad: number, size: number, outSize: number) => {
    const taps = r < k ? Math.ceil((k - r) / s) : 0;
    const i0 = Math.ceil((pad - r) / s);
    const count = Math.floor((size - 1 + pad - r) / s) - i0 + 1;
    const before = taps - 1 - i0;
    const after = count + taps - 1 - outSize - before;
    return { taps, i0, count, before, after };
  };
  const phases = [];
  for (let rh = 0; rh < sh; rh++)
    for (let rw = 0; rw < sw; rw++) {
      const h = axis(rh, sh, filterHeight, top, inHeight, outHeight);
      const w = axis(rw, sw, filterWidth, left, inWidth, outWidth);
      if (h.taps > 0 && w.taps > 0 && h.count > 0 && w.count > 0) {
        if (Math.min(h.before, h.after, w.before, w.after) < 0) return undefined;
        phases.push({ rh, rw, h, w });
      }
    }
  const out = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], "float32");
  if (phases.length < sh * sw) backend.typedArrayFromHeap(out).fill(0); // rows and columns no tap reaches
  for (const { rh, rw, h, w } of phases) {
    // F[u, v, co, ci] = W[(h.taps-1-u)*sh + rh, (w.taps-1-v)*sw + rw, ci, co]
    const f = backend.makeOutput([h.taps, w.taps, outChannels, inChannels], "float32");
    const fv = backend.typedArrayFromHeap(f);
    const wv = backend.typedArrayFromHeap(filter);
    for (let u = 0; u < h.taps; u++)
      for (let v = 0; v < w.taps; v++) {
        const src =
          (((h.taps - 1 - u) * sh + rh) * filterWidth + (w.taps - 1 - v) * sw + rw) * inChannels * outChannels;
        const dst = (u * w.taps + v) * outChannels * inChannels;
        for (let ci = 0; ci < inChannels; ci++)
          for (let co = 0; co < outChannels; co++) fv[dst + co * inChannels + ci] = wv[src + ci * outChannels + co]!;
      }
    const pad = [
      [0, 0],
      [h.before, h.after],
      [w.before, w.after],
      [0, 0],
    ];
    const part = run(
      "Conv2D",
      backend,
      { x: dy, filter: f },
      { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [1, 1] },
    );
    backend.disposeData(f.dataId);
    simd.fn.scatterPhase(
      simd.ptr(part),
      batchSize,
      h.count,
      w.count,
      inChannels,
      simd.ptr(out),
      inHeight,
      inWidth,
      sh,
      sw,
      h.i0 * sh + rh - top,
      w.i0 * sw + rw - left,
    );
    backend.disposeData(part.dataId);
  }
  return out;
}

/** Walks every (output position, tap, input channel, multiplier) of a depthwise convolution. */
function depthwiseTaps(info: Conv2DInfo, visit: (xi: number, yi: number, wi: number) => void): void {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
    dilationHeight,
    dilationWidth,
  } = info;
  const mult = outChannels / inChannels;
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const yBase = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - info.padInfo.top + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - info.padInfo.left + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (kh * filterWidth + kw) * outChannels;
            for (let ci = 0; ci < inChannels; ci++)
              for (let m = 0; m < mult; m++) visit(xBase + ci, yBase + ci * mult + m, wBase + ci * mult + m);
          }
        }
      }
}

/** dW[kh, kw, ci, m] = sum over n, oh, ow of x[n, ih, iw, ci] * dy[n, oh, ow, ci*mult + m]. */
export function wasmDepthwiseBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs["x"]!;
  const dy = args.inputs["dy"]!;
  const filterShape = args.attrs!["filterShape"] as number[];
  const info = conv2DInfo(x.shape, filterShape, args.attrs!, true);
  const out = backend.makeOutput(filterShape, "float32");
  const dw = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  dw.fill(0);
  depthwiseTaps(info, (xi, yi, wi) => (dw[wi] += xv[xi]! * dyv[yi]!));
  return out;
}

/** dx[n, ih, iw, ci] = sum over taps and multipliers of dy[n, oh, ow, ci*mult + m] * W[kh, kw, ci, m]. */
export function wasmDepthwiseBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs["dy"]!;
  const filter = args.inputs["filter"]!;
  const inputShape = args.attrs!["inputShape"] as number[];
  const info = conv2DInfo(inputShape, filter.shape, args.attrs!, true);
  const out = backend.makeOutput(inputShape, "float32");
  const dx = backend.typedArrayFromHeap(out);
  const dyv = backend.typedArrayFromHeap(dy);
  const wv = backend.typedArrayFromHeap(filter);
  dx.fill(0);
  depthwiseTaps(info, (xi, yi, wi) => (dx[xi] += dyv[yi]! * wv[wi]!));
  return out;
}

function copyKernel(name: "Tile" | "Slice"): (args: KernelArgs) => tf.TensorInfo {
  const stock = tf.getKernel(name, "wasm");
  return (args) => {
    const backend = args.backend as WasmBackend;
    const x = args.inputs["x"]!;
    if (x.dtype === "string" || x.dtype === "complex64")
      return (stock!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)(args);
    const { shape, fill, runs } = copyPlan(name, x, args.attrs!);
    const out = backend.makeOutput(shape, x.dtype as "float32");
    const simd = simdKernels(backend);
    if (runs && simd) {
      // The runs' offsets in a table, then one SIMD-module call copies them all.
      const bpe = tf.util.bytesPerElement(x.dtype);
      const from: number[] = [];
      let run = 0;
      runs((f, r) => {
        from.push(f * bpe);
        run = r * bpe;
      });
      simd.withScratch(4 * from.length, (at) => {
        simd.i32(at, from.length).set(from);
        simd.fn.gatherRuns(simd.ptr(x), at, from.length, run, simd.ptr(out));
      });
      return out;
    }
    fill(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out));
    return out;
  };
}

/** Identity as a second reference to the same memory, as tfjs's cpu and webgl backends do it
 * (and the wasm backend's own Reshape): the wasm backend's copies the data, and a training step
 * clones ~420 tensors (the gradient tape saves each kernel's inputs by cloning them), ~5% of a
 * ResNet-20 step. No tfjs kernel writes into its inputs, so sharing is safe. */
function aliasIdentity(): (args: KernelArgs) => tf.TensorInfo {
  const stock = tf.getKernel("Identity", "wasm");
  return (args) => {
    const x = args.inputs["x"]!;
    if (x.dtype === "string") return (stock!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** ReLU in the SIMD module: one pass on the main thread; tfjs's goes through XNNPACK's thread
 * pool, whose wake-up costs more than the pass over a 2 MB tensor (0.77 -> 0.2 ms a call in a
 * ResNet-20 step). NaN stays NaN. */
function simdRelu(stock: (a: KernelArgs) => tf.TensorInfo): (args: KernelArgs) => tf.TensorInfo {
  return (args) => {
    const backend = args.backend as WasmBackend;
    const x = args.inputs["x"]!;
    const simd = simdKernels(backend);
    if (!simd || x.dtype !== "float32") return stock(args);
    const out = backend.makeOutput(x.shape, "float32");
    const n4 = tf.util.sizeFromShape(x.shape) >> 2;
    simd.fn.relu(simd.ptr(x), simd.ptr(out), n4);
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    for (let i = 4 * n4; i < xv.length; i++) ov[i] = xv[i]! > 0 || Number.isNaN(xv[i]!) ? xv[i]! : 0;
    return out;
  };
}

export const WASM_TRAINING_KERNELS: [string, (a: KernelArgs) => tf.TensorInfo][] = [
  ["Conv2DBackpropFilter", wasmConv2DBackpropFilter],
  ["Conv2DBackpropInput", wasmConv2DBackpropInput],
  ["DepthwiseConv2dNativeBackpropFilter", wasmDepthwiseBackpropFilter],
  ["DepthwiseConv2dNativeBackpropInput", wasmDepthwiseBackpropInput],
];

let wrappedKernels: [string, (a: KernelArgs) => tf.TensorInfo][] | undefined;

/** Registers (or replaces) the wasm backend's training kernels; safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  // Kernels that fall back to the stock ones (strings, shapes they do not take): made once, after
  // the wasm backend registered its own.
  const stock = (name: string) => tf.getKernel(name, "wasm")!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo;
  wrappedKernels ??= [
    ["Tile", copyKernel("Tile")],
    ["Slice", copyKernel("Slice")],
    ["Identity", aliasIdentity()],
    ["FusedConv2D", fusedConv2D(stock("FusedConv2D"))],
    ["Relu", simdRelu(stock("Relu"))],
  ];
  for (const [name, fn] of [...WASM_TRAINING_KERNELS, ...wrappedKernels]) {
    const stock = tf.getKernel(name, "wasm");
    if (stock?.kernelFunc === (fn as unknown)) continue;
    if (stock) tf.unregisterKernel(name, "wasm");
    // The stock kernel's setup binds its C++ function to each new wasm module (tfjs runs it when a
    // backend starts, e.g. the threaded one after a single-threaded one): keep it, for the
    // kernels that fall back to the stock one.
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: fn as unknown as tf.KernelFunc,
      setupFunc: stock?.setupFunc,
      disposeFunc: stock?.disposeFunc,
    });
  }
}
