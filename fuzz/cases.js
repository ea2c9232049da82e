// The fuzz corpus and case construction.
// Takes: the repository's examples/, std/ and test/bad/ programs (read once, from disk, by the
// fuzzer: the compiler only ever sees them through an in-memory Host), a seed and a case number.
// Gives: case N of seed S: the files of a small in-memory project, the root file to check, and
// where it came from. Must not: depend on anything but (seed, N) and the corpus, so a failure
// can be reproduced with `--seed S --case N`.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "./generate.js";
import { mutate } from "./mutate.js";
import { rngFor } from "./rng.js";

const CORPUS_DIRS = ["examples", "std", "test/bad"];

/** path (relative to the repository, as imports see it) -> text. */
export function loadCorpus(repoRoot) {
  const files = new Map();
  for (const dir of CORPUS_DIRS)
    for (const f of readdirSync(join(repoRoot, dir))
      .filter((x) => x.endsWith(".resnet"))
      .sort())
      files.set(`${dir}/${f}`, readFileSync(join(repoRoot, dir, f), "utf8"));
  return files;
}

/** Case `index` of `seed`: { files, root, origin, applied }. */
export function buildCase(corpus, seed, index) {
  const r = rngFor(seed, index);
  const paths = [...corpus.keys()];
  const texts = [...corpus.values()];
  const files = new Map(corpus);
  if (r.chance(0.4)) {
    let text = generate(r);
    const applied = ["generate"];
    // Some generated programs are mutated too: valid programs one edit away from the edge.
    if (r.chance(0.2)) {
      const m = mutate(text, r, texts);
      text = m.text;
      applied.push(...m.applied);
    }
    files.set("gen/case.resnet", text);
    return { files, root: "gen/case.resnet", origin: "generated", applied };
  }
  const origin = r.pick(paths);
  const m = mutate(corpus.get(origin), r, texts);
  // The mutant replaces its original, so its relative imports (and imports of it) still work.
  files.set(origin, m.text);
  return { files, root: origin, origin, applied: m.applied };
}
