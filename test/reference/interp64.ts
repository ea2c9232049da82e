// A float64 reference interpreter of the graph IR: plain loops, one function per op, written from
// the op semantics documented in src/emit/onnx/lower.ts (PyTorch conventions), not from any
// emitter's code, so that every backend can be compared with it.
// Takes: a graph, its parameters by the names src/weights/init.ts paramSpecs gives (PyTorch
// state_dict layouts), input tensors in the declared NCHW layout with batch `b`, and a mode.
// Gives: the graph outputs as float64 tensors; `run64` also checks each node's computed dims
// against the numeric dims the compiler inferred (a shape-rule cross-check).
// Must not: be fast or clever (readability is the point), draw random numbers, or depend on an
// emitter. Modes: "inference" uses BN running statistics; "training" uses batch statistics with
// the biased variance (running statistics are not updated). Dropout and drop_path are the
// identity in both modes, so the interpreter stays deterministic.

import type { Graph, IrNode, IrNodeOf, OpName } from "../../src/ir/ir.js";

export interface T64 {
  dims: number[];
  data: Float64Array;
}

export type Mode = "inference" | "training";

export interface Ctx {
  params: ReadonlyMap<string, Float64Array>;
  mode: Mode;
  /** The graph's nodes: a layer that `shares` reads its owner's parameters. */
  nodes: readonly IrNode[];
}

const owner = (c: Ctx, n: IrNode): IrNode => (n.shares === undefined ? n : c.nodes[n.shares]!);

type Impl<O extends OpName> = (n: IrNodeOf<O>, xs: T64[], c: Ctx) => T64;

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

export function zeros(dims: number[]): T64 {
  return { dims, data: new Float64Array(prod(dims)) };
}

/** Row-major strides of `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** The multi-index of flat position `flat` in `dims`. */
function unravel(flat: number, dims: readonly number[]): number[] {
  const idx = Array<number>(dims.length).fill(0);
  for (let i = dims.length - 1; i >= 0; i--) {
    idx[i] = flat % dims[i]!;
    flat = Math.floor(flat / dims[i]!);
  }
  return idx;
}

/** A parameter of `n` by its suffix; "" is a free tensor named after the layer (`class_token`). */
function param(c: Ctx, n: IrNode, suffix: string): Float64Array {
  const name = suffix === "" ? owner(c, n).name : `${owner(c, n).name}.${suffix}`;
  const p = c.params.get(name);
  if (!p) throw new Error(`run64: missing parameter ${name}`);
  return p;
}

/** y[r, o] = b[o] + sum_i x[r, i] W[o, i] for `rows` rows (PyTorch Linear, W [out, in]). */
function linearRows(x: Float64Array, rows: number, fin: number, w: Float64Array, b: Float64Array, out: number) {
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < out; o++) {
      let acc = b[o]!;
      for (let i = 0; i < fin; i++) acc += x[r * fin + i]! * w[o * fin + i]!;
      y[r * out + o] = acc;
    }
  return y;
}

const optParam = (c: Ctx, n: IrNode, suffix: string): Float64Array | undefined =>
  c.params.get(`${owner(c, n).name}.${suffix}`);

const map = (x: T64, f: (v: number) => number): T64 => ({ dims: [...x.dims], data: x.data.map(f) });

// ---- exact special functions in float64 ----

/** erf(x) to about 1e-14: Maclaurin series for |x| < 3, the erfc continued fraction beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated backwards.
  let f = ax;
  for (let k = 120; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

// ---- windows: convolutions and pools ----

interface Win {
  kernel: number[];
  stride: number[];
  dilation: number[];
  /** Begin and end pad per spatial dim, resolved (SAME_UPPER where the IR has -1). */
  begin: number[];
  end: number[];
  out: number[];
}

/**
 * The window of a conv or pool over the spatial `sizes`. Pads of -1 (padding=same on a symbolic
 * size) are ONNX SAME_UPPER: total = max(0, (ceil(size/s) - 1) * s + eff - size), the odd pad at
 * the end. ceil: PyTorch's ceil_mode, without a last window that would start in the end padding.
 */
interface WinAttrs {
  kernel: number[];
  stride: number[];
  dilation?: number[];
  /** ONNX style [begin..., end...]; -1 for SAME_UPPER. */
  pads: number[];
}

