// bench/degradation (issue 14): the ordering logic on synthetic curves, the SVG writer, and one
// tiny real run of the bench's command (a few steps of batch 8 on a small subset) whose SVG, curve
// file and last-line JSON must be well formed and agree with each other.
// Takes: bench/degradation-lib.js and bench/degradation.js (with dist/ built). Gives: vitest cases.
// Must not: train for long (the real run is `npm run bench:degradation`), or write outside a temp folder.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { degradationSvg, orderings, paperLr, smooth, tailMean } from "../bench/degradation-lib.js";

const root = join(import.meta.dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "degradation-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 100 steps: `early` for the first 90, `late` for the last 10. */
const curve = (early: number, late: number): number[] => [
  ...Array.from({ length: 90 }, () => early),
  ...Array.from({ length: 10 }, () => late),
];

/** Every element opened is closed, in order; no NaN or undefined leaks into the text. */
function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else stack.push(m[2]!);
  }
  expect(stack).toEqual([]);
}

describe("degradation: orderings", () => {
  it("mean over the last 10% of the steps", () => {
    expect(tailMean(curve(0.9, 0.1))).toBeCloseTo(0.1, 12);
    expect(tailMean([0.5, 0.3], 0.1)).toBe(0.3); // at least one point
    expect(tailMean(curve(0.9, 0.1), 0.2)).toBeCloseTo(0.5, 12);
  });

  it("the paper's picture holds: deeper plain worse, deeper residual no worse", () => {
    const o = orderings(
      {
        plain20: curve(0.3, 0.1),
        plain56: curve(0.4, 0.15),
        residual20: curve(0.3, 0.1),
        residual56: curve(0.3, 0.08),
      },
      [20, 56],
    );
    expect(o.plain_deeper_trains_worse).toBe(true);
    expect(o.residual_deeper_at_least_as_good).toBe(true);
    expect(o.holds).toBe(true);
    expect(o.tails["plain56"]).toBeCloseTo(0.15, 12);
  });

  it("judges the last stretch only, and ties count as 'at least as good' but not as 'worse'", () => {
    // Deeper plain net worse early but better at the end: no degradation.
    const a = orderings(
      { plain20: curve(0.3, 0.1), plain56: curve(0.6, 0.09), residual20: curve(0.2, 0.1), residual56: curve(0.2, 0.1) },
      [20, 56],
    );
    expect(a.plain_deeper_trains_worse).toBe(false);
    expect(a.residual_deeper_at_least_as_good).toBe(true);
    expect(a.holds).toBe(false);
    // Equal plain tails: not worse; deeper residual worse at the end: fails.
    const b = orderings(
      { plain20: curve(0.3, 0.1), plain56: curve(0.3, 0.1), residual20: curve(0.2, 0.1), residual56: curve(0.1, 0.11) },
      [20, 56],
    );
    expect(b.plain_deeper_trains_worse).toBe(false);
    expect(b.residual_deeper_at_least_as_good).toBe(false);
  });

  it("three depths: every consecutive pair must agree", () => {
    const c = {
      plain20: curve(0, 0.1),
      plain56: curve(0, 0.2),
      plain110: curve(0, 0.15),
      residual20: curve(0, 0.1),
      residual56: curve(0, 0.09),
      residual110: curve(0, 0.08),
    };
    const o = orderings(c, [110, 20, 56]);
    expect(o.pairs.map((p) => [p.shallow, p.deep, p.plain, p.residual])).toEqual([
      [20, 56, true, true],
      [56, 110, false, true],
    ]);
    expect(o.plain_deeper_trains_worse).toBe(false);
  });

  it("the learning rate drops by 10 at 50% and 75% of the steps", () => {
    expect([0, 49, 50, 74, 75, 99].map((s) => paperLr(0.1, s, 100))).toEqual([0.1, 0.1, 0.01, 0.01, 0.001, 0.001]);
  });

  it("smoothing keeps the length and the mean of a constant", () => {
    expect(smooth([1, 1, 1, 1], 3)).toEqual([1, 1, 1, 1]);
    expect(smooth([0, 3, 0], 3)).toEqual([1.5, 1, 1.5]);
  });
});

