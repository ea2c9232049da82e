// What a training run saves so that `--resume` continues it exactly: the weights
// (`weights.json` + `.bin`, the checkpoint `resnetc compile --weights` reads, and the same values
// as `weights.safetensors`, which PyTorch loads and `--weights FILE` reads), the optimizer's
// state (`optimizer.json` + `.bin` in the same format: momentum, or Adam's moments) and
// `state.json` (epochs done, the position in the current epoch and its shuffle seed, the
// augmentation generator's state, the epoch's running sums, the history of finished epochs).
// Takes: the model, its PARAMS table, the optimizer and the run's counters; or a run folder to
// read back. Gives: files written together, or the state read back and checked field by field.
// Must not: trust state.json (every field is checked, errors name the file and the field), or
// write one file of a checkpoint without the others (all are renamed only once all are written).

import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { readFileLimited, ReadFileError, writeFilesAtomic } from "resnetc/io";
import { encodeCheckpoint, encodeSafetensors, readCheckpoint, type Tensor } from "resnetc/weights";
import { fromTfjs, getParams, toTfjs, type ParamInfo } from "./params.js";
import type { EpochMetrics } from "./plot.js";

export const STATE_FORMAT = "resnetc-train-state/2";
/** state.json holds counters and one short record per epoch: kilobytes for any real run. */
const STATE_LIMIT = 16 * 1024 * 1024;

export type OptimizerKind = "sgd" | "adam";

