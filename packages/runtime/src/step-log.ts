// The per-step log of a training run, `steps.jsonl` beside metrics.json: one JSON object a line
// for every optimizer step (global step, epoch, loss, accuracy, LR, seconds), appended as the run
// goes, so a curve can be drawn while it trains and a killed run keeps every step it took.
// Takes: the log's path and, for a resumed run, the last step its checkpoint holds. Gives: an
// appender. Must not: follow a link at the path, or keep lines of steps a resumed run takes again
// (a run killed after its last checkpoint logged steps that the resumed run repeats).

import { closeSync, constants, openSync, writeSync } from "node:fs";
import { readFileLimited, ReadFileError, writeFileAtomic } from "resnetc/io";

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  seconds: number;
}

/** A log of ten million steps: far beyond any run this runtime trains. */
const LOG_LIMIT = 1024 * 1024 * 1024;

export class StepLog {
  private fd: number;

  /** Starts the log afresh, or (keepThrough given) keeps the lines of steps 1..keepThrough. */
  constructor(path: string, keepThrough?: number) {
    let kept = "";
    if (keepThrough !== undefined) {
      try {
        const lines = readFileLimited(path, { limit: LOG_LIMIT, what: "a step log" }).toString("utf8").split("\n");
        kept = lines
          .filter((l) => stepOf(l) <= keepThrough)
          .map((l) => l + "\n")
          .join("");
      } catch (e) {
        // No log yet (or an unreadable one) leaves the resumed run a fresh log; its checkpoint is what matters.
        if (!(e instanceof ReadFileError)) throw e;
      }
    }
    writeFileAtomic(path, kept);
    this.fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
  }

  append(r: StepRecord): void {
    writeSync(this.fd, JSON.stringify(r) + "\n");
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The step of a log line; Infinity for a line that is not one (the torn tail of a killed write). */
function stepOf(line: string): number {
  try {
    const v = (JSON.parse(line) as { step?: unknown }).step;
    return typeof v === "number" && Number.isSafeInteger(v) ? v : Infinity;
  } catch {
    return Infinity;
  }
}
