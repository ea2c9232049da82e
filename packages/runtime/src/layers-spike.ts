// Custom tfjs layers for spiking networks with time folded into the batch axis ([T*N, ...],
// time-major; SpikingJelly's multi-step mode): integrate-and-fire and leaky integrate-and-fire
// neurons trained with a surrogate gradient, the direct-encoding repeat [N, ...] -> [T*N, ...] and
// the mean over time [T*N, ...] -> [N, ...]; and the helpers emitted programs call.
// Takes: configuration from the emitter (T, tau, v_th, v_reset, reset, detach_reset, surrogate).
// Gives: layers registered with tfjs serialization (names "Resnetc..."), no weights.
// Must not: reorder the neuron's float ops: ONNX (src/emit/onnx/lower-spike.ts) computes them in
// the same order, and a test asserts that ONNX Runtime's spikes equal these exactly:
//   IF h = v + x;  LIF h = v + (x - (v - v_reset)) / tau;  d = h - v_th;  spike = (d >= 0);
//   hard reset v = h * (1 - s) + v_reset * s;  soft reset v = h - s * v_th  (s = spike, detached
//   from the gradient with detach_reset). Nor read tensors back to the CPU inside call().

import * as tf from "@tensorflow/tfjs";

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

/** A neuron over [T*N, ...]: the spikes, same shape, 0 or 1. */
export function neuronSteps(x: tf.Tensor, c: NeuronConfig): tf.Tensor {
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
