// What bench/fashion-mnist.js and bench/spiking-fashion.js share: a time-boxed training run of one
// model on the real Fashion-MNIST (Debian's dataset-fashion-mnist) through `resnetc train`.
//
// Method: a short probe (20 steps) measures throughput; the run then gets as many steps as fit in
// the minutes given (less the probe's time and ~15 s per evaluation of the 10,000 test images, one
// per epoch), with a cosine schedule that ends exactly at the last step, and a --minutes stop as a
// safety net. Test accuracy is on the full test set, measured after the last step.
// Takes: the bench's name, the model's source, its options and its accuracy target. Gives: the
// printed plan and result, and the last stdout line, one JSON object with the figures (a skip
// when there is no data). Must not: claim the target when it is missed, or exit 0 after a failed
// training run.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../dist/cli/main.js";

const root = join(new URL(".", import.meta.url).pathname, "..");

/**
 * @param {{ bench: string, model: string, file: string, target: number, minutes: number,
 *   batch: number, lr: string, optimizer: string, augment: boolean, data: string,
 *   rateFactor?: number, extra?: Record<string, unknown> }} o
 *   rateFactor: the share of the probed rate to plan for (the probe misjudges a shared machine);
 *   extra: more fields for the JSON line.
 */
export async function runFashionBench(o) {
  const { bench, minutes, batch, data } = o;
  const pct = Math.round(o.target * 100);
  if (!existsSync(join(data, "train-images-idx3-ubyte.gz")) && !existsSync(join(data, "train-images-idx3-ubyte"))) {
    console.log(`skipped: no Fashion-MNIST in ${data} (apt-get install dataset-fashion-mnist)`);
    console.log(
      JSON.stringify({ bench, skipped: `no data in ${data}`, minutes, test_accuracy: null, samples_per_sec: null }),
    );
    return;
  }
  const work = join(root, "out", `bench-${bench}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const file = join(work, o.file);
  writeFileSync(file, o.model);
  const io = { cwd: root, out: (s) => console.log(s), err: (s) => console.error(s) };
  const common = ["--data", data, "--batch", String(batch), "--optimizer", o.optimizer];
  if (!o.augment) common.push("--no-augment");

  // Probe: throughput over 20 steps (the first includes warm-up, so this errs low).
  const probeDir = join(work, "probe");
  const t0 = Date.now();
  const probeArgs = ["train", file, ...common, "--steps", "20", "--out", probeDir, "--epochs", "1", "--eval", "64"];
  if ((await main(probeArgs, { ...io, out: () => {} })) !== 0) process.exit(1);
  const probe = JSON.parse(readFileSync(join(probeDir, "metrics.json"), "utf8"));
  const probeRate = probe.epochs[0].samplesPerSec;
  console.log(
    `probe: ${probeRate.toFixed(1)} samples/s (${((Date.now() - t0) / 1000).toFixed(0)} s including the ` +
      `test-set evaluation)`,
  );

  // Budget: the probe's time is spent; ~15 s per evaluation of 10,000 images, one per epoch.
  const left = minutes * 60 - (Date.now() - t0) / 1000;
  const stepsPerEpoch = Math.ceil(60000 / batch);
  const roughEpochs = Math.ceil((left * probeRate) / 60000);
  const trainSeconds = (left - 15 * roughEpochs - 20) * 0.97;
  const steps = Math.max(1, Math.floor((trainSeconds * probeRate * (o.rateFactor ?? 1)) / batch));
  const epochs = Math.ceil(steps / stepsPerEpoch);
  console.log(
    `plan: ${steps} steps of batch ${batch} (${(steps / stepsPerEpoch).toFixed(2)} epochs), ${o.optimizer} ` +
      `lr ${o.lr}, cosine schedule ending at the last ` +
      `step${o.augment ? ", pad-and-crop + flip" : ", no augmentation"}`,
  );
  const runDir = join(work, "run");
  const started = Date.now();
  const args = ["train", file, ...common, "--epochs", String(epochs), "--steps", String(steps)];
  args.push("--minutes", String((left - 30) / 60), "--lr", o.lr, "--schedule", "cosine", "--out", runDir);
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
  const met = last.testAccuracy >= o.target && total <= minutes;
  console.log(
    `${met ? "PASS" : "FAIL"}  >= ${pct}% test accuracy within ${minutes} minutes, probe included ` +
      `(${total.toFixed(1)} min)`,
  );
  console.log(
    JSON.stringify({
      bench,
      backend: m.backend,
      minutes,
      minutes_used: +total.toFixed(2),
      training_minutes: +(seconds / 60).toFixed(2),
      batch,
      optimizer: o.optimizer,
      lr: Number(o.lr),
      augment: o.augment,
      epochs: m.epochs.length,
      steps,
      test_accuracy: last.testAccuracy,
      samples_per_sec: +rate.toFixed(2),
      ...o.extra,
      targets: { [`accuracy_${pct}_within_budget`]: met },
    }),
  );
}

// SEW ResNet (ADD) in miniature: a static stem (conv + BN at 14x14, computed once and repeated over
// T: direct encoding), LIF neurons, one SEW basic block at 16 channels, a strided conv to 32 channels
// at 7x7, another SEW block, global average pooling of the spikes, the mean over time, dense 10.
/** The source of model SpikingFashion with T time steps (bench/spiking-fashion.js, bench/spiking-step.js). */
export function spikingFashionModel(T) {
  const lif = `lif(${T}, v_th=0.5, detach_reset=true)`;
  return `# A small SEW ResNet (Fang et al. 2021, ADD units) for 28x28 grey images, T = ${T}.
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
}
