// The progress display of a training run: one line per state, redrawn in place on a terminal
// and printed sparingly elsewhere, so a CI log of a 90-epoch run stays a few hundred lines.
// Takes: the trainer's counters (epoch, step, loss, rate, time) and a writable stream.
// Gives: text on that stream. Must not: measure time itself except through the injected clock,
// compute metrics, or depend on tfjs (the trainer owns those).

export interface ProgressState {
  /** 1-based epoch, as shown: "epoch 2/10". */
  epoch: number;
  epochs: number;
  /** Steps done in this epoch, 0..stepsPerEpoch. */
  step: number;
  stepsPerEpoch: number;
  /** Running mean training loss of this epoch. */
  loss: number;
  /** Running training accuracy of this epoch, a fraction in [0, 1]. */
  accuracy: number;
  samplesPerSec: number;
  /** Seconds since the run began, evaluation included, so the ETA includes it too. */
  elapsedSec: number;
  /**
   * What is really left, when the trainer knows better than "the rest of the epochs": the steps
   * every limit allows (--epochs, --steps) at this session's seconds per step.
   */
  remaining?: { steps: number; secPerStep: number };
  /** Seconds left of a --minutes budget: the run stops then, so the ETA is never later. */
  timeLeftSec?: number;
}

const BAR_WIDTH = 16;

/** One line: "epoch 2/10 [#######.........] 45% loss 0.4123 acc 86.1% 742 img/s ETA 1m12s". */
export function formatProgress(s: ProgressState): string {
  const frac = s.stepsPerEpoch > 0 ? clamp01(s.step / s.stepsPerEpoch) : 0;
  // Floor, not round: the bar shows 100% only when the epoch is really done.
  const filled = Math.floor(frac * BAR_WIDTH);
  const bar = "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled);
  const pct = `${Math.floor(frac * 100)}%`;
  const loss = `loss ${Number.isFinite(s.loss) ? s.loss.toFixed(4) : String(s.loss)}`;
  const acc = `acc ${Number.isFinite(s.accuracy) ? (s.accuracy * 100).toFixed(1) + "%" : "--"}`;
  const left = eta(s);
  return (
    `epoch ${s.epoch}/${s.epochs} [${bar}] ${pct} ${loss} ${acc} ${formatRate(s.samplesPerSec)} ` +
    `ETA ${formatDuration(left.sec)}${left.byClock ? " (--minutes)" : ""}`
  );
}

/** Seconds left for the run, and whether the --minutes budget is what ends it. */
function eta(s: ProgressState): { sec: number; byClock: boolean } {
  const bySteps = s.remaining ? (s.remaining.steps > 0 ? s.remaining.steps * s.remaining.secPerStep : 0) : stepsEta(s);
  if (s.timeLeftSec !== undefined && !(bySteps <= s.timeLeftSec))
    return { sec: Math.max(0, s.timeLeftSec), byClock: true };
  return { sec: bySteps, byClock: false };
}

/** Seconds left for all the epochs, at the mean rate of the steps done so far; NaN before any. */
function stepsEta(s: ProgressState): number {
  const total = s.epochs * s.stepsPerEpoch;
  const done = (s.epoch - 1) * s.stepsPerEpoch + s.step;
  if (!(done > 0) || !(s.elapsedSec > 0)) return NaN;
  return Math.max(0, ((total - done) * s.elapsedSec) / done);
}

function formatRate(r: number): string {
  if (!Number.isFinite(r) || r < 0) return "-- img/s";
  // A CPU run on large images can be a few images a second; keep a decimal there.
  return `${r < 10 ? r.toFixed(1) : Math.round(r)} img/s`;
}

/** 0.4s, 12s, 1m12s, 1h02m; "--" for an unknown (NaN, negative or infinite) duration. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "--";
  // Round once, then split: splitting first could print "1m60s".
  const tenths = Math.round(sec * 10);
  if (tenths < 100) return `${(tenths / 10).toFixed(1)}s`;
  const whole = Math.round(sec);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${pad2(whole % 60)}s`;
  const minutes = Math.round(sec / 60);
  return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`;
}

const pad2 = (n: number) => String(n).padStart(2, "0");
const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** A terminal redraws at most this often; faster only burns the training loop's time. */
const TTY_INTERVAL_MS = 100;

export interface ProgressBarOptions {
  /** Seconds between lines when the stream is not a terminal (default 10). */
  intervalSec?: number;
  /** Clock in milliseconds (default performance.now); tests pass a fake one. */
  now?: () => number;
}

/**
 * Writes progress to a stream. On a TTY it redraws one line with \r, at most ~10 times a second;
 * otherwise it prints the first update, then a line at most every intervalSec seconds, and a line
 * at each epoch end, so CI logs stay short.
 */
export class ProgressBar {
  private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastWrite = -Infinity;
  /** The progress line now on screen (TTY only), to blank it before other text. */
  private shown = "";

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, opts: ProgressBarOptions = {}) {
    this.out = out;
    this.tty = out.isTTY === true;
    this.intervalMs = this.tty ? TTY_INTERVAL_MS : (opts.intervalSec ?? 10) * 1000;
    this.now = opts.now ?? (() => performance.now());
  }

  update(s: ProgressState): void {
    const t = this.now();
    if (t - this.lastWrite < this.intervalMs) return;
    this.lastWrite = t;
    if (this.tty) this.redraw(this.fit(formatProgress(s)));
    else this.out.write(formatProgress(s) + "\n");
  }

  /** The epoch's last line, with the evaluation's summary, always written and kept on screen. */
  endEpoch(s: ProgressState, evalSummary?: string): void {
    const line = formatProgress(s) + (evalSummary ? ` | ${evalSummary}` : "");
    this.lastWrite = this.now();
    // On a TTY overwrite the bar in place; a wrapped final line is fine as it is never redrawn.
    if (this.tty) this.redraw(line);
    this.out.write(this.tty ? "\n" : line + "\n");
    this.shown = "";
  }

  /** A message of its own line; on a TTY the progress line is blanked and drawn again below it. */
  log(line: string): void {
    if (!this.tty || this.shown === "") {
      this.out.write(line + "\n");
      return;
    }
    const again = this.shown;
    this.clear();
    this.out.write(line + "\n");
    this.redraw(again);
  }

  private redraw(line: string): void {
    // Pad over the old line's tail instead of using ANSI erase codes, so any terminal works.
    const pad = Math.max(0, this.shown.length - line.length);
    this.out.write("\r" + line + " ".repeat(pad));
    this.shown = line;
  }

  private clear(): void {
    if (this.shown !== "") this.out.write("\r" + " ".repeat(this.shown.length) + "\r");
    this.shown = "";
  }

  /** A line wider than the terminal wraps, and \r then redraws only its last row. */
  private fit(line: string): string {
    const cols = this.out.columns;
    return cols !== undefined && cols > 1 && line.length >= cols ? line.slice(0, cols - 1) : line;
  }
}
