// bench/fashion-mnist: trains a small ResNet on the real Fashion-MNIST (Debian's
// dataset-fashion-mnist) on this machine's CPU for a bounded time and prints test accuracy and
// samples/s. The last stdout line is one JSON object with the figures.
//
// usage: node bench/fashion-mnist.js [--minutes 30] [--batch 64] [--lr 0.1] [--optimizer sgd|adam]
//                                    [--augment] [--data DIR]
//
// Method: a short probe (a few steps) measures throughput; the run then gets as many steps as
// fit in --minutes (less a share for the per-epoch evaluations), with a cosine schedule that
// ends exactly at the last step, and a --minutes stop as a safety net. Test accuracy is on the
// full 10,000-image test set, measured after the last step.
// Recipe: SGD with momentum 0.9 and weight decay 1e-4 (the training program's defaults), no
// augmentation (in a run of a few epochs pad-and-crop costs more accuracy than it gives; PyTorch
// on the same model and budget agrees).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "../dist/cli/main.js";

const root = join(new URL(".", import.meta.url).pathname, "..");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "0.1" },
    optimizer: { type: "string", default: "sgd" },
    augment: { type: "boolean", default: false },
    data: { type: "string", default: "/usr/share/datasets/fashion-mnist" },
  },
});
const minutes = Number(values.minutes);
const batch = Number(values.batch);
const data = values.data;

// Two basic blocks after a 3x3 stem; each block halves the resolution (a block at full 28x28
// would cost 40% of the compute for little accuracy in a 30-minute budget).
const MODEL = `# A small ResNet for 28x28 grey images (He et al. 2015's basic blocks, projection shortcuts).
import "std/resnet.resnet"
model FashionResNet {
  input image: f32[N, 1, 28, 28]
  conv(16, k=3) bn relu
  Basic(32, stride=2) Basic(64, stride=2)
  expect [N, 64, 7, 7]
  avgpool flatten dense(10)
}
`;

if (!existsSync(join(data, "train-images-idx3-ubyte.gz")) && !existsSync(join(data, "train-images-idx3-ubyte"))) {
  console.log(`skipped: no Fashion-MNIST in ${data} (apt-get install dataset-fashion-mnist)`);
  console.log(
    JSON.stringify({
      bench: "fashion-mnist",
      skipped: `no data in ${data}`,
      minutes,
      test_accuracy: null,
      samples_per_sec: null,
    }),
  );
  process.exit(0);
}

const work = join(root, "out", "bench-fashion-mnist");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const file = join(work, "fashion.resnet");
writeFileSync(file, MODEL);
const io = { cwd: root, out: (s) => console.log(s), err: (s) => console.error(s) };

// Probe: throughput over 20 steps (the first includes warm-up, so this errs low).
const probeDir = join(work, "probe");
const t0 = Date.now();
const probeArgs = [
  "train",
  file,
  "--data",
  data,
  "--steps",
  "20",
  "--batch",
  String(batch),
  "--optimizer",
  values.optimizer,
  "--out",
  probeDir,
  "--epochs",
  "1",
  "--eval",
  "64",
];
if (!values.augment) probeArgs.push("--no-augment");
if ((await main(probeArgs, { ...io, out: () => {} })) !== 0) process.exit(1);
const probe = JSON.parse(readFileSync(join(probeDir, "metrics.json"), "utf8"));
const probeRate = probe.epochs[0].samplesPerSec;
console.log(
  `probe: ${probeRate.toFixed(1)} samples/s (${((Date.now() - t0) / 1000).toFixed(0)} s including the ` +
    `test-set evaluation)`,
);

// Budget: leave ~15% of the time for per-epoch evaluation on 10,000 test images.
// Budget: the probe's time is spent; ~15 s per evaluation of 10,000 images, one per epoch.
const left = minutes * 60 - (Date.now() - t0) / 1000;
const stepsPerEpoch = Math.ceil(60000 / batch);
const roughEpochs = Math.ceil((left * probeRate) / 60000);
const trainSeconds = (left - 15 * roughEpochs - 20) * 0.97;
const steps = Math.max(1, Math.floor((trainSeconds * probeRate) / batch));
const epochs = Math.ceil(steps / stepsPerEpoch);
console.log(
  `plan: ${steps} steps of batch ${batch} (${(steps / stepsPerEpoch).toFixed(2)} epochs), ${values.optimizer} ` +
    `lr ${values.lr}, cosine schedule ending at the last ` +
    `step${values.augment ? ", pad-and-crop + flip" : ", no augmentation"}`,
);
const runDir = join(work, "run");
const started = Date.now();
const args = [
  "train",
  file,
  "--data",
  data,
  "--epochs",
  String(epochs),
  "--steps",
  String(steps),
  "--minutes",
  String((left - 30) / 60),
  "--batch",
  String(batch),
  "--lr",
  values.lr,
  "--optimizer",
  values.optimizer,
  "--schedule",
  "cosine",
  "--out",
  runDir,
];
if (!values.augment) args.push("--no-augment");
const code = await main(args, io);
const seconds = (Date.now() - started) / 1000;
if (code !== 0) process.exit(1);
const m = JSON.parse(readFileSync(join(runDir, "metrics.json"), "utf8"));
const last = m.epochs[m.epochs.length - 1];
const trained = m.epochs.reduce((s, e) => s + e.samplesPerSec * e.seconds, 0);
const rate = trained / m.epochs.reduce((s, e) => s + e.seconds, 0);
console.log("");
console.log(
  `backend ${m.backend}; ${m.epochs.length} epoch(s) in ${(seconds / 60).toFixed(1)} min; ${Math.round(trained)} ` +
    `samples trained`,
);
console.log(`test accuracy ${(last.testAccuracy * 100).toFixed(2)}%   ${rate.toFixed(1)} samples/s`);
const total = (Date.now() - t0) / 60000;
console.log(
  `${last.testAccuracy >= 0.9 && total <= minutes ? "PASS" : "FAIL"}  >= 90% test accuracy within ${minutes} ` +
    `minutes, probe included (${total.toFixed(1)} min)`,
);
console.log(
  JSON.stringify({
    bench: "fashion-mnist",
    backend: m.backend,
    minutes,
    minutes_used: +total.toFixed(2),
    training_minutes: +(seconds / 60).toFixed(2),
    batch,
    optimizer: values.optimizer,
    lr: Number(values.lr),
    augment: values.augment,
    epochs: m.epochs.length,
    steps,
    test_accuracy: last.testAccuracy,
    samples_per_sec: +rate.toFixed(2),
    targets: { accuracy_90_within_budget: last.testAccuracy >= 0.9 && total <= minutes },
  }),
);
