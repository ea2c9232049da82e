// A fuzz worker thread: builds and runs cases, and minimises failures, on request of fuzz.js.
// Takes: messages { type: "case", index } and { type: "minimise", index, text, same }.
// Gives: one reply per message with the case's outcome, or the minimised text.
// Must not: keep state between cases beyond the corpus (a case's result depends on (seed, index)
// alone); catch what it cannot attribute to the case (the pool treats a dead worker as a
// failure of the case it was running).

import { parentPort, workerData } from "node:worker_threads";
import { buildCase, loadCorpus } from "./cases.js";
import { minimise } from "./minimise.js";
import { normaliseMessage, runCase } from "./oracle.js";

const { seed, repoRoot, tsEvery, ort } = workerData;
const corpus = loadCorpus(repoRoot);

/** Runs a case's text with the case's other files. */
async function outcomeOf(c, text, index) {
  const files = new Map(c.files);
  files.set(c.root, text);
  return runCase(files, c.root, { pick: index, ort, keepTs: false });
}

parentPort.on("message", async (m) => {
  const c = buildCase(corpus, seed, m.index);
  if (m.type === "case") {
    const r = await runCase(c.files, c.root, { pick: m.index, ort, keepTs: tsEvery > 0 && m.index % tsEvery === 0 });
    parentPort.postMessage({
      index: m.index,
      origin: c.origin,
      applied: c.applied,
      ...r,
      text: r.outcome === "ok" || r.outcome === "diagnostics" ? undefined : c.files.get(c.root),
    });
  } else if (m.type === "minimise") {
    const want = `${m.kind}: ${normaliseMessage(m.message)}`;
    const same = async (text) => {
      const r = await outcomeOf(c, text, m.index);
      return r.failure !== undefined && `${r.failure.kind}: ${normaliseMessage(r.failure.message)}` === want;
    };
    const r = await minimise(m.text, same, { seconds: m.seconds });
    parentPort.postMessage({ index: m.index, minimised: r.text, attempts: r.attempts });
  }
});
