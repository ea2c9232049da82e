// The structure-aware fuzzer (issue 16): `npm run fuzz -- --runs N --seed S`.
//
//   node fuzz/fuzz.js [--runs 1000] [--seed 1] [--jobs J] [--out out/fuzz-failures]
//                     [--ts-every 40] [--minimise 100] [--no-ort] [--case N]
//
// Takes: the options above; the repository's examples/, std/ and test/bad/ as seeds; dist/ (the
// built package: run `npm run build` first, which `npm run fuzz` does).
// Gives: a summary table and, last on stdout, one JSON line {runs, seed, ok, diagnostics,
// internalErrors, slow, invalidOnnx, shapeDisagreements, tsTypeErrors, oversized, skippedOrt,
// skippedEmit, seconds, casesPerSecond, distinct}; each distinct failure minimised and written to
// --out as a .resnet file whose header says what failed and how to reproduce it; exit 1 when any
// failure was found. Must not: write anywhere but --out and out/fuzz-ts (the TypeScript sample).
//
// How: case i of seed S is a function of (S, i) alone (cases.js), run in a pool of worker
// threads (worker.js) so a run uses every core; a case that runs past HARD_SECONDS is killed and
// counts as slow, a worker that dies counts as an internal error of its case. Each case goes
// through oracle.js: check through the public API with an in-memory Host, then for check-ok
// programs ONNX emission, ONNX Runtime with the shapes compared, and TypeScript emission; every
// --ts-every'th case keeps its formatted TypeScript, and the sample is type-checked under tsc
// --strict in one run at the end (typecheck.js).

import { availableParallelism } from "node:os";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { buildCase, loadCorpus } from "./cases.js";
import { normaliseMessage } from "./oracle.js";
import { typecheck } from "./typecheck.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** A case still running after this long is killed (a hang must not stop the run). */
const HARD_SECONDS = 30;
/** The kinds that fail the run, in the order the table shows them. */
export const FAILURE_KINDS = ["internalError", "slow", "invalidOnnx", "shapeDisagreement", "tsTypeError", "oversized"];

