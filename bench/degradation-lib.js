// bench/degradation's machinery: compiles bench/degradation.resnet's plain and residual nets with
// resnetc, trains them interleaved (round-robin chunks of steps, the same batches in the same
// order for every net) through @resnetc/runtime's wasm kernels, and judges and plots the curves.
// Takes: options (data folder, depths, batch, steps or a time budget, ...). Gives: per-step
// training-error curves, test errors, the orderings of He et al. 2015's Fig. 1 / Fig. 6, an SVG
// (no system binary), and the one-line JSON summary.
// Must not: print (the caller passes `say`), exit the process, write outside the folder it is
// given, or give one net more steps, other batches or another recipe than the others.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { checkFile, hasErrors, renderText } from "../dist/index.js";
import { emitTs } from "../dist/emit/ts/emit.js";
import { chooseBackend, emittedModuleUrls, evaluate } from "../packages/runtime/dist/index.js";
import { gatherBatch, loadDirectory, shuffledIndices, syntheticDataset } from "../packages/runtime/dist/data.js";
import { initParams, toModelInput } from "../packages/runtime/dist/params.js";
import { trainableParams } from "../packages/runtime/dist/run-state.js";
import { setLearningRate } from "../packages/runtime/dist/train.js";

export const MODEL_FILE = new URL("./degradation.resnet", import.meta.url).pathname;

/** The nets of one run: a plain and a residual net per depth, named as in degradation.resnet
 * (`paperInit`: the residual nets with every BN's gamma at 1, as the paper's). */
export function netsFor(depths, paperInit = false) {
  return depths.flatMap((d) => [
    { key: `plain${d}`, model: `Plain${d}`, kind: "plain", depth: d },
    { key: `residual${d}`, model: `${paperInit ? "PaperResidual" : "Residual"}${d}`, kind: "residual", depth: d },
  ]);
}

/** He et al.'s CIFAR schedule scaled to `steps`: the rate /10 at 50% and at 75% (32k and 48k of 64k). */
export function paperLr(base, step, steps) {
  if (step < Math.floor(steps * 0.5)) return base;
  if (step < Math.floor(steps * 0.75)) return base / 10;
  return base / 100;
}

/** Mean of the last `frac` of a curve (at least one point). */
export function tailMean(curve, frac = 0.1) {
  if (curve.length === 0) return NaN;
  const n = Math.max(1, Math.ceil(curve.length * frac));
  let s = 0;
  for (let i = curve.length - n; i < curve.length; i++) s += curve[i];
  return s / n;
}

/**
 * The paper's orderings on per-step training-error curves ({ plain20: [...], residual20: [...], ... }):
 * each deeper plain net ends higher than the next shallower plain net (degradation), and each
 * deeper residual net ends no higher than the next shallower one. "Ends" is the mean over the
 * last `frac` of the steps.
 */
export function orderings(curves, depths, frac = 0.1) {
  const sorted = [...depths].sort((a, b) => a - b);
  const tails = {};
  for (const [k, c] of Object.entries(curves)) tails[k] = tailMean(c, frac);
  const pairs = [];
  for (let i = 1; i < sorted.length; i++) {
    const [lo, hi] = [sorted[i - 1], sorted[i]];
    pairs.push({
      shallow: lo,
      deep: hi,
      plain: tails[`plain${hi}`] > tails[`plain${lo}`],
      residual: tails[`residual${hi}`] <= tails[`residual${lo}`],
    });
  }
  const plainDegrades = pairs.length > 0 && pairs.every((p) => p.plain);
  const residualHolds = pairs.length > 0 && pairs.every((p) => p.residual);
  return {
    tail_fraction: frac,
    tails,
    pairs,
    plain_deeper_trains_worse: plainDegrades,
    residual_deeper_at_least_as_good: residualHolds,
    holds: plainDegrades && residualHolds,
  };
}

