// The layer helpers at 1, 2 and 3 spatial dims against naive float64 reference loops written
// here: forward outputs (weights set from canonical PyTorch-layout values through PARAMS rows, as
// the emitter writes them), gradients of the custom layers against central finite differences of
// the reference, and a save/load round trip of every custom layer.
// Last, the same gradients on the wasm backend (with resnetc's wasm training kernels) as on cpu:
// tfjs's wasm MaxPoolGrad (non-square windows) and Conv3DBackpropInputV2 are wrong, and the
// layers route around them.
// Takes: the runtime's layers and params-core. Gives: vitest cases on the tfjs cpu backend (and
// the wasm comparison). Must not: depend on the compiler's emitter.

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import * as rt from "../src/layers.js";
import { registerCustomLayers } from "../src/layers.js";
import { setParams, toModelInput, type ParamInfo } from "../src/params-core.js";
import { registerWasmTrainingKernels } from "../src/wasm-kernels.js";

type T = tf.SymbolicTensor;
interface Arr {
  shape: number[];
  data: Float64Array;
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  registerCustomLayers();
});

// ---- deterministic data ----
let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function randArr(shape: number[], lo = -1, hi = 1): Arr {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rnd();
  return { shape, data };
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Every multi-index of `dims`, row-major. */
function indices(dims: number[]): number[][] {
  const out: number[][] = [[]];
  for (const d of dims) {
    const next: number[][] = [];
    for (const p of out) for (let i = 0; i < d; i++) next.push([...p, i]);
    out.splice(0, out.length, ...next);
  }
  return out;
}
function flat(shape: number[], idx: number[]): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i]! + idx[i]!;
  return f;
}

// ---- references (float64, channels last) ----
function refConv(
  x: Arr,
  w: Arr,
  b: Float64Array | null,
  st: number[],
  pads: number[],
  dil: number[],
  groups: number,
): Arr {
  const n = st.length;
  const [N, ...rest] = x.shape;
  const sp = rest.slice(0, n);
  const C = rest[n]!;
  const [O, kin, ...k] = w.shape as [number, number, ...number[]];
  const m = O / groups;
  const os = sp.map((s, i) => Math.floor((s + pads[i]! + pads[i + n]! - dil[i]! * (k[i]! - 1) - 1) / st[i]!) + 1);
  const outShape = [N!, ...os, O];
  const y = new Float64Array(size(outShape));
  const kidx = indices(k);
  for (const oi of indices([N!, ...os])) {
    for (let o = 0; o < O; o++) {
      const gi = Math.floor(o / m);
      let acc = b ? b[o]! : 0;
      for (let j = 0; j < kin; j++)
        for (const ka of kidx) {
          const pos: number[] = [];
          let inside = true;
          for (let i = 0; i < n; i++) {
            const p = oi[i + 1]! * st[i]! - pads[i]! + ka[i]! * dil[i]!;
            if (p < 0 || p >= sp[i]!) inside = false;
            pos.push(p);
          }
          if (!inside) continue;
          acc += x.data[flat(x.shape, [oi[0]!, ...pos, gi * kin + j])]! * w.data[flat(w.shape, [o, j, ...ka])]!;
        }
      y[flat(outShape, [...oi, o])] = acc;
    }
  }
  void C;
  return { shape: outShape, data: y };
}

function poolOut(s: number, k: number, st: number, pb: number, pe: number, ceil: boolean): number {
  if (!ceil) return Math.floor((s + pb + pe - k) / st) + 1;
  let o = Math.ceil((s + pb + pe - k) / st) + 1;
  if ((o - 1) * st >= s + pb) o--;
  return o;
}

function refPool(kind: "max" | "avg", x: Arr, k: number[], st: number[], pads: number[], ceil: boolean): Arr {
  const n = k.length;
  const [N, ...rest] = x.shape;
  const sp = rest.slice(0, n);
  const C = rest[n]!;
  const os = sp.map((s, i) => poolOut(s, k[i]!, st[i]!, pads[i]!, pads[i + n]!, ceil));
  const outShape = [N!, ...os, C];
  const y = new Float64Array(size(outShape));
  for (const oi of indices(outShape)) {
    let acc = kind === "max" ? -Infinity : 0;
    let count = 1;
    for (let i = 0; i < n; i++) {
      const start = oi[i + 1]! * st[i]! - pads[i]!;
      count *= Math.min(start + k[i]!, sp[i]! + pads[i + n]!) - start;
    }
    for (const ka of indices(k)) {
      const pos: number[] = [];
      let inside = true;
      for (let i = 0; i < n; i++) {
        const p = oi[i + 1]! * st[i]! - pads[i]! + ka[i]!;
        if (p < 0 || p >= sp[i]!) inside = false;
        pos.push(p);
      }
      if (!inside) continue;
      const v = x.data[flat(x.shape, [oi[0]!, ...pos, oi[n + 1]!])]!;
      acc = kind === "max" ? Math.max(acc, v) : acc + v;
    }
    y[flat(outShape, oi)] = kind === "max" ? acc : acc / count;
  }
  return { shape: outShape, data: y };
}

function refPixelShuffle(x: Arr, r: number): Arr {
  const [N, H, W, CC] = x.shape as [number, number, number, number];
  const C = CC / (r * r);
  const outShape = [N, H * r, W * r, C];
  const y = new Float64Array(size(outShape));
  for (const [n, h, w, cc] of indices(x.shape)) {
    const c = Math.floor(cc! / (r * r));
    const i = Math.floor((cc! % (r * r)) / r);
    const j = cc! % r;
    y[flat(outShape, [n!, h! * r + i, w! * r + j, c])] = x.data[flat(x.shape, [n!, h!, w!, cc!])]!;
  }
  return { shape: outShape, data: y };
}