function windowOf(a: WinAttrs, sizes: number[], ceil: boolean): Win {
  const { kernel, stride, pads } = a;
  const dilation = a.dilation ?? kernel.map(() => 1);
  const k = kernel.length;
  const begin: number[] = [];
  const end: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const eff = dilation[i]! * (kernel[i]! - 1) + 1;
    const size = sizes[i]!;
    const s = stride[i]!;
    let pb = pads[i]!;
    let pe = pads[i + k]!;
    if (pb < 0 || pe < 0) {
      const total = Math.max(0, (Math.ceil(size / s) - 1) * s + eff - size);
      pb = Math.floor(total / 2);
      pe = total - pb;
    }
    let o: number;
    if (ceil) {
      o = Math.ceil((size + pb + pe - eff) / s) + 1;
      if ((o - 1) * s >= size + pb) o--;
    } else o = Math.floor((size + pb + pe - eff) / s) + 1;
    begin.push(pb);
    end.push(pe);
    out.push(o);
  }
  return { kernel, stride, dilation, begin, end, out };
}

/** Calls `f` with every multi-index of `dims`. */
function forEachIndex(dims: readonly number[], f: (idx: number[]) => void): void {
  const total = prod(dims);
  for (let i = 0; i < total; i++) f(unravel(i, dims));
}

/**
 * Grouped N-d cross-correlation (PyTorch Conv1d/2d/3d): weight [out, in/groups, ...kernel],
 * y[n, o, p] = bias[o] + sum over c in o's group and kernel offsets q of
 * x[n, c, p * stride - begin + q * dilation] * w[o, c - group start, q], zero outside the input.
 */
function convNd(
  a: WinAttrs,
  x: T64,
  w: Float64Array,
  bias: Float64Array | undefined,
  groups: number,
  out: number,
): T64 {
  const [b, cin] = [x.dims[0]!, x.dims[1]!];
  const sizes = x.dims.slice(2);
  const win = windowOf(a, sizes, false);
  const y = zeros([b, out, ...win.out]);
  const xs = stridesOf(x.dims);
  const ys = stridesOf(y.dims);
  const cinG = cin / groups;
  const outG = out / groups;
  const kvol = prod(win.kernel);
  const nd = sizes.length;
  for (let bi = 0; bi < b; bi++)
    for (let o = 0; o < out; o++) {
      const g = Math.floor(o / outG);
      forEachIndex(win.out, (p) => {
        let acc = bias ? bias[o]! : 0;
        for (let ci = 0; ci < cinG; ci++) {
          const c = g * cinG + ci;
          for (let kq = 0; kq < kvol; kq++) {
            const q = unravel(kq, win.kernel);
            let off = bi * xs[0]! + c * xs[1]!;
            let inside = true;
            for (let d = 0; d < nd; d++) {
              const pos = p[d]! * win.stride[d]! - win.begin[d]! + q[d]! * win.dilation[d]!;
              if (pos < 0 || pos >= sizes[d]!) {
                inside = false;
                break;
              }
              off += pos * xs[d + 2]!;
            }
            if (inside) acc += x.data[off]! * w[(o * cinG + ci) * kvol + kq]!;
          }
        }
        let yo = bi * ys[0]! + o * ys[1]!;
        for (let d = 0; d < nd; d++) yo += p[d]! * ys[d + 2]!;
        y.data[yo] = acc;
      });
    }
  return y;
}

/**
 * Max or average pooling. Max: the largest input value in the window (pads never win).
 * Average: PyTorch's count_include_pad=True, as lower.ts lowers it: the sum over the window's
 * input cells divided by prod(min(start + k, size + end pad) - start), start = o * s - begin
 * (so padding inside the declared pads counts, a ceil_mode window past them does not); with
 * count_include_pad=false, by the number of the window's cells inside the input.
 */
function poolNd(n: IrNodeOf<"maxpool"> | IrNodeOf<"avgpool">, x: T64, max: boolean): T64 {
  if (n.attrs.global) return globalAvg(x);
  const [b, ch] = [x.dims[0]!, x.dims[1]!];
  const sizes = x.dims.slice(2);
  const win = windowOf(n.attrs, sizes, n.attrs.ceil);
  const countPad = n.op === "maxpool" || n.attrs.count_include_pad !== false;
  const y = zeros([b, ch, ...win.out]);
  const xs = stridesOf(x.dims);
  const nd = sizes.length;
  let yi = 0;
  for (let bi = 0; bi < b; bi++)
    for (let c = 0; c < ch; c++)
      forEachIndex(win.out, (p) => {
        const lo: number[] = [];
        const hi: number[] = [];
        let divisor = 1;
        for (let d = 0; d < nd; d++) {
          const start = p[d]! * win.stride[d]! - win.begin[d]!;
          const stop = Math.min(start + win.kernel[d]!, sizes[d]! + win.end[d]!);
          lo.push(Math.max(start, 0));
          hi.push(Math.min(stop, sizes[d]!));
          // count_include_pad=false: only the window's cells inside the input.
          divisor *= countPad ? stop - start : hi[d]! - lo[d]!;
        }
        let acc = max ? -Infinity : 0;
        const extent = lo.map((l, d) => hi[d]! - l);
        forEachIndex(extent, (q) => {
          let off = bi * xs[0]! + c * xs[1]!;
          for (let d = 0; d < nd; d++) off += (lo[d]! + q[d]!) * xs[d + 2]!;
          const v = x.data[off]!;
          acc = max ? Math.max(acc, v) : acc + v;
        });
        y.data[yi++] = max ? acc : acc / divisor;
      });
  return y;
}

