// Batch normalization in training mode as one fused kernel each way, for the cpu and wasm
// backends. tfjs's BatchNormalization layer trains through moments + batchNorm, whose gradient
// is a dozen full-size ops (Tile, Sub, Mul, Sum, RealDiv...): on wasm a quarter of a ResNet-20
// training step. Here the forward pass is three sweeps over the tensor (mean, variance, output)
// and the backward two (the two per-channel sums, then dx), in JavaScript on the backend's own
// memory:
//   y = gamma * xhat + beta,  xhat = (x - mean) / sqrt(var + eps)   (biased batch variance)
//   dbeta = sum dy,  dgamma = sum dy * xhat,
//   dx = gamma / sqrt(var + eps) * (dy - dbeta / n - xhat * dgamma / n)
// `FusedBatchNorm` is the layer: it is tfjs's BatchNormalization (same weights and config; it saves
// and loads as a plain BatchNormalization) whose training call uses these kernels when the backend
// has them, and tfjs's moments + batchNorm otherwise. Its running variance follows PyTorch, not
// tfjs: it averages the unbiased batch variance (n / (n - 1) times the biased one).
// Takes: channels-last float32 tensors. Gives: the layer and the kernels (for tests).
// Must not: change results beyond float rounding (sums accumulate in float64, JS numbers).

import * as tf from "@tensorflow/tfjs";
import { simdKernels, type Simd } from "./simd.js";

import type { KernelArgs } from "./kernel-args.js";
import { storage } from "./kernel-storage.js";

export const BN_FORWARD = "ResnetcBatchNormTrain";
export const BN_BACKWARD = "ResnetcBatchNormTrainGrad";
export const BN_MOVING = "ResnetcBatchNormMovingStats";

// The loops run channel by channel with a stride (scalar accumulators stay in registers); measured
// faster than sweeping rows of C with per-channel accumulator arrays.

/** Per-channel batch mean and biased variance, and y, of x viewed as [n, c]. */
export function bnForward(
  x: Float32Array,
  c: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  y: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
): void {
  const len = x.length;
  const n = len / c;
  for (let k = 0; k < c; k++) {
    let sum = 0;
    for (let i = k; i < len; i += c) sum += x[i]!;
    const m = sum / n;
    let sq = 0;
    for (let i = k; i < len; i += c) {
      const d = x[i]! - m;
      sq += d * d;
    }
    const v = sq / n;
    mean[k] = m;
    variance[k] = v;
    const scale = gamma[k]! / Math.sqrt(v + eps);
    const shift = beta[k]! - m * scale;
    for (let i = k; i < len; i += c) y[i] = x[i]! * scale + shift;
  }
}

/** dx, dgamma, dbeta of y = bnForward(x) given dy. */
export function bnBackward(
  dy: Float32Array,
  x: Float32Array,
  c: number,
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array,
  eps: number,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const len = x.length;
  const n = len / c;
  for (let k = 0; k < c; k++) {
    const m = mean[k]!;
    const invStd = 1 / Math.sqrt(variance[k]! + eps);
    let sb = 0;
    let sg = 0;
    for (let i = k; i < len; i += c) {
      const g = dy[i]!;
      sb += g;
      sg += g * (x[i]! - m);
    }
    dbeta[k] = sb;
    dgamma[k] = sg * invStd;
    // dx = a*dy + b*(x - mean) - a*dbeta/n, folded into a*dy + b*x + d.
    const a = gamma[k]! * invStd;
    const b = (-a * sg * invStd * invStd) / n;
    const d = (-a * sb) / n - b * m;
    for (let i = k; i < len; i += c) dx[i] = a * dy[i]! + b * x[i]! + d;
  }
}

type Info = tf.TensorInfo;

/** bnForward with the SIMD kernels, in place on the wasm heap (c % 4 == 0). */
function simdForward(
  simd: Simd,
  x: Info,
  gamma: Info,
  beta: Info,
  eps: number,
  y: Info,
  mean: Info,
  variance: Info,
): void {
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  // Scratch: float64 sums [c], then float32 scale and shift [c] each.
  simd.withScratch(16 * c, (at) => {
    const sum = simd.f64(at, c);
    simd.fn.colsum(simd.ptr(x), rows, c, at);
    const m = simd.f32(simd.ptr(mean), c);
    for (let k = 0; k < c; k++) m[k] = sum[k]! / rows;
    sum.fill(0);
    simd.fn.colsumSqDev(simd.ptr(x), rows, c, simd.ptr(mean), at);
    const v = simd.f32(simd.ptr(variance), c);
    const g = simd.f32(simd.ptr(gamma), c);
    const b = simd.f32(simd.ptr(beta), c);
    const scale = simd.f32(at + 8 * c, c);
    const shift = simd.f32(at + 12 * c, c);
    for (let k = 0; k < c; k++) {
      v[k] = sum[k]! / rows;
      scale[k] = g[k]! / Math.sqrt(v[k]! + eps);
      shift[k] = b[k]! - m[k]! * scale[k]!;
    }
    simd.fn.affine(simd.ptr(x), simd.ptr(y), rows, c, at + 8 * c, at + 12 * c);
  });
}

