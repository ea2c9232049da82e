// bench/grouped-conv: is a grouped convolution, which tfjs has no op for, fast enough in resnetc's
// runtime? A training step of ResNeXt-50 (32x4d) against one of ResNet-50: the ResNeXt paper
// (Xie et al. 2017, Table 1) built the two to the same complexity (4.23 vs 4.09 GMACs at 224x224),
// every grouped 3x3 conv of the one standing where the other has an ungrouped 3x3 conv of about
// the same MACs. Target: ResNeXt-50 / ResNet-50 time per step <= 1.5 (issue: TypeScript backend
// for the whole language), printed with the MACs ratio beside it.
//
//   node bench/grouped-conv.js [--size 64] [--batch 4] [--steps 5] [--warmup 1] [--backend NAME]
//
// Method: both examples (examples/resnext50.resnet, examples/resnet50.resnet) are recompiled at
// --size (their `expect` lines, which pin 224x224, dropped), emitted to TypeScript by the CLI,
// transpiled and built in this process, and initialised by the runtime's initParams. Each step is
// one SGD-momentum `optimizer.minimize` of softmax cross-entropy on a fixed random NCHW batch,
// synced by reading the loss. After --warmup untimed steps each, timed steps alternate (AB BA ..),
// so a burst of load from elsewhere hits both alike; medians are reported.
// Takes: the built dist/ of both packages. Gives: a table and, last, one JSON line.
// Must not: time compilation or the first (tracing) step.
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import ts from "typescript";
import * as rt from "@resnetc/runtime";
import { main } from "../dist/cli/main.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opt } = parseArgs({
  options: {
    size: { type: "string", default: "64" },
    batch: { type: "string", default: "4" },
    steps: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    backend: { type: "string" },
  },
});
const size = Number(opt.size);
const batch = Number(opt.batch);
const steps = Number(opt.steps);
const warmup = Number(opt.warmup);
for (const [k, v] of Object.entries({ size, batch, steps }))
  if (!Number.isInteger(v) || v < 1) {
    console.error(`grouped-conv: --${k} must be a positive whole number`);
    process.exit(2);
  }
const TARGET = 1.5;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const choice = await rt.chooseBackend(opt.backend ? { prefer: opt.backend } : {});
const work = join(root, "out", `bench-grouped-conv-${process.pid}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

/** Compiles one example at --size and builds its tfjs model. */
async function build(file, name) {
  const text = readFileSync(join(root, "examples", file), "utf8")
    .split("\n")
    .filter((l) => !/^\s*expect\b/.test(l))
    .join("\n")
    .replace(/input image: f32\[N, 3, 224, 224\]/, `input image: f32[N, 3, ${size}, ${size}]`);
  const src = join(work, file);
  writeFileSync(src, text);
  const dir = join(work, name);
  const quiet = { cwd: root, out: () => {}, err: (s) => console.error(s) };
  if ((await main(["compile", src, "--target", "ts", "--model", name, "--root", root, "-o", dir], quiet)) !== 0)
    throw new Error(`compiling ${name} failed`);
  let summary = "";
  await main(["summary", src, "--model", name, "--root", root], { ...quiet, out: (s) => (summary += s) });
  const macs = Number((/MACs:\s+([\d,]+)/.exec(summary)?.[1] ?? "NaN").replace(/,/g, ""));
  const modelTs = readFileSync(join(dir, "model.ts"), "utf8")
    .replace('from "@tensorflow/tfjs"', `from ${JSON.stringify(import.meta.resolve("@tensorflow/tfjs"))}`)
    .replace('from "@resnetc/runtime"', `from ${JSON.stringify(import.meta.resolve("@resnetc/runtime"))}`);
  const js = ts.transpileModule(modelTs, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(dir, "model.mjs"), js);
  const gen = await import(pathToFileURL(join(dir, "model.mjs")).href);
  const model = gen.buildModel();
  rt.initParams(model, gen.PARAMS, 0);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const step = async (x, y) => {
    const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
    const loss = (await cost.data())[0];
    cost.dispose();
    return loss;
  };
  return { name, macs, step, ms: [] };
}

const models = [await build("resnext50.resnet", "ResNeXt50"), await build("resnet50.resnet", "ResNet50")];
const x = tf.randomUniform([batch, 3, size, size], 0, 1, "float32", 1);
const y = tf.oneHot(
  tf.tensor1d(
    Array.from({ length: batch }, (_, i) => (i * 7) % 1000),
    "int32",
  ),
  1000,
);
console.log(
  `grouped-conv: ResNeXt-50 32x4d vs ResNet-50, ${size}x${size} input, batch ${batch}, backend ` +
    `${choice.name}${choice.adapter ? ` on ${rt.adapterLine(choice.adapter)}` : ""}; tfjs ${tf.version.tfjs}`,
);
for (const m of models) {
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    await m.step(x, y);
    console.log(`  warm-up: ${m.name} ${(performance.now() - t0).toFixed(0)} ms`);
  }
}
for (let i = 0; i < steps; i++) {
  const order = i % 2 === 0 ? models : [...models].reverse();
  const line = [];
  for (const m of order) {
    const t0 = performance.now();
    const loss = await m.step(x, y);
    const ms = performance.now() - t0;
    if (!Number.isFinite(loss)) throw new Error(`${m.name}: loss ${loss}`);
    m.ms.push(ms);
    line.push(`${m.name} ${ms.toFixed(0)} ms`);
  }
  console.log(`  step ${i + 1}/${steps}: ${line.join(", ")}`);
}
const [xt, rn] = models;
const ratio = median(xt.ms) / median(rn.ms);
const macsRatio = xt.macs / rn.macs;
console.log(
  `\nmedian ms per step: ResNeXt-50 ${median(xt.ms).toFixed(0)}, ResNet-50 ${median(rn.ms).toFixed(0)}; ` +
    `ratio ${ratio.toFixed(2)} (MACs ratio ${macsRatio.toFixed(3)})`,
);
console.log(`${ratio <= TARGET ? "PASS" : "FAIL"}  ResNeXt-50 / ResNet-50 step time <= ${TARGET}`);
rmSync(work, { recursive: true, force: true });
console.log(
  JSON.stringify({
    bench: "grouped-conv",
    backend: choice.name,
    size,
    batch,
    steps,
    msPerStep: { resnext50: +median(xt.ms).toFixed(1), resnet50: +median(rn.ms).toFixed(1) },
    ratio: +ratio.toFixed(3),
    macsRatio: +macsRatio.toFixed(3),
    target: TARGET,
    pass: ratio <= TARGET,
  }),
);