/** Mean over every spatial position, keeping size-1 spatial dims. */
function globalAvg(x: T64): T64 {
  const [b, ch] = [x.dims[0]!, x.dims[1]!];
  const inner = prod(x.dims.slice(2));
  const y = zeros([b, ch, ...x.dims.slice(2).map(() => 1)]);
  for (let i = 0; i < b * ch; i++) {
    let s = 0;
    for (let j = 0; j < inner; j++) s += x.data[i * inner + j]!;
    y.data[i] = s / inner;
  }
  return y;
}

// ---- per-channel and broadcasting helpers ----

/** Applies f(value, channel) with the channel taken along `axis`. */
function perAxis(x: T64, axis: number, f: (v: number, ch: number) => number): T64 {
  const st = stridesOf(x.dims);
  const y = zeros([...x.dims]);
  for (let i = 0; i < x.data.length; i++) y.data[i] = f(x.data[i]!, Math.floor(i / st[axis]!) % x.dims[axis]!);
  return y;
}

/** NumPy broadcasting of a list of tensors with an element-wise n-ary function. */
function broadcastN(xs: T64[], f: (vs: number[]) => number): T64 {
  const rank = Math.max(...xs.map((t) => t.dims.length));
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const t of xs) {
      const v = t.dims[t.dims.length - rank + i] ?? 1;
      if (v !== 1 && d !== 1 && v !== d) throw new Error(`run64: cannot broadcast ${xs.map((t) => t.dims)}`);
      if (v !== 1) d = v;
    }
    dims.push(d);
  }
  const y = zeros(dims);
  const sts = xs.map((t) => {
    const s = stridesOf(t.dims);
    return dims.map((_, i) => {
      const j = t.dims.length - rank + i;
      return j < 0 || t.dims[j] === 1 ? 0 : s[j]!;
    });
  });
  for (let i = 0; i < y.data.length; i++) {
    const idx = unravel(i, dims);
    const vs = xs.map((t, k) => t.data[idx.reduce((a, v, d) => a + v * sts[k]![d]!, 0)]!);
    y.data[i] = f(vs);
  }
  return y;
}

/** Normalises groups of `len` consecutive values (stats over each group), then f(normed, flat index). */
function normalizeRuns(x: T64, len: number, eps: number, f: (v: number, i: number) => number): T64 {
  const y = zeros([...x.dims]);
  for (let s = 0; s < x.data.length; s += len) {
    let mean = 0;
    for (let j = 0; j < len; j++) mean += x.data[s + j]!;
    mean /= len;
    let v = 0;
    for (let j = 0; j < len; j++) v += (x.data[s + j]! - mean) ** 2;
    v /= len;
    for (let j = 0; j < len; j++) y.data[s + j] = f((x.data[s + j]! - mean) / Math.sqrt(v + eps), s + j);
  }
  return y;
}

/** Per-channel (dim 1) batch statistics: mean and biased variance over every other dim. */
function batchStats(x: T64): { mean: Float64Array; variance: Float64Array } {
  const ch = x.dims[1]!;
  const mean = new Float64Array(ch);
  const variance = new Float64Array(ch);
  const count = x.data.length / ch;
  const channel = (i: number): number => Math.floor(i / prod(x.dims.slice(2))) % ch;
  for (let i = 0; i < x.data.length; i++) mean[channel(i)] += x.data[i]! / count;
  for (let i = 0; i < x.data.length; i++) variance[channel(i)] += (x.data[i]! - mean[channel(i)]!) ** 2 / count;
  return { mean, variance };
}

/** Linear (align_corners=False, pytorch_half_pixel; with `corners`, align_corners=True) or nearest
 * (floor) resize of one spatial dim. */