/** bnBackward with the SIMD kernels, in place on the wasm heap (c % 4 == 0). */
function simdBackward(
  simd: Simd,
  dy: Info,
  x: Info,
  mean: Info,
  variance: Info,
  gamma: Info,
  eps: number,
  dx: Info,
  dgamma: Info,
  dbeta: Info,
): Info[] {
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  // Scratch: float64 sums of dy and of dy * (x - mean) [c] each, then float32 a, b, d [c] each.
  simd.withScratch(28 * c, (at) => {
    simd.fn.colsumGrad(simd.ptr(dy), simd.ptr(x), rows, c, simd.ptr(mean), at, at + 8 * c);
    const sb = simd.f64(at, c);
    const sg = simd.f64(at + 8 * c, c);
    const m = simd.f32(simd.ptr(mean), c);
    const v = simd.f32(simd.ptr(variance), c);
    const g = simd.f32(simd.ptr(gamma), c);
    const db = simd.f32(simd.ptr(dbeta), c);
    const dg = simd.f32(simd.ptr(dgamma), c);
    const a = simd.f32(at + 16 * c, c);
    const b = simd.f32(at + 20 * c, c);
    const d = simd.f32(at + 24 * c, c);
    for (let k = 0; k < c; k++) {
      const invStd = 1 / Math.sqrt(v[k]! + eps);
      db[k] = sb[k]!;
      dg[k] = sg[k]! * invStd;
      // As in bnBackward: dx = a*dy + b*x + d.
      a[k] = g[k]! * invStd;
      b[k] = (-a[k]! * sg[k]! * invStd * invStd) / rows;
      d[k] = (-a[k]! * sb[k]!) / rows - b[k]! * m[k]!;
    }
    simd.fn.affine2(simd.ptr(dy), simd.ptr(x), simd.ptr(dx), rows, c, at + 16 * c, at + 20 * c, at + 24 * c);
  });
  return [dx, dgamma, dbeta];
}

function forwardKernel(backendName: "cpu" | "wasm") {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const s = storage(backendName, args.backend);
    const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
    const c = x!.shape[x!.shape.length - 1]!;
    // Allocate everything first: on wasm an allocation may move the heap under earlier views.
    const [y, yv] = s.make(x!.shape);
    const [mean, mv] = s.make([c]);
    const [variance, vv] = s.make([c]);
    const simd = backendName === "wasm" && c % 4 === 0 ? simdKernels(args.backend) : undefined;
    if (simd) simdForward(simd, x!, gamma!, beta!, args.attrs!["epsilon"] as number, y, mean, variance);
    else bnForward(s.read(x!), c, s.read(gamma!), s.read(beta!), args.attrs!["epsilon"] as number, yv(), mv(), vv());
    return [y, mean, variance];
  };
}

function backwardKernel(backendName: "cpu" | "wasm") {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const s = storage(backendName, args.backend);
    const { dy, x, mean, variance, gamma } = args.inputs as Record<string, tf.TensorInfo>;
    const c = x!.shape[x!.shape.length - 1]!;
    const [dx, dxv] = s.make(x!.shape);
    const [dgamma, dgv] = s.make([c]);
    const [dbeta, dbv] = s.make([c]);
    const simd = backendName === "wasm" && c % 4 === 0 ? simdKernels(args.backend) : undefined;
    if (simd)
      return simdBackward(simd, dy!, x!, mean!, variance!, gamma!, args.attrs!["epsilon"] as number, dx, dgamma, dbeta);
    bnBackward(
      s.read(dy!),
      s.read(x!),
      c,
      s.read(mean!),
      s.read(variance!),
      s.read(gamma!),
      args.attrs!["epsilon"] as number,
      dxv(),
      dgv(),
      dbv(),
    );
    return [dx, dgamma, dbeta];
  };
}

