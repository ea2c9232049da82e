// The language server's incremental re-check (src/semantics/check-cache.ts) gives what a check from
// scratch gives: diagnostics, graphs, hovers, definitions, symbols and completions.
// Takes: a generated file (blocks with residuals, shortcuts, nested and named layers, loops, block
// parameters, a shared block, a model body long enough to be parsed in chunks) edited at random
// with a seeded generator, and every example file edited twice. Gives: after each edit, the
// answers of one Workspace that keeps its caches across edits compared with those of a fresh
// Workspace without caches and with a plain `check()`. Must not: pass without the caches having
// been used (replays and resolver hits are counted and must occur).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeHost } from "../src/cli/host.js";
import { check } from "../src/compiler.js";
import type { Graph } from "../src/ir/ir.js";
import { completions, definitionAt, hoverAt, symbols, Workspace, type Analysis } from "../src/lsp/analysis.js";
import { repoRoot } from "./helpers.js";

const BLOCKS = `# generated for the incremental re-check test
block Basic(c: int, stride: int = 1) {
  residual {
    conv(c, k=3, stride=stride) bn relu
    conv(c, k=3) bn
  }
  shortcut auto
  relu
}

block Pair(c: int) {
  Basic(c)
  Basic(c) as second
}

block Named(c: int, k: int = 3) {
  conv(c, k=k) as head bn relu
  let skip = conv(c, k=1) as side
  skip
}

block Looped(c: int, n: int = 2) {
  for i in 1..n {
    conv(c, k=3) bn relu
  }
}

block Wrap(c: int, inner: block = Basic) {
  inner(c)
  bn
}
`;

/** Lines of the model's body (`@`: a number of its own, so names written with `as` differ). */
const CALLS = [
  "Basic(16)",
  "Basic(16, stride=2)",
  "Basic(c=16)",
  "Pair(16)",
  "Named(16)",
  "Named(16, k=1)",
  "Looped(16)",
  "Looped(16, n=3)",
  "Wrap(16)",
  "Wrap(16, inner=Pair)",
  "Basic(16) * 2",
  "stage s@ { Basic(16) Pair(16) }",
  "Basic(16) as blk@",
  "Basic(16) body",
  "Basic(16) pair",
  "dropout(0.1)",
  "Basic(8)",
  "Named(32)",
];

