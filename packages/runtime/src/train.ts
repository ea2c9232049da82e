// The training program behind every emitted `train.ts` and `resnetc train`: options, backend
// choice, data, the SGD/Adam loop with schedules, warm-up and weight decay, evaluation after each
// epoch, atomic checkpoints (weights, optimizer state and data position: run-state.ts), exact
// resume mid-epoch, SIGINT/SIGTERM that finish the step and save, a NaN guard, metrics.json, a
// per-step JSONL log and a training-curve SVG.
// Takes: the generated model's builder and tables, and argv. Gives: an exit code
// (0 ok, 1 bad data, options or checkpoint, 3 training diverged, 130/143 interrupted by
// SIGINT/SIGTERM after saving a checkpoint to resume from).
// Must not: exit the process (the caller sets process.exitCode), or leave its signal handlers
// installed after it returns.

import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic as writeAtomic } from "resnetc/io";
import { augmentBatch, randomFromState, seededRandom } from "./augment.js";
import { chooseBackend, describeChoice } from "./backend.js";
import {
  checkCompatible,
  DataError,
  gatherBatch,
  loadDirectory,
  shuffledIndices,
  syntheticDataset,
  type Dataset,
} from "./data.js";
import { initParams, loadCheckpoint, toModelInput, type ParamInfo } from "./params.js";
import {
  readOptimizerState,
  readTrainState,
  restoreOptimizer,
  saveRun,
  STATE_FORMAT,
  trainableParams,
  type Position,
  type TrainState,
} from "./run-state.js";
import { StepLog } from "./step-log.js";
import { trainingCurveSvg, type EpochMetrics } from "./plot.js";
import { ProgressBar } from "./progress.js";
import { saveTfjsModel } from "./tfjs-format.js";
import { learningRate, parseSchedule, type LrConfig } from "./schedule.js";

export interface InputInfo {
  name: string;
  /** canonical [C, H, W] (or [F]) without the batch dim; symbolic dims as strings */
  shape: (number | string)[];
}