function refUpsample(x: Arr, s: number, mode: "nearest" | "linear"): Arr {
  let cur = x;
  for (let axis = 1; axis < x.shape.length - 1; axis++) {
    const L = cur.shape[axis]!;
    const outShape = [...cur.shape];
    outShape[axis] = L * s;
    const y = new Float64Array(size(outShape));
    for (const oi of indices(outShape)) {
      const o = oi[axis]!;
      const at = (i: number) => {
        const ii = [...oi];
        ii[axis] = i;
        return cur.data[flat(cur.shape, ii)]!;
      };
      let v: number;
      if (mode === "nearest") v = at(Math.floor(o / s));
      else {
        let src = (o + 0.5) / s - 0.5;
        if (src < 0) src = 0;
        const i0 = Math.floor(src);
        const i1 = Math.min(i0 + 1, L - 1);
        const l1 = src - i0;
        v = (1 - l1) * at(i0) + l1 * at(i1);
      }
      y[flat(outShape, oi)] = v;
    }
    cur = { shape: outShape, data: y };
  }
  return cur;
}

function refGroupNorm(x: Arr, g: number, eps: number, gamma: Float64Array, beta: Float64Array): Arr {
  const N = x.shape[0]!;
  const C = x.shape[x.shape.length - 1]!;
  const S = size(x.shape) / N / C;
  const y = new Float64Array(x.data.length);
  const cg = C / g;
  for (let n = 0; n < N; n++)
    for (let gi = 0; gi < g; gi++) {
      const at = (s: number, j: number) => (n * S + s) * C + gi * cg + j;
      let sum = 0;
      for (let s = 0; s < S; s++) for (let j = 0; j < cg; j++) sum += x.data[at(s, j)]!;
      const mean = sum / (S * cg);
      let sq = 0;
      for (let s = 0; s < S; s++) for (let j = 0; j < cg; j++) sq += (x.data[at(s, j)]! - mean) ** 2;
      const inv = 1 / Math.sqrt(sq / (S * cg) + eps);
      for (let s = 0; s < S; s++)
        for (let j = 0; j < cg; j++) {
          const c = gi * cg + j;
          y[at(s, j)] = (x.data[at(s, j)]! - mean) * inv * gamma[c]! + beta[c]!;
        }
    }
  return { shape: x.shape, data: y };
}

function refLayerNorm(x: Arr, eps: number, gamma: Float64Array, beta: Float64Array): Arr {
  const C = x.shape[x.shape.length - 1]!;
  const y = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / C; r++) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += x.data[r * C + c]!;
    const mean = sum / C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (x.data[r * C + c]! - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x.data[r * C + c]! - mean) * inv * gamma[c]! + beta[c]!;
  }
  return { shape: x.shape, data: y };
}

function refOptionA(x: Arr, s: number, before: number, after: number): Arr {
  const n = x.shape.length - 2;
  const C = x.shape[n + 1]!;
  const outShape = [x.shape[0]!, ...x.shape.slice(1, -1).map((d) => Math.ceil(d / s)), C + before + after];
  const y = new Float64Array(size(outShape));
  for (const oi of indices(outShape)) {
    const c = oi[n + 1]! - before;
    if (c < 0 || c >= C) continue;
    y[flat(outShape, oi)] = x.data[flat(x.shape, [oi[0]!, ...oi.slice(1, n + 1).map((o) => o * s), c])]!;
  }
  return { shape: outShape, data: y };
}

function erf(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 100; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const elementwise = (x: Arr, f: (v: number, i: number) => number): Arr => ({
  shape: x.shape,
  data: x.data.map((v, i) => f(v, i)),
});

// ---- harness ----
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

const INIT = { kind: "const", value: 0 } as ParamInfo["init"];
function row(
  name: string,
  layer: string,
  index: number,
  dims: number[],
  layout: ParamInfo["layout"],
  channels?: number,
) {
  return { name, layer, index, dims, layout, init: INIT, learnable: true, ...(channels ? { channels } : {}) };
}

interface Built {
  model: tf.LayersModel;
  run: (x: Arr) => { shape: number[]; data: Float32Array };
}
function build(
  inShape: number[],
  f: (x: T) => T,
  params: ParamInfo[] = [],
  values: Record<string, Arr> = {},
  inputs = 1,
): Built {
  const ins = Array.from({ length: inputs }, () => tf.input({ shape: inShape.slice(1) }));
  const out = inputs === 1 ? f(ins[0]!) : (f as unknown as (xs: T[]) => T)(ins);
  const model = tf.model({ inputs: ins, outputs: out });
  setParams(model, params, (p) => Float32Array.from(values[p.name]!.data));
  return { model, run: (x) => predict(model, [x]) };
}
function predict(model: tf.LayersModel, xs: Arr[]): { shape: number[]; data: Float32Array } {
  const ts = xs.map((x) => tf.tensor(Float32Array.from(x.data), x.shape));
  const y = model.predict(ts.length === 1 ? ts[0]! : ts) as tf.Tensor;
  const out = { shape: y.shape, data: y.dataSync() as Float32Array };
  tf.dispose([...ts, y]);
  return out;
}
function checkForward(got: { shape: number[]; data: Float32Array }, want: Arr, tol = 1e-5): void {
  expect(got.shape).toEqual(want.shape);
  expect(relErr(got.data, want.data)).toBeLessThan(tol);
}

/** Saves the model through tf.io and loads it back: the same output. */
async function roundTrip(model: tf.LayersModel, xs: Arr[]): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const a = predict(model, xs);
  const b = predict(loaded, xs);
  expect(b.shape).toEqual(a.shape);
  expect(relErr(b.data, a.data)).toBeLessThan(1e-6);
}

/** tfjs gradient of sum(model(x) * cot) w.r.t. x and the model's trainable weights (tfjs layout
 * = canonical for the custom layers) against central differences of the float64 reference. */
