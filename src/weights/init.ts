// The learnable tensors of a graph, their names, canonical layouts and initial values.
// Takes: the graph IR. Gives: for each node, its parameter tensors in PyTorch `state_dict`
// naming and layout (`layer1.0.conv1.weight` [out, in/groups, kh, kw]; dense [out, in]; BN
// weight, bias, running_mean, running_var), filled deterministically from a seed.
// Every emitter and every checkpoint uses these names and layouts; an emitter that wants
// another layout (tfjs: HWIO) converts when it reads them.
// Must not: depend on an emitter.

import type { AttrValue, Graph, IrNode, IrNodeOf, OpName } from "../ir/ir.js";

export interface ParamSpec {
  name: string;
  dims: number[];
  /** false for BN running statistics: stored, not learned. */
  learnable: boolean;
  init: Init;
}

export type Init =
  { kind: "normal"; std: number } | { kind: "uniform"; bound: number } | { kind: "const"; value: number };

const num = (v: unknown): number => v as number;
const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** PyTorch's fan computation for a weight of shape [out, in, ...kernel]. */
function fans(dims: number[]): { fanIn: number; fanOut: number } {
  const rf = prod(dims.slice(2));
  return { fanIn: (dims[1] ?? 1) * rf, fanOut: dims[0]! * rf };
}

/** The initialiser a `.resnet` `init=` word names, for a weight of the given shape. */
export function weightInit(word: string, dims: number[], gain = 1): Init {
  const init = baseInit(word, dims);
  if (gain === 1) return init;
  // `gain=` scales the drawn values: the std, the bound or the constant (Fixup: conv1 times L^-0.5).
  if (init.kind === "normal") return { kind: "normal", std: init.std * gain };
  if (init.kind === "uniform") return { kind: "uniform", bound: init.bound * gain };
  return { kind: "const", value: init.value * gain };
}

function baseInit(word: string, dims: number[]): Init {
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
  // bn(affine=false): running statistics only, as PyTorch's BatchNorm(affine=False).
  const specs: ParamSpec[] =
    n.attrs["affine"] === false
      ? []
      : [
          { name: `${n.name}.weight`, dims: [c], learnable: true, init: { kind: "const", value: gamma } },
          { name: `${n.name}.bias`, dims: [c], learnable: true, init: { kind: "const", value: 0 } },
        ];
  if (n.op === "bn")
    specs.push(
      { name: `${n.name}.running_mean`, dims: [c], learnable: false, init: { kind: "const", value: 0 } },
      { name: `${n.name}.running_var`, dims: [c], learnable: false, init: { kind: "const", value: 1 } },
    );
  return specs;
}

type Attrs = { name: string; attrs: Record<string, AttrValue> };

/** The `gain=` of a conv or dense (1 when absent: graphs built before it existed). */
const gainOf = (n: Attrs): number => (typeof n.attrs["gain"] === "number" ? n.attrs["gain"] : 1);

function convWeight(n: Attrs, inPerGroup: number): ParamSpec[] {
  const init = String(n.attrs["init"] ?? "kaiming");
  const out = num(n.attrs["out"]);
  const dims = [out, inPerGroup, ...(n.attrs["kernel"] as number[])];
  const specs: ParamSpec[] = [
    { name: `${n.name}.weight`, dims, learnable: true, init: weightInit(init, dims, gainOf(n)) },
  ];
  if (n.attrs["bias"] === true)
    specs.push({ name: `${n.name}.bias`, dims: [out], learnable: true, init: biasInit(init, fans(dims).fanIn) });
  return specs;
}

/** One learned vector of `params` entries, all `init` (PReLU slopes, gates, LayerScale). */
function constVector(n: Attrs & { params: number }): ParamSpec[] {
  return [
    {
      name: `${n.name}.weight`,
      dims: [n.params],
      learnable: true,
      init: { kind: "const", value: num(n.attrs["init"]) },
    },
  ];
}

const none = (): ParamSpec[] => [];

/** A learned free tensor named after the layer itself, without a suffix (ViT's `class_token`,
 * `encoder.pos_embedding`: torchvision's nn.Parameters of the module, not of a submodule). */