/** Where a run stands inside the epoch it has not finished. */
export interface Position {
  /** Samples of the epoch already trained on (a multiple of the batch size), < trainCount. */
  sample: number;
  /** The seed of the epoch's shuffled order (shuffledIndices). */
  shuffleSeed: number;
  /** The training set's size when the order was drawn: another set cannot continue it. */
  trainCount: number;
  /** The epoch's running sums so far, so its metrics come out as if it had not stopped. */
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

export interface TrainState {
  format: typeof STATE_FORMAT;
  model: string;
  /** Epochs finished: the 0-based index of the epoch `position` is in. */
  epoch: number;
  /** Optimizer steps taken since the run began (the LR schedule's clock). */
  step: number;
  seed: number;
  optimizer: OptimizerKind;
  position: Position;
  /** randomFromState(augmentState) continues the augmentation's random choices. */
  augmentState: number;
  history: EpochMetrics[];
}

// ---- the optimizer's variables -------------------------------------------------------------

export interface TrainableParam {
  p: ParamInfo;
  v: tf.Variable;
}

/**
 * The model's trainable variables in PARAMS order: passed to `minimize` explicitly, so the
 * optimizer's slots (which tfjs keeps by position) line up with the names they are saved under.
 */
export function trainableParams(model: tf.LayersModel, params: readonly ParamInfo[]): TrainableParam[] {
  const out: TrainableParam[] = [];
  for (const p of params) {
    const w = model.getLayer(p.layer).weights[p.index]!;
    if (w.trainable) out.push({ p, v: w.read() as tf.Variable });
  }
  // A trainable weight the PARAMS table does not list would train but never be saved: a bug in
  // the emitter, not something a user can fix.
  if (out.length !== model.trainableWeights.length)
    throw new Error(`PARAMS lists ${out.length} trainable weights, the model has ${model.trainableWeights.length}`);
  return out;
}

const SLOTS: Record<OptimizerKind, string[]> = { sgd: ["momentum"], adam: ["m", "v"] };
/** Adam's running beta powers: setWeights recomputes them with pow(), which need not match the
 * product of the steps bit for bit, so they are saved and put back as they were. */
const ADAM_POWERS = ["accBeta1", "accBeta2"] as const;

type AdamInternals = Record<(typeof ADAM_POWERS)[number], tf.Variable>;

/** The optimizer's state as canonical tensors: `NAME/momentum`, or `NAME/m` and `NAME/v`. */
export async function optimizerTensors(
  opt: tf.Optimizer,
  kind: OptimizerKind,
  vars: readonly TrainableParam[],
): Promise<Map<string, Tensor>> {
  const slots = (await opt.getWeights()).slice(1); // [0] is the iteration count
  const out = new Map<string, Tensor>();
  // Before the first step tfjs has made no slots yet: they start at zero either way.
  if (slots.length === 0) return out;
  const names = SLOTS[kind];
  if (slots.length !== names.length * vars.length)
    throw new Error(`the ${kind} optimizer has ${slots.length} slots for ${vars.length} variables`);
  for (const [k, slot] of names.entries())
    for (const [i, { p }] of vars.entries())
      out.set(`${p.name}/${slot}`, { dims: p.dims, data: await fromTfjs(p, slots[k * vars.length + i]!.tensor) });
  if (kind === "adam")
    for (const a of ADAM_POWERS)
      out.set(`adam/${a}`, {
        dims: [],
        data: ((await (opt as unknown as AdamInternals)[a].data()) as Float32Array).slice(),
      });
  return out;
}

/** Puts saved optimizer state back; a string says what is missing or wrong. */
export async function restoreOptimizer(
  opt: tf.Optimizer,
  kind: OptimizerKind,
  vars: readonly TrainableParam[],
  saved: Map<string, Tensor>,
  step: number,
  file: string,
): Promise<string | undefined> {
  if (saved.size === 0) return undefined;
  const want = new Map<string, { p?: ParamInfo; slot: string; dims: number[] }>();
  for (const slot of SLOTS[kind]) for (const { p } of vars) want.set(`${p.name}/${slot}`, { p, slot, dims: p.dims });
  if (kind === "adam") for (const a of ADAM_POWERS) want.set(`adam/${a}`, { slot: a, dims: [] });
  for (const name of saved.keys())
    if (!want.has(name))
      return (
        `${file}: tensor ${name} is not ${kind} state of this model (was the run trained with another ` +
        `--optimizer or model?)`
      );
  for (const [name, w] of want) {
    const t = saved.get(name);
    if (!t) return `${file}: no tensor ${name}; the ${kind} state is incomplete`;
    if (t.dims.join(",") !== w.dims.join(","))
      return `${file}: tensor ${name} has shape [${t.dims}], expected [${w.dims}]`;
  }
  const made = SLOTS[kind].flatMap((slot) =>
    vars.map(({ p, v }) => ({ name: `${v.name}/${slot}`, tensor: toTfjs(p, saved.get(`${p.name}/${slot}`)!.data) })),
  );
  const iterations = tf.scalar(step, "int32");
  await opt.setWeights([{ name: "iter", tensor: iterations }, ...made]);
  tf.dispose([iterations, ...made.map((m) => m.tensor)]);
  if (kind === "adam")
    for (const a of ADAM_POWERS)
      (opt as unknown as AdamInternals)[a].assign(tf.scalar(saved.get(`adam/${a}`)!.data[0]!));
  return undefined;
}

// ---- files ---------------------------------------------------------------------------------

/**
 * Writes weights, optimizer state and state.json as one checkpoint: the binaries are renamed
 * first and state.json last, so a state.json never describes files that are not there yet.
 */
export async function saveRun(
  dir: string,
  model: tf.LayersModel,
  params: readonly ParamInfo[],
  opt: { optimizer: tf.Optimizer; vars: readonly TrainableParam[] },
  state: TrainState,
): Promise<void> {
  const values = await getParams(model, params);
  const weights = encodeCheckpoint(values, state.model);
  const optimizer = encodeCheckpoint(await optimizerTensors(opt.optimizer, state.optimizer, opt.vars), state.model);
  writeFilesAtomic([
    [join(dir, "weights.safetensors"), encodeSafetensors(values)],
    [join(dir, "weights.bin"), weights.bin],
    [join(dir, "optimizer.bin"), optimizer.bin],
    [join(dir, "weights.json"), weights.json],
    [join(dir, "optimizer.json"), optimizer.json],
    [join(dir, "state.json"), JSON.stringify(state, null, 1)],
  ]);
}

/** The optimizer state saved beside the weights (an empty map when the run took no step yet). */
export function readOptimizerState(dir: string): Map<string, Tensor> | string {
  return readCheckpoint(dir, "optimizer");
}

type Checked<T> = T | string;

const shown = (v: unknown): string => (v === undefined ? "nothing" : (JSON.stringify(v) ?? String(v)).slice(0, 60));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Field checkers: each gives the value, or the message naming the file and the field. */
function fields(file: string) {
  const whole = (o: Record<string, unknown>, k: string, at: string, max = Number.MAX_SAFE_INTEGER): Checked<number> => {
    const v = o[k];
    return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max
      ? (v as number)
      : `${file}: "${at}${k}" must be a whole number from 0 to ${max}, found ${shown(v)}`;
  };
  const finite = (
    o: Record<string, unknown>,
    k: string,
    at: string,
    min = -Infinity,
    max = Infinity,
  ): Checked<number> => {
    const v = o[k];
    return typeof v === "number" && Number.isFinite(v) && v >= min && v <= max
      ? v
      : `${file}: "${at}${k}" must be a finite ` +
          `number${min > -Infinity ? ` from ${min}${max < Infinity ? ` to ${max}` : ""}` : ""}, found ${shown(v)}`;
  };
  return { whole, finite };
}

function checkHistory(v: unknown, file: string): Checked<EpochMetrics[]> {
  if (!Array.isArray(v)) return `${file}: "history" must be a list of finished epochs, found ${shown(v)}`;
  const { whole, finite } = fields(file);
  const out: EpochMetrics[] = [];
  for (const [i, e] of v.entries()) {
    const at = `history[${i}].`;
    if (!isObject(e)) return `${file}: "history[${i}]" must be an object, found ${shown(e)}`;
    const epoch = whole(e, "epoch", at);
    if (typeof epoch === "string") return epoch;
    if (epoch !== i + 1)
      return `${file}: "history[${i}].epoch" is ${epoch}, expected ${i + 1} (epochs are listed in order)`;
    const m: EpochMetrics = { epoch, trainLoss: 0, trainAccuracy: 0, lr: 0, samplesPerSec: 0, seconds: 0 };
    for (const [k, min, max] of [
      ["trainLoss", 0, Infinity],
      ["trainAccuracy", 0, 1],
      ["lr", 0, Infinity],
      ["samplesPerSec", 0, Infinity],
      ["seconds", 0, Infinity],
    ] as const) {
      const x = finite(e, k, at, min, max);
      if (typeof x === "string") return x;
      m[k] = x;
    }
    for (const [k, max] of [
      ["testLoss", Infinity],
      ["testAccuracy", 1],
    ] as const) {
      if (e[k] === undefined) continue;
      const x = finite(e, k, at, 0, max);
      if (typeof x === "string") return x;
      m[k] = x;
    }
    out.push(m);
  }
  return out;
}

/** Reads DIR/state.json and checks every field; a string is the reason it cannot be resumed. */
export function readTrainState(dir: string): Checked<TrainState> {
  const file = join(dir, "state.json");
  let text: string;
  try {
    text = readFileLimited(file, { limit: STATE_LIMIT, what: "a training state file" }).toString("utf8");
  } catch (e) {
    if (e instanceof ReadFileError) return e.message;
    throw e;
  }
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (e) {
    return `${file} is not JSON (${(e as Error).message})`;
  }
  if (!isObject(s)) return `${file}: expected an object, found ${shown(s)}`;
  if (s.format !== STATE_FORMAT)
    return (
      `${file}: "format" is ${shown(s.format)}, expected "${STATE_FORMAT}" (a state written by an older ` +
      `resnetc cannot continue mid-epoch: start the run afresh)`
    );
  if (typeof s.model !== "string") return `${file}: "model" must be a string, found ${shown(s.model)}`;
  if (s.optimizer !== "sgd" && s.optimizer !== "adam")
    return `${file}: "optimizer" must be "sgd" or "adam", found ${shown(s.optimizer)}`;
  const { whole, finite } = fields(file);
  const epoch = whole(s, "epoch", "");
  const step = whole(s, "step", "");
  const seed = whole(s, "seed", "");
  const augmentState = whole(s, "augmentState", "", 0xffffffff);
  for (const x of [epoch, step, seed, augmentState]) if (typeof x === "string") return x;
  const p = s.position;
  if (!isObject(p)) return `${file}: "position" must be an object, found ${shown(p)}`;
  const trainCount = whole(p, "trainCount", "position.");
  if (typeof trainCount === "string") return trainCount;
  const sample = whole(p, "sample", "position.", Math.max(0, trainCount - 1));
  const shuffleSeed = whole(p, "shuffleSeed", "position.");
  const seen = whole(p, "seen", "position.", trainCount);
  const correct = finite(p, "correct", "position.", 0, trainCount);
  const lossSum = finite(p, "lossSum", "position.", 0);
  const seconds = finite(p, "seconds", "position.", 0);
  for (const x of [sample, shuffleSeed, seen, correct, lossSum, seconds]) if (typeof x === "string") return x;
  const history = checkHistory(s.history, file);
  if (typeof history === "string") return history;
  if (history.length !== epoch)
    return `${file}: "history" lists ${history.length} epochs but "epoch" says ${epoch} are finished`;
  return {
    format: STATE_FORMAT,
    model: s.model,
    epoch: epoch as number,
    step: step as number,
    seed: seed as number,
    optimizer: s.optimizer,
    augmentState: augmentState as number,
    position: {
      sample: sample as number,
      shuffleSeed: shuffleSeed as number,
      trainCount,
      lossSum: lossSum as number,
      correct: correct as number,
      seen: seen as number,
      seconds: seconds as number,
    },
    history,
  };
}