function checkGrads(
  model: tf.LayersModel,
  x: Arr,
  weights: Record<string, Arr>,
  ref: (x: Arr, w: Record<string, Arr>) => Arr,
  tol = 1e-3,
): void {
  const y0 = ref(x, weights);
  const cot = randArr(y0.shape);
  const loss = (xx: Arr, ww: Record<string, Arr>) => {
    const y = ref(xx, ww);
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += y.data[i]! * cot.data[i]!;
    return s;
  };
  // central differences at up to 24 sampled entries of each tensor
  const fd = (a: Arr, bump: (a: Arr) => number): [number[], number[]] => {
    const at: number[] = [];
    const step = Math.max(1, Math.floor(a.data.length / 24));
    for (let i = Math.floor(rnd() * step); i < a.data.length; i += step) at.push(i);
    const h = 1e-6;
    const g = at.map((i) => {
      const v = a.data[i]!;
      a.data[i] = v + h;
      const up = bump(a);
      a.data[i] = v - h;
      const down = bump(a);
      a.data[i] = v;
      return (up - down) / (2 * h);
    });
    return [at, g];
  };
  const compare = (got: ArrayLike<number>, [at, want]: [number[], number[]]) =>
    expect(
      relErr(
        at.map((i) => got[i]!),
        want,
      ),
    ).toBeLessThan(tol);
  const names = Object.keys(weights);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  expect(vars.length).toBe(names.length);
  const xt = tf.tensor(Float32Array.from(x.data), x.shape);
  const ct = tf.tensor(Float32Array.from(cot.data), cot.shape);
  const f = (xx: tf.Tensor) => tf.sum(tf.mul(model.apply(xx, { training: true }) as tf.Tensor, ct)) as tf.Scalar;
  const gx = tf.grad(f)(xt);
  compare(
    gx.dataSync(),
    fd(x, (a) => loss(a, weights)),
  );
  if (vars.length) {
    const { grads } = tf.variableGrads(() => f(xt), vars);
    names.forEach((name, i) => {
      const g = grads[vars[i]!.name]!;
      compare(
        g.dataSync(),
        fd(weights[name]!, () => loss(x, weights)),
      );
    });
    tf.dispose(Object.values(grads));
  }
  tf.dispose([xt, ct, gx]);
}

/** Canonical [O, I, ...k] <-> tfjs [...k, I, O]. */
function toTfjsLayout(w: Arr): Arr {
  const [o, i, ...k] = w.shape as [number, number, ...number[]];
  const shape = [...k, i, o];
  const data = new Float64Array(w.data.length);
  for (const idx of indices(w.shape))
    data[flat(shape, [...idx.slice(2), idx[1]!, idx[0]!])] = w.data[flat(w.shape, idx)]!;
  return { shape, data };
}
function fromTfjsLayout(w: Arr): Arr {
  const r = w.shape.length;
  const shape = [w.shape[r - 1]!, w.shape[r - 2]!, ...w.shape.slice(0, r - 2)];
  const data = new Float64Array(w.data.length);
  for (const idx of indices(w.shape))
    data[flat(shape, [idx[r - 1]!, idx[r - 2]!, ...idx.slice(0, r - 2)])] = w.data[flat(w.shape, idx)]!;
  return { shape, data };
}

/** Canonical depthwise [c*m, 1, kh, kw] <-> tfjs [kh, kw, c, m]. */
function toDwLayout(w: Arr, c: number): Arr {
  const [cm, , kh, kw] = w.shape as [number, number, number, number];
  const m = cm / c;
  const shape = [kh, kw, c, m];
  const data = new Float64Array(w.data.length);
  for (const [o, , i, j] of indices(w.shape))
    data[flat(shape, [i!, j!, Math.floor(o! / m), o! % m])] = w.data[flat(w.shape, [o!, 0, i!, j!])]!;
  return { shape, data };
}
function fromDwLayout(w: Arr): Arr {
  const [kh, kw, c, m] = w.shape as [number, number, number, number];
  const shape = [c * m, 1, kh, kw];
  const data = new Float64Array(w.data.length);
  for (const [i, j, ci, t] of indices(w.shape))
    data[flat(shape, [ci! * m + t!, 0, i!, j!])] = w.data[flat(w.shape, [i!, j!, ci!, t!])]!;
  return { shape, data };
}

