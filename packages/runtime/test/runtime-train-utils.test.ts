// The training runtime's tfjs-free helpers: LR schedules, the progress line and bar, and the
// training-curve SVG.
import { describe, expect, it } from "vitest";
import { learningRate, parseSchedule, scheduleText, type LrConfig, type Schedule } from "../src/schedule.js";
import { formatDuration, formatProgress, ProgressBar, type ProgressState } from "../src/progress.js";
import { trainingCurveSvg, type EpochMetrics } from "../src/plot.js";

const cfg = (schedule: Schedule, over: Partial<LrConfig> = {}): LrConfig => ({
  base: 0.1,
  schedule,
  warmupEpochs: 0,
  epochs: 10,
  stepsPerEpoch: 100,
  ...over,
});

describe("learningRate", () => {
  it("constant is the base LR at every step", () => {
    for (const s of [0, 1, 500, 999, 5000]) expect(learningRate(cfg({ kind: "constant" }), s)).toBe(0.1);
  });

  it("warm-up climbs linearly to the base LR over warmupEpochs*stepsPerEpoch steps", () => {
    const c = cfg({ kind: "constant" }, { warmupEpochs: 2 }); // 200 warm-up steps
    expect(learningRate(c, 0)).toBeCloseTo(0.1 / 200, 12);
    expect(learningRate(c, 99)).toBeCloseTo(0.05, 12);
    expect(learningRate(c, 199)).toBeCloseTo(0.1, 12);
    expect(learningRate(c, 200)).toBe(0.1);
    for (let s = 1; s < 200; s++) expect(learningRate(c, s)).toBeGreaterThan(learningRate(c, s - 1));
  });

  it("step multiplies by gamma at each milestone epoch", () => {
    const c = cfg({ kind: "step", milestones: [3, 6], gamma: 0.1 });
    expect(learningRate(c, 0)).toBe(0.1);
    expect(learningRate(c, 299)).toBe(0.1);
    expect(learningRate(c, 300)).toBeCloseTo(0.01, 12);
    expect(learningRate(c, 599)).toBeCloseTo(0.01, 12);
    expect(learningRate(c, 600)).toBeCloseTo(0.001, 12);
    expect(learningRate(c, 999)).toBeCloseTo(0.001, 12);
  });

  it("step milestones may be fractional epochs (He et al.'s 32k and 48k iterations)", () => {
    const c = cfg(
      { kind: "step", milestones: [32000 / 391, 48000 / 391], gamma: 0.1 },
      { epochs: 164, stepsPerEpoch: 391 },
    );
    expect(learningRate(c, 31999)).toBe(0.1);
    expect(learningRate(c, 32000)).toBeCloseTo(0.01, 12);
    expect(learningRate(c, 47999)).toBeCloseTo(0.01, 12);
    expect(learningRate(c, 48000)).toBeCloseTo(0.001, 12);
  });

  it("warm-up scales the step schedule, so a milestone inside warm-up does not jump", () => {
    const c = cfg({ kind: "step", milestones: [1], gamma: 0.5 }, { warmupEpochs: 2 });
    expect(learningRate(c, 99)).toBeCloseTo(0.1 * (100 / 200), 12);
    expect(learningRate(c, 100)).toBeCloseTo(0.05 * (101 / 200), 12);
    expect(learningRate(c, 200)).toBeCloseTo(0.05, 12);
  });

  it("cosine starts at the base LR after warm-up, decreases monotonically, ends at minLr", () => {
    const c = cfg({ kind: "cosine", minLr: 1e-4 }, { warmupEpochs: 1 });
    expect(learningRate(c, 100)).toBeCloseTo(0.1, 12);
    expect(learningRate(c, 1000)).toBeCloseTo(1e-4, 12);
    expect(learningRate(c, 5000)).toBeCloseTo(1e-4, 12); // past the end: held, not rising again
    // Halfway through the cosine part: the mean of the two ends.
    expect(learningRate(c, 550)).toBeCloseTo((0.1 + 1e-4) / 2, 12);
    for (let s = 101; s < 1000; s++) expect(learningRate(c, s)).toBeLessThan(learningRate(c, s - 1));
    expect(learningRate(c, 999)).toBeGreaterThan(1e-4);
  });

  it("cosine without minLr decays to 0", () => {
    const c = cfg({ kind: "cosine" });
    expect(learningRate(c, 0)).toBe(0.1);
    expect(learningRate(c, 1000)).toBeCloseTo(0, 12);
  });

  it("a run that is all warm-up holds the base LR after it", () => {
    const c = cfg({ kind: "cosine" }, { warmupEpochs: 10 });
    expect(learningRate(c, 999)).toBeCloseTo(0.1, 12);
    expect(learningRate(c, 1000)).toBeCloseTo(0.1, 12);
  });

  it("rejects a bad configuration or step", () => {
    expect(() => learningRate(cfg({ kind: "constant" }, { stepsPerEpoch: 0 }), 0)).toThrow(/stepsPerEpoch/);
    expect(() => learningRate(cfg({ kind: "constant" }, { base: -1 }), 0)).toThrow(/base/);
    expect(() => learningRate(cfg({ kind: "constant" }), -1)).toThrow(/step/);
    expect(() => learningRate(cfg({ kind: "constant" }), NaN)).toThrow(/step/);
  });
});

