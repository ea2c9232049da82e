// Learning-rate schedules for the generated training programs: gradual linear warm-up (Goyal et
// al. 2017, "Accurate, Large Minibatch SGD") followed by a constant, step (He et al. 2015) or
// cosine (Loshchilov & Hutter 2017, SGDR without restarts) schedule, plus the CLI text form.
// Takes: a base LR, a schedule and the run's length in epochs and steps. Gives: the LR at a
// global step, as a pure function, so a resumed run gets the same LR at the same step.
// Must not: depend on tfjs or hold state (the optimizer's LR is set from this every step).

export type Schedule =
  | { kind: "constant" }
  /** Multiply by `gamma` at each milestone, in epochs (fractions allowed: 32k iterations). */
  | { kind: "step"; milestones: number[]; gamma: number }
  /** Half a cosine from the base LR down to `minLr` (default 0) at the end of the run. */
  | { kind: "cosine"; minLr?: number };

export interface LrConfig {
  base: number;
  schedule: Schedule;
  warmupEpochs: number;
  epochs: number;
  stepsPerEpoch: number;
}

/** Gamma when `step:` text gives none: the 0.1 of He et al. 2015 and torchvision's recipe. */
export const DEFAULT_GAMMA = 0.1;

/**
 * The LR at a global step (0-based). Warm-up scales the schedule's value by (step+1)/W over the
 * first W = warmupEpochs*stepsPerEpoch steps, so it climbs linearly from near 0 and the last
 * warm-up step runs at the full LR; starting at exactly 0 would waste the first step. Milestones
 * count in absolute epochs (as torch's MultiStepLR), warm-up included; cosine runs over the steps
 * after warm-up and reaches `minLr` at step epochs*stepsPerEpoch, one past the last step.
 */
export function learningRate(c: LrConfig, step: number): number {
  checkConfig(c);
  if (!Number.isFinite(step) || step < 0)
    throw new RangeError(`learning rate: step must be a number >= 0, got ${step}`);
  const warmupSteps = Math.round(c.warmupEpochs * c.stepsPerEpoch);
  const warm = step < warmupSteps ? (step + 1) / warmupSteps : 1;
  return warm * scheduled(c, step, warmupSteps);
}

function scheduled(c: LrConfig, step: number, warmupSteps: number): number {
  const s = c.schedule;
  switch (s.kind) {
    case "constant":
      return c.base;
    case "step": {
      const epoch = step / c.stepsPerEpoch;
      let lr = c.base;
      for (const m of s.milestones) if (epoch >= m) lr *= s.gamma;
      return lr;
    }
    case "cosine": {
      const minLr = s.minLr ?? 0;
      const span = c.epochs * c.stepsPerEpoch - warmupSteps;
      // A run that is all warm-up has no cosine part: hold the base LR rather than divide by 0.
      const t = span <= 0 ? 0 : Math.min(1, Math.max(0, (step - warmupSteps) / span));
      return minLr + (c.base - minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}

function checkConfig(c: LrConfig): void {
  const bad = (what: string, v: unknown) => {
    throw new RangeError(`learning rate: ${what}, got ${v}`);
  };
  if (!(Number.isFinite(c.base) && c.base > 0)) bad("base must be a positive number", c.base);
  if (!(Number.isInteger(c.stepsPerEpoch) && c.stepsPerEpoch >= 1))
    bad("stepsPerEpoch must be an integer >= 1", c.stepsPerEpoch);
  if (!(Number.isFinite(c.epochs) && c.epochs > 0)) bad("epochs must be a positive number", c.epochs);
  if (!(Number.isFinite(c.warmupEpochs) && c.warmupEpochs >= 0))
    bad("warmupEpochs must be a number >= 0", c.warmupEpochs);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const FORMS = `expected "constant", "step:30,60", "step:30,60:0.1", "cosine" or "cosine:1e-5"`;

/** Parses CLI text: "constant", "step:30,60", "step:30,60:0.1" (gamma), "cosine", "cosine:1e-5". */
export function parseSchedule(text: string): Schedule {
  const fail = (why: string): never => {
    throw new Error(`bad learning-rate schedule "${text}": ${why}`);
  };
  // Number() alone would read "" as 0 and "0x10" as 16; only decimal text is a number here.
  const num = (t: string, what: string): number => {
    const v = NUMBER.test(t.trim()) ? Number(t) : NaN;
    return Number.isFinite(v) ? v : fail(`${what} "${t}" is not a number`);
  };
  const parts = text.trim().split(":");
  const kind = parts[0]!.trim().toLowerCase();
  const args = parts.slice(1);
  switch (kind) {
    case "constant":
      if (args.length > 0) fail(`"constant" takes no arguments`);
      return { kind: "constant" };
    case "step": {
      if (args.length < 1 || args.length > 2 || args[0]!.trim() === "")
        fail(`"step" needs milestone epochs, as "step:30,60" or "step:30,60:0.1"`);
      const milestones = args[0]!.split(",").map((t) => num(t, "milestone"));
      milestones.forEach((m, i) => {
        if (m < 0) fail(`milestone ${m} is negative`);
        if (i > 0 && m <= milestones[i - 1]!) fail(`milestones must increase, but ${m} follows ${milestones[i - 1]}`);
      });
      const gamma = args.length === 2 ? num(args[1]!, "gamma") : DEFAULT_GAMMA;
      if (gamma <= 0) fail(`gamma must be positive, got ${gamma}`);
      return { kind: "step", milestones, gamma };
    }
    case "cosine": {
      if (args.length > 1) fail(`"cosine" takes at most one argument, the final LR`);
      if (args.length === 0) return { kind: "cosine" };
      const minLr = num(args[0]!, "final LR");
      if (minLr < 0) fail(`the final LR must be >= 0, got ${minLr}`);
      return { kind: "cosine", minLr };
    }
    default:
      return fail(kind === "" ? `empty; ${FORMS}` : `unknown kind "${parts[0]!.trim()}"; ${FORMS}`);
  }
}

/** The CLI text of a schedule (parseSchedule's inverse), for run logs and metrics files. */
export function scheduleText(s: Schedule): string {
  switch (s.kind) {
    case "constant":
      return "constant";
    case "step":
      return `step:${s.milestones.join(",")}${s.gamma === DEFAULT_GAMMA ? "" : `:${s.gamma}`}`;
    case "cosine":
      return s.minLr === undefined || s.minLr === 0 ? "cosine" : `cosine:${s.minLr}`;
  }
}