// ---- cases ----
interface ConvCase {
  n: number;
  batch: number;
  c: number;
  o: number;
  sp: number[];
  k: number[];
  st: number[];
  pads: number[];
  dil: number[];
  groups: number;
  bias: boolean;
}
const convCases: ConvCase[] = [
  // groups 1 (tfjs conv1d/2d/3d), "same" and explicit/asymmetric pads, stride, dilation
  { n: 1, batch: 2, c: 3, o: 4, sp: [9], k: [3], st: [1], pads: [1, 1], dil: [1], groups: 1, bias: true },
  { n: 1, batch: 1, c: 3, o: 5, sp: [11], k: [3], st: [2], pads: [0, 2], dil: [1], groups: 1, bias: false },
  { n: 1, batch: 1, c: 2, o: 3, sp: [11], k: [3], st: [2], pads: [2, 1], dil: [2], groups: 1, bias: true },
  {
    n: 2,
    batch: 2,
    c: 3,
    o: 4,
    sp: [7, 5],
    k: [3, 3],
    st: [1, 1],
    pads: [1, 1, 1, 1],
    dil: [1, 1],
    groups: 1,
    bias: true,
  },
  {
    n: 2,
    batch: 1,
    c: 3,
    o: 2,
    sp: [7, 6],
    k: [3, 2],
    st: [2, 1],
    pads: [1, 0, 0, 1],
    dil: [1, 1],
    groups: 1,
    bias: true,
  },
  {
    n: 2,
    batch: 1,
    c: 2,
    o: 3,
    sp: [9, 7],
    k: [3, 3],
    st: [2, 2],
    pads: [2, 2, 2, 2],
    dil: [2, 2],
    groups: 1,
    bias: true,
  },
  {
    n: 3,
    batch: 2,
    c: 2,
    o: 3,
    sp: [5, 4, 5],
    k: [3, 3, 3],
    st: [1, 1, 1],
    pads: [1, 1, 1, 1, 1, 1],
    dil: [1, 1, 1],
    groups: 1,
    bias: true,
  },
  {
    n: 3,
    batch: 1,
    c: 3,
    o: 2,
    sp: [5, 6, 5],
    k: [3, 2, 3],
    st: [2, 1, 2],
    pads: [0, 1, 1, 1, 0, 2],
    dil: [1, 1, 1],
    groups: 1,
    bias: false,
  },
  {
    n: 3,
    batch: 1,
    c: 2,
    o: 3,
    sp: [7, 7, 6],
    k: [2, 3, 2],
    st: [2, 2, 1],
    pads: [1, 0, 2, 0, 1, 1],
    dil: [2, 1, 2],
    groups: 1,
    bias: true,
  },
  // depthwise 2-D (tfjs depthwiseConv2d, layout dw), multiplier 1 and 2
  {
    n: 2,
    batch: 2,
    c: 3,
    o: 3,
    sp: [7, 5],
    k: [3, 3],
    st: [1, 1],
    pads: [1, 1, 1, 1],
    dil: [1, 1],
    groups: 3,
    bias: true,
  },
  {
    n: 2,
    batch: 1,
    c: 3,
    o: 6,
    sp: [7, 6],
    k: [3, 3],
    st: [2, 2],
    pads: [1, 0, 1, 2],
    dil: [1, 1],
    groups: 3,
    bias: false,
  },
  {
    n: 2,
    batch: 2,
    c: 3,
    o: 6,
    sp: [8, 7],
    k: [3, 2],
    st: [2, 1],
    pads: [2, 1, 1, 0],
    dil: [2, 2],
    groups: 3,
    bias: true,
  },
  // ResnetcGroupedConv: grouped at 1/2/3 dims, depthwise 1-D and 3-D, dilation, strides
  {
    n: 2,
    batch: 2,
    c: 4,
    o: 6,
    sp: [7, 5],
    k: [3, 3],
    st: [1, 1],
    pads: [1, 1, 1, 1],
    dil: [1, 1],
    groups: 2,
    bias: true,
  },
  {
    n: 2,
    batch: 1,
    c: 6,
    o: 3,
    sp: [8, 7],
    k: [3, 2],
    st: [2, 1],
    pads: [0, 1, 2, 0],
    dil: [2, 1],
    groups: 3,
    bias: true,
  },
  { n: 1, batch: 2, c: 4, o: 4, sp: [9], k: [3], st: [1], pads: [1, 1], dil: [1], groups: 4, bias: true },
  { n: 1, batch: 1, c: 6, o: 4, sp: [12], k: [3], st: [2], pads: [2, 1], dil: [2], groups: 2, bias: false },
  {
    n: 3,
    batch: 2,
    c: 4,
    o: 4,
    sp: [5, 4, 5],
    k: [3, 3, 3],
    st: [1, 1, 1],
    pads: [1, 1, 1, 1, 1, 1],
    dil: [1, 1, 1],
    groups: 4,
    bias: true,
  },
  {
    n: 3,
    batch: 1,
    c: 4,
    o: 6,
    sp: [7, 5, 6],
    k: [3, 2, 3],
    st: [2, 1, 2],
    pads: [1, 0, 1, 2, 1, 0],
    dil: [2, 1, 1],
    groups: 2,
    bias: true,
  },
];

describe("conv at 1, 2, 3 spatial dims", () => {
  for (const cc of convCases) {
    const label = `${cc.n}-D c${cc.c} o${cc.o} g${cc.groups} k${cc.k} s${cc.st} p${cc.pads} d${cc.dil} b${cc.batch}`;
    it(label, async () => {
      const inShape = [cc.batch, ...cc.sp, cc.c];
      const x = randArr(inShape);
      const w = randArr([cc.o, cc.c / cc.groups, ...cc.k]);
      const b = randArr([cc.o]);
      const depthwise = cc.groups > 1 && cc.groups === cc.c && cc.n === 2;
      const custom = cc.groups > 1 && !depthwise;
      const dilated = cc.dil.some((d) => d > 1);
      // ResnetcConv: tfjs's weight layout, gradients checked through it
      const conv3d = (cc.groups === 1 && (cc.n === 3 || dilated)) || (depthwise && dilated);
      const layout = custom ? "same" : depthwise ? "dw" : "oihw";
      const params = [row("c.weight", "c", 0, w.shape, layout, depthwise ? cc.c : undefined)];
      if (cc.bias) params.push(row("c.bias", "c", 1, [cc.o], "same"));
      const cfg = {
        name: "c",
        filters: cc.o,
        kernel: cc.k,
        strides: cc.st,
        pads: cc.pads,
        dilation: cc.dil,
        bias: cc.bias,
        groups: cc.groups,
      };
      const m = build(inShape, (t) => rt.conv(t, cfg), params, { "c.weight": w, "c.bias": b });
      const want = refConv(x, w, cc.bias ? b.data : null, cc.st, cc.pads, cc.dil, cc.groups);
      checkForward(m.run(x), want);
      if (custom) {
        const ws: Record<string, Arr> = cc.bias ? { w, b } : { w };
        const bias = (ww: Record<string, Arr>) => (cc.bias ? ww["b"]!.data : null);
        checkGrads(m.model, x, ws, (xx, ww) => refConv(xx, ww["w"]!, bias(ww), cc.st, cc.pads, cc.dil, cc.groups));
      }
      if (conv3d) {
        // ResnetcConv holds tfjs's layout [...k, I, O] or depthwise [kh, kw, C, m]
        const wt = depthwise ? toDwLayout(w, cc.c) : toTfjsLayout(w);
        const back = (a: Arr) => (depthwise ? fromDwLayout(a) : fromTfjsLayout(a));
        const ws: Record<string, Arr> = cc.bias ? { wt, b } : { wt };
        const bias = (ww: Record<string, Arr>) => (cc.bias ? ww["b"]!.data : null);
        checkGrads(m.model, x, ws, (xx, ww) =>
          refConv(xx, back(ww["wt"]!), bias(ww), cc.st, cc.pads, cc.dil, cc.groups),
        );
      }
      if (custom || conv3d) {
        await roundTrip(m.model, [x]);
      }
    });
  }
});