function resizeAxis(x: T64, axis: number, f: number, linear: boolean, corners = false): T64 {
  const dims = [...x.dims];
  const size = dims[axis]!;
  dims[axis] = size * f;
  const y = zeros(dims);
  const st = stridesOf(x.dims);
  for (let i = 0; i < y.data.length; i++) {
    const idx = unravel(i, dims);
    const o = idx[axis]!;
    const base = idx.reduce((a, v, d) => (d === axis ? a : a + v * st[d]!), 0);
    if (!linear) {
      y.data[i] = x.data[base + Math.floor(o / f) * st[axis]!]!;
      continue;
    }
    // Half-pixel (PyTorch align_corners=False), or with `corners` in = o * (in - 1) / (out - 1).
    const out = dims[axis]!;
    const src = corners ? (out > 1 ? (o * (size - 1)) / (out - 1) : 0) : out > 1 ? Math.max(0, (o + 0.5) / f - 0.5) : 0;
    const i0 = Math.min(Math.floor(src), size - 1);
    const i1 = Math.min(i0 + 1, size - 1);
    const t = src - i0;
    y.data[i] = (1 - t) * x.data[base + i0 * st[axis]!]! + t * x.data[base + i1 * st[axis]!]!;
  }
  return y;
}

const identity = (_n: IrNode, xs: T64[]): T64 => ({ dims: [...xs[0]!.dims], data: xs[0]!.data.slice() });

