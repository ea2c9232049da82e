// bench/scale-out: training throughput (images/s) of CIFAR ResNet-20 (examples/cifar-resnet.resnet,
// model ResNet20) on this machine, in one run: the PyTorch program (`resnetc compile --target torch`:
// model.py + train.py) in 1 process (its default threads, and 1 thread) and in 2 data-parallel
// processes (torch.multiprocessing.spawn, gloo on the CPU, or NCCL with one GPU each), next to the
// tfjs program on the wasm backend (`resnetc train --backend wasm`).
// The last stdout line is one JSON object:
// {"bench":"scale-out","imagesPerSec":{"torch-1":..,"torch-1-1thread":..,"torch-2":..,"tfjs-wasm":..},...}.
//
// usage: node bench/scale-out.js [--rounds 3] [--steps 6] [--batch 32] [--python PATH] [--device cpu|cuda]
//
// Method: each configuration is its own process, run --rounds times, alternating (torch-1,
// torch-1-1thread, torch-2, tfjs-wasm, torch-1, ...), so a burst of load from another process hits
// all alike; the median is reported. Every run trains --steps steps of --batch images per process (so 2 processes take
// 2 x --batch images a step: the batch of one process is held, as when scaling out) on resnetc's
// synthetic CIFAR-shaped data, without augmentation. Images/s come from the run's own steps.jsonl
// (the seconds of each step since the run began): the images of steps 2..N over the time from the
// end of step 1 to the end of step N, so start-up, data generation and the first (slow) step are
// left out, and both engines are measured the same way.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    steps: { type: "string", default: "6" },
    batch: { type: "string", default: "32" },
    python: { type: "string", default: "/usr/bin/python3" },
    device: { type: "string", default: "cpu" },
  },
});
const int = (name, v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, found ${v}`);
  return n;
};
const rounds = int("rounds", opt.rounds);
const steps = Math.max(2, int("steps", opt.steps));
const batch = int("batch", opt.batch);
const work = join(root, "out", "bench-scale-out");
const prog = join(work, "prog");
const cli = join(root, "bin", "resnetc.js");
const FILE = "examples/cifar-resnet.resnet";

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}\n`);
    process.exit(1);
  }
  return r.stdout;
}

/** Images per second after the first step, from a run's steps.jsonl. */
function imagesPerSec(out, perStep) {
  const lines = readFileSync(join(out, "steps.jsonl"), "utf8").trim().split("\n").map(JSON.parse);
  if (lines.length < 2) throw new Error(`${out}/steps.jsonl has ${lines.length} steps`);
  const first = lines[0];
  const last = lines[lines.length - 1];
  return ((last.step - first.step) * perStep) / (last.seconds - first.seconds);
}

const torchVersion = spawnSync(opt.python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
if (torchVersion.status !== 0) {
  console.error(`bench/scale-out: ${opt.python} has no torch (--python PATH names another)`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
run(process.execPath, [cli, "compile", FILE, "--model", "ResNet20", "--target", "torch", "-o", prog]);

const common = ["--data", "synthetic", "--steps", String(steps), "--batch", String(batch), "--no-augment"];
const configs = {
  "torch-1": (out) => {
    run(
      opt.python,
      [join(prog, "train.py"), ...common, "--synthetic", String(steps * batch * 2)].concat([
        "--device",
        opt.device,
        "--out",
        out,
      ]),
    );
    return batch;
  },
  "torch-1-1thread": (out) => {
    run(
      opt.python,
      [join(prog, "train.py"), ...common, "--synthetic", String(steps * batch * 2), "--threads", "1"].concat([
        "--device",
        opt.device,
        "--out",
        out,
      ]),
    );
    return batch;
  },
  "torch-2": (out) => {
    run(
      opt.python,
      [join(prog, "train.py"), ...common, "--synthetic", String(steps * batch * 2), "--nproc", "2"].concat([
        "--device",
        opt.device,
        "--out",
        out,
      ]),
    );
    return 2 * batch;
  },
  "tfjs-wasm": (out) => {
    run(
      process.execPath,
      [cli, "train", FILE, "--model", "ResNet20", ...common, "--synthetic", String(steps * batch * 2)].concat([
        "--backend",
        "wasm",
        "--out",
        out,
      ]),
    );
    return batch;
  },
};

const runs = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
for (let r = 0; r < rounds; r++)
  for (const [name, go] of Object.entries(configs)) {
    const out = join(work, `${name}-${r}`);
    const perStep = go(out);
    const ips = imagesPerSec(out, perStep);
    runs[name].push(Math.round(ips * 10) / 10);
    console.log(`round ${r + 1}/${rounds} ${name.padEnd(15)} ${ips.toFixed(1)} images/s`);
  }

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const imagesPerSecMedian = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
console.log(
  `medians: torch 1 process ${imagesPerSecMedian["torch-1"]} (1 thread: ${imagesPerSecMedian["torch-1-1thread"]}), ` +
    `torch 2 processes ${imagesPerSecMedian["torch-2"]} ` +
    `(x${(imagesPerSecMedian["torch-2"] / imagesPerSecMedian["torch-1"]).toFixed(2)}), ` +
    `tfjs wasm ${imagesPerSecMedian["tfjs-wasm"]} images/s`,
);
console.log(
  JSON.stringify({
    bench: "scale-out",
    model: "ResNet20",
    imagesPerSec: imagesPerSecMedian,
    runs,
    rounds,
    steps,
    batchPerProcess: batch,
    device: opt.device,
    torch: torchVersion.stdout.trim(),
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
  }),
);