describe("pool at 1, 2, 3 spatial dims", () => {
  const cases: {
    kind: "max" | "avg";
    sp: number[];
    k: number[];
    st: number[];
    pads: number[];
    ceil?: boolean;
    batch: number;
  }[] = [
    { kind: "max", sp: [9], k: [3], st: [2], pads: [1, 1], batch: 2 },
    { kind: "avg", sp: [9], k: [3], st: [2], pads: [1, 0], batch: 1 },
    { kind: "max", sp: [7, 6], k: [3, 3], st: [2, 2], pads: [1, 1, 1, 1], batch: 2 },
    { kind: "avg", sp: [7, 6], k: [3, 2], st: [2, 2], pads: [1, 0, 1, 0], batch: 1 },
    { kind: "max", sp: [5, 6, 5], k: [3, 3, 2], st: [2, 2, 1], pads: [1, 1, 0, 1, 1, 1], batch: 2 },
    { kind: "max", sp: [5, 6, 5], k: [2, 3, 3], st: [1, 2, 2], pads: [1, 1, 0, 1, 1, 1], batch: 2 },
    { kind: "max", sp: [7, 6], k: [3, 2], st: [2, 1], pads: [1, 0, 1, 0], batch: 2 },
    { kind: "avg", sp: [5, 6, 5], k: [2, 3, 3], st: [2, 1, 2], pads: [0, 1, 1, 1, 1, 0], batch: 1 },
    // ceil_mode average pools: the last windows run into / past the end padding
    { kind: "avg", sp: [8], k: [3], st: [2], pads: [1, 1], ceil: true, batch: 2 },
    { kind: "avg", sp: [6, 7], k: [3, 3], st: [2, 2], pads: [0, 1, 0, 0], ceil: true, batch: 1 },
    { kind: "avg", sp: [6, 5, 7], k: [2, 3, 3], st: [2, 2, 2], pads: [0, 1, 1, 0, 0, 0], ceil: true, batch: 2 },
    { kind: "max", sp: [6, 7], k: [3, 3], st: [2, 2], pads: [0, 0, 0, 0], ceil: true, batch: 1 },
  ];
  for (const pc of cases) {
    const label = `${pc.kind} ${pc.sp.length}-D k${pc.k} s${pc.st} p${pc.pads}${pc.ceil ? " ceil" : ""} b${pc.batch}`;
    it(label, async () => {
      const inShape = [pc.batch, ...pc.sp, 3];
      const x = randArr(inShape);
      const m = build(inShape, (t) =>
        rt.pool(t, { name: "p", kind: pc.kind, kernel: pc.k, strides: pc.st, pads: pc.pads, ceil: pc.ceil ?? false }),
      );
      const ref = (xx: Arr) => refPool(pc.kind, xx, pc.k, pc.st, pc.pads, pc.ceil ?? false);
      checkForward(m.run(x), ref(x));
      checkGrads(m.model, x, {}, ref);
      await roundTrip(m.model, [x]);
    });
  }
});

/** A one-node ONNX model: AveragePool(ceil_mode=1, count_include_pad=1) on an NC... input. */
async function ortAvgPoolCeil(x: Arr, k: number[], st: number[], pads: number[]): Promise<Arr> {
  const { default: ort } = await import("onnxruntime-node");
  const { default: proto } = await import("onnx-proto");
  const { onnx } = proto;
  // channels last -> channels first
  const n = k.length;
  const perm = [0, n + 1, ...k.map((_, i) => i + 1)];
  const cf = tf.tidy(() => tf.transpose(tf.tensor(Float32Array.from(x.data), x.shape), perm).dataSync());
  const cfShape = perm.map((p) => x.shape[p]!);
  const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 19 }],
      graph: {
        name: "g",
        node: [
          {
            opType: "AveragePool",
            input: ["x"],
            output: ["y"],
            attribute: [
              ints("kernel_shape", k),
              ints("strides", st),
              ints("pads", pads),
              { name: "ceil_mode", type: 2, i: 1 },
              { name: "count_include_pad", type: 2, i: 1 },
            ],
          },
        ],
        input: [
          {
            name: "x",
            type: { tensorType: { elemType: 1, shape: { dim: cfShape.map((d) => ({ dimValue: d })) } } },
          },
        ],
        output: [{ name: "y" }],
      },
    }),
  ).finish();
  const sess = await ort.InferenceSession.create(bytes);
  const out = await sess.run({ x: new ort.Tensor("float32", cf as Float32Array, cfShape) });
  const y = out["y"]!;
  const dims = y.dims.map(Number);
  const back = [0, ...k.map((_, i) => i + 2), 1];
  const cl = tf.tidy(() => tf.transpose(tf.tensor(y.data as Float32Array, dims), back));
  const res = { shape: cl.shape, data: Float64Array.from(cl.dataSync()) };
  cl.dispose();
  return res;
}

describe("ceil average pool against ONNX Runtime", () => {
  const cases = [
    { sp: [8], k: [3], st: [2], pads: [1, 1] },
    { sp: [4], k: [2], st: [2], pads: [0, 1] },
    { sp: [5], k: [3], st: [2], pads: [0, 2] },
    { sp: [6, 7], k: [3, 3], st: [2, 2], pads: [0, 1, 0, 0] },
    { sp: [7, 5], k: [3, 2], st: [3, 2], pads: [1, 0, 1, 1] },
    { sp: [6, 5, 7], k: [2, 3, 3], st: [2, 2, 2], pads: [0, 1, 1, 0, 0, 0] },
  ];
  for (const pc of cases)
    it(`k${pc.k} s${pc.st} p${pc.pads} on ${pc.sp}`, async () => {
      const x = randArr([2, ...pc.sp, 3]);
      const m = build(x.shape, (t) =>
        rt.pool(t, { name: "p", kind: "avg", kernel: pc.k, strides: pc.st, pads: pc.pads, ceil: true }),
      );
      const want = await ortAvgPoolCeil(x, pc.k, pc.st, pc.pads);
      checkForward(m.run(x), want);
      checkForward(m.run(x), refPool("avg", x, pc.k, pc.st, pc.pads, true));
    });
});