export interface TrainingSpec {
  name: string;
  buildModel: () => tf.LayersModel;
  inputs: InputInfo[];
  params: ParamInfo[];
  classes: number;
  argv: string[];
  /** Where messages go (default: the console). */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

export const TRAIN_HELP =
  `options:
  --data synthetic|DIR   training data: synthetic (default), or a folder of IDX files
                         (MNIST / Fashion-MNIST) or CIFAR-10 binary batches
  --epochs N             epochs (default 10)
  --steps N              stop after N optimizer steps (the LR schedule spans them)
  --minutes M            stop training after M minutes (then evaluate and save)
  --eval N               evaluate on the first N held-out samples only (default: all)
  --batch N              batch size (default 32)
  --lr X                 base learning rate (default 0.1 for SGD, 0.001 for Adam)
  --schedule S           constant | step:E1,E2[:gamma] | cosine[:min] (default step at 50% and 75% of the epochs, ` +
  `gamma 0.1)
  --warmup E             linear warm-up epochs (default 0)
  --optimizer sgd|adam   SGD with momentum (default; He et al. 2015's recipe) or Adam
  --momentum X           SGD momentum (default 0.9)
  --weight-decay X       L2 weight decay (default 1e-4)
  --no-augment           no pad-and-crop / horizontal flip (on by default for images)
  --out DIR              checkpoint (weights.json + weights.bin, for resnetc compile --weights;
                         the same values as weights.safetensors, for PyTorch or --weights FILE;
                         optimizer.json/.bin and state.json, to resume), tfjs/model.json (for
                         tf.loadLayersModel), metrics.json, steps.jsonl (one line per step),
                         training-curve.svg (default runs/MODEL)
  --resume               continue exactly where the checkpoint in --out stopped (mid-epoch too)
  --seed N               seed of the initialisation, shuffling and augmentation (default 0)
  --backend NAME         auto (default: node-gpu, hardware webgpu, node, wasm, cpu: the first
                         that loads), or one of them; webgpu on a software adapter only when named
  --synthetic N          samples in the synthetic training set (default 512)
Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves a checkpoint and exits 130 / 143.`;

interface Options {
  data: string;
  epochs: number;
  steps: number;
  minutes: number;
  evalLimit: number;
  batch: number;
  lr: number;
  schedule: string | undefined;
  warmup: number;
  optimizer: "sgd" | "adam";
  momentum: number;
  weightDecay: number;
  augment: boolean;
  out: string;
  resume: boolean;
  seed: number;
  backend: string | undefined;
  synthetic: number;
}

class OptionError extends Error {}

function parseOptions(argv: string[], name: string): Options | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      data: { type: "string", default: "synthetic" },
      epochs: { type: "string", default: "10" },
      steps: { type: "string" },
      minutes: { type: "string" },
      eval: { type: "string" },
      batch: { type: "string", default: "32" },
      lr: { type: "string" },
      schedule: { type: "string" },
      warmup: { type: "string", default: "0" },
      optimizer: { type: "string", default: "sgd" },
      momentum: { type: "string", default: "0.9" },
      "weight-decay": { type: "string", default: "1e-4" },
      "no-augment": { type: "boolean", default: false },
      out: { type: "string" },
      resume: { type: "boolean", default: false },
      seed: { type: "string", default: "0" },
      backend: { type: "string" },
      synthetic: { type: "string", default: "512" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const number = (k: string, v: string | undefined, min: number, integer = false): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || x < min || (integer && !Number.isInteger(x)))
      throw new OptionError(`--${k} must be ${integer ? "an integer" : "a number"} >= ${min}, found ${v}`);
    return x;
  };
  const optimizer = values.optimizer as string;
  if (optimizer !== "sgd" && optimizer !== "adam")
    throw new OptionError(`--optimizer must be sgd or adam, found ${optimizer}`);
  return {
    data: values.data as string,
    epochs: number("epochs", values.epochs as string, 1, true),
    steps: values.steps === undefined ? Infinity : number("steps", values.steps as string, 1, true),
    minutes: values.minutes === undefined ? Infinity : number("minutes", values.minutes as string, 0),
    evalLimit: values.eval === undefined ? Infinity : number("eval", values.eval as string, 1, true),
    batch: number("batch", values.batch as string, 1, true),
    lr: values.lr === undefined ? (optimizer === "adam" ? 1e-3 : 0.1) : number("lr", values.lr as string, 0),
    schedule: values.schedule as string | undefined,
    warmup: number("warmup", values.warmup as string, 0),
    optimizer,
    momentum: number("momentum", values.momentum as string, 0),
    weightDecay: number("weight-decay", values["weight-decay"] as string, 0),
    augment: !values["no-augment"],
    out: (values.out as string | undefined) ?? join("runs", name),
    resume: values.resume === true,
    seed: number("seed", values.seed as string, 0, true),
    backend: values.backend as string | undefined,
    synthetic: number("synthetic", values.synthetic as string, 1, true),
  };
}

/** Sets an optimizer's learning rate for its next step. tfjs's SGD and momentum optimizers keep
 * the rate as a scalar tensor made by setLearningRate: assigning `learningRate` alone changes
 * nothing they compute (Adam reads the field at every step). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === lr) return;
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Mean loss and accuracy of the model on a dataset, in inference mode. */
export async function evaluate(
  model: tf.LayersModel,
  d: Dataset,
  batch: number,
  shape: number[],
  classes: number,
): Promise<{ loss: number; accuracy: number }> {
  let loss = 0;
  let correct = 0;
  const idx = Uint32Array.from({ length: d.count }, (_, i) => i);
  for (let s = 0; s < d.count; s += batch) {
    const b = gatherBatch(d, idx, s, Math.min(batch, d.count - s));
    const [ls, ok] = tf.tidy(() => {
      const logits = model.predict(toModelInput(b.images, b.size, shape)) as tf.Tensor;
      const labels = tf.oneHot(tf.tensor1d(b.labels, "int32"), classes);
      // Per-sample losses, summed here: the mean is taken over the whole set below.
      const ls = tf.sum(tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE));
      const ok = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(b.labels, "int32")), "float32"));
      return [ls, ok];
    });
    // Async reads (webgpu has no synchronous one in Node).
    loss += (await ls.data())[0]!;
    correct += (await ok.data())[0]!;
    tf.dispose([ls, ok]);
  }
  return { loss: loss / d.count, accuracy: correct / d.count };
}

