// ONNX lowering of the spiking ops (src/semantics/ops/spike.ts): time folded into the batch axis,
// [T*N, ...] time-major. A neuron is unrolled over its T steps on the flattened tensor [T, M]
// (M = N times the other dims): Gather the step's [1, M] slice, charge, fire, reset, and Concat
// the spikes back. Every float op is ordered exactly as the tfjs runtime layer
// (packages/runtime/src/layers-spike.ts) orders it, so ONNX Runtime's spikes equal tfjs's:
//   IF   h = v + x;  LIF  h = v + (x - (v - v_reset)) / tau;  d = h - v_th;  spike = d >= 0;
//   hard reset v = spike ? v_reset : h;  soft reset v = spike ? d : h.
// Takes: a lowering context (lower.ts). Gives: ONNX nodes (opset 11+: Gather, Less, Where, Tile,
// Concat, Reshape, ReduceMean). Must not: reorder the float ops above.

import type { LowerCtx } from "./lower.js";

type NeuronOp = "if_neuron" | "lif";

export function lowerNeuron(c: LowerCtx<NeuronOp>): void {
  const a = c.node.attrs as LowerCtx<"lif">["node"]["attrs"];
  const T = a.T;
  const lif = c.node.op === "lif";
  const hard = a.reset === "hard";
  const shape = c.tmp("input_shape");
  c.emit("Shape", [c.input()], shape);
  const flat = c.tmp("steps");
  c.emit("Reshape", [c.input(), c.constI("steps_shape", [T, -1])], flat);
  // IF with a soft reset never reads v_reset: no initializer ONNX Runtime would warn about as unused.
  const vReset = hard || lif ? c.constF("v_reset", [], [a.v_reset]) : "";
  const vTh = c.constF("v_th", [], [a.v_th]);
  const zero = c.constF("zero", [], [0]);
  const one = c.constF("one", [], [1]);
  const tau = lif ? c.constF("tau", [], [a.tau]) : "";
  // The membrane starts at v_reset (hard reset) or 0 (soft reset: SpikingJelly's v_reset=None).
  let v = hard ? vReset : zero;
  const spikes: string[] = [];
  for (let t = 0; t < T; t++) {
    const x = c.tmp(`x${t}`);
    c.emit("Gather", [flat, c.constI(`t${t}`, [t])], x, { axis: 0 });
    const h = c.tmp(`h${t}`);
    if (lif) {
      const rel = c.tmp(`v_rel${t}`);
      c.emit("Sub", [v, vReset], rel);
      const diff = c.tmp(`x_minus_v${t}`);
      c.emit("Sub", [x, rel], diff);
      const step = c.tmp(`charge${t}`);
      c.emit("Div", [diff, tau], step);
      c.emit("Add", [v, step], h);
    } else c.emit("Add", [v, x], h);
    const d = c.tmp(`above${t}`);
    c.emit("Sub", [h, vTh], d);
    const below = c.tmp(`below${t}`);
    c.emit("Less", [d, zero], below);
    const s = c.tmp(`spike${t}`);
    c.emit("Where", [below, zero, one], s);
    spikes.push(s);
    if (t === T - 1) break;
    const next = c.tmp(`v${t}`);
    c.emit("Where", [below, h, hard ? vReset : d], next);
    v = next;
  }
  let joined = spikes[0]!;
  if (T > 1) {
    joined = c.tmp("spikes");
    c.emit("Concat", spikes, joined, { axis: 0 });
  }
  c.emit("Reshape", [joined, shape], c.out);
}

export function lowerTimeRepeat(c: LowerCtx<"time_repeat">): void {
  const rank = c.node.shape.length;
  c.emit("Tile", [c.input(), c.constI("repeats", [c.node.attrs.T, ...Array(rank - 1).fill(1)])], c.out);
}

export function lowerTimeMean(c: LowerCtx<"time_mean">): void {
  // [T*N, ...] -> [T, M] -> mean over T -> [M] -> [-1, rest of the input's dims].
  const T = c.node.attrs.T;
  const flat = c.tmp("steps");
  c.emit("Reshape", [c.input(), c.constI("steps_shape", [T, -1])], flat);
  const mean = c.tmp("mean");
  if (c.opset >= 18) c.emit("ReduceMean", [flat, c.constI("axes", [0])], mean, { keepdims: 0 });
  else c.emit("ReduceMean", [flat], mean, { axes: [0], keepdims: 0 });
  const shape = c.tmp("input_shape");
  c.emit("Shape", [c.input()], shape);
  const rest = c.tmp("rest");
  c.emit("Slice", [shape, c.constI("rest_start", [1]), c.constI("rest_end", [Number.MAX_SAFE_INTEGER])], rest);
  const target = c.tmp("output_shape");
  c.emit("Concat", [c.constI("batch", [-1]), rest], target, { axis: 0 });
  c.emit("Reshape", [mean, target], c.out);
}
