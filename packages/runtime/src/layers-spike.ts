// Custom tfjs layers for spiking networks with time folded into the batch axis ([T*N, ...],
// time-major; SpikingJelly's multi-step mode): integrate-and-fire and leaky integrate-and-fire
// neurons trained with a surrogate gradient, the direct-encoding repeat [N, ...] -> [T*N, ...] and
// the mean over time [T*N, ...] -> [N, ...]; and the helpers emitted programs call.
// Takes: configuration from the emitter (T, tau, v_th, v_reset, reset, detach_reset, surrogate).
// Gives: layers registered with tfjs serialization (names "Resnetc..."), no weights.
// On the cpu and wasm backends a neuron is two kernels (registerSpikeKernels): the T steps forward
// in one pass over memory, keeping each step's membrane, and backpropagation through time in one
// pass back; other backends (webgpu) run the same arithmetic as tfjs ops, a few per step.
// Must not: reorder the neuron's float ops: ONNX (src/emit/onnx/lower-spike.ts) computes them in
// the same order, the fused kernel rounds each to float32 in that order, and tests assert that
// ONNX Runtime's spikes equal these exactly, on both paths:
//   IF h = v + x;  LIF h = v + (x - (v - v_reset)) / tau;  d = h - v_th;  spike = (d >= 0);
//   hard reset v = h * (1 - s) + v_reset * s;  soft reset v = h - s * v_th  (s = spike, detached
//   from the gradient with detach_reset). Nor read tensors back to the CPU inside call().

import * as tf from "@tensorflow/tfjs";
import type { KernelArgs } from "./kernel-args.js";
import { storage } from "./kernel-storage.js";

type T = tf.SymbolicTensor;
type Shape = (number | null)[];

export interface NeuronConfig {
  /** Time steps folded into the batch axis. */
  T: number;
  /** LIF's membrane time constant; absent for an IF neuron. */
  tau?: number;
  vTh: number;
  vReset: number;
  reset: "hard" | "soft";
  detachReset: boolean;
  surrogate: "atan" | "rect";
  alpha: number;
  width: number;
}

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** The surrogate gradient of the Heaviside at x (SpikingJelly surrogate.ATan: alpha/2 /
 * (1 + (pi/2 alpha x)^2); rectangular: 1/width on |x| < width/2). */
export function surrogateGrad(x: tf.Tensor, c: Pick<NeuronConfig, "surrogate" | "alpha" | "width">): tf.Tensor {
  if (c.surrogate === "rect") return tf.div(tf.cast(tf.less(tf.abs(x), c.width / 2), "float32"), c.width);
  const u = tf.mul(x, (Math.PI / 2) * c.alpha);
  return tf.div(c.alpha / 2, tf.add(1, tf.mul(u, u)));
}

/** spike = (x >= 0) forward; the surrogate's gradient backward. */
export function heaviside(x: tf.Tensor, c: Pick<NeuronConfig, "surrogate" | "alpha" | "width">): tf.Tensor {
  const f = tf.customGrad((xi, save) => {
    const xt = xi as tf.Tensor;
    (save as tf.GradSaveFunc)([xt]);
    return {
      value: tf.cast(tf.greaterEqual(xt, 0), "float32"),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, surrogateGrad(saved[0]!, c)),
    };
  });
  return f(x);
}

