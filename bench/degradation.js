// bench/degradation: the ResNet paper's central experiment at small scale (He et al. 2015,
// Fig. 1 and Fig. 6): plain and residual nets of the same depths (20 and 56 layers by default),
// trained on the real Fashion-MNIST with the same batches, steps and recipe. Does the deeper plain
// net train worse than the shallower one while the deeper residual net trains at least as well?
// Takes: --minutes (budget for the whole run), --out DIR (default bench/results/), and recipe
// options. Gives: a training-error table on stdout, DIR/degradation.svg (Fig. 6 style),
// DIR/degradation-curves.json (the per-step curves) and DIR/degradation.json; the last stdout line
// is the same one JSON object.
// Must not: budget nets by wall time (all get the same steps), or exit non-zero when the orderings
// do not hold (it reports; only a real failure exits 1).
//
// usage: node bench/degradation.js [--minutes 28] [--out bench/results] [--depths 20,56]
//          [--batch 64] [--lr 0.1] [--chunk 5] [--steps N] [--eval 2000] [--train N] [--data DIR]
//          [--paper-init]   (residual nets with every BN at gamma 1, as the paper; default: std's Basic,
//                            whose branches' last BN starts at gamma 0)
//
// Method: bench/degradation.resnet (examples/cifar-resnet.resnet's 6n+2 stacks with option A
// shortcuts, and their plain twins, on 1x28x28 input) is compiled by resnetc to TypeScript and
// trained in this process through @resnetc/runtime's wasm backend and kernels, as `resnetc train`
// does. The nets take turns, a chunk of steps each (who goes first rotates), on the same seeded
// batches, so machine noise hits all of them alike. The first turn (3 steps each) is also a
// timing probe: the step count is then chosen so that everything fits --minutes. Recipe: SGD,
// momentum 0.9, weight decay 1e-4, BN, the declared (He) initialisation, lr 0.1 divided by 10 at
// 50% and 75% of the steps (the paper's 32k/48k of 64k), no augmentation. Training error is each
// batch's, measured in training mode before the update; the orderings compare the mean over the
// last 10% of the steps. Test error is on the first --eval test images, after the last step.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { degradationSvg, runDegradation, summaryJson } from "./degradation-lib.js";

const root = join(new URL(".", import.meta.url).pathname, "..");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "28" },
    out: { type: "string", default: join(root, "bench", "results") },
    depths: { type: "string", default: "20,56" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "0.1" },
    chunk: { type: "string", default: "5" },
    steps: { type: "string" },
    eval: { type: "string", default: "2000" },
    train: { type: "string" },
    data: { type: "string", default: "/usr/share/datasets/fashion-mnist" },
    "paper-init": { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const depths = values.depths.split(",").map(Number);
const say = (s) => console.log(s);

const r = await runDegradation({
  data: values.data,
  depths,
  batch: Number(values.batch),
  lr: Number(values.lr),
  chunk: Number(values.chunk),
  minutes,
  ...(values.steps === undefined ? {} : { steps: Number(values.steps) }),
  ...(values.train === undefined ? {} : { trainLimit: Number(values.train) }),
  evalLimit: Number(values.eval),
  paperInit: values["paper-init"],
  say,
});

const json = summaryJson(r, { minutes });
mkdirSync(values.out, { recursive: true });
const svg = degradationSvg({
  title: `Training on Fashion-MNIST: plain vs residual nets of ${depths.join(" and ")} layers`,
  subtitle:
    `${values["paper-init"] ? "paper init (all BN gamma 1); " : ""}${r.steps} steps of batch ${json.batch} ` +
    `(${json.epochs} epochs), SGD lr ${json.lr} /10 at 50% and 75%, ` +
    `momentum 0.9, wd 1e-4; thin: per batch, bold: moving average, dot: test error (${r.testCount} images)`,
  curves: r.curves,
  depths,
  testErrors: r.testErrors,
});
writeFileSync(join(values.out, "degradation.svg"), svg);
writeFileSync(
  join(values.out, "degradation-curves.json"),
  JSON.stringify({ train_error: r.curves, loss: r.losses }, (_, v) => (typeof v === "number" ? +v.toFixed(5) : v)) +
    "\n",
);
writeFileSync(join(values.out, "degradation.json"), JSON.stringify(json) + "\n");

console.log("");
console.log(`${"net".padEnd(12)} ${"params".padStart(9)}  train err (last ${json.tail_steps} steps)  test err  s/step`);
for (const n of r.nets) {
  const x = json.nets[n.key];
  console.log(
    `${n.key.padEnd(12)} ${x.params.toLocaleString("en-US").padStart(9)}  ` +
      `${`${(x.train_error_tail * 100).toFixed(2)}%`.padStart(27)}  ` +
      `${`${(x.test_error * 100).toFixed(2)}%`.padStart(8)}  ${x.sec_per_step.toFixed(2).padStart(6)}`,
  );
}
for (const p of json.orderings.pairs)
  console.log(
    `${p.deep} vs ${p.shallow} layers: plain deeper trains worse: ${p.plain ? "yes" : "NO"}; ` +
      `residual deeper at least as good: ${p.residual ? "yes" : "NO"}`,
  );
console.log(
  `${json.orderings.holds ? "HOLDS" : "DOES NOT HOLD"}: the paper's orderings after ${r.steps} steps ` +
    `(${json.minutes_used} min); figure ${relative(process.cwd(), join(values.out, "degradation.svg"))}`,
);
console.log(JSON.stringify(json));
