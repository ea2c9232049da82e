// bench/fashion-mnist: trains a small ResNet on the real Fashion-MNIST (Debian's
// dataset-fashion-mnist) on this machine's CPU for a bounded time and prints test accuracy and
// samples/s. The last stdout line is one JSON object with the figures.
//
// usage: node bench/fashion-mnist.js [--minutes 30] [--batch 64] [--lr 0.05] [--data DIR]
//
// Method: a short probe (a few steps) measures throughput; the run then gets as many steps as
// fit in --minutes, as whole epochs where possible, with a cosine schedule over them and a
// --minutes stop as a safety net. Test accuracy is on the full 10,000-image test set.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "../dist/cli/main.js";

const root = join(new URL(".", import.meta.url).pathname, "..");
const { values } = parseArgs({
  options: { minutes: { type: "string", default: "30" }, batch: { type: "string", default: "64" }, lr: { type: "string", default: "0.05" }, data: { type: "string", default: "/usr/share/datasets/fashion-mnist" } },
});
const minutes = Number(values.minutes);
const batch = Number(values.batch);
const data = values.data;

const MODEL = `# A small ResNet for 28x28 grey images (He et al. 2015's basic blocks, option B shortcuts).
import "std/resnet.resnet"
model FashionResNet {
  input image: f32[N, 1, 28, 28]
  conv(16, k=3) bn relu
  Basic(16) Basic(32, stride=2) Basic(64, stride=2)
  expect [N, 64, 7, 7]
  avgpool flatten dense(10)
}
`;

if (!existsSync(join(data, "train-images-idx3-ubyte.gz")) && !existsSync(join(data, "train-images-idx3-ubyte"))) {
  console.log(`skipped: no Fashion-MNIST in ${data} (apt-get install dataset-fashion-mnist)`);
  console.log(JSON.stringify({ bench: "fashion-mnist", skipped: `no data in ${data}`, minutes, test_accuracy: null, samples_per_sec: null }));
  process.exit(0);
}

const work = join(root, "out", "bench-fashion-mnist");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const file = join(work, "fashion.resnet");
writeFileSync(file, MODEL);
const io = { cwd: root, out: (s) => console.log(s), err: (s) => console.error(s) };

// Probe: throughput over a few steps (the first includes warm-up).
const probeDir = join(work, "probe");
const t0 = Date.now();
if ((await main(["train", file, "--data", data, "--steps", "6", "--batch", String(batch), "--out", probeDir, "--epochs", "1", "--eval", "64"], { ...io, out: () => {} })) !== 0) process.exit(1);
const probe = JSON.parse(readFileSync(join(probeDir, "metrics.json"), "utf8"));
const probeRate = probe.epochs[0].samplesPerSec;
console.log(`probe: ${probeRate.toFixed(1)} samples/s (${((Date.now() - t0) / 1000).toFixed(0)} s including the test-set evaluation)`);

// Budget: leave ~15% of the time for per-epoch evaluation on 10,000 test images.
const trainSeconds = minutes * 60 * 0.85;
const steps = Math.max(1, Math.floor((trainSeconds * probeRate) / batch));
const stepsPerEpoch = Math.ceil(60000 / batch);
const epochs = Math.max(1, Math.round(steps / stepsPerEpoch));
console.log(`plan: ${steps} steps of batch ${batch} (${(steps / stepsPerEpoch).toFixed(2)} epochs), cosine schedule over ${epochs} epoch(s), lr ${values.lr}`);
const runDir = join(work, "run");
const started = Date.now();
const code = await main(["train", file, "--data", data, "--epochs", String(epochs), "--steps", String(steps), "--minutes", String(minutes * 0.9), "--batch", String(batch), "--lr", values.lr, "--schedule", "cosine", "--out", runDir], io);
const seconds = (Date.now() - started) / 1000;
if (code !== 0) process.exit(1);
const m = JSON.parse(readFileSync(join(runDir, "metrics.json"), "utf8"));
const last = m.epochs[m.epochs.length - 1];
const trained = m.epochs.reduce((s, e) => s + e.samplesPerSec * e.seconds, 0);
const rate = m.epochs.reduce((s, e) => s + e.samplesPerSec * e.seconds, 0) / m.epochs.reduce((s, e) => s + e.seconds, 0);
console.log("");
console.log(`backend ${m.backend}; ${m.epochs.length} epoch(s) in ${(seconds / 60).toFixed(1)} min; ${Math.round(trained)} samples trained`);
console.log(`test accuracy ${(last.testAccuracy * 100).toFixed(2)}%   ${rate.toFixed(1)} samples/s`);
console.log(`${last.testAccuracy >= 0.9 ? "PASS" : "FAIL"}  >= 90% test accuracy within ${minutes} minutes (the CPU-kernel issue's target)`);
console.log(JSON.stringify({ bench: "fashion-mnist", backend: m.backend, minutes, minutes_used: +(seconds / 60).toFixed(2), batch, epochs: m.epochs.length, steps, test_accuracy: last.testAccuracy, samples_per_sec: +rate.toFixed(2), targets: { accuracy_90_within_budget: last.testAccuracy >= 0.9 } }));