describe("parseSchedule", () => {
  it.each<[string, Schedule]>([
    ["constant", { kind: "constant" }],
    ["step:30,60", { kind: "step", milestones: [30, 60], gamma: 0.1 }],
    ["step:30,60:0.2", { kind: "step", milestones: [30, 60], gamma: 0.2 }],
    ["step:81.8", { kind: "step", milestones: [81.8], gamma: 0.1 }],
    ["cosine", { kind: "cosine" }],
    ["cosine:1e-5", { kind: "cosine", minLr: 1e-5 }],
    [" Cosine:0 ", { kind: "cosine", minLr: 0 }],
  ])("%s", (text, expected) => {
    expect(parseSchedule(text)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ["", /empty/],
    ["linear", /unknown kind "linear"/],
    ["constant:1", /takes no arguments/],
    ["step", /needs milestone epochs/],
    ["step:", /needs milestone epochs/],
    ["step:30,,60", /milestone "" is not a number/],
    ["step:60,30", /milestones must increase/],
    ["step:30,30", /milestones must increase/],
    ["step:-1", /negative/],
    ["step:30:0", /gamma must be positive/],
    ["step:30:abc", /gamma "abc" is not a number/],
    ["step:30:0.1:2", /needs milestone epochs/],
    ["step:0x10", /not a number/],
    ["cosine:-1", /must be >= 0/],
    ["cosine:1:2", /at most one argument/],
    ["cosine:x", /not a number/],
  ])("rejects %j", (text, why) => {
    expect(() => parseSchedule(text)).toThrow(why);
    expect(() => parseSchedule(text)).toThrow(/^bad learning-rate schedule/);
  });

  it("scheduleText is its inverse", () => {
    for (const t of ["constant", "step:30,60", "step:30,60:0.2", "cosine", "cosine:0.00001"]) {
      expect(parseSchedule(scheduleText(parseSchedule(t)))).toEqual(parseSchedule(t));
    }
    expect(scheduleText({ kind: "step", milestones: [30, 60], gamma: 0.1 })).toBe("step:30,60");
  });
});

const state = (over: Partial<ProgressState> = {}): ProgressState => ({
  epoch: 2,
  epochs: 10,
  step: 45,
  stepsPerEpoch: 100,
  loss: 0.41234,
  accuracy: 0.8612,
  samplesPerSec: 742.4,
  elapsedSec: 10,
  ...over,
});

describe("formatProgress", () => {
  it("formats the line of the example", () => {
    // 145 of 1000 steps in 10 s: 855 steps left at 14.5 steps/s = 58.97 s.
    expect(formatProgress(state())).toBe("epoch 2/10 [#######.........] 45% loss 0.4123 acc 86.1% 742 img/s ETA 59s");
  });

  it("empty and full bars; ETA 0.0s at the end", () => {
    expect(formatProgress(state({ epoch: 1, step: 0, elapsedSec: 0 }))).toBe(
      "epoch 1/10 [................] 0% loss 0.4123 acc 86.1% 742 img/s ETA --",
    );
    expect(formatProgress(state({ epoch: 10, step: 100, elapsedSec: 600 }))).toBe(
      "epoch 10/10 [################] 100% loss 0.4123 acc 86.1% 742 img/s ETA 0.0s",
    );
  });

  it("shows 99% (not 100%) one step before the end of an epoch", () => {
    expect(formatProgress(state({ step: 999, stepsPerEpoch: 1000 }))).toContain("[###############.] 99%");
  });

  it("low rates keep a decimal; a diverged loss shows as NaN", () => {
    expect(formatProgress(state({ samplesPerSec: 3.14, loss: NaN, accuracy: NaN }))).toBe(
      "epoch 2/10 [#######.........] 45% loss NaN acc -- 3.1 img/s ETA 59s",
    );
  });

  it("ETA covers the whole run, from the rate so far", () => {
    // 3 of 10 epochs done in 90 s: 7 more take 210 s.
    expect(formatProgress(state({ epoch: 3, step: 100, elapsedSec: 90 }))).toMatch(/ETA 3m30s$/);
  });

  it("under --minutes the ETA is never past the time limit, and says so; --steps counts only the steps left", () => {
    // Before, both fields were ignored: the ETA was 3m30s for all ten epochs in each case.
    expect(formatProgress(state({ epoch: 3, step: 100, elapsedSec: 90, timeLeftSec: 30 }))).toMatch(
      /ETA 30s \(--minutes\)$/,
    );
    expect(formatProgress(state({ epoch: 3, step: 100, elapsedSec: 90, timeLeftSec: 3600 }))).toMatch(/ETA 3m30s$/);
    expect(
      formatProgress(state({ epoch: 3, step: 100, elapsedSec: 90, remaining: { steps: 40, secPerStep: 0.25 } })),
    ).toMatch(/ETA 10s$/);
  });
});

describe("formatDuration", () => {
  it.each<[number, string]>([
    [0, "0.0s"],
    [0.4, "0.4s"],
    [9.94, "9.9s"],
    [9.96, "10s"],
    [12, "12s"],
    [12.4, "12s"],
    [59.6, "1m00s"],
    [72, "1m12s"],
    [3599.4, "59m59s"],
    [3599.6, "1h00m"],
    [3720, "1h02m"],
    [36000, "10h00m"],
    [NaN, "--"],
    [-1, "--"],
    [Infinity, "--"],
  ])("%s -> %s", (sec, text) => {
    expect(formatDuration(sec)).toBe(text);
  });
});

function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  const out = { isTTY, columns, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WritableStream & {
    isTTY?: boolean;
  };
  return { out, writes, text: () => writes.join("") };
}

describe("ProgressBar", () => {
  it("on a TTY redraws one line with \\r, at most every 100 ms", () => {
    let t = 0;
    const { out, writes } = fakeStream(true);
    const bar = new ProgressBar(out, { now: () => t });
    bar.update(state({ step: 10 }));
    t = 50;
    bar.update(state({ step: 11 })); // too soon: dropped
    t = 120;
    bar.update(state({ step: 12 }));
    expect(writes).toHaveLength(2);
    for (const w of writes) expect(w.startsWith("\r")).toBe(true);
    for (const w of writes) expect(w).not.toContain("\n");
    expect(writes[1]).toContain("12%");
  });

  it("on a TTY pads over a longer old line, and keeps the epoch's end line with its summary", () => {
    let t = 0;
    const { out, writes, text } = fakeStream(true);
    const bar = new ProgressBar(out, { now: () => t });
    bar.update(state({ samplesPerSec: 12345 }));
    t = 200;
    bar.update(state({ samplesPerSec: 12 }));
    expect(writes[1]!.length).toBe(writes[0]!.length);
    bar.endEpoch(state({ step: 100 }), "test loss 0.5000 acc 80.0%");
    expect(text()).toMatch(/\r[^\r]*100% [^\r]*\| test loss 0\.5000 acc 80\.0%\n$/);
  });

  it("on a TTY log() blanks the bar, prints the line, and draws the bar again", () => {
    const { out, text } = fakeStream(true);
    const bar = new ProgressBar(out, { now: () => 0 });
    bar.update(state());
    bar.log("saved checkpoint");
    const line = formatProgress(state());
    expect(text()).toBe(`\r${line}\r${" ".repeat(line.length)}\rsaved checkpoint\n\r${line}`);
  });

  it("on a TTY cuts the line to the terminal's width", () => {
    const { out, writes } = fakeStream(true, 40);
    new ProgressBar(out, { now: () => 0 }).update(state());
    expect(writes[0]).toBe("\r" + formatProgress(state()).slice(0, 39));
  });

  it("elsewhere prints the first update, then at most one line per interval, and every epoch end", () => {
    let t = 0;
    const { out, writes } = fakeStream(false);
    const bar = new ProgressBar(out, { intervalSec: 10, now: () => t });
    for (let i = 0; i <= 250; i++) {
      t = i * 100; // 25 s of updates, every 100 ms
      bar.update(state({ step: (i % 100) + 1 }));
    }
    expect(writes).toHaveLength(3); // at 0 s, 10 s, 20 s
    bar.endEpoch(state({ step: 100 }), "test acc 90.0%");
    bar.log("note");
    expect(writes).toHaveLength(5);
    expect(writes.every((w) => w.endsWith("\n") && !w.includes("\r"))).toBe(true);
    expect(writes[3]).toContain("| test acc 90.0%");
    expect(writes[4]).toBe("note\n");
    t += 1000;
    bar.update(state()); // within 10 s of the epoch-end line: dropped
    expect(writes).toHaveLength(5);
  });
});

const run: EpochMetrics[] = Array.from({ length: 12 }, (_, i) => ({
  epoch: i + 1,
  trainLoss: 2.3 * Math.exp(-i / 4) + 0.05,
  trainAccuracy: 1 - 0.9 * Math.exp(-i / 3),
  testLoss: 2.3 * Math.exp(-i / 4) + 0.3,
  testAccuracy: 0.95 - 0.85 * Math.exp(-i / 3),
  lr: i < 6 ? 0.1 : 0.01,
  samplesPerSec: 740 + i,
  seconds: 65,
}));

/** Well-formed enough to open: one root, every tag closed in order, attributes quoted. */
function checkXml(svg: string): void {
  expect(svg.startsWith("<svg ")).toBe(true);
  expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
  const stack: string[] = [];
  let roots = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) expect(stack.pop()).toBe(name);
    else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // Every '<' starts a tag the regex accepted: no stray markup, no unquoted attribute.
  const tags = svg.match(/<[^>]*>/g) ?? [];
  expect(svg.split("<").length - 1).toBe(tags.length);
  const text = svg.replace(/<[^>]*>/g, "");
  expect(text).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|apos);)/);
}

