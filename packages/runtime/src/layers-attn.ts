// Custom tfjs layers for token sequences [N, T, D] (ViT, Dosovitskiy et al. 2021): multi-head
// self-attention with PyTorch nn.MultiheadAttention's weights, a learned class token put first,
// and a learned positional embedding added; and the helpers emitted programs call.
// Takes: configuration from the emitter (width D, heads, token count). Gives: layers registered
// with tfjs serialization (names "Resnetc..."), whose calls use only differentiable ops
// (matMul, softmax, slice, reshape, transpose, tile, concat) on the cpu, wasm and webgpu backends.
// Must not: initialise weights (params.ts does), nor read tensors back to the CPU inside call().
//
// PARAMS rules (every weight canonical, layout "same"):
//   attention: ResnetcAttention `name`: in_proj_weight [3D, D] index 0, in_proj_bias [3D] 1,
//              out_proj.weight [D, D] 2, out_proj.bias [D] 3.
//   clsToken:  ResnetcClassToken `name`: the token [1, 1, D], index 0.
//   posEmbed:  ResnetcPosEmbed `name`: the embedding [1, T, D], index 0.

import * as tf from "@tensorflow/tfjs";
import { weightLayer } from "./shared-layers.js";

type T = tf.SymbolicTensor;
type Shape = (number | null)[];

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** y = x W^T + b over the last axis of a [rows, in] matrix (PyTorch Linear's layout). */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.add(tf.matMul(x, w, false, true), b);
}

/**
 * nn.MultiheadAttention(D, heads, batch_first=True) applied as self-attention (query = key =
 * value = x), dropout 0, no mask: [q k v] = x W_in^T + b_in; per head softmax(q k^T / sqrt(D/H)) v;
 * the heads joined and projected by out_proj.
 */
export class Attention extends tf.layers.Layer {
  static className = "ResnetcAttention";
  private readonly dim: number;
  private readonly heads: number;
  private inW: tf.LayerVariable | null = null;
  private inB: tf.LayerVariable | null = null;
  private outW: tf.LayerVariable | null = null;
  private outB: tf.LayerVariable | null = null;
  constructor(config: { dim: number; heads: number; name?: string }) {
    super(config);
    this.dim = config.dim;
    this.heads = config.heads;
  }
  override build(): void {
    const d = this.dim;
    const z = tf.initializers.zeros();
    this.inW = this.addWeight("in_proj_weight", [3 * d, d], "float32", z);
    this.inB = this.addWeight("in_proj_bias", [3 * d], "float32", z);
    this.outW = this.addWeight("out_proj_weight", [d, d], "float32", z);
    this.outB = this.addWeight("out_proj_bias", [d], "float32", z);
    this.built = true;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    return [...(s as Shape)] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const [n, t] = x.shape as [number, number, number];
      const d = this.dim;
      const h = this.heads;
      const dh = d / h;
      const qkv = linear(tf.reshape(x, [n * t, d]), this.inW!.read(), this.inB!.read());
      // Part i of [q k v] as [N*H, T, Dh].
      const part = (i: number): tf.Tensor =>
        tf.reshape(tf.transpose(tf.reshape(tf.slice(qkv, [0, i * d], [n * t, d]), [n, t, h, dh]), [0, 2, 1, 3]), [
          n * h,
          t,
          dh,
        ]);
      const q = tf.mul(part(0), 1 / Math.sqrt(dh));
      const attn = tf.softmax(tf.matMul(q, part(1), false, true), -1);
      const ctx = tf.matMul(attn, part(2));
      const joined = tf.reshape(tf.transpose(tf.reshape(ctx, [n, h, t, dh]), [0, 2, 1, 3]), [n * t, d]);
      return tf.reshape(linear(joined, this.outW!.read(), this.outB!.read()), [n, t, d]);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, heads: this.heads };
  }
}

/** A learned [1, 1, D] token put before the tokens: [N, T, D] -> [N, T+1, D]. */
export class ClassToken extends tf.layers.Layer {
  static className = "ResnetcClassToken";
  private readonly dim: number;
  private token: tf.LayerVariable | null = null;
  constructor(config: { dim: number; name?: string }) {
    super(config);
    this.dim = config.dim;
  }
  override build(): void {
    this.token = this.addWeight("token", [1, 1, this.dim], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, t, d] = s as Shape;
    return [n, t == null ? null : t + 1, d] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      return tf.concat([tf.tile(this.token!.read(), [x.shape[0]!, 1, 1]), x], 1);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim };
  }
}

/** Adds a learned [1, T, D] positional embedding to [N, T, D]. */
export class PosEmbed extends tf.layers.Layer {
  static className = "ResnetcPosEmbed";
  private readonly tokens: number;
  private readonly dim: number;
  private w: tf.LayerVariable | null = null;
  constructor(config: { tokens: number; dim: number; name?: string }) {
    super(config);
    this.tokens = config.tokens;
    this.dim = config.dim;
  }
  override build(): void {
    this.w = this.addWeight("embedding", [1, this.tokens, this.dim], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(first(inputs), this.w!.read()));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), tokens: this.tokens, dim: this.dim };
  }
}

export const ATTN_LAYERS = [Attention, ClassToken, PosEmbed];

export function attention(x: T, c: { name: string; dim: number; heads: number }): T {
  return weightLayer(c.name, () => new Attention({ name: c.name, dim: c.dim, heads: c.heads })).apply(x) as T;
}

export function clsToken(x: T, c: { name: string; dim: number }): T {
  return weightLayer(c.name, () => new ClassToken({ name: c.name, dim: c.dim })).apply(x) as T;
}

export function posEmbed(x: T, c: { name: string; tokens: number; dim: number }): T {
  return weightLayer(c.name, () => new PosEmbed({ name: c.name, tokens: c.tokens, dim: c.dim })).apply(x) as T;
}