function freeTensor(n: Attrs, dims: number[]): ParamSpec[] {
  const init: Init =
    n.attrs["init"] === "normal" ? { kind: "normal", std: num(n.attrs["std"]) } : { kind: "const", value: 0 };
  return [{ name: n.name, dims, learnable: true, init }];
}

/** nn.Linear(fin, fout) with PyTorch's default initialisation: weight [fout, fin] and bias both
 * U(+-1/sqrt(fin)). */
function torchLinear(name: string, fout: number, fin: number): ParamSpec[] {
  const w = [fout, fin];
  return [
    { name: `${name}.weight`, dims: w, learnable: true, init: weightInit("kaiming_fan_in", w) },
    { name: `${name}.bias`, dims: [fout], learnable: true, init: biasInit("kaiming_fan_in", fin) },
  ];
}

/** The parameter tensors of each op, in a fixed order: a record over the closed op set, so a new
 * op states its parameters (or that it has none) or does not compile. */
const paramRules: { [O in OpName]: (n: IrNodeOf<O>) => ParamSpec[] } = {
  input: none,
  conv: (n) => convWeight(n, n.attrs.in / n.attrs.groups),
  dwconv: (n) => convWeight(n, 1),
  sepconv: (n) => {
    const init = n.attrs.init;
    const { in: cin, out, kernel: k } = n.attrs;
    const dw = [cin, 1, ...k];
    const pw = [out, cin, ...k.map(() => 1)];
    const specs: ParamSpec[] = [
      { name: `${n.name}.depthwise.weight`, dims: dw, learnable: true, init: weightInit(init, dw, gainOf(n)) },
      { name: `${n.name}.pointwise.weight`, dims: pw, learnable: true, init: weightInit(init, pw, gainOf(n)) },
    ];
    if (n.attrs.bias === true)
      specs.push({ name: `${n.name}.pointwise.bias`, dims: [out], learnable: true, init: biasInit(init, cin) });
    return specs;
  },
  dense: (n) => {
    const init = n.attrs.init;
    const dims = [n.attrs.out, n.attrs.in];
    const specs: ParamSpec[] = [
      { name: `${n.name}.weight`, dims, learnable: true, init: weightInit(init, dims, gainOf(n)) },
    ];
    if (n.attrs.bias === true)
      specs.push({ name: `${n.name}.bias`, dims: [dims[0]!], learnable: true, init: biasInit(init, dims[1]!) });
    return specs;
  },
  bn: (n) => norm(n, n.attrs.channels),
  groupnorm: (n) => norm(n, n.attrs.channels),
  layernorm: (n) => norm(n, n.attrs.features),
  relu: none,
  leaky: none,
  prelu: constVector,
  gelu: none,
  silu: none,
  sigmoid: none,
  tanh: none,
  hardswish: none,
  softmax: none,
  maxpool: none,
  avgpool: none,
  gap: none,
  dropout: none,
  drop_path: none,
  scale: none,
  gate: constVector,
  // A bias of its own: `bias1a.bias` (the reference's bare nn.Parameter `bias1a` has no suffix).
  shift: (n) => [{ name: `${n.name}.bias`, dims: [1], learnable: true, init: { kind: "const", value: n.attrs.init } }],
  // `bare`: timm's `gamma_1` / `ls1`, an nn.Parameter of the block named after the layer itself.
  layerscale: (n) => constVector(n).map((p) => (n.attrs.bare === true ? { ...p, name: n.name } : p)),
  flatten: none,
  reshape: none,
  transpose: none,
  upsample: none,
  pixel_shuffle: none,
  add: none,
  sub: none,
  mul: none,
  concat: none,
  slice: none,
  sew_and: none,
  sew_iand: none,
  shortcut_pad: none,
  // nn.MultiheadAttention: packed Q, K, V projection (xavier_uniform, bias 0) and the output
  // projection (Linear's default weight init, bias 0).
  attention: (n) => {
    const d = n.attrs.dim;
    const inW = [3 * d, d];
    const outW = [d, d];
    return [
      { name: `${n.name}.in_proj_weight`, dims: inW, learnable: true, init: weightInit("xavier", inW) },
      { name: `${n.name}.in_proj_bias`, dims: [3 * d], learnable: true, init: { kind: "const", value: 0 } },
      { name: `${n.name}.out_proj.weight`, dims: outW, learnable: true, init: weightInit("kaiming_fan_in", outW) },
      { name: `${n.name}.out_proj.bias`, dims: [d], learnable: true, init: { kind: "const", value: 0 } },
    ];
  },
  cls_token: (n) => freeTensor(n, [1, 1, n.attrs.dim]),
  pos_embed: (n) => freeTensor(n, [1, n.attrs.tokens, n.attrs.dim]),
  // CaiT and ResMLP with timm's names (cait.py, mlp_mixer.py).
  affine: (n) => {
    const dims = [...Array<number>(n.attrs.rank - 1).fill(1), n.attrs.dim];
    return [
      { name: `${n.name}.alpha`, dims, learnable: true, init: { kind: "const", value: 1 } },
      { name: `${n.name}.beta`, dims, learnable: true, init: { kind: "const", value: 0 } },
    ];
  },
  talking_heads_attention: (n) => {
    const { dim: d, heads: h } = n.attrs;
    return [
      ...torchLinear(`${n.name}.qkv`, 3 * d, d),
      ...torchLinear(`${n.name}.proj`, d, d),
      ...torchLinear(`${n.name}.proj_l`, h, h),
      ...torchLinear(`${n.name}.proj_w`, h, h),
    ];
  },
  class_attention: (n) => {
    const d = n.attrs.dim;
    return ["q", "k", "v", "proj"].flatMap((p) => torchLinear(`${n.name}.${p}`, d, d));
  },
  if_neuron: none,
  lif: none,
  time_repeat: none,
  time_mean: none,
};