describe("trainingCurveSvg", () => {
  it("is well-formed, self-contained, and has the title and both panels", () => {
    const svg = trainingCurveSvg("resnet20 on cifar10", run);
    checkXml(svg);
    expect(svg).toContain(">resnet20 on cifar10</text>");
    expect(svg).toContain('id="loss"');
    expect(svg).toContain('id="accuracy"');
    expect(svg).toContain(">accuracy (%)</text>");
    expect(svg).not.toMatch(/<script|@import|url\(|href=/);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect(svg).toContain("epoch 12: train loss");
    expect(svg).not.toMatch(/NaN|undefined|Infinity|null/);
  });

  it("is deterministic", () => {
    expect(trainingCurveSvg("t", run)).toBe(trainingCurveSvg("t", structuredClone(run)));
  });

  it("escapes the title", () => {
    const svg = trainingCurveSvg(`a<b & "c"`, run);
    checkXml(svg);
    expect(svg).toContain("a&lt;b &amp; &quot;c&quot;");
  });

  it.each<[string, EpochMetrics[]]>([
    ["one epoch", run.slice(0, 1)],
    ["no epochs", []],
    ["no test set", run.map(({ testLoss: _l, testAccuracy: _a, ...r }) => r)],
    [
      "NaN test values",
      run.map((r, i) => ({
        ...r,
        testLoss: i % 3 === 0 ? NaN : r.testLoss,
        testAccuracy: i === 5 ? NaN : r.testAccuracy,
      })),
    ],
    [
      "a diverged run",
      run.map((r, i) => ({ ...r, trainLoss: i > 3 ? NaN : r.trainLoss, testLoss: i > 3 ? Infinity : r.testLoss })),
    ],
    ["a flat series", run.map((r) => ({ ...r, trainLoss: 1, testLoss: 1, trainAccuracy: 1, testAccuracy: 1 }))],
    [
      "all zero",
      run.map((r) => ({
        ...r,
        trainLoss: 0,
        testLoss: 0,
        trainAccuracy: 0,
        testAccuracy: 0,
        lr: 0,
        samplesPerSec: 0,
        seconds: 0,
      })),
    ],
  ])("handles %s", (_name, rows) => {
    const svg = trainingCurveSvg("edge", rows);
    checkXml(svg);
    expect(svg).not.toMatch(/NaN|undefined|Infinity|null/);
    expect(svg).toContain('id="loss"');
    expect(svg).toContain('id="accuracy"');
  });

  it("keeps tick labels short when values differ only by float noise", () => {
    const one = [{ ...run[0]!, trainAccuracy: 0.1, testAccuracy: 0.1 + 1e-17, trainLoss: 2.3, testLoss: 2.3 + 4e-16 }];
    const svg = trainingCurveSvg("t", one);
    const labels = [...svg.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThan(2);
    for (const l of labels) expect(l).toMatch(/^-?\d+(\.\d{1,2})?$/);
  });

  it("summarises the run under the title", () => {
    expect(trainingCurveSvg("t", run)).toContain(
      ">epoch 12: train loss 0.1970, acc 97.7% | test loss 0.4470, acc 92.8% | lr 0.1 to 0.01 | 751 img/s | " +
        "13m00s</text>",
    );
    const dip = run.map((r) => (r.epoch === 12 ? { ...r, testAccuracy: 0.5 } : r));
    expect(trainingCurveSvg("t", dip)).toContain("acc 50.0% (best ");
    expect(trainingCurveSvg("t", run.slice(0, 1))).toContain("| lr 0.1 |");
  });

  it("leaves out a missing test series, legend included", () => {
    const svg = trainingCurveSvg(
      "t",
      run.map(({ testLoss: _l, testAccuracy: _a, ...r }) => r),
    );
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).not.toContain(">test</text>");
  });

  it("draws a lone point as a marker", () => {
    const svg = trainingCurveSvg("t", run.slice(0, 1));
    expect(svg).not.toContain("<polyline");
    expect(svg.match(/<circle/g)).toHaveLength(4);
  });

  it("breaks a line at a NaN", () => {
    const rows = run.map((r, i) => ({ ...r, testLoss: i === 5 ? NaN : r.testLoss }));
    const loss = trainingCurveSvg("t", rows).split('id="accuracy"')[0]!;
    expect(loss.match(/<polyline/g)).toHaveLength(3);
  });
});