/** The interpreter of each op, a record over the closed op set: a new op without one does not compile. */
export const OPS64: { [O in OpName]: Impl<O> } = {
  input: () => {
    throw new Error("run64: input nodes are bound, not evaluated");
  },
  conv: (n, [x], c) => convNd(n.attrs, x!, param(c, n, "weight"), optParam(c, n, "bias"), n.attrs.groups, n.attrs.out),
  dwconv: (n, [x], c) => convNd(n.attrs, x!, param(c, n, "weight"), optParam(c, n, "bias"), n.attrs.in, n.attrs.out),
  sepconv: (n, [x], c) => {
    // Depthwise with the node's window (no bias), then a pointwise 1x1 conv with the optional bias.
    const mid = convNd(n.attrs, x!, param(c, n, "depthwise.weight"), undefined, n.attrs.in, n.attrs.in);
    const k = n.attrs.kernel;
    const pointwise = { kernel: k.map(() => 1), stride: k.map(() => 1), pads: k.flatMap(() => [0, 0]) };
    return convNd(pointwise, mid, param(c, n, "pointwise.weight"), optParam(c, n, "pointwise.bias"), 1, n.attrs.out);
  },
  dense: (n, [x], c) => {
    // y[..., o] = b[o] + sum_i x[..., i] * W[o, i], W [out, in] (PyTorch Linear).
    const { in: fin, out } = n.attrs;
    const w = param(c, n, "weight");
    const bias = optParam(c, n, "bias");
    const rows = x!.data.length / fin;
    const y = zeros([...x!.dims.slice(0, -1), out]);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < out; o++) {
        let acc = bias ? bias[o]! : 0;
        for (let i = 0; i < fin; i++) acc += x!.data[r * fin + i]! * w[o * fin + i]!;
        y.data[r * out + o] = acc;
      }
    return y;
  },
  bn: (n, [x], c) => {
    // affine=false: no weight and bias, so gamma 1 and beta 0.
    const ones = new Float64Array(x!.dims[1]!).fill(1);
    const g = n.attrs.affine === false ? ones : param(c, n, "weight");
    const beta = n.attrs.affine === false ? ones.map(() => 0) : param(c, n, "bias");
    const stats =
      c.mode === "training"
        ? batchStats(x!)
        : { mean: param(c, n, "running_mean"), variance: param(c, n, "running_var") };
    return perAxis(
      x!,
      1,
      (v, ch) => ((v - stats.mean[ch]!) / Math.sqrt(stats.variance[ch]! + n.attrs.eps)) * g[ch]! + beta[ch]!,
    );
  },
  groupnorm: (n, [x], c) => {
    // Statistics per sample and group of C/G consecutive channels (all their positions), then a
    // per-channel affine.
    const g = param(c, n, "weight");
    const beta = param(c, n, "bias");
    const inner = prod(x!.dims.slice(2));
    const ch = x!.dims[1]!;
    const len = (ch / n.attrs.groups) * inner;
    return normalizeRuns(x!, len, n.attrs.eps, (v, i) => {
      const k = Math.floor(i / inner) % ch;
      return v * g[k]! + beta[k]!;
    });
  },
  layernorm: (n, [x], c) => {
    const g = param(c, n, "weight");
    const beta = param(c, n, "bias");
    const d = n.attrs.features;
    return normalizeRuns(x!, d, n.attrs.eps, (v, i) => v * g[i % d]! + beta[i % d]!);
  },
  relu: (_n, [x]) => map(x!, (v) => Math.max(v, 0)),
  leaky: (n, [x]) => map(x!, (v) => (v < 0 ? n.attrs.slope * v : v)),
  prelu: (n, [x], c) => {
    // One slope, or one per channel (dim 1).
    const a = param(c, n, "weight");
    return a.length === 1 ? map(x!, (v) => (v < 0 ? a[0]! * v : v)) : perAxis(x!, 1, (v, k) => (v < 0 ? a[k]! * v : v));
  },
  gelu: (_n, [x]) => map(x!, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
  silu: (_n, [x]) => map(x!, (v) => v * sigmoid(v)),
  sigmoid: (_n, [x]) => map(x!, sigmoid),
  tanh: (_n, [x]) => map(x!, Math.tanh),
  hardswish: (_n, [x]) => map(x!, (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6),
  softmax: (n, [x]) => {
    const axis = n.attrs.axis;
    const dims = x!.dims;
    const st = stridesOf(dims);
    const y = zeros([...dims]);
    const len = dims[axis]!;
    for (let i = 0; i < x!.data.length; i++) {
      if (Math.floor(i / st[axis]!) % len !== 0) continue; // i is the first element of a run along axis
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, x!.data[i + j * st[axis]!]!);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x!.data[i + j * st[axis]!]! - m);
      for (let j = 0; j < len; j++) y.data[i + j * st[axis]!] = Math.exp(x!.data[i + j * st[axis]!]! - m) / s;
    }
    return y;
  },
  maxpool: (n, [x]) => poolNd(n, x!, true),
  avgpool: (n, [x]) => poolNd(n, x!, false),
  gap: (_n, [x]) => globalAvg(x!),
  dropout: identity,
  drop_path: identity,
  scale: (n, [x]) => map(x!, (v) => v * n.attrs.by),
  gate: (n, [x], c) => {
    const w = param(c, n, "weight")[0]!;
    return map(x!, (v) => v * w);
  },
  shift: (n, [x], c) => {
    const b = param(c, n, "bias")[0]!;
    return map(x!, (v) => v + b);
  },
  layerscale: (n, [x], c) => {
    const w = param(c, n, n.attrs.bare === true ? "" : "weight");
    return perAxis(x!, n.attrs.axis, (v, k) => v * w[k]!);
  },
  flatten: (_n, [x]) => ({ dims: [x!.dims[0]!, prod(x!.dims.slice(1))], data: x!.data.slice() }),
  reshape: (n, [x]) => {
    const s = n.attrs.shape;
    const target = typeof s === "number" ? [s] : [...s];
    const per = prod(x!.dims.slice(1));
    const known = prod(target.filter((d) => d !== -1));
    return { dims: [x!.dims[0]!, ...target.map((d) => (d === -1 ? per / known : d))], data: x!.data.slice() };
  },
  transpose: (n, [x]) => {
    const perm = n.attrs.perm;
    const dims = perm.map((p) => x!.dims[p]!);
    const st = stridesOf(x!.dims);
    const y = zeros(dims);
    for (let i = 0; i < y.data.length; i++) {
      const idx = unravel(i, dims);
      y.data[i] = x!.data[idx.reduce((a, v, d) => a + v * st[perm[d]!]!, 0)]!;
    }
    return y;
  },
  upsample: (n, [x]) => {
    // Separable: nearest and (multi)linear resizes factor into one resize per spatial dim.
    let y = x!;
    for (let d = 2; d < x!.dims.length; d++)
      y = resizeAxis(y, d, n.attrs.scale, n.attrs.mode === "linear", n.attrs.align_corners);
    return y;
  },
  pixel_shuffle: (n, [x]) => {
    // out[n, c, h*r + i, w*r + j] = in[n, c*r*r + i*r + j, h, w] (PyTorch PixelShuffle; ONNX DepthToSpace CRD).
    const r = n.attrs.r;
    const [b, cin, h, w] = x!.dims as [number, number, number, number];
    const c = cin / (r * r);
    const y = zeros([b, c, h * r, w * r]);
    for (let bi = 0; bi < b; bi++)
      for (let k = 0; k < c; k++)
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++)
            for (let hh = 0; hh < h; hh++)
              for (let ww = 0; ww < w; ww++)
                y.data[((bi * c + k) * h * r + hh * r + i) * w * r + ww * r + j] =
                  x!.data[((bi * cin + k * r * r + i * r + j) * h + hh) * w + ww]!;
    return y;
  },
  add: (_n, xs) => broadcastN(xs, (vs) => vs.reduce((a, b) => a + b, 0)),
  sub: (_n, xs) => broadcastN(xs, ([a, b]) => a! - b!),
  mul: (_n, xs) => broadcastN(xs, (vs) => vs.reduce((a, b) => a * b, 1)),
  slice: (n, [x]) => {
    // y[..., i, ...] = x[..., start + i, ...] along `axis`.
    const { axis, start, end } = n.attrs;
    const dims = [...x!.dims];
    const len = dims[axis]!;
    dims[axis] = end - start;
    const y = zeros(dims);
    const inner = prod(dims.slice(axis + 1));
    const outer = prod(dims.slice(0, axis));
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < end - start; i++)
        for (let j = 0; j < inner; j++)
          y.data[(o * (end - start) + i) * inner + j] = x!.data[(o * len + start + i) * inner + j]!;
    return y;
  },
  concat: (n, xs) => {
    const axis = n.attrs.axis;
    const dims = [...xs[0]!.dims];
    dims[axis] = xs.reduce((a, t) => a + t.dims[axis]!, 0);
    const y = zeros(dims);
    const outer = prod(dims.slice(0, axis));
    let yi = 0;
    for (let o = 0; o < outer; o++)
      for (const t of xs) {
        const chunk = prod(t.dims.slice(axis));
        for (let j = 0; j < chunk; j++) y.data[yi++] = t.data[o * chunk + j]!;
      }
    return y;
  },
  // SEW ResNet merges (Fang et al. 2021): input 0 is the branch A, input 1 the shortcut S.
  sew_and: (_n, xs) => broadcastN(xs, ([a, s]) => a! * s!),
  sew_iand: (_n, xs) => broadcastN(xs, ([a, s]) => (1 - a!) * s!),
  attention: (n, [x], c) => attention64(n, x!, c),
  cls_token: (n, [x], c) => {
    // out[:, 0, :] = the token, out[:, 1 + s, :] = x[:, s, :].
    const [b, t, d] = x!.dims as [number, number, number];
    const tok = param(c, n, "");
    const y = zeros([b, t + 1, d]);
    for (let bi = 0; bi < b; bi++) {
      y.data.set(tok, bi * (t + 1) * d);
      y.data.set(x!.data.subarray(bi * t * d, (bi + 1) * t * d), (bi * (t + 1) + 1) * d);
    }
    return y;
  },
  pos_embed: (n, [x], c) => {
    const e = param(c, n, "");
    return { dims: [...x!.dims], data: x!.data.map((v, i) => v + e[i % e.length]!) };
  },
  // CaiT and ResMLP (timm cait.py, mlp_mixer.py).
  affine: (n, [x], c) => {
    const al = param(c, n, "alpha");
    const be = param(c, n, "beta");
    const d = n.attrs.dim;
    return { dims: [...x!.dims], data: x!.data.map((v, i) => al[i % d]! * v + be[i % d]!) };
  },
  talking_heads_attention: (n, [x], c) => talkingHeads64(n, x!, c),
  class_attention: (n, [x], c) => classAttention64(n, x!, c),
  if_neuron: (n, [x]) => neuron64(n.attrs, undefined, x!),
  lif: (n, [x]) => neuron64(n.attrs, n.attrs.tau, x!),
  time_repeat: (n, [x]) => {
    // Time-major: T copies of the whole batch one after another.
    const T = n.attrs.T;
    const y = zeros([x!.dims[0]! * T, ...x!.dims.slice(1)]);
    for (let t = 0; t < T; t++) y.data.set(x!.data, t * x!.data.length);
    return y;
  },
  time_mean: (n, [x]) => {
    const T = n.attrs.T;
    const m = x!.data.length / T;
    const y = zeros([x!.dims[0]! / T, ...x!.dims.slice(1)]);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += x!.data[t * m + i]!;
      y.data[i] = s / T;
    }
    return y;
  },
  shortcut_pad: (n, [x]) => {
    // Option A: x[:, :, ::s, ::s, ...], then pad_before zero channels in front and pad_after behind.
    const { stride: s, pad_before: pb, pad_after: pa } = n.attrs;
    const dims = x!.dims;
    const sub = dims.slice(2).map((d) => Math.floor((d - 1) / s) + 1);
    const out = [dims[0]!, dims[1]! + pb + pa, ...sub];
    const y = zeros(out);
    const xs = stridesOf(dims);
    for (let i = 0; i < y.data.length; i++) {
      const idx = unravel(i, out);
      const ch = idx[1]! - pb;
      if (ch < 0 || ch >= dims[1]!) continue;
      let off = idx[0]! * xs[0]! + ch * xs[1]!;
      for (let d = 2; d < dims.length; d++) off += idx[d]! * s * xs[d]!;
      y.data[i] = x!.data[off]!;
    }
    return y;
  },
};