/** Edits that keep the file mostly valid, and some that make it wrong on purpose. */
const TYPOS: [RegExp, string][] = [
  [/conv\(c, k=3\) bn\n/, "conv(c, k=1) bn\n"],
  [/conv\(c, k=3\) bn\n/, "conv(c, k=3) bn dropout(0.2)\n"],
  [/conv\(c, k=3\) bn\n/, "convv(c, k=3) bn\n"],
  [/as head/, "as side"],
  [/block Pair\(/, "block Pairs("],
  [/Basic\(c\) as second/, "Basic(c, q=1) as second"],
  [/inner\(c\)/, 'inner("c")'],
  [/for i in 1\.\.n/, "for i in 1..n + 1"],
  [/\n\nblock Looped/, "\n\nblock Basic(c: int) { relu }\n\nblock Looped"],
  [/^/, "# a comment that moves every span\n"],
  [/^# [^\n]*\n/, ""],
];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function model(lines: string[]): string {
  return (
    "model Net {\n  input x: f32[N, 16, 8, 8]\n  let body = share Basic(16)\n  let pair = share Pair(16)\n" +
    lines.map((l) => `  ${l}\n`).join("") +
    "  avgpool flatten dense(10)\n}\n"
  );
}

/** A graph as plain data (dims by their printed form). */
function plainGraph(g: Graph): unknown {
  return JSON.parse(
    JSON.stringify(g, (_k, v: unknown) =>
      v && typeof v === "object" && "key" in v && "terms" in v ? `dim:${(v as { key: string }).key}` : v,
    ),
  );
}

/** Everything the server answers about a document, as plain data, with queries at `offsets`. */
function answers(ws: Workspace, a: Analysis, offsets: number[]): unknown {
  const graphs = ws.graphsThrough(a);
  return JSON.parse(
    JSON.stringify({
      diagnostics: a.diagnostics,
      graphs: graphs.map(plainGraph),
      hovers: offsets.map((o) => hoverAt(a, o, graphs)),
      definitions: offsets.map((o) => definitionAt(a, ws.host, o)),
      symbols: a.asts.get(a.path) ? symbols(a.asts.get(a.path)!) : undefined,
      completions: completions(a).map((c) => `${c.kind} ${c.label} ${c.detail}`),
    }),
  );
}

/** What a plain check (no language server, no caches) gives for a file, as plain data. */
function plainCheck(dir: string, path: string): unknown {
  const r = check([path], nodeHost(dir));
  return JSON.parse(JSON.stringify({ diagnostics: r.diagnostics, graphs: r.graphs.map(plainGraph) }));
}

describe("incremental re-check", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "resnetc-lsp-inc-"));
    writeFileSync(join(dir, "package.json"), "{}\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const seed of [1, 2, 3]) {
    it(`gives a fresh check's answers after each of 40 random edits (seed ${seed})`, () => {
      const rand = rng(seed);
      let named = 0;
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const call = (): string => pick(CALLS).replace("@", String(++named));
      const abs = join(dir, `gen${seed}.resnet`);
      let blocks = BLOCKS;
      // Long enough (over 64 lines) for the model body to be parsed in chunks.
      const lines = Array.from({ length: 80 }, () => call());
      const ws = new Workspace(dir);
      const cache = ws.cache!;
      let replays = 0;
      let resolveHits = 0;
      const clean: boolean[] = [];
      for (let step = 0; step <= 40; step++) {
        if (step > 0) {
          const r = rand();
          if (r < 0.25) lines[Math.floor(rand() * lines.length)] = call();
          else if (r < 0.4) lines.splice(Math.floor(rand() * lines.length), 0, call());
          else if (r < 0.5 && lines.length > 70) lines.splice(Math.floor(rand() * lines.length), 1);
          else if (r < 0.6) lines.splice(Math.floor(rand() * lines.length), 0, "# a note");
          else if (r < 0.8) {
            const [re, to] = pick(TYPOS);
            blocks = blocks.replace(re, to);
          } else blocks = BLOCKS; // undo the block edits
        }
        const text = blocks + "\n" + model(lines);
        writeFileSync(abs, text);
        ws.setText(abs, text);
        cache.resetStats();
        const inc = ws.analyze(abs)!;
        replays += cache.stats.replays;
        resolveHits += cache.stats.resolveHits;
        const fresh = new Workspace(dir, { cache: false });
        fresh.setText(abs, text);
        const f = fresh.analyze(abs)!;
        const offsets = Array.from({ length: 12 }, () => Math.floor(rand() * text.length));
        expect(answers(ws, inc, offsets), `seed ${seed}, step ${step}`).toEqual(answers(fresh, f, offsets));
        const plain = plainCheck(dir, `gen${seed}.resnet`) as { diagnostics: unknown[]; graphs: unknown[] };
        expect(JSON.parse(JSON.stringify(inc.result.graphs.map(plainGraph)))).toEqual(plain.graphs);
        expect(JSON.parse(JSON.stringify(inc.result.diagnostics))).toEqual(plain.diagnostics);
        clean.push(!inc.diagnostics.some((d) => d.severity === "error"));
      }
      // The caches were used, and both clean and erroneous states were compared.
      expect(replays).toBeGreaterThan(100);
      expect(resolveHits).toBeGreaterThan(40);
      expect(clean).toContain(true);
      expect(clean).toContain(false);
    });
  }

  it("gives a fresh check's answers for every example, before and after edits that move its spans", () => {
    const ws = new Workspace(repoRoot);
    let replays = 0;
    for (const name of readdirSync(join(repoRoot, "examples")).filter((f) => f.endsWith(".resnet"))) {
      const abs = join(repoRoot, "examples", name);
      const original = readFileSync(abs, "utf8");
      // The first definition's first line gets a comment before it; then a blank line is
      // inserted after the first line of the last definition (a model), so only some spans move.
      const firstDef = original.search(/^(?:block|model)\b/m);
      const lastModel = original.lastIndexOf("\nmodel ") + 1;
      const afterHeader = original.indexOf("\n", lastModel) + 1;
      const texts = [
        original,
        original.slice(0, firstDef) + "# moved\n" + original.slice(firstDef),
        original.slice(0, afterHeader) + "\n" + original.slice(afterHeader),
      ];
      for (const [i, text] of texts.entries()) {
        ws.setText(abs, text);
        ws.cache!.resetStats();
        const inc = ws.analyze(abs)!;
        replays += ws.cache!.stats.replays;
        const fresh = new Workspace(repoRoot, { cache: false });
        fresh.setText(abs, text);
        const f = fresh.analyze(abs)!;
        const offsets = [0, firstDef + 10, afterHeader + 5, text.length - 20, Math.floor(text.length / 2)];
        expect(answers(ws, inc, offsets), `${name}, text ${i}`).toEqual(answers(fresh, f, offsets));
      }
      ws.close(abs);
    }
    expect(replays).toBeGreaterThan(100);
  });
});