/** The parameter tensors of one node, in a fixed order. */
export function paramSpecs(n: IrNode): ParamSpec[] {
  return (paramRules[n.op] as (n: IrNode) => ParamSpec[])(n);
}

/** Every parameter tensor of the graph, in node order; a layer that uses another's parameters
 * (a later use of a `share`d block) has none of its own. */
export function graphParams(g: Graph): ParamSpec[] {
  return g.nodes.flatMap((n) => (n.shares === undefined ? paramSpecs(n) : []));
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

// mulberry32: small, fast, and the same sequence on every platform. Its state is a counter
// (state_i = hash + i * 0x6d2b79f5), so a stream can be drawn in pieces: each kernel below takes
// the state before its first value and returns the state after its last.
const STEP = 0x6d2b79f5;

/** Uniform draws in [-bound, bound): out[i] = (u * 2 - 1) * bound, u = mulberry32 / 2^32. */
function drawUniform(out: Float32Array, n: number, state: number, bound: number): number {
  let a = state | 0;
  for (let i = 0; i < n; i++) {
    a = (a + STEP) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * bound;
  }
  return a;
}

// Acklam's coefficients as plain constants: the table below evaluates this 65536 times per
// process, mostly before the optimiser has compiled it, so per-call arrays, destructuring and
// closures cost more than the arithmetic.
const A0 = -3.969683028665376e1,
  A1 = 2.209460984245205e2,
  A2 = -2.759285104469687e2,
  A3 = 1.38357751867269e2,
  A4 = -3.066479806614716e1,
  A5 = 2.506628277459239;
const B0 = -5.447609879822406e1,
  B1 = 1.615858368580409e2,
  B2 = -1.556989798598866e2,
  B3 = 6.680131188771972e1,
  B4 = -1.328068155288572e1;
const C0 = -7.784894002430293e-3,
  C1 = -3.223964580411365e-1,
  C2 = -2.400758277161838,
  C3 = -2.549671010739435,
  C4 = 4.374664141464968,
  C5 = 2.938163982698783;
const D0 = 7.784695709041462e-3,
  D1 = 3.224671290700398e-1,
  D2 = 2.445134137142996,
  D3 = 3.754408661907416;
const LOW = 0.02425;

function quantileTail(q: number): number {
  return (((((C0 * q + C1) * q + C2) * q + C3) * q + C4) * q + C5) / ((((D0 * q + D1) * q + D2) * q + D3) * q + 1);
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  if (p < LOW) return quantileTail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - LOW) return -quantileTail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A0 * r + A1) * r + A2) * r + A3) * r + A4) * r + A5) * q) /
    (((((B0 * r + B1) * r + B2) * r + B3) * r + B4) * r + 1)
  );
}