/**
 * A spiking neuron over [T*N, ...] (time-major), element by element as SpikingJelly's IFNode /
 * LIFNode (decay_input=True) in multi-step mode: v starts at v_reset (0 with a soft reset); per
 * step IF charges v + x, LIF v + (x - (v - v_reset)) / tau; spike = heaviside(v - v_th) with
 * heaviside(0) = 1; then a hard reset to v_reset or a soft one (v - v_th) where it spiked.
 */
function neuron64(a: IrNodeOf<"if_neuron">["attrs"], tau: number | undefined, x: T64): T64 {
  const m = x.data.length / a.T;
  const y = zeros([...x.dims]);
  for (let i = 0; i < m; i++) {
    let v = a.reset === "hard" ? a.v_reset : 0;
    for (let t = 0; t < a.T; t++) {
      const xi = x.data[t * m + i]!;
      v = tau === undefined ? v + xi : v + (xi - (v - a.v_reset)) / tau;
      const spike = v - a.v_th >= 0 ? 1 : 0;
      y.data[t * m + i] = spike;
      if (spike) v = a.reset === "hard" ? a.v_reset : v - a.v_th;
    }
  }
  return y;
}

/**
 * Multi-head self-attention as PyTorch's nn.MultiheadAttention(D, H, batch_first=True)(x, x, x):
 * rows of qkv = x W_in^T + b_in are [q | k | v], head j uses features j*Dh..(j+1)*Dh of each;
 * a[s, u] = softmax_u(q_s . k_u / sqrt(Dh)); o_s = sum_u a[s, u] v_u; heads side by side, then
 * out_proj.
 */
