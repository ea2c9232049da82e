// Central finite differences in float64 over the reference interpreter, for gradient checks of
// any backend's training path.
// Takes: a graph, its parameters and inputs as run64 takes them, and a cotangent `r` per output.
// Gives: L = sum over outputs of sum(out * r), its directional derivative along a given
// direction, and its full gradient with respect to every input and every parameter.
// Must not: change the arrays it is given (every perturbation is undone), or be used on points
// where the graph is not differentiable (relu at 0, max-pool ties): the step is small, but a
// kink inside [x - h, x + h] still gives the average of the one-sided slopes.

import type { Graph } from "../../src/ir/ir.js";
import { run64, type Mode } from "./interp64.js";

export interface FdProblem {
  graph: Graph;
  params: ReadonlyMap<string, Float64Array>;
  inputs: Float64Array[];
  /** Batch size of the inputs. */
  b: number;
  /** One cotangent per graph output, as long as that output. */
  r: Float64Array[];
  /** Default "inference"; "training" differentiates through BN's batch statistics. */
  mode?: Mode;
  /** Values of symbolic dims other than N, as run64 takes them. */
  sizes?: Record<string, number>;
}

export interface Gradient {
  inputs: Float64Array[];
  params: Map<string, Float64Array>;
}

/** Relative step: h = REL_STEP * max(1, |x|). */
export const REL_STEP = 1e-6;

/** L = sum_k sum_i out_k[i] * r_k[i]. */
export function loss(p: FdProblem): number {
  const { outputs } = run64(p.graph, p.params, p.inputs, p.b, p.mode ?? "inference", p.sizes);
  let l = 0;
  outputs.forEach((o, k) => {
    const r = p.r[k]!;
    if (r.length !== o.data.length)
      throw new Error(`fd: cotangent ${k} has ${r.length} values, output ${o.data.length}`);
    for (let i = 0; i < r.length; i++) l += o.data[i]! * r[i]!;
  });
  return l;
}

/** dL/dv[i] by a central difference, v being an input or a parameter array of the problem. */
function partial(p: FdProblem, v: Float64Array, i: number): number {
  const x = v[i]!;
  const h = REL_STEP * Math.max(1, Math.abs(x));
  v[i] = x + h;
  const up = loss(p);
  v[i] = x - h;
  const down = loss(p);
  v[i] = x;
  return (up - down) / (2 * h);
}

/** The full gradient of L with respect to every input and every parameter (2 runs per element). */
export function fdGradient(p: FdProblem, only?: { inputs?: boolean; params?: readonly string[] }): Gradient {
  const inputs = p.inputs.map((v) =>
    only?.inputs === false ? new Float64Array(0) : v.map((_, i) => partial(p, v, i)),
  );
  const params = new Map<string, Float64Array>();
  for (const [name, v] of p.params) {
    if (only?.params && !only.params.includes(name)) continue;
    params.set(
      name,
      v.map((_, i) => partial(p, v as Float64Array, i)),
    );
  }
  return { inputs, params };
}

/**
 * The derivative of L along a direction (d/dt L(x + t * dir) at t = 0): two runs whatever the
 * size. Missing entries of `dir` are zero. The step is REL_STEP * max(1, max |x|) over the
 * perturbed arrays, divided by the direction's largest entry.
 */
export function fdDirectional(p: FdProblem, dir: Partial<Gradient>): number {
  const pairs: [Float64Array, Float64Array][] = [];
  (dir.inputs ?? []).forEach((d, k) => d.length && pairs.push([p.inputs[k]!, d]));
  for (const [name, d] of dir.params ?? []) {
    const v = p.params.get(name);
    if (!v) throw new Error(`fd: no parameter ${name}`);
    pairs.push([v as Float64Array, d]);
  }
  let scale = 1;
  let dmax = 0;
  for (const [v, d] of pairs) {
    if (v.length !== d.length) throw new Error(`fd: direction of ${d.length} values for an array of ${v.length}`);
    for (let i = 0; i < v.length; i++) scale = Math.max(scale, Math.abs(v[i]!));
    for (let i = 0; i < d.length; i++) dmax = Math.max(dmax, Math.abs(d[i]!));
  }
  if (dmax === 0) return 0;
  const h = (REL_STEP * scale) / dmax;
  const saved = pairs.map(([v]) => v.slice());
  const shift = (t: number): void =>
    pairs.forEach(([v, d], k) => {
      for (let i = 0; i < v.length; i++) v[i] = saved[k]![i]! + t * d[i]!;
    });
  shift(h);
  const up = loss(p);
  shift(-h);
  const down = loss(p);
  pairs.forEach(([v], k) => v.set(saved[k]!));
  return (up - down) / (2 * h);
}

/** sum(g * dir): the analytic directional derivative from a gradient, to compare with fdDirectional. */
export function dot(g: Gradient, dir: Partial<Gradient>): number {
  let s = 0;
  (dir.inputs ?? []).forEach((d, k) => d.forEach((v, i) => (s += v * (g.inputs[k]?.[i] ?? 0))));
  for (const [name, d] of dir.params ?? []) {
    const gv = g.params.get(name);
    if (gv) d.forEach((v, i) => (s += v * gv[i]!));
  }
  return s;
}
