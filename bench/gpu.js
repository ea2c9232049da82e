// bench/gpu: training images/s of CIFAR ResNet-20 and ImageNet ResNet-50, as resnetc emits them,
// on every GPU path present: tfjs's WebGPU backend (Dawn in Node, on a hardware adapter) and
// tfjs-node-gpu (CUDA), next to PyTorch on the same GPU (Debian's python3-torch with CUDA) where it
// imports. The one command to run on a GPU machine: `npm run bench:gpu` (it builds first).
//
//   node bench/gpu.js [--models ResNet20,ResNet50] [--steps 10] [--warmup 3] [--allow-software]
//
// Each (model, backend) runs in its own process (`--child MODEL BACKEND`): compile the example to
// TypeScript with the CLI, build it, initialise as the runtime does, then --warmup untimed and
// --steps timed SGD-momentum steps on a fixed random batch, reading the loss asynchronously (as a
// real loop does); the median step gives images/s. Batches: 128 at 32x32, 32 at 224x224.
// A backend that does not load, or WebGPU on a software adapter (SwiftShader: correct, far too
// slow to time; --allow-software runs it anyway with --steps 1), is reported with the reason.
// Takes: the built dist/ of both packages. Gives: a table and, last, one JSON line.
// Must not: exit non-zero because a backend is missing (only a crash is a failure).
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import ts from "typescript";
import * as rt from "@resnetc/runtime";
import { main } from "../dist/cli/main.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const MODELS = {
  ResNet20: { file: "examples/cifar-resnet.resnet", size: 32, batch: 128, classes: 10 },
  ResNet50: { file: "examples/resnet50.resnet", size: 224, batch: 32, classes: 1000 },
};
const BACKENDS = ["webgpu", "node-gpu"];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { values } = parseArgs({
  options: {
    child: { type: "string" },
    backend: { type: "string" },
    models: { type: "string", default: "ResNet20,ResNet50" },
    steps: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    "allow-software": { type: "boolean", default: false },
  },
});

async function child(name, backend) {
  const m = MODELS[name];
  const choice = await rt.chooseBackend({ prefer: backend });
  if (choice.adapter?.software && !values["allow-software"])
    return { skipped: `software adapter (${rt.adapterLine(choice.adapter)})` };
  const dir = join(root, "out", "bench-gpu", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const quiet = { cwd: root, out: () => {}, err: (s) => console.error(s) };
  if ((await main(["compile", m.file, "--target", "ts", "--model", name, "-o", dir], quiet)) !== 0)
    throw new Error(`compiling ${name} failed`);
  const src = readFileSync(join(dir, "model.ts"), "utf8")
    .replace('from "@tensorflow/tfjs"', `from ${JSON.stringify(import.meta.resolve("@tensorflow/tfjs"))}`)
    .replace('from "@resnetc/runtime"', `from ${JSON.stringify(import.meta.resolve("@resnetc/runtime"))}`);
  const js = ts.transpileModule(src, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  writeFileSync(join(dir, "model.mjs"), js.outputText);
  const gen = await import(pathToFileURL(join(dir, "model.mjs")).href);
  const model = gen.buildModel();
  rt.initParams(model, gen.PARAMS, 0);
  const batch = values["allow-software"] && choice.adapter?.software ? 2 : m.batch;
  // The emitted model takes the declared NCHW layout.
  const x = tf.randomUniform([batch, 3, m.size, m.size], 0, 1, "float32", 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => (i * 7) % m.classes),
      "int32",
    ),
    m.classes,
  );
  const optimizer = tf.train.momentum(0.01, 0.9);
  const step = async () => {
    const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
    const loss = (await cost.data())[0];
    cost.dispose();
    return loss;
  };
  const steps = choice.adapter?.software ? 1 : Number(values.steps);
  for (let i = 0; i < Number(values.warmup) && !choice.adapter?.software; i++) await step();
  const ms = [];
  const losses = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    losses.push(await step());
    ms.push(performance.now() - t0);
  }
  const med = median(ms);
  return {
    imagesPerSec: (batch * 1000) / med,
    msPerStep: med,
    batch,
    steps,
    losses,
    backend: choice.name,
    adapter: choice.adapter ? rt.adapterLine(choice.adapter) : undefined,
  };
}

if (values.child) {
  try {
    console.log(JSON.stringify(await child(values.child, values.backend)));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e.message ?? e).split("\n")[0] }));
  }
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const results = {};
const lastJson = (out) => {
  const line = out
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  return line ? JSON.parse(line) : { error: out.trim().split("\n").pop() || "no output" };
};
console.log(`bench/gpu: training images/s, resnetc's emitted models; tfjs ${tf.version.tfjs}; node ${process.version}`);
for (const name of values.models.split(",")) {
  for (const backend of BACKENDS) {
    const args = [self, "--child", name, "--backend", backend, "--steps", values.steps, "--warmup", values.warmup];
    if (values["allow-software"]) args.push("--allow-software");
    const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 600_000 });
    const res = lastJson(`${r.stdout}`);
    results[`${name}/${backend}`] = res;
    const how = res.error
      ? `unavailable: ${res.error}`
      : res.skipped
        ? `skipped: ${res.skipped}`
        : `${res.imagesPerSec.toFixed(1)} images/s (batch ${res.batch}, median ${res.msPerStep.toFixed(0)} ms)` +
          (res.adapter ? ` on ${res.adapter}` : "");
    console.log(`  ${`${name} ${backend}`.padEnd(20)} ${how}`);
  }
  // PyTorch on the same GPU, where Debian's torch imports with CUDA.
  const py = `
import json, time, torch, torchvision
name, size, batch = ${JSON.stringify(name)}, ${MODELS[name].size}, ${MODELS[name].batch}
steps, warmup = ${values.steps}, ${values.warmup}
if not torch.cuda.is_available():
    print(json.dumps({"error": "torch has no CUDA device"})); raise SystemExit
dev = torch.device("cuda")
m = torchvision.models.resnet50() if name == "ResNet50" else None
if m is None:
    import sys; sys.path.insert(0, "bench"); import torch_resnet20 as r20; m = r20.ResNet20()
m = m.to(dev).train()
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
x = torch.rand(batch, 3, size, size, device=dev); y = torch.randint(0, 10, (batch,), device=dev)
def step():
    opt.zero_grad(); loss = torch.nn.functional.cross_entropy(m(x), y); loss.backward(); opt.step(); return loss.item()
for _ in range(warmup): step()
ms = []
for _ in range(steps):
    t0 = time.perf_counter(); step(); ms.append((time.perf_counter() - t0) * 1000)
ms.sort(); med = ms[len(ms) // 2]
gpu = torch.cuda.get_device_name(0)
print(json.dumps({"imagesPerSec": batch * 1000 / med, "msPerStep": med, "batch": batch, "gpu": gpu}))
`;
  const t = spawnSync("/usr/bin/python3", ["-c", py], { cwd: root, encoding: "utf8", timeout: 600_000 });
  const res = t.error ? { error: t.error.message } : lastJson(`${t.stdout}\n${t.stderr}`);
  results[`${name}/torch`] = res;
  console.log(
    `  ${`${name} torch`.padEnd(20)} ` +
      (res.error
        ? `unavailable: ${res.error}`
        : `${res.imagesPerSec.toFixed(1)} images/s (batch ${res.batch}) on ${res.gpu}`),
  );
}
console.log(JSON.stringify({ bench: "gpu", node: process.version, tfjs: tf.version.tfjs, results }));