/**
 * Normal samples by inverse-CDF lookup: a table of 2^16 quantiles at the centres of equal
 * probability cells, linearly interpolated. One uniform and a few flops per value, several
 * times faster than Box-Muller (compiling ResNet-152 draws 60M values); the distribution is
 * exact to well below float32 precision except beyond the outermost cells (|x| > 4.3 sigma,
 * 1 in 65536 draws), which are clamped to the last quantile. Built on first use: checking and
 * linting never draw.
 */
const CELLS = 1 << 16;
let quantiles: Float64Array | undefined;
function quantileTable(): Float64Array {
  if (quantiles) return quantiles;
  const t = new Float64Array(CELLS + 1);
  for (let i = 0; i < CELLS; i++) t[i] = normalQuantile((i + 0.5) / CELLS);
  t[CELLS] = t[CELLS - 1]!;
  return (quantiles = t);
}

/**
 * Normal draws with standard deviation `std`. With r the uniform 32-bit draw, the position in
 * cell units measured from the centre of cell 0 is x = r / 2^16 - 0.5 = (r - 2^15) / 2^16
 * exactly, so its cell is (r - 2^15) >>> 16 and its fraction ((r - 2^15) & 0xffff) / 2^16, in
 * integer arithmetic with bit-identical results to the floating-point form.
 */
function drawNormal(out: Float32Array, n: number, state: number, std: number): number {
  const q = quantileTable();
  const below = q[0]! * std;
  let a = state | 0;
  for (let i = 0; i < n; i++) {
    a = (a + STEP) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) - 32768;
    if (x < 0) {
      out[i] = below;
      continue;
    }
    const k = x >>> 16;
    const lo = q[k]!;
    out[i] = (lo + (q[k + 1]! - lo) * ((x & 0xffff) / 65536)) * std;
  }
  return a;
}

/** Draws `n` values of `init` into `out[0, n)`, continuing the stream at `state`. */
function draw(init: Init, out: Float32Array, n: number, state: number): number {
  if (init.kind === "const") {
    out.fill(init.value, 0, n);
    return state;
  }
  return init.kind === "uniform" ? drawUniform(out, n, state, init.bound) : drawNormal(out, n, state, init.std);
}

export function fill(spec: ParamSpec, seed: number): Float32Array {
  const out = new Float32Array(prod(spec.dims));
  // A fresh array is zero already: the commonest constant costs nothing.
  if (spec.init.kind !== "const" || spec.init.value !== 0) draw(spec.init, out, out.length, hash(seed, spec.name));
  return out;
}

/** Bytes of one float32 tensor as ONNX raw_data and checkpoints store them: little-endian. */
export const paramBytes = (spec: ParamSpec): number => prod(spec.dims) * 4;

const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;
const CHUNK = 1 << 14;

/**
 * The values `fill` gives, written as little-endian float32 straight into `dst` (paramBytes(spec)
 * long, e.g. a slice of the serialised model), so a large model is drawn without an array per
 * tensor and a second copy of its bytes. `dst` is zero already (a fresh buffer) when `zeroed`.
 */
export function fillInto(spec: ParamSpec, seed: number, dst: Uint8Array, zeroed = false): void {
  const n = prod(spec.dims);
  const init = spec.init;
  if (init.kind === "const" && init.value === 0 && zeroed) return;
  let state = hash(seed, spec.name);
  // A float32 view needs 4-byte alignment; protobuf puts raw_data wherever its header ends.
  if (LITTLE_ENDIAN && dst.byteOffset % 4 === 0) {
    draw(init, new Float32Array(dst.buffer, dst.byteOffset, n), n, state);
    return;
  }
  // Otherwise draw into a small aligned buffer (it stays in cache) and copy the bytes over.
  const scratch = new Float32Array(Math.min(n, CHUNK));
  const bytes = new Uint8Array(scratch.buffer);
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    state = draw(init, scratch, m, state);
    if (LITTLE_ENDIAN) dst.set(m === CHUNK ? bytes : bytes.subarray(0, m * 4), i * 4);
    else for (let j = 0; j < m; j++) view.setFloat32((i + j) * 4, scratch[j]!, true);
  }
}
