// bench/spiking-step: what the fused neuron kernels (packages/runtime/src/layers-spike.ts) buy in a
// training step of a spiking ResNet, against the same neurons as tfjs ops (what a backend without
// the kernels runs), side by side in one process.
//
// usage: node bench/spiking-step.js [--rounds 7] [--steps 4] [--batch 64] [--steps-time 2]
//                                   [--backend wasm|cpu]
//
// Method: bench/spiking-fashion.js's model (SEW ResNet in miniature, LIF neurons, T time steps)
// compiled as `resnetc train` compiles it, two copies with the same initialisation, each trained
// with SGD on the same synthetic 1x28x28 batches. Each round times --steps steps of one copy with
// the kernels and --steps of the other with them unregistered, the order alternating by round;
// the first round is warm-up and not counted. Reported: the median ms per step of each, their
// ratio, and the neurons alone timed the same way (3 times a round: a forward and backward of
// six neurons on tensors of the model's neuron shapes). The last line is one JSON object.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compileNets, makeTrainer } from "./degradation-lib.js";
import { spikingFashionModel } from "./fashion-lib.js";
import { chooseBackend, neuronSteps, SPIKE_FORWARD } from "../packages/runtime/dist/index.js";
import { gatherBatch, syntheticDataset } from "../packages/runtime/dist/data.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    steps: { type: "string", default: "4" },
    batch: { type: "string", default: "64" },
    "steps-time": { type: "string", default: "2" },
    backend: { type: "string", default: "wasm" },
  },
});
const rounds = Number(values.rounds);
const perRound = Number(values.steps);
const batch = Number(values.batch);
const T = Number(values["steps-time"]);

const backend = await chooseBackend({ prefer: values.backend });
console.log(`backend ${backend.name} (${backend.reason})`);
const dir = mkdtempSync(join(tmpdir(), "resnetc-spiking-step-"));
const file = join(dir, "spiking.resnet");
writeFileSync(file, spikingFashionModel(T));
let compiled;
try {
  compiled = await compileNets(file, ["SpikingFashion"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const { mods, tf } = compiled;
const name = tf.getBackend();
const kernel = tf.getKernel(SPIKE_FORWARD, name);
if (!kernel) throw new Error(`the ${name} backend has no fused neuron kernels`);
const withKernels = async (on, fn) => {
  if (on) return fn();
  tf.unregisterKernel(SPIKE_FORWARD, name);
  try {
    return await fn();
  } finally {
    tf.registerKernel(kernel);
  }
};

const o = { lr: 0.01, momentum: 0.9, weightDecay: 1e-4, seed: 0 };
const trainers = { fused: makeTrainer(tf, mods.SpikingFashion, o), ops: makeTrainer(tf, mods.SpikingFashion, o) };
const data = syntheticDataset({ count: batch * 8, shape: [1, 28, 28], classes: 10, seed: 1 });
const order = Array.from({ length: data.count }, (_, i) => i);
let at = 0;
const nextBatch = () => gatherBatch(data, order, (at++ % 8) * batch, batch);

// The neurons alone: a forward and backward over the model's four neuron shapes per step (stem and
// first block at 16x14x14, second block at 32x7x7; each block has two neurons), T*batch samples.
const neuronShapes = [
  [T * batch, 14, 14, 16],
  [T * batch, 14, 14, 16],
  [T * batch, 14, 14, 16],
  [T * batch, 7, 7, 32],
  [T * batch, 7, 7, 32],
  [T * batch, 7, 7, 32],
];
const cfg = { T, tau: 2, vTh: 0.5, vReset: 0, reset: "hard", detachReset: true, surrogate: "atan", alpha: 2, width: 1 };
const xs = neuronShapes.map((s, i) => tf.randomNormal(s, 0.3, 1, "float32", i));
async function neuronsOnce() {
  const g = tf.tidy(() => xs.map((x) => tf.grad((xi) => tf.sum(neuronSteps(xi, cfg)))(x)));
  await Promise.all(g.map((t) => t.data()));
  tf.dispose(g);
}

const times = { fused: [], ops: [], neuronsFused: [], neuronsOps: [] };
for (let r = 0; r < rounds; r++) {
  const order2 = r % 2 === 0 ? ["fused", "ops"] : ["ops", "fused"];
  for (const which of order2) {
    await withKernels(which === "fused", async () => {
      for (let i = 0; i < perRound; i++) {
        const b = nextBatch();
        const t = performance.now();
        await trainers[which].step(b, o.lr);
        if (r > 0) times[which].push(performance.now() - t);
      }
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await neuronsOnce();
        if (r > 0) times[which === "fused" ? "neuronsFused" : "neuronsOps"].push(performance.now() - t);
      }
    });
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +median(v).toFixed(1)]));
console.log(`SpikingFashion (T ${T}, batch ${batch}), ${backend.name}, ${rounds - 1} rounds x ${perRound} steps each:`);
console.log(`  training step, fused neuron kernels   ${m.fused} ms (median)`);
console.log(`  training step, neurons as tfjs ops    ${m.ops} ms`);
console.log(`  speed-up                              ${(m.ops / m.fused).toFixed(2)}x`);
console.log(`  the neurons alone (fwd + bwd), fused  ${m.neuronsFused} ms; as ops ${m.neuronsOps} ms`);
console.log(
  JSON.stringify({
    bench: "spiking-step",
    backend: backend.name,
    T,
    batch,
    rounds: rounds - 1,
    stepsPerRound: perRound,
    msPerStep: { fused: m.fused, ops: m.ops },
    speedup: +(m.ops / m.fused).toFixed(2),
    neuronsMs: { fused: m.neuronsFused, ops: m.neuronsOps },
  }),
);