function parseArgs(argv) {
  const o = {
    runs: 1000,
    seed: 1,
    jobs: Math.min(availableParallelism(), 4),
    out: "out/fuzz-failures",
    tsEvery: 40,
    minimise: 100,
    minimiseSeconds: 10,
    ort: true,
    case: undefined,
  };
  const ints = {
    "--runs": "runs",
    "--seed": "seed",
    "--jobs": "jobs",
    "--ts-every": "tsEvery",
    "--minimise": "minimise",
    "--minimise-seconds": "minimiseSeconds",
    "--case": "case",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes("=") ? a.split(/=(.*)/s) : [a, undefined];
    if (flag === "--no-ort") o.ort = false;
    else if (flag === "--out") o.out = inline ?? argv[++i];
    else if (flag in ints) {
      const v = Number(inline ?? argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} wants a whole number, got ${inline ?? argv[i]}`);
      o[ints[flag]] = v;
    } else throw new Error(`unknown argument ${a} (see the comment at the top of fuzz/fuzz.js)`);
  }
  o.jobs = Math.max(1, o.jobs);
  return o;
}

/** Worker threads, each running one request at a time, each request under a deadline. */
class Pool {
  constructor(size, workerData) {
    this.workerData = workerData;
    this.slots = Array.from({ length: size }, () => this.spawn());
  }
  spawn() {
    // A 1 MiB stack, like the command line's main thread (a worker's default is 4): recursion
    // depth limits are then the ones users hit.
    const w = new Worker(new URL("./worker.js", import.meta.url), {
      workerData: this.workerData,
      resourceLimits: { stackSizeMb: 1, maxOldGenerationSizeMb: 3072 },
    });
    // Between requests nobody listens; an error then (a worker that fails to load) is seen by
    // the next request as a dead worker, not as an unhandled event that ends the run.
    w.on("error", () => {});
    return w;
  }
  /** Runs `msg` on slot `k`; resolves with the reply, or { dead: reason } after replacing the
   * worker when it died or ran past the deadline. */
  run(k, msg, seconds) {
    const w = this.slots[k];
    return new Promise((resolvePromise) => {
      let settled = false;
      const settle = (v, replace) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
        if (replace) {
          void w.terminate();
          this.slots[k] = this.spawn();
        }
        resolvePromise(v);
      };
      const onMessage = (m) => settle(m, false);
      const onError = (e) => settle({ dead: `${e?.code ?? e?.name ?? "Error"}: ${e?.message ?? e}` }, true);
      const onExit = (code) => settle({ dead: `worker exited with code ${code}` }, true);
      const timer = setTimeout(() => settle({ dead: `timeout`, timeout: true }, true), seconds * 1000);
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      w.postMessage(msg);
    });
  }
  close() {
    return Promise.all(this.slots.map((w) => w.terminate()));
  }
}

/** A case's outcome when its worker died. */
function deadOutcome(index, dead) {
  const kind = dead.timeout ? "slow" : "internalError";
  const message = dead.timeout ? `killed after ${HARD_SECONDS} s` : `the worker died: ${dead.dead}`;
  return {
    index,
    outcome: kind,
    failure: { kind, message, signature: `${kind}: ${normaliseMessage(message)}` },
    seconds: dead.timeout ? HARD_SECONDS : 0,
    skippedOrt: 0,
    skippedEmit: 0,
  };
}

function header(f, seed, count) {
  const lines = [
    `fuzz: ${f.kind}: ${f.failure.message}`,
    `found by: npm run fuzz -- --seed ${seed} --case ${f.index} ` +
      `(${f.origin}; ${f.applied.join(", ")})${f.minimised ? "; minimised" : ""}`,
    `cases with this failure in the run: ${count}`,
    `origin: ${f.origin}`,
  ];
  return lines.map((l) => `# ${l.replace(/[^\x20-\x7e]/g, "?").slice(0, 300)}`).join("\n");
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const corpus = loadCorpus(repoRoot);
  if (o.case !== undefined) {
    o.runs = 1;
  }
  const pool = new Pool(o.case !== undefined ? 1 : Math.min(o.jobs, Math.max(1, o.runs)), {
    seed: o.seed,
    repoRoot,
    tsEvery: o.tsEvery,
    ort: o.ort,
  });
  const results = new Array(o.runs);
  const indices = o.case !== undefined ? [o.case] : Array.from({ length: o.runs }, (_, i) => i);
  let next = 0;
  let done = 0;
  let lastReport = performance.now();
  const progress = () => {
    if (performance.now() - lastReport < 10_000) return;
    lastReport = performance.now();
    process.stderr.write(
      `fuzz: ${done}/${indices.length} cases, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
  };
  await Promise.all(
    pool.slots.map(async (_, k) => {
      while (next < indices.length) {
        const slot = next++;
        const index = indices[slot];
        const reply = await pool.run(k, { type: "case", index }, HARD_SECONDS);
        if (reply.dead) {
          const c = buildCase(corpus, o.seed, index);
          results[slot] = {
            ...deadOutcome(index, reply),
            origin: c.origin,
            applied: c.applied,
            text: c.files.get(c.root),
          };
        } else results[slot] = reply;
        done++;
        progress();
      }
    }),
  );

  if (o.case !== undefined) {
    const r = results[0];
    const c = buildCase(corpus, o.seed, o.case);
    const tsError = r.ts
      ? typecheck(new Map([[o.case, r.ts]]), join(repoRoot, "out", "fuzz-ts"), repoRoot).get(o.case)
      : undefined;
    if (tsError) Object.assign(r, { outcome: "tsTypeError", failure: { kind: "tsTypeError", message: tsError } });
    process.stdout.write(
      `${c.files.get(c.root)}\n---\n${c.origin}; ${c.applied.join(", ")}\n${r.outcome}` +
        `${r.failure ? `: ${r.failure.message}` : ""} (${r.seconds.toFixed(3)} s)\n`,
    );
    await pool.close();
    process.exitCode = r.failure ? 1 : 0;
    return;
  }

  // The TypeScript sample, type-checked in one tsc run.
  const samples = new Map(results.filter((r) => r.ts).map((r) => [r.index, r.ts]));
  const tsErrors = typecheck(samples, join(repoRoot, "out", "fuzz-ts"), repoRoot);
  for (const [index, message] of tsErrors) {
    const r = results.find((x) => x.index === index);
    const kind = "tsTypeError";
    r.outcome = kind;
    r.failure = { kind, message, signature: `${kind}: ${normaliseMessage(message)}` };
    const c = buildCase(corpus, o.seed, index);
    r.text = c.files.get(c.root);
  }

  const count = (k) => results.filter((r) => r.outcome === k).length;
  const failures = results.filter((r) => FAILURE_KINDS.includes(r.outcome));
  const bySignature = new Map();
  for (const f of failures) {
    const s = f.failure.signature;
    if (!bySignature.has(s)) bySignature.set(s, { first: { ...f, kind: f.outcome }, count: 0 });
    bySignature.get(s).count++;
  }

  // One minimised program per distinct failure (the first case that showed it). A type error
  // is kept as found: tsc per attempt would take minutes.
  const outDir = resolve(repoRoot, o.out);
  rmSync(outDir, { recursive: true, force: true });
  if (bySignature.size) mkdirSync(outDir, { recursive: true });
  const chosen = [...bySignature.values()].slice(0, o.minimise);
  let taken = 0;
  await Promise.all(
    pool.slots.map(async (_, k) => {
      while (taken < chosen.length) {
        const { first } = chosen[taken++];
        first.kept = first.text;
        if (first.kind === "tsTypeError" || first.kind === "slow") continue;
        const reply = await pool.run(
          k,
          {
            type: "minimise",
            index: first.index,
            text: first.text,
            kind: first.kind,
            message: first.failure.message,
            seconds: o.minimiseSeconds,
          },
          o.minimiseSeconds + HARD_SECONDS,
        );
        if (!reply.dead && reply.minimised.trim()) {
          first.kept = reply.minimised;
          first.minimised = true;
        }
      }
    }),
  );
  chosen.forEach(({ first, count: c }, n) => {
    const name = `${String(n + 1).padStart(2, "0")}-${first.kind}-case${first.index}.resnet`;
    writeFileSync(
      join(outDir, name),
      `${header(first, o.seed, c)}\n${first.kept}${first.kept.endsWith("\n") ? "" : "\n"}`,
    );
  });
  await pool.close();

  const seconds = (performance.now() - started) / 1000;
  const summary = {
    runs: o.runs,
    seed: o.seed,
    ok: count("ok"),
    diagnostics: count("diagnostics"),
    internalErrors: count("internalError"),
    slow: count("slow"),
    invalidOnnx: count("invalidOnnx"),
    shapeDisagreements: count("shapeDisagreement"),
    tsTypeErrors: count("tsTypeError"),
    oversized: count("oversized"),
    skippedOrt: results.reduce((a, r) => a + r.skippedOrt, 0),
    skippedEmit: results.reduce((a, r) => a + r.skippedEmit, 0),
    tsChecked: samples.size,
    generated: results.filter((r) => r.origin === "generated").length,
    distinct: bySignature.size,
    seconds: Number(seconds.toFixed(1)),
    casesPerSecond: Number((o.runs / seconds).toFixed(1)),
    jobs: pool.slots.length,
  };
  const rows = [
    ["ok", summary.ok],
    ["diagnostics (errors as data)", summary.diagnostics],
    ["internal errors", summary.internalErrors],
    [`slow (> 2 s; hard kill at ${HARD_SECONDS} s)`, summary.slow],
    ["check ok, invalid ONNX", summary.invalidOnnx],
    ["shape disagreements with ONNX Runtime", summary.shapeDisagreements],
    [`TypeScript type errors (of ${summary.tsChecked} checked)`, summary.tsTypeErrors],
    ["check ok, oversized", summary.oversized],
    ["skipped ONNX Runtime (large model)", summary.skippedOrt],
    ["skipped emitters (large model)", summary.skippedEmit],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const out = [
    `fuzz: ${o.runs} cases, seed ${o.seed}, ${summary.generated} generated, ${o.runs - summary.generated} ` +
      `mutated; ${seconds.toFixed(1)} s on ${summary.jobs} workers (${summary.casesPerSecond} cases/s)`,
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
  ];
  if (bySignature.size) {
    out.push(`distinct failures (${bySignature.size}; minimised into ${o.out}):`);
    for (const [s, { first, count: c }] of [...bySignature].sort((a, b) => b[1].count - a[1].count))
      out.push(`  ${String(c).padStart(5)}  ${s.slice(0, 150)}  (case ${first.index})`);
  }
  process.stdout.write(`${out.join("\n")}\n${JSON.stringify(summary)}\n`);
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`fuzz: ${err?.message ?? err}\n`);
  process.exitCode = 2;
});
