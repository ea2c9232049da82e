// Spiking-network ops (SEW ResNet, Fang et al. 2021; MS-ResNet, Hu et al. 2021): integrate-and-fire
// and leaky integrate-and-fire neurons, and the two ops that move between static tensors [N, ...]
// and time folded into the batch axis [T*N, ...] (time-major, SpikingJelly's multi-step mode with
// SeqToANNContainer), so conv, bn, pool and dense run unchanged on all T*N samples and bn
// normalises over T*N exactly as SpikingJelly does.
// Takes: input shapes and checked args. Gives: output shape (no parameters, no MACs).
// Must not: depend on what comes before or after them (a neuron does not know where time began).

import { dimDivExact, dimMul, dimStr, isConst } from "../../ir/dims.js";
import type { Dim } from "../../ir/dims.js";
import type { OpName } from "../../ir/ops.js";
import type { ArgSpec, InferCtx, InferResult, OpDef } from "./registry.js";
import { ANY_RANK } from "./registry.js";

/** The largest number of time steps: every step is unrolled in ONNX. */
export const MAX_TIME_STEPS = 64;

const tArg: ArgSpec = {
  name: "T",
  type: "int",
  positional: true,
  doc: `time steps, 1 to ${MAX_TIME_STEPS}; the batch axis holds T slices of N samples, time-major`,
};

/** The time-step count, checked; undefined after reporting RN119. */
function steps(ctx: InferCtx): number | undefined {
  const t = ctx.args["T"] as number;
  if (!(Number.isInteger(t) && t >= 1 && t <= MAX_TIME_STEPS))
    return ctx.error("RN119", { what: `${ctx.op} T`, value: `an int from 1 to ${MAX_TIME_STEPS}, found ${t}` });
  return t;
}

/** The batch dim divided by T: a static size must be a multiple of T; a symbolic one must be
 * written as a multiple (`4*N`) where `exact` (time_mean needs the quotient), and is trusted
 * otherwise (a neuron keeps the shape; the runtime splits it). */
function perStep(ctx: InferCtx, t: number, exact: boolean): Dim | null | undefined {
  const b = ctx.inputs[0]![0]!;
  const q = dimDivExact(b, t);
  if (q !== undefined) return q;
  if (!isConst(b) && !exact) return null;
  return ctx.error(
    "RN205",
    { what: `${ctx.op}(${t})`, detail: `the batch dim ${dimStr(b)} is not a multiple of T = ${t}` },
    "the batch axis holds T time slices: start the time axis with `time_repeat(T)`",
  );
}

const neuronArgs: ArgSpec[] = [
  { name: "v_th", type: "float", default: 1, doc: "firing threshold: a spike where v - v_th >= 0" },
  { name: "v_reset", type: "float", default: 0, doc: "initial membrane potential and hard-reset value" },
  {
    name: "reset",
    type: { enum: ["hard", "soft"] },
    default: "hard",
    doc:
      "after a spike: `hard` sets v to v_reset; `soft` subtracts v_th (v then starts at 0, SpikingJelly's " +
      "v_reset=None)",
  },
  {
    name: "detach_reset",
    type: "bool",
    default: false,
    doc: "no gradient through the reset (SpikingJelly's detach_reset); the forward pass is the same",
  },
  {
    name: "surrogate",
    type: { enum: ["atan", "rect"] },
    default: "atan",
    doc:
      "gradient of the Heaviside in training: `atan` = alpha/2 / (1 + (pi/2 alpha x)^2) (SpikingJelly " +
      "surrogate.ATan); `rect` = 1/width on |x| < width/2",
  },
  { name: "alpha", type: "float", default: 2, doc: "ATan surrogate's alpha" },
  { name: "width", type: "float", default: 1, doc: "rectangular surrogate's width" },
];

function positive(ctx: InferCtx, name: string): boolean {
  const v = ctx.args[name] as number;
  if (v > 0 && Number.isFinite(v)) return true;
  ctx.error("RN119", { what: `${ctx.op} ${name}`, value: `positive, found ${v}` });
  return false;
}

function neuronInfer(ctx: InferCtx): InferResult | undefined {
  const t = steps(ctx);
  if (t === undefined) return undefined;
  if (!positive(ctx, "alpha") || !positive(ctx, "width")) return undefined;
  if (ctx.args["tau"] !== undefined) {
    const tau = ctx.args["tau"] as number;
    if (!(tau >= 1 && Number.isFinite(tau)))
      return ctx.error("RN119", { what: `${ctx.op} tau`, value: `at least 1, found ${tau}` });
  }
  if (perStep(ctx, t, false) === undefined) return undefined;
  return { shape: [...ctx.inputs[0]!] };
}

const neuron = (name: OpName, summary: string, extra: ArgSpec[]): OpDef => ({
  name,
  family: "spiking",
  summary,
  arity: 1,
  ranks: ANY_RANK,
  args: [tArg, ...extra, ...neuronArgs],
  infer: neuronInfer,
});

export const spikeOps: OpDef[] = [
  neuron(
    "if_neuron",
    "integrate-and-fire neuron over T time steps folded into the batch ([T*N, ...], time-major): per step " +
      "v = v + x, spike = (v - v_th >= 0), then reset; gives the spikes (0 or 1). SpikingJelly IFNode, multi-step",
    [],
  ),
  neuron(
    "lif",
    "leaky integrate-and-fire neuron over T time steps folded into the batch ([T*N, ...], time-major): per step " +
      "v = v + (x - (v - v_reset)) / tau (SpikingJelly LIFNode, decay_input=True), spike = (v - v_th >= 0), then " +
      "reset; gives the spikes (0 or 1)",
    [{ name: "tau", type: "float", default: 2, doc: "membrane time constant, at least 1" }],
  ),
  {
    name: "time_repeat",
    family: "spiking",
    summary:
      "[N, ...] -> [T*N, ...]: the batch repeated T times, time-major (direct encoding of a static input; " +
      "SpikingJelly's x.unsqueeze(0).repeat(T, ...) flattened)",
    arity: 1,
    ranks: ANY_RANK,
    args: [tArg],
    infer: (ctx) => {
      const t = steps(ctx);
      if (t === undefined) return undefined;
      const s = ctx.inputs[0]!;
      return { shape: [dimMul(s[0]!, t), ...s.slice(1)] };
    },
  },
  {
    name: "time_mean",
    family: "spiking",
    summary: "[T*N, ...] -> [N, ...]: the mean over the T time slices (SEW ResNet's output averaged over time)",
    arity: 1,
    ranks: ANY_RANK,
    args: [tArg],
    infer: (ctx) => {
      const t = steps(ctx);
      if (t === undefined) return undefined;
      const q = perStep(ctx, t, true);
      if (q === undefined || q === null) return undefined;
      return { shape: [q, ...ctx.inputs[0]!.slice(1)] };
    },
  },
];
