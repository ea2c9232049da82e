// Test data for the reference cases: seeded inputs and parameters, concrete input dims, and the
// error measure the parity tests use.
// Takes: a compiled graph. Gives: float32 values (for a backend) and the same values widened to
// float64 (for run64), so that both sides compute from identical numbers.
// Must not: depend on an emitter or draw from a global random source (every draw is seeded).

import type { Graph } from "../../src/ir/ir.js";
import type { Tensor } from "../../src/weights/encode.js";
import { fill, graphParams } from "../../src/weights/init.js";

export const SEED = 7;

/** Deterministic uniform draws in [lo, hi), rounded to float32 so both sides see the same values. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

/**
 * Parameters drawn as the compiler declares them (seeded), then every constant-initialised
 * tensor (BN gammas, betas and running statistics, PReLU slopes, gates, LayerScale, zero-init
 * weights) moved to random values near its constant, running variances kept positive.
 */
export function caseParams(g: Graph, seed = SEED): { f32: Map<string, Tensor>; f64: Map<string, Float64Array> } {
  const f32 = new Map<string, Tensor>();
  const f64 = new Map<string, Float64Array>();
  graphParams(g).forEach((spec, k) => {
    let data = fill(spec, seed);
    if (spec.init.kind === "const") {
      const base = spec.name.endsWith(".running_var") ? 1 : spec.init.value;
      const noise = uniform(data.length, seed * 1000 + k + 1, -0.5, 0.5);
      data = data.map((_, i) => base + noise[i]!);
    }
    f32.set(spec.name, { dims: spec.dims, data });
    f64.set(spec.name, Float64Array.from(data));
  });
  return { f32, f64 };
}

/** Concrete dims of each graph input for batch `b`. */
export function inputDims(g: Graph, b: number, sizes: Record<string, number> = {}): number[][] {
  return g.inputs.map((io) =>
    io.shape.map((d) => {
      if (typeof d === "number") return d;
      const v = d.key === "N" ? b : sizes[d.key];
      if (v === undefined) throw new Error(`no size for ${d.key}`);
      return v;
    }),
  );
}

export const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** max |a - b| / max(1, max |b|). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