describe("normalisation and activations", () => {
  for (const shape of [
    [2, 7, 6],
    [1, 5, 4, 6],
    [2, 3, 4, 3, 6],
  ]) {
    it(`groupNorm rank ${shape.length}`, async () => {
      const x = randArr(shape);
      const gamma = randArr([6], 0.5, 1.5);
      const beta = randArr([6]);
      const params = [row("g.weight", "g", 0, [6], "same"), row("g.bias", "g", 1, [6], "same")];
      const m = build(shape, (t) => rt.groupNorm(t, { name: "g", groups: 3, eps: 1e-5 }), params, {
        "g.weight": gamma,
        "g.bias": beta,
      });
      const ref = (xx: Arr, ww: Record<string, Arr>) => refGroupNorm(xx, 3, 1e-5, ww["g"]!.data, ww["b"]!.data);
      checkForward(m.run(x), ref(x, { g: gamma, b: beta }));
      checkGrads(m.model, x, { g: gamma, b: beta }, ref);
      await roundTrip(m.model, [x]);
    });
    it(`layerNorm rank ${shape.length}`, () => {
      const x = randArr(shape);
      const gamma = randArr([6], 0.5, 1.5);
      const beta = randArr([6]);
      const params = [row("l.weight", "l", 0, [6], "same"), row("l.bias", "l", 1, [6], "same")];
      const m = build(shape, (t) => rt.layerNorm(t, { name: "l", eps: 1e-5 }), params, {
        "l.weight": gamma,
        "l.bias": beta,
      });
      checkForward(m.run(x), refLayerNorm(x, 1e-5, gamma.data, beta.data));
    });
    it(`bn rank ${shape.length} (inference and training)`, () => {
      const x = randArr(shape);
      const [g, b, mean, v] = [randArr([6], 0.5, 1.5), randArr([6]), randArr([6]), randArr([6], 0.5, 2)];
      const params = ["weight", "bias", "running_mean", "running_var"].map((n, i) =>
        row(`b.${n}`, "b", i, [6], "same"),
      );
      const m = build(shape, (t) => rt.bn(t, { name: "b", eps: 1e-5, momentum: 0.1 }), params, {
        "b.weight": g,
        "b.bias": b,
        "b.running_mean": mean,
        "b.running_var": v,
      });
      const want = elementwise(x, (val, i) => {
        const c = i % 6;
        return ((val - mean.data[c]!) / Math.sqrt(v.data[c]! + 1e-5)) * g.data[c]! + b.data[c]!;
      });
      checkForward(m.run(x), want);
      // training: batch statistics (biased), i.e. group norm over the batch with one channel per group
      const xt = tf.tensor(Float32Array.from(x.data), shape);
      const y = m.model.apply(xt, { training: true }) as tf.Tensor;
      const perm = { shape: [1, ...shape.slice(0, -1), 6], data: x.data };
      checkForward(
        { shape: y.shape, data: y.dataSync() as Float32Array },
        {
          shape,
          data: refGroupNorm(perm, 6, 1e-5, g.data, b.data).data,
        },
      );
      tf.dispose([xt, y]);
    });
    for (const sz of [1, 6])
      it(`prelu rank ${shape.length} size ${sz}`, async () => {
        const x = randArr(shape);
        const a = randArr([sz], 0, 0.5);
        const m = build(shape, (t) => rt.prelu(t, { name: "a", size: sz }), [row("a.weight", "a", 0, [sz], "same")], {
          "a.weight": a,
        });
        const ref = (xx: Arr, ww: Record<string, Arr>) =>
          elementwise(xx, (v, i) => (v > 0 ? v : ww["a"]!.data[sz === 1 ? 0 : i % 6]! * v));
        checkForward(m.run(x), ref(x, { a }));
        checkGrads(m.model, x, { a }, ref);
        await roundTrip(m.model, [x]);
      });
    it(`dense rank ${shape.length}`, () => {
      const x = randArr(shape);
      const w = randArr([5, 6]);
      const b = randArr([5]);
      const params = [row("d.weight", "d", 0, [5, 6], "oi"), row("d.bias", "d", 1, [5], "same")];
      const m = build(shape, (t) => rt.dense(t, { name: "d", units: 5, bias: true }), params, {
        "d.weight": w,
        "d.bias": b,
      });
      const outShape = [...shape.slice(0, -1), 5];
      const y = new Float64Array(size(outShape));
      for (let r = 0; r < size(shape) / 6; r++)
        for (let o = 0; o < 5; o++) {
          let s = b.data[o]!;
          for (let i = 0; i < 6; i++) s += w.data[o * 6 + i]! * x.data[r * 6 + i]!;
          y[r * 5 + o] = s;
        }
      checkForward(m.run(x), { shape: outShape, data: y });
    });
  }
  it("hardswish and gelu (exact erf)", async () => {
    const shape = [2, 5, 3, 4];
    const x = randArr(shape, -4, 4);
    const hs = build(shape, (t) => rt.activation(t, { name: "h", fn: "hardswish" }));
    checkForward(
      hs.run(x),
      elementwise(x, (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6),
    );
    checkGrads(hs.model, x, {}, (xx) => elementwise(xx, (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6));
    await roundTrip(hs.model, [x]);
    const ge = build(shape, (t) => rt.activation(t, { name: "g", fn: "gelu" }));
    checkForward(
      ge.run(x),
      elementwise(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
    );
  });
});

describe("resampling and rearranging", () => {
  for (const shape of [
    [2, 5, 3],
    [1, 4, 3, 2],
    [2, 3, 2, 3, 2],
  ])
    for (const mode of ["nearest", "linear"] as const)
      it(`upsample ${mode} ${shape.length - 2}-D`, async () => {
        const x = randArr(shape);
        const m = build(shape, (t) => rt.upsample(t, { name: "u", size: 2, mode }));
        const ref = (xx: Arr) => refUpsample(xx, 2, mode);
        checkForward(m.run(x), ref(x));
        checkGrads(m.model, x, {}, ref);
        await roundTrip(m.model, [x]);
      });
  it("upsample linear by 3", () => {
    const x = randArr([1, 4, 5, 2]);
    const m = build(x.shape, (t) => rt.upsample(t, { name: "u", size: 3, mode: "linear" }));
    checkForward(m.run(x), refUpsample(x, 3, "linear"));
  });
  for (const batch of [1, 2])
    it(`pixelShuffle r=2, r=3 batch ${batch}`, async () => {
      for (const r of [2, 3]) {
        const x = randArr([batch, 3, 5, 2 * r * r]);
        const m = build(x.shape, (t) => rt.pixelShuffle(t, { name: "ps", r }));
        checkForward(m.run(x), refPixelShuffle(x, r), 1e-7);
        checkGrads(m.model, x, {}, (xx) => refPixelShuffle(xx, r));
        await roundTrip(m.model, [x]);
      }
    });
  for (const shape of [
    [2, 7, 3],
    [1, 5, 6, 2],
    [2, 5, 4, 3, 2],
  ])
    it(`optionA ${shape.length - 2}-D`, async () => {
      const x = randArr(shape);
      const m = build(shape, (t) => rt.optionA(t, { name: "o", stride: 2, before: 1, after: 2 }));
      const ref = (xx: Arr) => refOptionA(xx, 2, 1, 2);
      checkForward(m.run(x), ref(x), 1e-7);
      checkGrads(m.model, x, {}, ref);
      await roundTrip(m.model, [x]);
    });
  it("globalAvgPool keeps unit spatial dims at every rank", async () => {
    for (const shape of [
      [2, 5, 3],
      [1, 4, 3, 3],
      [2, 3, 2, 3, 3],
    ]) {
      const x = randArr(shape);
      const m = build(shape, (t) => rt.globalAvgPool(t, { name: "gap" }));
      const got = m.run(x);
      const want = refPool(
        "avg",
        x,
        shape.slice(1, -1),
        shape.slice(1, -1),
        shape.slice(1, -1).flatMap(() => [0, 0]),
        false,
      );
      checkForward(got, want);
      await roundTrip(m.model, [x]);
    }
  });
  it("sewIand, softmax and concat over an axis, permute, reshape, flatten", async () => {
    const shape = [2, 3, 4, 2];
    const a = randArr(shape, 0, 1);
    const b = randArr(shape);
    const s = build(shape, ((xs: T[]) => rt.sewIand(xs, { name: "s" })) as unknown as (x: T) => T, [], {}, 2);
    checkForward(
      predict(s.model, [a, b]),
      elementwise(a, (v, i) => (1 - v) * b.data[i]!),
    );
    await roundTrip(s.model, [a, b]);
    const sm = build(shape, (t) => rt.softmax(t, { name: "sm", axis: 1 }));
    const want = elementwise(a, (v, i) => {
      const [n, , w, c] = [Math.floor(i / 24), 0, Math.floor(i / 2) % 4, i % 2];
      let z = 0;
      for (let h = 0; h < 3; h++) z += Math.exp(a.data[n * 24 + h * 8 + w * 2 + c]!);
      return Math.exp(v) / z;
    });
    checkForward(sm.run(a), want);
    const cat = build(shape, ((xs: T[]) => rt.concat(xs, { name: "c", axis: 1 })) as unknown as (x: T) => T, [], {}, 2);
    expect(predict(cat.model, [a, b]).shape).toEqual([2, 6, 4, 2]);
    const pr = build(shape, (t) =>
      rt.flatten(rt.reshape(rt.permute(t, { name: "p", dims: [3, 1, 2] }), { name: "r", shape: [2, 12] }), {
        name: "f",
      }),
    );
    const got = pr.run(a);
    const nchw = new Float64Array(48);
    for (const [n, h, w, c] of indices(shape))
      nchw[flat([2, 2, 3, 4], [n!, c!, h!, w!])] = a.data[flat(shape, [n!, h!, w!, c!])]!;
    checkForward(got, { shape: [2, 24], data: nchw }, 1e-7);
  });
  it("input takes the declared shape; toModelInput is a plain reshape at any rank", () => {
    const t = rt.input({ name: "x", shape: [3, 8, 8] });
    expect(t.shape).toEqual([null, 3, 8, 8]);
    const data = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
    const x = toModelInput(data, 2, [3, 4, 5]);
    expect(x.shape).toEqual([2, 3, 4, 5]);
    expect(Array.from(x.dataSync())).toEqual(Array.from(data));
    x.dispose();
  });
  it("dropout, dropPath and scale at ranks 3 and 5", () => {
    for (const shape of [
      [2, 5, 3],
      [2, 3, 2, 3, 2],
    ]) {
      const x = randArr(shape);
      const m = build(shape, (t) =>
        rt.scale(rt.dropPath(rt.dropout(t, { name: "d", rate: 0.5 }), { name: "dp", p: 0.5 }), {
          name: "s",
          factor: 0.5,
        }),
      );
      checkForward(
        m.run(x),
        elementwise(x, (v) => v * 0.5),
      );
      const xt = tf.tensor(Float32Array.from(x.data), shape);
      const y = m.model.apply(xt, { training: true }) as tf.Tensor;
      expect(y.shape).toEqual(shape);
      tf.dispose([xt, y]);
    }
  });
});

describe("cpu and wasm give the same gradients", () => {
  const WASM_CASES: [string, number[], (x: T) => T][] = [
    [
      "conv2d dilated",
      [1, 9, 8, 3],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 2,
          kernel: [3, 3],
          strides: [2, 1],
          pads: [2, 1, 2, 0],
          dilation: [2, 2],
          bias: true,
        }),
    ],
    [
      "dwconv dilated",
      [1, 9, 8, 3],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 6,
          kernel: [3, 2],
          strides: [1, 2],
          pads: [2, 1, 2, 0],
          dilation: [2, 1],
          bias: true,
          groups: 3,
        }),
    ],
    [
      "mp2",
      [2, 7, 6, 3],
      (x) => rt.pool(x, { name: "p", kind: "max", kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
    ],
    [
      "mp2b",
      [10, 6, 5, 3],
      (x) => rt.pool(x, { name: "p", kind: "max", kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0] }),
    ],
    ["ap1", [2, 9, 3], (x) => rt.pool(x, { name: "p", kind: "avg", kernel: [3], strides: [2], pads: [1, 1] })],
    [
      "ap2ns",
      [2, 7, 6, 3],
      (x) => rt.pool(x, { name: "p", kind: "avg", kernel: [3, 2], strides: [2, 1], pads: [1, 0, 1, 0] }),
    ],
    [
      "mp2ns",
      [2, 7, 6, 3],
      (x) => rt.pool(x, { name: "p", kind: "max", kernel: [3, 2], strides: [2, 1], pads: [1, 0, 1, 0] }),
    ],
    [
      "mp3sq",
      [2, 5, 6, 5, 3],
      (x) => rt.pool(x, { name: "p", kind: "max", kernel: [2, 3, 3], strides: [1, 2, 2], pads: [1, 1, 0, 1, 1, 1] }),
    ],
    [
      "mp2c",
      [10, 6, 5, 3],
      (x) => rt.pool(x, { name: "p", kind: "max", kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0] }),
    ],

    [
      "gconv2d",
      [2, 7, 6, 4],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 6,
          kernel: [3, 3],
          strides: [2, 1],
          pads: [1, 0, 1, 2],
          dilation: [1, 1],
          bias: true,
          groups: 2,
        }),
    ],
    [
      "gconv2d dil",
      [1, 8, 7, 6],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 3,
          kernel: [3, 2],
          strides: [2, 1],
          pads: [0, 1, 2, 0],
          dilation: [2, 1],
          bias: true,
          groups: 3,
        }),
    ],
    [
      "gconv1d",
      [2, 9, 4],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 4,
          kernel: [3],
          strides: [2],
          pads: [1, 1],
          dilation: [1],
          bias: true,
          groups: 4,
        }),
    ],
    [
      "gconv3d",
      [1, 5, 4, 5, 4],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 6,
          kernel: [3, 2, 3],
          strides: [2, 1, 2],
          pads: [1, 0, 1, 2, 1, 0],
          dilation: [2, 1, 1],
          bias: true,
          groups: 2,
        }),
    ],
    [
      "conv3d",
      [1, 6, 5, 7, 3],
      (x) =>
        rt.conv(x, {
          name: "c",
          filters: 2,
          kernel: [3, 2, 3],
          strides: [2, 1, 2],
          pads: [1, 0, 1, 1, 1, 0],
          dilation: [1, 2, 1],
          bias: true,
        }),
    ],
    [
      "conv1d",
      [2, 9, 3],
      (x) => rt.conv(x, { name: "c", filters: 2, kernel: [3], strides: [2], pads: [0, 2], dilation: [1], bias: true }),
    ],
    ["gn", [2, 3, 4, 3, 6], (x) => rt.groupNorm(x, { name: "g", groups: 3, eps: 1e-5 })],
    ["ps", [2, 3, 5, 8], (x) => rt.pixelShuffle(x, { name: "p", r: 2 })],
    ["up", [2, 3, 2, 3, 2], (x) => rt.upsample(x, { name: "u", size: 2, mode: "linear" })],
    ["upn", [2, 3, 2, 3, 2], (x) => rt.upsample(x, { name: "u", size: 2, mode: "nearest" })],
    [
      "mp3",
      [2, 5, 6, 5, 3],
      (x) => rt.pool(x, { name: "p", kind: "max", kernel: [3, 3, 2], strides: [2, 2, 1], pads: [1, 1, 0, 1, 1, 1] }),
    ],
    [
      "ap3",
      [2, 5, 6, 5, 3],
      (x) => rt.pool(x, { name: "p", kind: "avg", kernel: [2, 3, 3], strides: [2, 1, 2], pads: [0, 1, 1, 1, 1, 0] }),
    ],
    [
      "apceil",
      [2, 6, 7, 3],
      (x) => rt.pool(x, { name: "p", kind: "avg", kernel: [3, 3], strides: [2, 2], pads: [0, 1, 0, 0], ceil: true }),
    ],
    ["mp1", [2, 9, 3], (x) => rt.pool(x, { name: "p", kind: "max", kernel: [3], strides: [2], pads: [1, 1] })],
    ["sm", [2, 3, 4, 2], (x) => rt.softmax(x, { name: "s", axis: 1 })],
    ["optA3", [2, 5, 4, 3, 2], (x) => rt.optionA(x, { name: "o", stride: 2, before: 1, after: 2 })],
    ["bn5", [2, 3, 4, 3, 6], (x) => rt.bn(x, { name: "b", eps: 1e-5, momentum: 0.1 })],
    ["ln5", [2, 3, 4, 3, 6], (x) => rt.layerNorm(x, { name: "b", eps: 1e-5 })],
    ["prelu", [2, 3, 4, 6], (x) => rt.prelu(x, { name: "a", size: 6 })],
    ["hs", [2, 3, 4, 6], (x) => rt.activation(x, { name: "a", fn: "hardswish" })],
  ];
  async function grads(backend: string, shape: number[], f: (x: T) => T) {
    await tf.setBackend(backend);
    const inp = tf.input({ shape: shape.slice(1) });
    const model = tf.model({ inputs: inp, outputs: f(inp) });
    model.setWeights(model.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, "float32", i + 7)));
    const x = tf.randomNormal(shape, 0, 1, "float32", 3);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    let cot: tf.Tensor | null = null;
    const fn = (xx: tf.Tensor) => {
      const y = model.apply(xx, { training: true }) as tf.Tensor;
      cot ??= tf.keep(tf.randomNormal(y.shape, 0, 1, "float32", 5));
      return tf.sum(tf.mul(y, cot)) as tf.Scalar;
    };
    const gx = tf.grad(fn)(x);
    const gw = vars.length ? tf.variableGrads(() => fn(x), vars).grads : {};
    return [gx.dataSync().slice(), ...vars.map((v) => (gw as Record<string, tf.Tensor>)[v.name]!.dataSync().slice())];
  }
  it("for every custom or rerouted layer", async () => {
    registerWasmTrainingKernels();
    try {
      for (const [name, shape, f] of WASM_CASES) {
        const a = await grads("cpu", shape, f);
        const b = await grads("wasm", shape, f);
        a.forEach((g, i) => expect(relErr(b[i]!, g), `${name} gradient ${i}`).toBeLessThan(1e-4));
      }
    } finally {
      await tf.setBackend("cpu");
    }
  }, 120_000);
});
