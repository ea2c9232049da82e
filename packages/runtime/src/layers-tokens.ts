// Custom tfjs layers for CaiT and ResMLP (Touvron et al. 2021) on token sequences [N, T, D], with
// timm's weights (cait.py TalkingHeadAttn and ClassAttn, mlp_mixer.py Affine).
// Takes: configuration from the emitter (width D, heads, input rank). Gives: layers registered with
// tfjs serialization (names "Resnetc..."), whose calls use only differentiable ops (matMul,
// softmax, slice, reshape, transpose, mul, add) on the cpu, wasm and webgpu backends.
// Must not: initialise weights (params.ts does), nor read tensors back to the CPU inside call().
//
// PARAMS rules (every weight canonical, layout "same"; src/emit/ts/emit.ts TOKEN_WEIGHTS):
//   affine: ResnetcAffine `name`: alpha [1, .., 1, D] index 0, beta 1.
//   talkingHeadsAttention: ResnetcTalkingHeadsAttention `name`: qkv.weight [3D, D] 0, qkv.bias 1,
//     proj.weight [D, D] 2, proj.bias 3, proj_l.weight [H, H] 4, proj_l.bias 5, proj_w.weight 6,
//     proj_w.bias 7.
//   classAttention: ResnetcClassAttention `name`: q.weight [D, D] 0, q.bias 1, k 2-3, v 4-5, proj 6-7.

import * as tf from "@tensorflow/tfjs";
import { weightLayer } from "./shared-layers.js";

type T = tf.SymbolicTensor;
type Shape = (number | null)[];

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** y = x W^T + b over the last axis of any rank (nn.Linear, W [out, in]). */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const s = x.shape;
  const fin = s[s.length - 1]!;
  const rows = tf.reshape(x, [-1, fin]);
  const y = tf.add(tf.matMul(rows, w, false, true), b);
  return tf.reshape(y, [...s.slice(0, -1), w.shape[0]!]);
}

/** [N, L, D] -> [N, H, L, Dh]. */
function splitHeads(x: tf.Tensor, h: number): tf.Tensor {
  const [n, l, d] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [n, l, h, d / h]), [0, 2, 1, 3]);
}

/** [N, H, L, Dh] -> [N, L, D]. */
function joinHeads(x: tf.Tensor): tf.Tensor {
  const [n, h, l, dh] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [n, l, h * dh]);
}

/** Linear layers kept as (weight, bias) pairs under timm's names. */
abstract class LinearsLayer extends tf.layers.Layer {
  protected readonly dim: number;
  protected readonly heads: number;
  protected readonly w = new Map<string, tf.LayerVariable>();
  constructor(config: { dim: number; heads: number; name?: string }) {
    super(config);
    this.dim = config.dim;
    this.heads = config.heads;
  }
  protected abstract linears(): [string, number, number][];
  override build(): void {
    const z = tf.initializers.zeros();
    for (const [p, out, fin] of this.linears()) {
      this.w.set(`${p}.weight`, this.addWeight(`${p}_weight`, [out, fin], "float32", z));
      this.w.set(`${p}.bias`, this.addWeight(`${p}_bias`, [out], "float32", z));
    }
    this.built = true;
  }
  protected lin(x: tf.Tensor, p: string): tf.Tensor {
    return linear(x, this.w.get(`${p}.weight`)!.read(), this.w.get(`${p}.bias`)!.read());
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, heads: this.heads };
  }
}

/**
 * timm TalkingHeadAttn (Shazeer et al. 2020): [q k v] = qkv(x); scores (q / sqrt(Dh)) k^T mixed
 * across heads by proj_l, softmax over the keys, mixed by proj_w; weighted sum of v; proj.
 */
export class TalkingHeadsAttention extends LinearsLayer {
  static className = "ResnetcTalkingHeadsAttention";
  protected linears(): [string, number, number][] {
    const d = this.dim;
    const h = this.heads;
    return [
      ["qkv", 3 * d, d],
      ["proj", d, d],
      ["proj_l", h, h],
      ["proj_w", h, h],
    ];
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
      const qkv = this.lin(x, "qkv");
      const part = (i: number): tf.Tensor => splitHeads(tf.slice(qkv, [0, 0, i * d], [n, t, d]), h);
      const q = tf.mul(part(0), 1 / Math.sqrt(d / h));
      // Scores [N, H, T, T]; the head mixings act on H as the last axis.
      const mix = (a: tf.Tensor, p: string): tf.Tensor =>
        tf.transpose(this.lin(tf.transpose(a, [0, 2, 3, 1]), p), [0, 3, 1, 2]);
      const scores = mix(tf.matMul(q, part(1), false, true), "proj_l");
      const attn = mix(tf.softmax(scores, -1), "proj_w");
      return this.lin(joinHeads(tf.matMul(attn, part(2))), "proj");
    });
  }
}

/** timm ClassAttn: token 0 queries every token; [N, T, D] -> [N, 1, D]. */
export class ClassAttention extends LinearsLayer {
  static className = "ResnetcClassAttention";
  protected linears(): [string, number, number][] {
    const d = this.dim;
    return ["q", "k", "v", "proj"].map((p) => [p, d, d]);
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, , d] = s as Shape;
    return [n, 1, d] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const [n, , d] = x.shape as [number, number, number];
      const h = this.heads;
      const q = tf.mul(splitHeads(this.lin(tf.slice(x, [0, 0, 0], [n, 1, d]), "q"), h), 1 / Math.sqrt(d / h));
      const k = splitHeads(this.lin(x, "k"), h);
      const v = splitHeads(this.lin(x, "v"), h);
      const attn = tf.softmax(tf.matMul(q, k, false, true), -1);
      return this.lin(joinHeads(tf.matMul(attn, v)), "proj");
    });
  }
}

/** ResMLP's Affine: alpha * x + beta over the last dim, alpha and beta [1, ..., 1, D]. */
export class Affine extends tf.layers.Layer {
  static className = "ResnetcAffine";
  private readonly dim: number;
  private readonly rank: number;
  private alpha: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;
  constructor(config: { dim: number; rank: number; name?: string }) {
    super(config);
    this.dim = config.dim;
    this.rank = config.rank;
  }
  override build(): void {
    const dims = [...Array<number>(this.rank - 1).fill(1), this.dim];
    this.alpha = this.addWeight("alpha", dims, "float32", tf.initializers.ones());
    this.beta = this.addWeight("beta", dims, "float32", tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(tf.mul(first(inputs), this.alpha!.read()), this.beta!.read()));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, rank: this.rank };
  }
}

export const TOKEN_LAYERS = [TalkingHeadsAttention, ClassAttention, Affine];

export function talkingHeadsAttention(x: T, c: { name: string; dim: number; heads: number }): T {
  return weightLayer(c.name, () => new TalkingHeadsAttention({ name: c.name, dim: c.dim, heads: c.heads })).apply(
    x,
  ) as T;
}

export function classAttention(x: T, c: { name: string; dim: number; heads: number }): T {
  return weightLayer(c.name, () => new ClassAttention({ name: c.name, dim: c.dim, heads: c.heads })).apply(x) as T;
}

export function affine(x: T, c: { name: string; dim: number; rank: number }): T {
  return weightLayer(c.name, () => new Affine({ name: c.name, dim: c.dim, rank: c.rank })).apply(x) as T;
}
