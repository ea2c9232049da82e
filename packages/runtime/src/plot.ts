// Training curves as one SVG file a person opens in a browser: loss and accuracy side by side,
// train and test, per epoch, with a one-line summary of the run under the title.
// Takes: per-epoch metrics. Gives: SVG text, the same bytes for the same input (numbers are
// formatted with fixed digits, never locale- or float-noise-dependent), so it can be diffed.
// Must not: use scripts, external fonts or stylesheets, or print NaN/undefined into the file.

import { formatDuration } from "./progress.js";

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  /** Fractions in [0, 1]; drawn in %. */
  trainAccuracy: number;
  testLoss?: number;
  testAccuracy?: number;
  lr: number;
  samplesPerSec: number;
  seconds: number;
}

interface Series {
  name: string;
  color: string;
  dash?: string;
  points: [number, number | undefined][];
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  decimals: number;
}

const WIDTH = 960;
const HEIGHT = 420;
const PANEL = { left: 64, right: 24, top: 84, bottom: 56 };
const TRAIN = { color: "#1f77b4" };
const TEST = { color: "#d62728", dash: "6 4" };
/** Markers help read a short run; on a long one they would only blur the line. */
const MAX_MARKED_POINTS = 40;

/** Self-contained SVG: two panels (loss; accuracy in %), x = epoch, with axes, ticks, legends. */
export function trainingCurveSvg(title: string, epochs: EpochMetrics[]): string {
  const rows = [...epochs].filter((r) => Number.isFinite(r.epoch)).sort((a, b) => a.epoch - b.epoch);
  const pick = (f: (r: EpochMetrics) => number | undefined, scale = 1) =>
    rows.map((r): [number, number | undefined] => {
      const v = f(r);
      return [r.epoch, v !== undefined && Number.isFinite(v) ? v * scale : undefined];
    });
  const x = xAxis(rows.map((r) => r.epoch));
  const half = WIDTH / 2;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${half}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${half}" y="50" text-anchor="middle" fill="#555555">${esc(summary(rows))}</text>`,
    ...panel(
      0,
      "loss",
      x,
      [
        { name: "train", ...TRAIN, points: pick((r) => r.trainLoss) },
        { name: "test", ...TEST, points: pick((r) => r.testLoss) },
      ],
      false,
    ),
    ...panel(
      half,
      "accuracy (%)",
      x,
      [
        { name: "train", ...TRAIN, points: pick((r) => r.trainAccuracy, 100) },
        { name: "test", ...TEST, points: pick((r) => r.testAccuracy, 100) },
      ],
      true,
    ),
    `</svg>`,
  ];
  return out.join("\n") + "\n";
}

function panel(left: number, name: string, x: Axis, all: Series[], percent: boolean): string[] {
  // A series with no finite value (no test set, or a run that diverged at once) is left out,
  // legend included, rather than drawn as an empty promise.
  const series = all.filter((s) => s.points.some(([, v]) => v !== undefined));
  const values = series.flatMap((s) => s.points.flatMap(([, v]) => (v === undefined ? [] : [v])));
  const y = yAxis(values, percent);
  const x0 = left + PANEL.left;
  const x1 = left + WIDTH / 2 - PANEL.right;
  const y0 = HEIGHT - PANEL.bottom;
  const y1 = PANEL.top;
  const px = (v: number) => x0 + ((v - x.lo) / (x.hi - x.lo)) * (x1 - x0);
  const py = (v: number) => y0 - ((v - y.lo) / (y.hi - y.lo)) * (y0 - y1);
  const g: string[] = [`<g class="panel" id="${name.split(" ")[0]}">`];
  g.push(`<text x="${x0}" y="${y1 - 12}" font-size="14" font-weight="bold">${esc(name)}</text>`);
  for (const t of y.ticks) {
    g.push(`<line x1="${n(x0)}" y1="${n(py(t))}" x2="${n(x1)}" y2="${n(py(t))}" stroke="#e5e5e5"/>`);
    g.push(`<text x="${n(x0 - 6)}" y="${n(py(t) + 4)}" text-anchor="end">${t.toFixed(y.decimals)}</text>`);
  }
  for (const t of x.ticks) {
    g.push(`<line x1="${n(px(t))}" y1="${y0}" x2="${n(px(t))}" y2="${y0 + 5}" stroke="#333333"/>`);
    g.push(`<text x="${n(px(t))}" y="${y0 + 18}" text-anchor="middle">${t.toFixed(x.decimals)}</text>`);
  }
  g.push(`<path d="M${x0} ${y1}V${y0}H${x1}" fill="none" stroke="#333333"/>`);
  g.push(`<text x="${n((x0 + x1) / 2)}" y="${y0 + 40}" text-anchor="middle">epoch</text>`);
  if (series.length === 0)
    g.push(`<text x="${n((x0 + x1) / 2)}" y="${n((y0 + y1) / 2)}" text-anchor="middle" fill="#888888">no data</text>`);
  const marked = series.every((s) => s.points.length <= MAX_MARKED_POINTS);
  for (const s of series) g.push(...draw(s, px, py, marked));
  g.push(...legend(series, x1, y1 - 16));
  g.push(`</g>`);
  return g;
}

