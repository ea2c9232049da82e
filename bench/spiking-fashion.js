// bench/spiking-fashion: trains a small spiking ResNet (SEW ResNet's ADD units, Fang et al. 2021,
// LIF neurons with an ATan surrogate gradient, time folded into the batch axis) on the real
// Fashion-MNIST (Debian's dataset-fashion-mnist) on this machine's CPU for a bounded time and
// prints progress and test accuracy. The last stdout line is one JSON object with the figures.
//
// usage: node bench/spiking-fashion.js [--minutes 20] [--batch 64] [--lr 0.005] [--optimizer adam|sgd]
//                                      [--steps-time 2] [--rate-factor 0.85] [--data DIR]
//
// Method (as bench/fashion-mnist.js): a short probe (20 steps) measures throughput; the run then
// gets as many steps as fit in --minutes (less a share for the evaluation), with a cosine schedule
// that ends at the last step, and a --minutes stop as a safety net. Test accuracy is on the full
// 10,000-image test set, after the last step. Target: >= 85% within --minutes (20), probe included.
// Recipe: Adam (lr 0.005), no augmentation, direct encoding (the static stem conv + BN computed once,
// then repeated over T), LIF neurons with v_th 0.5 and detach_reset, the mean of the T outputs.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "../dist/cli/main.js";

const root = join(new URL(".", import.meta.url).pathname, "..");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "20" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "0.005" },
    optimizer: { type: "string", default: "adam" },
    "steps-time": { type: "string", default: "2" },
    "rate-factor": { type: "string", default: "0.85" },
    augment: { type: "boolean", default: false },
    data: { type: "string", default: "/usr/share/datasets/fashion-mnist" },
  },
});
const minutes = Number(values.minutes);
const batch = Number(values.batch);
const data = values.data;

const T = Number(values["steps-time"]);
const rateFactor = Number(values["rate-factor"]);
if (!(Number.isInteger(T) && T >= 1 && T <= 8)) throw new Error(`--steps-time must be an int from 1 to 8, found ${T}`);

// SEW ResNet (ADD) in miniature: a static stem (conv + BN at 14x14, computed once and repeated over
// T: direct encoding), LIF neurons, one SEW basic block at 16 channels, a strided conv to 32 channels
// at 7x7, another SEW block, global average pooling of the spikes, the mean over time, dense 10.
const lif = `lif(${T}, v_th=0.5, detach_reset=true)`;
const MODEL = `# A small SEW ResNet (Fang et al. 2021, ADD units) for 28x28 grey images, T = ${T}.
block SEW(c: int) {
  residual { conv(c, k=3) bn ${lif} conv(c, k=3) bn ${lif} } shortcut identity
}
model SpikingFashion {
  input image: f32[N, 1, 28, 28]
  conv(16, k=3, stride=2) bn time_repeat(${T}) ${lif}
  SEW(16)
  conv(32, k=3, stride=2) bn ${lif}
  SEW(32)
  expect [${T}*N, 32, 7, 7]
  avgpool flatten time_mean(${T}) dense(10)
}
`;

if (!existsSync(join(data, "train-images-idx3-ubyte.gz")) && !existsSync(join(data, "train-images-idx3-ubyte"))) {
  console.log(`skipped: no Fashion-MNIST in ${data} (apt-get install dataset-fashion-mnist)`);
  console.log(
    JSON.stringify({
      bench: "spiking-fashion",
      skipped: `no data in ${data}`,
      minutes,
      test_accuracy: null,
      samples_per_sec: null,
    }),
  );
  process.exit(0);
}

const work = join(root, "out", "bench-spiking-fashion");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const file = join(work, "spiking-fashion.resnet");
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
// The probe's 20 steps misjudge a shared machine (runs here trained at 0.44x to 1.6x the probed rate;
// bench/README.md): plan for --rate-factor (default 0.85) of it; the --minutes stop is the safety net.
const steps = Math.max(1, Math.floor((trainSeconds * probeRate * rateFactor) / batch));
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
  `${last.testAccuracy >= 0.85 && total <= minutes ? "PASS" : "FAIL"}  >= 85% test accuracy within ${minutes} ` +
    `minutes, probe included (${total.toFixed(1)} min)`,
);
console.log(
  JSON.stringify({
    bench: "spiking-fashion",
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
    time_steps: T,
    rate_factor: rateFactor,
    targets: { accuracy_85_within_budget: last.testAccuracy >= 0.85 && total <= minutes },
  }),
);