describe("degradation: SVG", () => {
  it("draws both panels, a raw and a smoothed line per net, and a dot per test error", () => {
    const curves = {
      plain20: curve(0.3, 0.1),
      plain56: curve(0.4, 0.2),
      residual20: curve(0.3, 0.1),
      residual56: curve(0.25, 0.05),
    };
    const svg = degradationSvg({
      title: "t <&>",
      subtitle: "s",
      curves,
      depths: [20, 56],
      testErrors: { plain20: 0.12, plain56: 0.21, residual20: 0.11, residual56: Number.NaN },
    });
    expectWellFormedSvg(svg);
    expect(svg).toContain("t &lt;&amp;&gt;");
    expect(svg.match(/<polyline/g)).toHaveLength(8);
    expect(svg.match(/<circle/g)).toHaveLength(3); // the NaN test error is not drawn
    expect(svg).toContain("plain-56: training error 20.0% (last 10% of steps), test error 21.0%");
    expect(svg).toContain("residual-56: training error 5.0% (last 10% of steps), test error n/a");
    // Deterministic bytes.
    expect(degradationSvg({ title: "t <&>", subtitle: "s", curves, depths: [20, 56] })).toBe(
      degradationSvg({ title: "t <&>", subtitle: "s", curves, depths: [20, 56] }),
    );
  });
});

describe("degradation: the bench on a tiny budget", () => {
  it("trains all four nets the same steps and writes a well-formed SVG, curves and JSON line", () => {
    const fashion = "/usr/share/datasets/fashion-mnist";
    const data = existsSync(join(fashion, "train-images-idx3-ubyte.gz")) ? fashion : "synthetic";
    const out = join(tmp, "results");
    const args = ["bench/degradation.js", "--steps", "2", "--chunk", "1", "--batch", "8", "--eval", "16"];
    const r = spawnSync(process.execPath, [...args, "--train", "256", "--data", data, "--out", out], {
      cwd: root,
      encoding: "utf8",
      timeout: 110_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    const json = JSON.parse(lines[lines.length - 1]!);
    expect(json.bench).toBe("degradation");
    expect(json.backend).toBe("wasm");
    expect(json.steps).toBe(2);
    expect(json.test_images).toBe(16);
    expect(Object.keys(json.nets).sort()).toEqual(["plain20", "plain56", "residual20", "residual56"]);
    expect(json.nets.plain56.params).toBe(852_730);
    expect(json.nets.residual20.params).toBe(269_434);
    const saved = JSON.parse(readFileSync(join(out, "degradation.json"), "utf8"));
    expect(saved).toEqual(json);
    // The verdict is the ordering logic applied to the curves the run wrote.
    const curves = JSON.parse(readFileSync(join(out, "degradation-curves.json"), "utf8")).train_error;
    for (const c of Object.values(curves) as number[][]) {
      expect(c).toHaveLength(2);
      for (const e of c) expect(e >= 0 && e <= 1).toBe(true);
    }
    const o = orderings(curves, [20, 56]);
    expect(json.orderings.holds).toBe(o.holds);
    expect(json.orderings.plain_deeper_trains_worse).toBe(o.plain_deeper_trains_worse);
    for (const k of Object.keys(curves)) expect(json.nets[k].train_error_tail).toBeCloseTo(o.tails[k]!, 4);
    expectWellFormedSvg(readFileSync(join(out, "degradation.svg"), "utf8"));
    expect(r.stdout).toMatch(/^probe: 2 steps of batch 8 per net/m);
  }, 120_000); // ~20 s alone; 50 s seen with the machine's load average at 19
});