function attention64(n: IrNodeOf<"attention">, x: T64, c: Ctx): T64 {
  const [b, t, d] = x.dims as [number, number, number];
  const h = n.attrs.heads;
  const dh = d / h;
  const qkv = linearRows(x.data, b * t, d, param(c, n, "in_proj_weight"), param(c, n, "in_proj_bias"), 3 * d);
  const joined = new Float64Array(b * t * d);
  const at = (s: number, part: number, j: number, e: number, bi: number): number =>
    qkv[(bi * t + s) * 3 * d + part * d + j * dh + e]!;
  for (let bi = 0; bi < b; bi++)
    for (let j = 0; j < h; j++)
      for (let s = 0; s < t; s++) {
        const scores = new Float64Array(t);
        let m = -Infinity;
        for (let u = 0; u < t; u++) {
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += at(s, 0, j, e, bi) * at(u, 1, j, e, bi);
          scores[u] = dot / Math.sqrt(dh);
          m = Math.max(m, scores[u]!);
        }
        let sum = 0;
        for (let u = 0; u < t; u++) sum += scores[u] = Math.exp(scores[u]! - m);
        for (let e = 0; e < dh; e++) {
          let acc = 0;
          for (let u = 0; u < t; u++) acc += (scores[u]! / sum) * at(u, 2, j, e, bi);
          joined[(bi * t + s) * d + j * dh + e] = acc;
        }
      }
  const y = linearRows(joined, b * t, d, param(c, n, "out_proj.weight"), param(c, n, "out_proj.bias"), d);
  return { dims: [b, t, d], data: y };
}

/** nn.Linear `p` of node `n` on `rows` rows of `fin` features. */
function lin(c: Ctx, n: IrNode, p: string, x: Float64Array, rows: number, fin: number, out: number): Float64Array {
  return linearRows(x, rows, fin, param(c, n, `${p}.weight`), param(c, n, `${p}.bias`), out);
}

/** softmax of v in place. */
function softmaxInPlace(v: Float64Array): void {
  let m = -Infinity;
  for (const e of v) m = Math.max(m, e);
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] = Math.exp(v[i]! - m);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / sum;
}

/**
 * timm TalkingHeadAttn written from its definition: rows of qkv(x) are [q | k | v], head j uses
 * features j*Dh..(j+1)*Dh of each; s[j, a, b] = q_a . k_b / sqrt(Dh); s'[i] = sum_j Wl[i, j] s[j] +
 * bl[i]; p = softmax_b(s'); p'[i] = sum_j Ww[i, j] p[j] + bw[i]; o_a (head i) = sum_b p'[i, a, b]
 * v_b; then proj.
 */
function talkingHeads64(n: IrNodeOf<"talking_heads_attention">, x: T64, c: Ctx): T64 {
  const [b, t, d] = x.dims as [number, number, number];
  const h = n.attrs.heads;
  const dh = d / h;
  const qkv = lin(c, n, "qkv", x.data, b * t, d, 3 * d);
  const [wl, bl, ww, bw] = ["proj_l.weight", "proj_l.bias", "proj_w.weight", "proj_w.bias"].map((s) => param(c, n, s));
  const at = (bi: number, s: number, part: number, j: number, e: number): number =>
    qkv[(bi * t + s) * 3 * d + part * d + j * dh + e]!;
  const joined = new Float64Array(b * t * d);
  for (let bi = 0; bi < b; bi++)
    for (let s = 0; s < t; s++) {
      // Scores of query s: sc[j][u].
      const sc = Array.from({ length: h }, (_, j) => {
        const r = new Float64Array(t);
        for (let u = 0; u < t; u++) {
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += at(bi, s, 0, j, e) * at(bi, u, 1, j, e);
          r[u] = dot / Math.sqrt(dh);
        }
        return r;
      });
      const mix = (a: Float64Array[], w: Float64Array, bias: Float64Array): Float64Array[] =>
        Array.from({ length: h }, (_, i) => {
          const r = new Float64Array(t);
          for (let u = 0; u < t; u++) {
            let acc = bias[i]!;
            for (let j = 0; j < h; j++) acc += w![i * h + j]! * a[j]![u]!;
            r[u] = acc;
          }
          return r;
        });
      const pre = mix(sc, wl!, bl!);
      for (const r of pre) softmaxInPlace(r);
      const p = mix(pre, ww!, bw!);
      for (let i = 0; i < h; i++)
        for (let e = 0; e < dh; e++) {
          let acc = 0;
          for (let u = 0; u < t; u++) acc += p[i]![u]! * at(bi, u, 2, i, e);
          joined[(bi * t + s) * d + i * dh + e] = acc;
        }
    }
  return { dims: [b, t, d], data: lin(c, n, "proj", joined, b * t, d, d) };
}