/** Polylines between finite points; a gap (NaN, missing) breaks the line, and a lone point gets a marker. */
function draw(s: Series, px: (v: number) => number, py: (v: number) => number, marked: boolean): string[] {
  const runs: [number, number][][] = [[]];
  for (const [e, v] of s.points) {
    if (v === undefined) runs.push([]);
    else runs[runs.length - 1]!.push([px(e), py(v)]);
  }
  const stroke = `stroke="${s.color}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}`;
  const out: string[] = [];
  for (const run of runs) {
    if (run.length > 1)
      out.push(
        `<polyline points="${run.map(([a, b]) => `${n(a)},${n(b)}`).join(" ")}" fill="none" ${stroke} ` +
          `stroke-width="2"/>`,
      );
    if (marked || run.length === 1)
      for (const [a, b] of run) out.push(`<circle cx="${n(a)}" cy="${n(b)}" r="3" fill="${s.color}"/>`);
  }
  return out;
}

/** Right-aligned in the panel's header row, above the plot, so it never hides a curve. */
function legend(series: Series[], right: number, y: number): string[] {
  const out: string[] = [];
  let x = right;
  for (const s of [...series].reverse()) {
    x -= s.name.length * 7 + 4;
    out.push(`<text x="${x}" y="${y + 4}">${esc(s.name)}</text>`);
    x -= 28;
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${s.color}" ` +
        `stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    x -= 16;
  }
  return out;
}

/** Epochs span the data exactly (a 90-epoch run ends at 90, not 100); ticks are whole epochs. */
function xAxis(epochs: number[]): Axis {
  let lo = epochs.length ? Math.min(...epochs) : 0;
  let hi = epochs.length ? Math.max(...epochs) : 1;
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const step = Math.max(1, niceStep((hi - lo) / 6));
  return { lo, hi, ticks: ticks(lo, hi, step), decimals: decimals(step) };
}

/** Values padded out to whole ticks; a flat series gets room around it; % stays in [0, 100]. */
function yAxis(values: number[], percent: boolean): Axis {
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  // "Flat" includes float noise (0.1*100 is 10.000000000000002): ticks 1e-15 apart are unreadable.
  if (hi - lo <= 1e-6 * Math.max(1, Math.abs(lo), Math.abs(hi))) {
    const pad = Math.abs(lo) * 0.1 || 1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  if (percent) [lo, hi] = [Math.max(0, lo), Math.min(100, hi)];
  return { lo, hi, ticks: ticks(lo, hi, step), decimals: decimals(step) };
}

/** 1, 2 or 5 times a power of ten, the smallest not below `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw * (1 - 1e-9)) ?? 10) * p;
}

/** Multiples of step in [lo, hi], computed as i*step so no error accumulates. */
function ticks(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push(i * step);
  return out;
}

const decimals = (step: number) => Math.max(0, -Math.floor(Math.log10(step) + 1e-9));

/** A coordinate with one decimal; "-0.0" would differ from "0.0" for the same picture. */
function n(v: number): string {
  const s = v.toFixed(1);
  return s === "-0.0" ? "0.0" : s;
}

/** "epoch 90: train loss 0.1234, acc 98.1% | test loss 0.3012, acc 92.4% (best 92.6% at epoch 87)
 * | lr 0.1 to 0.0001 | 742 img/s | 1h02m" (one line) */
function summary(rows: EpochMetrics[]): string {
  const last = rows[rows.length - 1];
  if (!last) return "no epochs";
  const fin = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const metrics = (loss: number | undefined, acc: number | undefined) =>
    [fin(loss) ? `loss ${loss.toFixed(4)}` : "", fin(acc) ? `acc ${pct(acc)}` : ""].filter(Boolean).join(", ");
  const parts = [`epoch ${last.epoch}: train ${metrics(last.trainLoss, last.trainAccuracy) || "n/a"}`];
  const test = metrics(last.testLoss, last.testAccuracy);
  if (test) {
    // The best epoch is news only when it prints differently from the last one.
    let best: EpochMetrics | undefined;
    for (const r of rows) if (fin(r.testAccuracy) && (!best || r.testAccuracy > best.testAccuracy!)) best = r;
    parts.push(
      `test ${test}` +
        (best && (!fin(last.testAccuracy) || pct(best.testAccuracy!) !== pct(last.testAccuracy))
          ? ` (best ${pct(best.testAccuracy!)} at epoch ${best.epoch})`
          : ""),
    );
  }
  const lrs = rows.map((r) => r.lr).filter(fin);
  if (lrs.length) {
    const [top, end] = [lr(Math.max(...lrs)), lr(lrs[lrs.length - 1]!)];
    parts.push(top === end ? `lr ${top}` : `lr ${top} to ${end}`);
  }
  if (fin(last.samplesPerSec)) parts.push(`${Math.round(last.samplesPerSec)} img/s`);
  const total = rows.reduce((a, r) => a + (fin(r.seconds) ? r.seconds : 0), 0);
  if (total > 0) parts.push(formatDuration(total));
  return parts.join(" | ");
}

/** Three significant digits; Number() drops trailing zeros ("0.100" -> "0.1"). */
const lr = (v: number) => String(Number(v.toPrecision(3)));

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}