/** Centred moving average with a window of `w` points (shorter at the ends). */
export function smooth(curve, w) {
  const h = Math.floor(Math.max(1, w) / 2);
  const prefix = [0];
  for (const v of curve) prefix.push(prefix[prefix.length - 1] + v);
  return curve.map((_, i) => {
    const a = Math.max(0, i - h);
    const b = Math.min(curve.length, i + h + 1);
    return (prefix[b] - prefix[a]) / (b - a);
  });
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x) => (Number.isFinite(x) ? x.toFixed(1) : "0.0");
const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "n/a");
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/**
 * Fig. 6 style, self-contained SVG: left panel plain nets, right panel residual nets; x = step,
 * y = training error in % (thin: per batch; bold: moving average), a dot at the last step for
 * each net's test error. The same input gives the same bytes.
 */
export function degradationSvg({ title, subtitle, curves, depths, testErrors = {}, frac = 0.1 }) {
  const W = 1000;
  const top = 84;
  const ph = 300;
  const bottom = 44 + 18 * depths.length;
  const H = top + ph + bottom;
  const panelW = 430;
  const lefts = [64, 64 + panelW + 60];
  const steps = Math.max(1, ...Object.values(curves).map((c) => c.length));
  const w = Math.max(1, Math.round(steps / 25));
  const smoothed = Object.fromEntries(Object.entries(curves).map(([k, c]) => [k, smooth(c, w)]));
  const peak = Math.max(0.1, ...Object.values(smoothed).flat(), ...Object.values(testErrors).filter(Number.isFinite));
  const yMax = Math.min(1, Math.ceil(peak * 10 + 1e-9) / 10);
  const X = (left, i) => left + (steps <= 1 ? 0 : (i / (steps - 1)) * panelW);
  const Y = (v) => top + ph - (Math.min(Math.max(v, 0), yMax) / yMax) * ph;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`,
    `<text x="${W / 2}" y="44" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`,
  );
  const sorted = [...depths].sort((a, b) => a - b);
  ["plain", "residual"].forEach((kind, p) => {
    const left = lefts[p];
    out.push(
      `<text x="${left + panelW / 2}" y="${top - 12}" text-anchor="middle" font-size="14">` +
        `${kind === "plain" ? "plain" : "residual (option A)"}</text>`,
    );
    for (let t = 0; t <= 5; t++) {
      const v = (yMax * t) / 5;
      const y = num(Y(v));
      out.push(
        `<line x1="${left}" y1="${y}" x2="${left + panelW}" y2="${y}" stroke="#e5e5e5"/>`,
        `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${(v * 100).toFixed(0)}</text>`,
      );
    }
    for (let t = 0; t <= 4; t++) {
      const i = Math.round(((steps - 1) * t) / 4);
      const x = num(X(left, i));
      out.push(
        `<line x1="${x}" y1="${top + ph}" x2="${x}" y2="${top + ph + 4}" stroke="#333"/>`,
        `<text x="${x}" y="${top + ph + 18}" text-anchor="middle">${i + 1}</text>`,
      );
    }
    out.push(
      `<rect x="${left}" y="${top}" width="${panelW}" height="${ph}" fill="none" stroke="#333"/>`,
      `<text x="${left + panelW / 2}" y="${top + ph + 34}" text-anchor="middle">step</text>`,
    );
    if (p === 0)
      out.push(
        `<text x="16" y="${top + ph / 2}" text-anchor="middle" ` +
          `transform="rotate(-90 16 ${top + ph / 2})">training error (%)</text>`,
      );
    sorted.forEach((d, j) => {
      const key = `${kind}${d}`;
      const raw = curves[key];
      if (!raw || raw.length === 0) return;
      const color = COLORS[j % COLORS.length];
      const line = (c) => c.map((v, i) => `${num(X(left, i))},${num(Y(v))}`).join(" ");
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-opacity="0.25" stroke-width="1" points="${line(raw)}"/>`,
        `<polyline fill="none" stroke="${color}" stroke-width="2.2" points="${line(smoothed[key])}"/>`,
      );
      const te = testErrors[key];
      if (Number.isFinite(te))
        out.push(
          `<circle cx="${num(X(left, raw.length - 1))}" cy="${num(Y(te))}" r="4.5" fill="#fff" ` +
            `stroke="${color}" stroke-width="2"/>`,
        );
      const ly = top + ph + 52 + j * 18;
      out.push(
        `<line x1="${left + 10}" y1="${ly}" x2="${left + 34}" y2="${ly}" stroke="${color}" stroke-width="2.2"/>`,
        `<text x="${left + 40}" y="${ly}" dominant-baseline="middle">${kind}-${d}: training error ` +
          `${pct(tailMean(raw, frac))} (last ${Math.round(frac * 100)}% of steps), test error ${pct(te)}</text>`,
      );
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Compiles the named models of `file` to tfjs builders, as `resnetc train` does (emitTs + transpile). */
export async function compileNets(file, names) {
  const checked = checkFile(file);
  if (hasErrors(checked.diagnostics))
    throw new Error(checked.diagnostics.map((d) => renderText(d, checked.sources)).join("\n"));
  const ts = (await import("typescript")).default;
  const urls = emittedModuleUrls();
  const dir = mkdtempSync(join(tmpdir(), "resnetc-degradation-"));
  try {
    const mods = {};
    for (const name of names) {
      const g = checked.graphs.find((x) => x.name === name);
      if (!g) throw new Error(`${file} has no model ${name}`);
      const r = emitTs(g, { version: "bench", ...urls });
      if (!r.files) throw new Error(r.diagnostics.map((d) => renderText(d, checked.sources)).join("\n"));
      const js = ts.transpileModule(r.files["model.ts"], {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      const path = join(dir, `${name}.mjs`);
      writeFileSync(path, js);
      mods[name] = { ...(await import(pathToFileURL(path).href)), params: g.params };
    }
    return { mods, tf: await import(urls.tfjs) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One net's model, optimizer and training step (train.ts's recipe: SGD momentum, coupled L2 decay). */
export function makeTrainer(tf, mod, o) {
  const model = mod.buildModel();
  initParams(model, mod.PARAMS, o.seed);
  const optimizer = tf.train.momentum(o.lr, o.momentum);
  const vars = trainableParams(model, mod.PARAMS).map(({ v }) => v);
  const dims = mod.INPUTS[0].shape;
  return {
    model,
    dims,
    classes: mod.CLASSES,
    async step(b, lr) {
      setLearningRate(optimizer, lr);
      const x = toModelInput(b.images, b.size, dims);
      const yIdx = tf.tensor1d(b.labels, "int32");
      const y = tf.oneHot(yIdx, mod.CLASSES);
      let hits;
      const cost = optimizer.minimize(
        () => {
          const logits = model.apply(x, { training: true });
          hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yIdx), "float32")));
          const ce = tf.losses.softmaxCrossEntropy(y, logits);
          if (o.weightDecay === 0) return ce;
          const l2 = tf.addN(vars.map((w) => tf.sum(tf.square(w))));
          return tf.add(ce, tf.mul(l2, o.weightDecay / 2));
        },
        true,
        vars,
      );
      const loss = (await cost.data())[0];
      const hit = (await hits.data())[0];
      tf.dispose([x, yIdx, y, cost, hits]);
      return { loss, error: 1 - hit / b.size };
    },
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The whole experiment. Options: data (folder or "synthetic"), depths, batch, lr, momentum,
 * weightDecay, seed, chunk (steps per net per turn), probe (steps of the timing probe, which are
 * also the first training steps), minutes (budget for everything from the probe on), steps (a
 * fixed step count instead of the budget), trainLimit / evalLimit (subsets), backend, paperInit
 * (the residual nets with the paper's BN initialisation), say.
 */
export async function runDegradation(opts) {
  const o = {
    data: "/usr/share/datasets/fashion-mnist",
    depths: [20, 56],
    batch: 64,
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 1e-4,
    seed: 0,
    chunk: 5,
    probe: 3,
    minutes: 25,
    steps: undefined,
    trainLimit: undefined,
    evalLimit: 2000,
    backend: "wasm",
    frac: 0.1,
    paperInit: false,
    say: () => {},
    ...opts,
  };
  const say = o.say;
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  const backend = await chooseBackend({ prefer: o.backend });
  say(`backend ${backend.name} (${backend.reason})`);

  let train;
  let test;
  if (o.data === "synthetic") {
    train = syntheticDataset({ count: o.trainLimit ?? 512, shape: [1, 28, 28], classes: 10, seed: o.seed + 1 });
    test = syntheticDataset({ count: o.evalLimit, shape: [1, 28, 28], classes: 10, seed: o.seed + 2 });
  } else ({ train, test } = await loadDirectory(o.data));
  const cut = (d, n) =>
    n === undefined || n >= d.count
      ? d
      : {
          ...d,
          count: n,
          images: d.images.subarray(0, n * (d.images.length / d.count)),
          labels: d.labels.subarray(0, n),
        };
  train = cut(train, o.trainLimit);
  test = cut(test, o.evalLimit);

  const nets = netsFor(o.depths, o.paperInit);
  const { mods, tf } = await compileNets(
    MODEL_FILE,
    nets.map((n) => n.model),
  );
  const trainers = {};
  for (const n of nets) trainers[n.key] = makeTrainer(tf, mods[n.model], o);
  say(
    `nets: ${nets.map((n) => `${n.key} (${mods[n.model].params.toLocaleString("en-US")} params)`).join(", ")}; ` +
      `data ${train.name}: ${train.count} training, ${test.count} test images`,
  );

  // The batches: one seeded order per epoch, the same for every net.
  const perEpoch = Math.floor(train.count / o.batch);
  const orders = new Map();
  const batchAt = (step) => {
    const epoch = Math.floor(step / perEpoch);
    if (!orders.has(epoch)) orders.set(epoch, shuffledIndices(train.count, o.seed * 1000 + epoch));
    return gatherBatch(train, orders.get(epoch), (step % perEpoch) * o.batch, o.batch);
  };

  const curves = Object.fromEntries(nets.map((n) => [n.key, []]));
  const losses = Object.fromEntries(nets.map((n) => [n.key, []]));
  const times = Object.fromEntries(nets.map((n) => [n.key, []]));
  let total = o.steps ?? Infinity;
  let done = 0;
  let round = 0;
  let stoppedEarly = false;
  let evalEstimate = 0;
  const deadline = o.minutes * 60;
  // Round-robin: each net takes `n` steps (the same batches), then the next; who goes first rotates.
  const runRound = async (n) => {
    const order = nets.map((_, i) => nets[(i + round) % nets.length]);
    for (const net of order) {
      for (let s = done; s < done + n; s++) {
        const b = batchAt(s);
        const t = performance.now();
        const r = await trainers[net.key].step(b, paperLr(o.lr, s, total));
        times[net.key].push((performance.now() - t) / 1000);
        curves[net.key].push(r.error);
        losses[net.key].push(r.loss);
        if (!Number.isFinite(r.loss)) throw new Error(`${net.key} diverged at step ${s + 1} (loss ${r.loss})`);
      }
    }
    done += n;
    round++;
  };

  // Probe: the first steps of training; the first step of each net (warm-up) is not timed in.
  const probeSteps = Math.min(o.probe, total);
  await runRound(probeSteps);
  const secPerStep = Object.fromEntries(
    nets.map((n) => [n.key, median(times[n.key].slice(times[n.key].length > 1 ? 1 : 0))]),
  );
  const roundSec = Object.values(secPerStep).reduce((a, b) => a + b, 0);
  // Evaluation is forward only, ~1/3 of a training step per image; 1.5x for safety.
  evalEstimate = nets.reduce((s, n) => s + ((secPerStep[n.key] / o.batch) * test.count) / 2, 0) + 5;
  if (o.steps === undefined) {
    const left = deadline - elapsed() - evalEstimate - 15;
    total = Math.max(probeSteps, probeSteps + Math.floor(left / roundSec));
  }
  say(
    `probe: ${probeSteps} steps of batch ${o.batch} per net: ` +
      nets.map((n) => `${n.key} ${secPerStep[n.key].toFixed(2)} s/step`).join(", ") +
      `; plan: ${total} steps per net (${((total * o.batch) / train.count).toFixed(2)} epochs), ` +
      `round-robin chunks of ${o.chunk}, lr ${o.lr} /10 at steps ${Math.floor(total * 0.5)} and ` +
      `${Math.floor(total * 0.75)}, ~${Math.round(evalEstimate)} s for the test set`,
  );

  // Re-planning: until 40% of the steps (the rate stays at its base until 50%, so no step already
  // taken changes its rate), the step count follows the throughput measured so far, so that a
  // machine that got busier or quieter after the probe still ends on schedule.
  const planFrom = { at: elapsed(), done };
  let lastReport = Date.now();
  while (done < total) {
    if (o.steps === undefined && done - planFrom.done >= o.chunk && done < 0.4 * total) {
      const rate = (elapsed() - planFrom.at) / (done - planFrom.done);
      const replanned = Math.max(done + 1, done + Math.floor((deadline - elapsed() - evalEstimate - 15) / rate));
      if (replanned !== total) {
        if (Math.abs(replanned - total) > 0.05 * total)
          say(`re-plan at step ${done}: ${replanned} steps (measured ${rate.toFixed(1)} s per round of steps)`);
        total = replanned;
      }
    }
    const sinceProbe = done > planFrom.done ? (elapsed() - planFrom.at) / (done - planFrom.done) : roundSec;
    if (o.steps === undefined && elapsed() + sinceProbe * Math.min(o.chunk, total - done) > deadline - evalEstimate) {
      stoppedEarly = true;
      say(`time budget reached at step ${done} of ${total}: stopping every net here`);
      break;
    }
    await runRound(Math.min(o.chunk, total - done));
    if (Date.now() - lastReport > 30_000 || done === total) {
      lastReport = Date.now();
      const w = Math.max(1, Math.ceil(done * o.frac));
      say(
        `step ${String(done).padStart(5)}/${total}  ${elapsed().toFixed(0).padStart(5)} s  training error ` +
          `(last ${w} steps): ` +
          nets.map((n) => `${n.key} ${pct(tailMean(curves[n.key].slice(-w), 1))}`).join("  "),
      );
    }
  }

  const testErrors = {};
  for (const n of nets) {
    const t = trainers[n.key];
    const ev = await evaluate(t.model, test, Math.max(o.batch, 64), t.dims, t.classes);
    testErrors[n.key] = 1 - ev.accuracy;
  }
  const ord = orderings(curves, o.depths, o.frac);
  for (const n of nets) trainers[n.key].model.dispose();
  return {
    backend: backend.name,
    data: train.name,
    trainCount: train.count,
    testCount: test.count,
    nets,
    params: Object.fromEntries(nets.map((n) => [n.key, mods[n.model].params])),
    steps: done,
    planned: total,
    stoppedEarly,
    curves,
    losses,
    secPerStep: Object.fromEntries(nets.map((n) => [n.key, median(times[n.key])])),
    testErrors,
    orderings: ord,
    seconds: elapsed(),
    options: o,
  };
}

/** The one-line JSON summary of a run (numbers rounded for reading). */
export function summaryJson(r, extra = {}) {
  const r4 = (x) => (Number.isFinite(x) ? +x.toFixed(4) : null);
  const o = r.options;
  return {
    bench: "degradation",
    backend: r.backend,
    data: r.data,
    ...extra,
    minutes_used: +(r.seconds / 60).toFixed(2),
    depths: o.depths,
    batch: o.batch,
    lr: o.lr,
    residual_bn_init: o.paperInit
      ? "gamma 1 everywhere (the paper's)"
      : "last BN of each branch at gamma 0 (std Basic)",
    schedule: "lr/10 at 50% and 75% of the steps",
    momentum: o.momentum,
    weight_decay: o.weightDecay,
    steps: r.steps,
    planned_steps: r.planned,
    stopped_early: r.stoppedEarly,
    epochs: +((r.steps * o.batch) / r.trainCount).toFixed(3),
    tail_steps: Math.max(1, Math.ceil(r.steps * o.frac)),
    test_images: r.testCount,
    nets: Object.fromEntries(
      r.nets.map((n) => [
        n.key,
        {
          params: r.params[n.key],
          train_error_tail: r4(r.orderings.tails[n.key]),
          test_error: r4(r.testErrors[n.key]),
          sec_per_step: r4(r.secPerStep[n.key]),
        },
      ]),
    ),
    orderings: {
      plain_deeper_trains_worse: r.orderings.plain_deeper_trains_worse,
      residual_deeper_at_least_as_good: r.orderings.residual_deeper_at_least_as_good,
      pairs: r.orderings.pairs,
      holds: r.orderings.holds,
    },
  };
}