function movingKernel(backendName: "cpu" | "wasm") {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const s = storage(backendName, args.backend);
    const { movingMean, movingVariance, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
    const decay = 1 - (args.attrs!["momentum"] as number);
    const unbias = (args.attrs!["unbias"] as number | undefined) ?? 1;
    const outs: tf.TensorInfo[] = [];
    for (const [moving, batch, scale] of [
      [movingMean!, mean!, 1],
      [movingVariance!, variance!, unbias],
    ] as const) {
      const [out, view] = s.make(moving.shape);
      const o = view();
      const mv = s.read(moving);
      const bv = s.read(batch);
      for (let k = 0; k < o.length; k++) o[k] = mv[k]! - (mv[k]! - bv[k]! * scale) * decay;
      outs.push(out);
    }
    return outs;
  };
}

/** Registers the fused kernels for a backend (cpu or wasm); safe to call more than once. */
export function registerFusedBatchNorm(backendName: "cpu" | "wasm"): void {
  if (tf.getKernel(BN_FORWARD, backendName)) return;
  tf.registerKernel({
    kernelName: BN_FORWARD,
    backendName,
    kernelFunc: forwardKernel(backendName) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: BN_BACKWARD,
    backendName,
    kernelFunc: backwardKernel(backendName) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: BN_MOVING,
    backendName,
    kernelFunc: movingKernel(backendName) as unknown as tf.KernelFunc,
  });
}

/** y, batch mean and batch variance; the gradient flows to x, gamma and beta through BN_BACKWARD.
 * The mean and variance are kept (customGrad disposes what its forward function does not
 * return): the caller disposes them. */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  let stats: [tf.Tensor, tf.Tensor] | undefined;
  const f = tf.customGrad((...args: (tf.Tensor | ((ts: tf.Tensor[]) => void))[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, (ts: tf.Tensor[]) => void];
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BN_FORWARD, { x: xi, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
    stats = [tf.keep(mean!), tf.keep(variance!)];
    save([xi, mean!, variance!, g]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved;
        return tf
          .engine()
          .runKernel(BN_BACKWARD, { dy, x: sx!, mean: sm!, variance: sv!, gamma: sg! }, { epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = f(x, gamma, beta);
  return [y, stats![0], stats![1]];
}

const StockBatchNorm = (tf.layers.batchNormalization({}) as object).constructor as new (
  args: object,
) => tf.layers.Layer;

/** tfjs's BatchNormalization, training through the fused kernels where the backend has them. */
export class FusedBatchNorm extends StockBatchNorm {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as {
      axis: number | number[];
      epsilon: number;
      momentum: number;
      gamma?: tf.LayerVariable;
      beta?: tf.LayerVariable;
      movingMean: tf.LayerVariable;
      movingVariance: tf.LayerVariable;
    };
    const axis = Array.isArray(self.axis) ? self.axis[0] : self.axis;
    const lastAxis = axis === -1 || axis === x.rank - 1;
    if (kwargs["training"] !== true || !lastAxis) return super.call(inputs, kwargs);
    const affine = self.gamma !== undefined && self.beta !== undefined;
    const fused = affine && x.dtype === "float32" && tf.getKernel(BN_FORWARD, tf.getBackend()) !== undefined;
    // PyTorch's running variance takes the unbiased batch variance (n / (n - 1) times the biased
    // one the output is normalised with); tfjs's stock layer takes the biased one, which would
    // make a checkpoint trained here differ from PyTorch's by that factor.
    const n = x.size / x.shape[x.rank - 1]!;
    const unbias = n > 1 ? n / (n - 1) : 1;
    return tf.tidy(() => {
      if (fused) {
        const [y, mean, variance] = batchNormTrain(x, self.gamma!.read(), self.beta!.read(), self.epsilon);
        // moving = moving - (moving - batch) * (1 - momentum), both statistics in one kernel
        // (tfjs's update is three kernels each).
        const [m, v] = tf
          .engine()
          .runKernel(
            BN_MOVING,
            { movingMean: self.movingMean.read(), movingVariance: self.movingVariance.read(), mean, variance },
            { momentum: self.momentum, unbias },
          ) as tf.Tensor[];
        self.movingMean.write(m!);
        self.movingVariance.write(v!);
        tf.dispose([mean, variance]);
        return y;
      }
      // Other backends (webgpu), and affine=false (tfjs's stock layer reads gamma while training
      // even when scale is off): tfjs's moments and batchNorm, as its stock layer, spelled out
      // without scale where there is none (tf.batchNorm without scale cannot be differentiated).
      const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
      const y = affine
        ? tf.batchNorm(x, mean, variance, self.beta!.read(), self.gamma!.read(), self.epsilon)
        : tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, self.epsilon)));
      for (const [v, batch] of [
        [self.movingMean, mean],
        [self.movingVariance, tf.mul(variance, unbias)],
      ] as const) {
        const old = v.read();
        v.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - self.momentum)));
      }
      return y;
    });
  }
}