/** The identity forward, no gradient backward (PyTorch's detach). */
function detach(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((xi) => ({
    value: tf.clone(xi as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(x);
}

export const SPIKE_FORWARD = "ResnetcSpikeSteps";
export const SPIKE_BACKWARD = "ResnetcSpikeStepsGrad";

type SpikeAttrs = NeuronConfig & { tauOrZero: number };

/** Forward over x viewed as [T, M]: spikes and each step's membrane h (before the reset), every op
 * rounded to float32 in the order of the tfjs ops below (so the spikes are the same bits). Time
 * is the outer loop, so memory is read and written in order; the membrane a step starts from is
 * the last step's h and spike after the reset, recomputed rather than kept in a scratch array
 * (allocating one per call cost more than the loop). */
function spikeForward(x: Float32Array, T: number, c: SpikeAttrs, spikes: Float32Array, hs: Float32Array): void {
  const f = Math.fround;
  const m = (x.length / T) | 0;
  const vTh = f(c.vTh);
  const vReset = f(c.vReset);
  const tau = f(c.tauOrZero);
  const lif = c.tauOrZero !== 0;
  const hard = c.reset === "hard";
  const v0 = hard ? vReset : 0;
  for (let t = 0; t < T; t++) {
    const o = (t * m) | 0;
    for (let i = 0; i < m; i++) {
      let v = v0;
      if (t > 0) {
        const h = hs[o - m + i]!;
        const s = spikes[o - m + i]!;
        if (!hard) v = f(h - s * vTh);
        else if (vReset === 0) v = f(h * (1 - s));
        else v = f(f(h * (1 - s)) + f(vReset * s));
      }
      const xt = x[o + i]!;
      const h = lif ? f(v + f(f(xt - (vReset === 0 ? v : f(v - vReset))) / tau)) : f(v + xt);
      spikes[o + i] = Number(f(h - vTh) >= 0); // Number(bool), not `? 1 : 0`: no branch to mispredict
      hs[o + i] = h;
    }
  }
}

/** Backpropagation through time: dL/dx from dL/dspikes and the kept membranes, the surrogate's
 * derivative at h - v_th standing in for the spike's; through the reset unless detach_reset. The
 * gradient reaching a step's membrane from the next step is read back from that step's dx
 * (dL/dv = dL/dh * (1 - 1/tau) and dL/dx = dL/dh / tau for LIF; both dL/dh for IF). */
function spikeBackward(dy: Float32Array, hs: Float32Array, T: number, c: SpikeAttrs, dx: Float32Array): void {
  const m = (dy.length / T) | 0;
  const vTh = Math.fround(c.vTh);
  const vReset = Math.fround(c.vReset);
  const lif = c.tauOrZero !== 0;
  const tau = Math.fround(c.tauOrZero);
  const inv = lif ? 1 / tau : 1;
  const dxToDv = lif ? tau - 1 : 1; // (dL/dh (1 - 1/tau)) / (dL/dh / tau)
  const hard = c.reset === "hard";
  const k1 = (Math.PI / 2) * c.alpha;
  const halfAlpha = c.alpha / 2;
  const rect = c.surrogate === "rect";
  const half = c.width / 2;
  const invWidth = 1 / c.width;
  const through = c.detachReset ? 0 : 1;
  for (let t = T - 1; t >= 0; t--) {
    const o = (t * m) | 0;
    const last = t === T - 1;
    for (let i = 0; i < m; i++) {
      const h = hs[o + i]!;
      const d = Math.fround(h - vTh);
      const u = k1 * d;
      const sg = rect ? Number(Math.abs(d) < half) * invWidth : halfAlpha / (1 + u * u);
      let gh = dy[o + i]! * sg;
      if (!last) {
        // dv'/dh: hard v' = h (1 - s) + v_reset s; soft v' = h - s v_th; s through the surrogate.
        const gv = dx[o + m + i]! * dxToDv;
        const s = Number(d >= 0);
        gh += gv * (hard ? 1 - s + (vReset - h) * sg * through : 1 - vTh * sg * through);
      }
      dx[o + i] = gh * inv;
    }
  }
}

function spikeKernels(backendName: "cpu" | "wasm") {
  const attrsOf = (a: KernelArgs) => a.attrs as unknown as SpikeAttrs;
  return {
    forward: (args: KernelArgs): tf.TensorInfo[] => {
      const st = storage(backendName, args.backend);
      const x = args.inputs["x"]!;
      const [spikes, sv] = st.make(x.shape);
      const [h, hv] = st.make(x.shape);
      spikeForward(st.read(x), attrsOf(args).T, attrsOf(args), sv(), hv());
      return [spikes, h];
    },
    backward: (args: KernelArgs): tf.TensorInfo => {
      const st = storage(backendName, args.backend);
      const { dy, h } = args.inputs;
      const [dx, dxv] = st.make(dy!.shape);
      spikeBackward(st.read(dy!), st.read(h!), attrsOf(args).T, attrsOf(args), dxv());
      return dx;
    },
  };
}

/** Registers the fused neuron kernels for a backend (cpu or wasm); safe to call more than once. */
export function registerSpikeKernels(backendName: "cpu" | "wasm"): void {
  if (tf.getKernel(SPIKE_FORWARD, backendName)) return;
  const k = spikeKernels(backendName);
  tf.registerKernel({ kernelName: SPIKE_FORWARD, backendName, kernelFunc: k.forward as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: SPIKE_BACKWARD, backendName, kernelFunc: k.backward as unknown as tf.KernelFunc });
}

/** The neuron through the fused kernels: spikes forward, BPTT backward from the kept membranes. */
function fusedNeuronSteps(x: tf.Tensor, c: NeuronConfig): tf.Tensor {
  const attrs = { ...c, tauOrZero: c.tau ?? 0 } as unknown as tf.NamedAttrMap;
  const f = tf.customGrad((xi, save) => {
    const [spikes, h] = tf.engine().runKernel(SPIKE_FORWARD, { x: xi as tf.Tensor }, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([h!]);
    return {
      value: spikes!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(SPIKE_BACKWARD, { dy, h: saved[0]! }, attrs) as tf.Tensor,
    };
  });
  return f(x);
}

/** A neuron over [T*N, ...]: the spikes, same shape, 0 or 1. */
export function neuronSteps(x: tf.Tensor, c: NeuronConfig): tf.Tensor {
  if (x.dtype === "float32" && tf.getKernel(SPIKE_FORWARD, tf.getBackend()) !== undefined)
    return fusedNeuronSteps(x, c);
  const shape = x.shape;
  const steps = c.T === 1 ? [tf.reshape(x, [1, -1])] : tf.split(tf.reshape(x, [c.T, -1]), c.T, 0);
  const hard = c.reset === "hard";
  const vReset = tf.scalar(c.vReset);
  const vTh = tf.scalar(c.vTh);
  let v: tf.Tensor = hard ? vReset : tf.scalar(0);
  const spikes: tf.Tensor[] = [];
  for (let t = 0; t < c.T; t++) {
    const x_t = steps[t]!;
    // v - 0 is v exactly, and v_reset * s + h * (1 - s) with v_reset 0 is h * (1 - s): the same
    // values as the full forms (and ONNX's), with fewer kernels (v_reset 0 is the default).
    const rel = c.vReset === 0 ? v : tf.sub(v, vReset);
    const h = c.tau === undefined ? tf.add(v, x_t) : tf.add(v, tf.div(tf.sub(x_t, rel), c.tau));
    const d = tf.sub(h, vTh);
    const s = heaviside(d, c);
    spikes.push(s);
    if (t === c.T - 1) break;
    const sr = c.detachReset ? detach(s) : s;
    if (!hard) v = tf.sub(h, tf.mul(sr, vTh));
    else if (c.vReset === 0) v = tf.mul(h, tf.sub(1, sr));
    else v = tf.add(tf.mul(h, tf.sub(1, sr)), tf.mul(vReset, sr));
  }
  return tf.reshape(spikes.length === 1 ? spikes[0]! : tf.concat(spikes, 0), shape);
}

/** IF or LIF neuron (SpikingJelly IFNode / LIFNode in multi-step mode). */
export class SpikingNeuron extends tf.layers.Layer {
  static className = "ResnetcSpikingNeuron";
  private readonly cfg: NeuronConfig;
  constructor(config: NeuronConfig & { name?: string }) {
    super(config);
    const { name: _name, ...cfg } = config;
    this.cfg = cfg;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => neuronSteps(first(inputs), this.cfg));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.cfg as unknown as tf.serialization.ConfigDict) };
  }
}

/** [N, ...] -> [T*N, ...]: the batch repeated T times, time-major. */
export class TimeRepeat extends tf.layers.Layer {
  static className = "ResnetcTimeRepeat";
  private readonly T: number;
  constructor(config: { T: number; name?: string }) {
    super(config);
    this.T = config.T;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, ...rest] = s as Shape;
    return [n == null ? null : n * this.T, ...rest] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      // concat, not tile: tfjs has no tile gradient at rank 5.
      const x = first(inputs);
      return this.T === 1 ? tf.clone(x) : tf.concat(Array<tf.Tensor>(this.T).fill(x), 0);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), T: this.T };
  }
}

/** [T*N, ...] -> [N, ...]: the mean over the T time slices. */
export class TimeMean extends tf.layers.Layer {
  static className = "ResnetcTimeMean";
  private readonly T: number;
  constructor(config: { T: number; name?: string }) {
    super(config);
    this.T = config.T;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, ...rest] = s as Shape;
    return [n == null ? null : n / this.T, ...rest] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const [b, ...rest] = x.shape;
      return tf.mean(tf.reshape(x, [this.T, b! / this.T, ...rest]), 0);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), T: this.T };
  }
}

export const SPIKE_LAYERS = [SpikingNeuron, TimeRepeat, TimeMean];

export function spikingNeuron(x: T, c: NeuronConfig & { name: string }): T {
  return new SpikingNeuron(c).apply(x) as T;
}

export function timeRepeat(x: T, c: { name: string; T: number }): T {
  return new TimeRepeat(c).apply(x) as T;
}

export function timeMean(x: T, c: { name: string; T: number }): T {
  return new TimeMean(c).apply(x) as T;
}