export async function runTraining(spec: TrainingSpec): Promise<number> {
  const out = spec.out ?? process.stdout;
  const say = (s: string): void => void out.write(s + "\n");
  let o: Options;
  try {
    const parsed = parseOptions(spec.argv, spec.name);
    if (parsed === "help") {
      say(`usage: train [options]   (model ${spec.name})\n\n${TRAIN_HELP}`);
      return 0;
    }
    o = parsed;
  } catch (e) {
    say(`error: ${(e as Error).message}\n\n${TRAIN_HELP}`);
    return 1;
  }
  if (spec.inputs.length !== 1 || spec.classes < 2) {
    say(
      `error: training needs a model with one input and a class-score output; ${spec.name} ` +
        `has ${spec.inputs.length} inputs and ${spec.classes} classes`,
    );
    return 1;
  }
  const shape = spec.inputs[0]!.shape;
  if (shape.some((d) => typeof d !== "number")) {
    say(
      `error: the input ${spec.inputs[0]!.name} has symbolic dims [${shape.join(", ")}]; training needs concrete sizes`,
    );
    return 1;
  }
  const dims = shape as number[];

  let backend;
  try {
    backend = await chooseBackend({ ...(o.backend ? { prefer: o.backend } : {}) });
  } catch (e) {
    say(`error: ${(e as Error).message}`);
    return 1;
  }
  say(describeChoice(backend));

  // Data.
  let train: Dataset;
  let test: Dataset;
  try {
    if (o.data === "synthetic") {
      // Any rank: a sample is its values in declared order; toModelInput shapes the batch.
      const chw = (dims.length === 3 ? dims : [dims.reduce((p, d) => p * d, 1), 1, 1]) as [number, number, number];
      train = syntheticDataset({ count: o.synthetic, shape: chw, classes: spec.classes, seed: o.seed + 1 });
      test = syntheticDataset({
        count: Math.max(o.batch, Math.floor(o.synthetic / 4)),
        shape: chw,
        classes: spec.classes,
        seed: o.seed + 2,
      });
    } else {
      const split = await loadDirectory(o.data);
      train = split.train;
      test = split.test;
      const chw = (dims.length === 3 ? dims : [dims[0]!, 1, 1]) as [number, number, number];
      checkCompatible(train, chw, spec.classes, spec.inputs[0]!.name);
    }
  } catch (e) {
    if (e instanceof DataError) {
      say(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (o.evalLimit < test.count)
    test = {
      ...test,
      count: o.evalLimit,
      images: test.images.subarray(0, o.evalLimit * (test.images.length / test.count)),
      labels: test.labels.subarray(0, o.evalLimit),
    };
  const isImage = dims.length === 3 && dims[1]! > 1 && dims[2]! > 1;

  // Model, initial or resumed parameters, optimizer state and data position.
  const model = spec.buildModel();
  mkdirSync(o.out, { recursive: true });
  const optimizer = o.optimizer === "adam" ? tf.train.adam(o.lr) : tf.train.momentum(o.lr, o.momentum);
  const vars = trainableParams(model, spec.params);
  let resumed: TrainState | undefined;
  if (o.resume && existsSync(join(o.out, "state.json"))) {
    const why = await resume(o, spec, train, model, optimizer, vars);
    if (typeof why === "string") {
      say(`error: cannot resume from ${o.out}: ${why}`);
      return 1;
    }
    resumed = why;
    const p = resumed.position;
    say(
      `resumed from ${o.out} at epoch ${resumed.epoch + 1}, sample ${p.sample} of ${p.trainCount} ` +
        `(step ${resumed.step}), with the optimizer's state`,
    );
  } else initParams(model, spec.params, o.seed);
  let step = resumed?.step ?? 0;
  const history: EpochMetrics[] = [...(resumed?.history ?? [])];
  const startEpoch = resumed?.epoch ?? 0;

  const stepsPerEpoch = Math.ceil(train.count / o.batch);
  const lrConfig: LrConfig = {
    base: o.lr,
    schedule: o.schedule
      ? parseSchedule(o.schedule)
      : {
          kind: "step",
          milestones: [...new Set([Math.floor(o.epochs / 2), Math.floor((o.epochs * 3) / 4)])].filter((m) => m > 0),
          gamma: 0.1,
        },
    warmupEpochs: o.warmup,
    // A run cut short by --steps fits its schedule (a cosine reaches its minimum) to those steps.
    epochs: Math.min(o.epochs, o.steps / stepsPerEpoch),
    stepsPerEpoch,
  };
  const decayed = vars.map(({ v }) => v);
  const rand = resumed ? randomFromState(resumed.augmentState) : seededRandom(o.seed + 3);
  const bar = new ProgressBar(out);
  const log = new StepLog(join(o.out, "steps.jsonl"), resumed ? step : undefined);
  say(
    `training ${spec.name} on ${train.name} (${train.count} samples, ${test.count} held out): ${o.epochs} ` +
      `epoch${o.epochs === 1 ? "" : "s"} of ${stepsPerEpoch} step${stepsPerEpoch === 1 ? "" : "s"}, ` +
      `batch ${o.batch}, ${o.optimizer} lr ${o.lr}, weight ` +
      `decay ${o.weightDecay}${isImage && o.augment ? ", pad-and-crop + flip" : ""}`,
  );

  // SIGINT / SIGTERM: let the step in progress finish, then save and return 128 + the signal's
  // number. The loop yields to the event loop after every step so that the handler gets to run.
  let stopSignal: "SIGINT" | "SIGTERM" | undefined;
  const onSignal = (sig: "SIGINT" | "SIGTERM"): void => {
    if (stopSignal) return;
    stopSignal = sig;
    bar.log(`${sig}: finishing this step, then saving a checkpoint in ${o.out}`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const state = (epoch: number, position: Position): TrainState => ({
    format: STATE_FORMAT,
    model: spec.name,
    epoch,
    step,
    seed: o.seed,
    optimizer: o.optimizer,
    position,
    augmentState: rand.state(),
    history,
  });
  const checkpoint = (epoch: number, position: Position) =>
    saveRun(o.out, model, spec.params, { optimizer, vars }, state(epoch, position));

  try {
    const sessionStart = Date.now();
    const sessionFirstStep = step;
    // Time already spent in earlier sessions of a resumed run counts toward the elapsed time.
    const started =
      Date.now() - (history.reduce((sum, h) => sum + h.seconds, 0) + (resumed?.position.seconds ?? 0)) * 1000;
    const totalSteps = Math.min(o.steps, o.epochs * stepsPerEpoch);
    let done = false;
    let partial: EpochMetrics | undefined;
    for (let epoch = startEpoch; epoch < o.epochs && !done; epoch++) {
      const at =
        epoch === startEpoch && resumed
          ? resumed.position
          : {
              sample: 0,
              shuffleSeed: o.seed * 1000 + epoch,
              trainCount: train.count,
              lossSum: 0,
              correct: 0,
              seen: 0,
              seconds: 0,
            };
      const order = shuffledIndices(train.count, at.shuffleSeed);
      const epochStart = Date.now() - at.seconds * 1000;
      let { lossSum, correct, seen } = at;
      let lr = o.lr;
      let s = at.sample;
      const position = (): Position => ({
        sample: s,
        shuffleSeed: at.shuffleSeed,
        trainCount: train.count,
        lossSum,
        correct,
        seen,
        seconds: (Date.now() - epochStart) / 1000,
      });
      for (; s < train.count; s += o.batch) {
        if (stopSignal) {
          await checkpoint(epoch, position());
          bar.log(
            `interrupted at epoch ${epoch + 1}, step ${step}: checkpoint saved in ${o.out}; continue with --resume`,
          );
          return stopSignal === "SIGINT" ? 130 : 143;
        }
        // --minutes: at least one step per session, so that there is something to evaluate and save.
        if (step >= o.steps || (step > sessionFirstStep && Date.now() - sessionStart > o.minutes * 60_000)) {
          done = true;
          break;
        }
        const b = gatherBatch(train, order, s, Math.min(o.batch, train.count - s));
        if (isImage && o.augment)
          augmentBatch(b.images, b.size, dims[0]!, dims[1]!, dims[2]!, { pad: 4, flip: true }, rand);
        lr = learningRate(lrConfig, step);
        setLearningRate(optimizer, lr);
        const x = toModelInput(b.images, b.size, dims);
        const yIdx = tf.tensor1d(b.labels, "int32");
        const y = tf.oneHot(yIdx, spec.classes);
        let hits: tf.Tensor | undefined;
        const cost = optimizer.minimize(
          () => {
            const logits = model.apply(x, { training: true }) as tf.Tensor;
            hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yIdx), "float32")));
            const ce = tf.losses.softmaxCrossEntropy(y, logits);
            if (o.weightDecay === 0) return ce as tf.Scalar;
            // Coupled L2 decay, as PyTorch's SGD weight_decay: wd/2 * sum(w^2) adds wd*w to each gradient.
            const l2 = tf.addN(decayed.map((w) => tf.sum(tf.square(w))));
            return tf.add(ce, tf.mul(l2, o.weightDecay / 2)) as tf.Scalar;
          },
          true,
          // The variables in PARAMS order: the optimizer's slots are saved under their names.
          decayed,
        );
        const loss = (await cost!.data())[0]!;
        const hit = (await hits!.data())[0]!;
        tf.dispose([x, yIdx, y, cost!, hits!]);
        step++;
        if (!Number.isFinite(loss)) {
          bar.log(
            `training diverged: the loss is ${loss} at epoch ${epoch + 1}, step ${step} (lr ${lr.toPrecision(3)}).`,
          );
          bar.log(
            `the last good checkpoint is kept ` +
              `in ${o.out}${history.length ? ` (after epoch ${history.length})` : ""}; try a lower --lr, or --warmup 1`,
          );
          return 3;
        }
        lossSum += loss * b.size;
        correct += hit;
        seen += b.size;
        const now = Date.now();
        log.append({ step, epoch: epoch + 1, loss, accuracy: hit / b.size, lr, seconds: (now - started) / 1000 });
        const sessionSteps = step - sessionFirstStep;
        bar.update({
          epoch: epoch + 1,
          epochs: o.epochs,
          step: Math.ceil((s + b.size) / o.batch),
          stepsPerEpoch,
          loss: lossSum / seen,
          accuracy: correct / seen,
          samplesPerSec: seen / Math.max((now - epochStart) / 1000, 1e-3),
          elapsedSec: (now - started) / 1000,
          remaining: { steps: totalSteps - step, secPerStep: (now - sessionStart) / 1000 / sessionSteps },
          ...(Number.isFinite(o.minutes) ? { timeLeftSec: o.minutes * 60 - (now - sessionStart) / 1000 } : {}),
        });
        await new Promise<void>((r) => setImmediate(r));
      }
      if (seen === 0) break;
      const ev = await evaluate(model, test, Math.max(o.batch, 64), dims, spec.classes);
      const seconds = (Date.now() - epochStart) / 1000;
      const m: EpochMetrics = {
        epoch: epoch + 1,
        trainLoss: lossSum / seen,
        trainAccuracy: correct / seen,
        testLoss: ev.loss,
        testAccuracy: ev.accuracy,
        lr,
        samplesPerSec: seen / seconds,
        seconds,
      };
      const finished = s >= train.count;
      const stepsDone = Math.ceil(Math.min(s, train.count) / o.batch);
      bar.endEpoch(
        {
          epoch: epoch + 1,
          epochs: o.epochs,
          step: stepsDone,
          stepsPerEpoch,
          loss: m.trainLoss,
          accuracy: m.trainAccuracy,
          samplesPerSec: m.samplesPerSec,
          elapsedSec: (Date.now() - started) / 1000,
          remaining: { steps: 0, secPerStep: 0 },
        },
        `test loss ${ev.loss.toFixed(4)} ` +
          `acc ${(ev.accuracy * 100).toFixed(1)}%` +
          `${finished ? "" : ` (stopped at step ${stepsDone} of ${stepsPerEpoch})`}`,
      );
      // A finished epoch joins the history; a stopped one is reported in metrics.json only, and
      // the checkpoint keeps its position, so --resume finishes it.
      if (finished) history.push(m);
      else partial = m;
      await checkpoint(
        finished ? epoch + 1 : epoch,
        finished
          ? {
              sample: 0,
              shuffleSeed: o.seed * 1000 + epoch + 1,
              trainCount: train.count,
              lossSum: 0,
              correct: 0,
              seen: 0,
              seconds: 0,
            }
          : position(),
      );
      await saveTfjsModel(join(o.out, "tfjs"), model);
      const reported = partial ? [...history, { ...m, partial: true }] : history;
      writeAtomic(
        join(o.out, "metrics.json"),
        JSON.stringify({ model: spec.name, backend: backend.name, data: train.name, epochs: reported }, null, 1),
      );
      writeAtomic(join(o.out, "training-curve.svg"), trainingCurveSvg(`${spec.name} on ${train.name}`, reported));
    }
    const last = partial ?? history[history.length - 1];
    const ran = partial
      ? `${history.length} epoch${history.length === 1 ? "" : "s"} and part of epoch ${partial.epoch}`
      : `${history.length} epoch${history.length === 1 ? "" : "s"}`;
    say(
      last
        ? `done: test accuracy ${(last.testAccuracy! * 100).toFixed(2)}% after ${ran}; ${o.out}/weights.json, ` +
            `metrics.json, training-curve.svg${partial ? "; --resume continues the epoch" : ""}`
        : "done: no epoch ran",
    );
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    log.close();
  }
}

/** Loads weights, optimizer state and position from --out; a string is why it cannot resume. */
async function resume(
  o: Options,
  spec: TrainingSpec,
  train: Dataset,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  vars: ReturnType<typeof trainableParams>,
): Promise<TrainState | string> {
  const state = readTrainState(o.out);
  if (typeof state === "string") return state;
  if (state.model !== spec.name) return `its state.json is of model ${state.model}, not ${spec.name}`;
  if (state.optimizer !== o.optimizer)
    return `the run was trained with --optimizer ${state.optimizer}; resume it with the same optimizer`;
  if (state.position.trainCount !== train.count)
    return (
      `the run stopped in an epoch over ${state.position.trainCount} training samples, but ${train.name} ` +
      `has ${train.count}: resume with the same --data`
    );
  const why = loadCheckpoint(o.out, model, spec.params);
  if (why) return why;
  const saved = readOptimizerState(o.out);
  if (typeof saved === "string") return saved;
  const bad = await restoreOptimizer(optimizer, o.optimizer, vars, saved, state.step, join(o.out, "optimizer.json"));
  return bad ?? state;
}