/** timm ClassAttn: q from token 0, k and v from every token, per head softmax(q . k / sqrt(Dh)) v,
 * heads side by side, proj: [N, T, D] -> [N, 1, D]. */
function classAttention64(n: IrNodeOf<"class_attention">, x: T64, c: Ctx): T64 {
  const [b, t, d] = x.dims as [number, number, number];
  const h = n.attrs.heads;
  const dh = d / h;
  const k = lin(c, n, "k", x.data, b * t, d, d);
  const v = lin(c, n, "v", x.data, b * t, d, d);
  const first = new Float64Array(b * d);
  for (let bi = 0; bi < b; bi++) first.set(x.data.subarray(bi * t * d, bi * t * d + d), bi * d);
  const q = lin(c, n, "q", first, b, d, d);
  const joined = new Float64Array(b * d);
  for (let bi = 0; bi < b; bi++)
    for (let j = 0; j < h; j++) {
      const sc = new Float64Array(t);
      for (let u = 0; u < t; u++) {
        let dot = 0;
        for (let e = 0; e < dh; e++) dot += q[bi * d + j * dh + e]! * k[(bi * t + u) * d + j * dh + e]!;
        sc[u] = dot / Math.sqrt(dh);
      }
      softmaxInPlace(sc);
      for (let e = 0; e < dh; e++) {
        let acc = 0;
        for (let u = 0; u < t; u++) acc += sc[u]! * v[(bi * t + u) * d + j * dh + e]!;
        joined[bi * d + j * dh + e] = acc;
      }
    }
  return { dims: [b, 1, d], data: lin(c, n, "proj", joined, b, d, d) };
}

/** Evaluates one node on its input tensors. */
export function evalNode(n: IrNode, xs: T64[], c: Ctx): T64 {
  return (OPS64[n.op] as Impl<OpName>)(n as IrNodeOf<OpName>, xs, c);
}

/**
 * Runs the graph. `inputs[i]` is graph input i in its declared layout with batch `b`; symbolic
 * dims other than the batch `N` take their values from `sizes`. Every node's computed dims must
 * equal the compiler's where those are numbers (N is `b`); a mismatch throws.
 */
export function run64(
  graph: Graph,
  params: ReadonlyMap<string, Float64Array>,
  inputs: Float64Array[],
  b: number,
  mode: Mode,
  sizes: Record<string, number> = {},
): { outputs: T64[]; values: T64[] } {
  const c: Ctx = { params, mode, nodes: graph.nodes };
  const values: T64[] = [];
  const resolve = (d: IrNode["shape"][number]): number | undefined =>
    typeof d === "number" ? d : d.key === "N" ? b : sizes[d.key];
  for (const n of graph.nodes) {
    let v: T64;
    if (n.op === "input") {
      const k = graph.inputs.findIndex((io) => io.node === n.id);
      const dims = n.shape.map((d) => {
        const r = resolve(d);
        if (r === undefined) throw new Error(`run64: no size for ${JSON.stringify(d)} of input ${n.name}`);
        return r;
      });
      const data = inputs[k];
      if (!data || data.length !== prod(dims))
        throw new Error(`run64: input ${k} needs ${prod(dims)} values for [${dims}], got ${data?.length}`);
      v = { dims, data };
    } else
      v = evalNode(
        n,
        n.inputs.map((i) => values[i]!),
        c,
      );
    const expected = n.shape.map(resolve);
    if (expected.length !== v.dims.length || expected.some((e, i) => e !== undefined && e !== v.dims[i]))
      throw new Error(`run64: ${n.name} (${n.op}) computed [${v.dims}], the compiler says [${expected}]`);
    values.push(v);
  }
  return { outputs: graph.outputs.map((o) => values[o.node]!), values };
}
