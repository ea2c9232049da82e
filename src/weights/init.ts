// The learnable tensors of a graph, their names, canonical layouts and initial values.
// Takes: the graph IR. Gives: for each node, its parameter tensors in PyTorch `state_dict`
// naming and layout (`layer1.0.conv1.weight` [out, in/groups, kh, kw]; dense [out, in]; BN
// weight, bias, running_mean, running_var), filled deterministically from a seed.
// Every emitter and every checkpoint uses these names and layouts; an emitter that wants
// another layout (tfjs: HWIO) converts when it reads them.
// Must not: depend on an emitter.

import type { Graph, IrNode } from "../ir/ir.js";

export interface ParamSpec {
  name: string;
  dims: number[];
  /** false for BN running statistics: stored, not learned. */
  learnable: boolean;
  init: Init;
}

export type Init =
  | { kind: "normal"; std: number }
  | { kind: "uniform"; bound: number }
  | { kind: "const"; value: number };

const num = (v: unknown): number => v as number;
const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** PyTorch's fan computation for a weight of shape [out, in, ...kernel]. */
function fans(dims: number[]): { fanIn: number; fanOut: number } {
  const rf = prod(dims.slice(2));
  return { fanIn: (dims[1] ?? 1) * rf, fanOut: dims[0]! * rf };
}

/** The initialiser a `.resnet` `init=` word names, for a weight of the given shape. */
export function weightInit(word: string, dims: number[]): Init {
  const { fanIn, fanOut } = fans(dims);
  switch (word) {
    case "kaiming": // He et al. 2015 (PReLU paper), normal, fan_out, ReLU gain: torchvision's ResNet init
      return { kind: "normal", std: Math.sqrt(2 / fanOut) };
    case "kaiming_fan_in": // PyTorch's default for Linear and Conv: kaiming_uniform(a=sqrt(5))
      return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
    case "xavier": // Glorot & Bengio 2010, uniform
      return { kind: "uniform", bound: Math.sqrt(6 / (fanIn + fanOut)) };
    case "normal":
      return { kind: "normal", std: 0.01 };
    case "zeros":
      return { kind: "const", value: 0 };
    case "ones":
      return { kind: "const", value: 1 };
  }
  return { kind: "normal", std: Math.sqrt(2 / fanOut) };
}

/** Bias: PyTorch's default U(+-1/sqrt(fan_in)) beside a default-initialised weight, else zeros. */
function biasInit(word: string, fanIn: number): Init {
  return word === "kaiming_fan_in" ? { kind: "uniform", bound: 1 / Math.sqrt(fanIn) } : { kind: "const", value: 0 };
}

function norm(n: IrNode, c: number): ParamSpec[] {
  const gamma = n.attrs["gamma"] === "zeros" ? 0 : 1;
  const specs: ParamSpec[] = [
    { name: `${n.name}.weight`, dims: [c], learnable: true, init: { kind: "const", value: gamma } },
    { name: `${n.name}.bias`, dims: [c], learnable: true, init: { kind: "const", value: 0 } },
  ];
  if (n.op === "bn")
    specs.push({ name: `${n.name}.running_mean`, dims: [c], learnable: false, init: { kind: "const", value: 0 } }, { name: `${n.name}.running_var`, dims: [c], learnable: false, init: { kind: "const", value: 1 } });
  return specs;
}

/** The parameter tensors of one node, in a fixed order. */
export function paramSpecs(n: IrNode): ParamSpec[] {
  const init = String(n.attrs["init"] ?? "kaiming");
  switch (n.op) {
    case "conv": {
      const out = num(n.attrs["out"]);
      const dims = [out, num(n.attrs["in"]) / num(n.attrs["groups"]), ...(n.attrs["kernel"] as number[])];
      const specs: ParamSpec[] = [{ name: `${n.name}.weight`, dims, learnable: true, init: weightInit(init, dims) }];
      if (n.attrs["bias"] === true) specs.push({ name: `${n.name}.bias`, dims: [out], learnable: true, init: biasInit(init, fans(dims).fanIn) });
      return specs;
    }
    case "dwconv": {
      const out = num(n.attrs["out"]);
      const dims = [out, 1, ...(n.attrs["kernel"] as number[])];
      const specs: ParamSpec[] = [{ name: `${n.name}.weight`, dims, learnable: true, init: weightInit(init, dims) }];
      if (n.attrs["bias"] === true) specs.push({ name: `${n.name}.bias`, dims: [out], learnable: true, init: biasInit(init, fans(dims).fanIn) });
      return specs;
    }
    case "sepconv": {
      const cin = num(n.attrs["in"]);
      const out = num(n.attrs["out"]);
      const k = n.attrs["kernel"] as number[];
      const dw = [cin, 1, ...k];
      const pw = [out, cin, ...k.map(() => 1)];
      const specs: ParamSpec[] = [
        { name: `${n.name}.depthwise.weight`, dims: dw, learnable: true, init: weightInit(init, dw) },
        { name: `${n.name}.pointwise.weight`, dims: pw, learnable: true, init: weightInit(init, pw) },
      ];
      if (n.attrs["bias"] === true) specs.push({ name: `${n.name}.pointwise.bias`, dims: [out], learnable: true, init: biasInit(init, cin) });
      return specs;
    }
    case "dense": {
      const dims = [num(n.attrs["out"]), num(n.attrs["in"])];
      const specs: ParamSpec[] = [{ name: `${n.name}.weight`, dims, learnable: true, init: weightInit(init, dims) }];
      if (n.attrs["bias"] === true) specs.push({ name: `${n.name}.bias`, dims: [dims[0]!], learnable: true, init: biasInit(init, dims[1]!) });
      return specs;
    }
    case "bn":
    case "groupnorm":
      return norm(n, num(n.attrs["channels"]));
    case "layernorm":
      return norm(n, num(n.attrs["features"]));
    case "prelu":
      return [{ name: `${n.name}.weight`, dims: [n.params], learnable: true, init: { kind: "const", value: num(n.attrs["init"]) } }];
    case "gate":
    case "layerscale":
      return [{ name: `${n.name}.weight`, dims: [n.params], learnable: true, init: { kind: "const", value: num(n.attrs["init"]) } }];
  }
  return [];
}

/** Every parameter tensor of the graph, in node order. */
export function graphParams(g: Graph): ParamSpec[] {
  return g.nodes.flatMap(paramSpecs);
}

// ---- deterministic random numbers ----

/** FNV-1a, so each tensor's stream depends on the seed and its own name only: adding a layer
 * elsewhere does not change this layer's initial values. */
function hash(seed: number, name: string): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** mulberry32: small, fast, and the same sequence on every platform. */
function rng(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549671010739435, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const tail = (q: number): number => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < low) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - low) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Normal samples by inverse-CDF lookup: a table of 2^16 quantiles at the centres of equal
 * probability cells, linearly interpolated. One uniform and a few flops per value, several
 * times faster than Box-Muller (compiling ResNet-152 draws 60M values); the distribution is
 * exact to well below float32 precision except beyond the outermost cells (|x| > 4.3 sigma,
 * 1 in 65536 draws), which are clamped to the last quantile.
 */
const CELLS = 1 << 16;
const QUANTILES = (() => {
  const t = new Float64Array(CELLS + 1);
  for (let i = 0; i < CELLS; i++) t[i] = normalQuantile((i + 0.5) / CELLS);
  t[CELLS] = t[CELLS - 1]!;
  return t;
})();

export function fill(spec: ParamSpec, seed: number): Float32Array {
  const n = prod(spec.dims);
  const out = new Float32Array(n);
  const init = spec.init;
  if (init.kind === "const") return init.value === 0 ? out : out.fill(init.value);
  if (init.kind === "uniform") {
    const next = rng(hash(seed, spec.name));
    for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * init.bound;
    return out;
  }
  const std = init.std;
  // mulberry32 inlined (the same stream as `next`): this loop draws tens of millions of values.
  let a = hash(seed, spec.name) >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    // Position within the cell, measured from the cell centre below.
    const x = u * CELLS - 0.5;
    if (x < 0) {
      out[i] = QUANTILES[0]! * std;
      continue;
    }
    const k = x | 0;
    const f = x - k;
    out[i] = (QUANTILES[k]! + (QUANTILES[k + 1]! - QUANTILES[k]!) * f) * std;
  }
  return out;
}
