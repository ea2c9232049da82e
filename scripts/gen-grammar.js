// Writes the generated half of the grammar reference, from the built compiler (dist/):
//   grammar/diagrams.html  railroad diagrams of every rule of src/syntax/parser.ts
//   grammar/ops.md         the built-in ops with their arguments and defaults, from the op
//                          registry (src/semantics/ops/), plus the parameter types and scalar
//                          functions of src/semantics/builtins.ts
// grammar/README.md is written by hand and links to both. Its examples are checked here too:
// every ```resnet block in it must pass `resnetc check` with exactly the diagnostics it names in
// comments (`# error RN113`, `# warning RN304`; none named: none allowed), so the reference
// cannot drift from the compiler. Fragments go in ```text blocks, which are not checked. Its EBNF
// must also name exactly the rules of parser.ts, so a new rule cannot go undocumented.
//
// Usage:  npm run docs                         (build, then write both files and check README.md;
//                                               also regenerates docs/diagnostics.md)
//         node scripts/gen-grammar.js --check  (write nothing; exit 1 when either file is out
//                                               of date or README.md disagrees with the
//                                               compiler; for a test, like gen-diagnostics.js's)
// Exit codes: 0 ok, 1 out of date or a README problem, 2 usage error or no dist/.
//
// Offline diagrams. Chevrotain's createSyntaxDiagramsCode() emits a page whose <link> and
// <script src> tags load the diagram renderer from unpkg.com, so the page is blank without a
// network. Its `resourceBase` and `css` options only change those URLs. We call it with
// placeholder URLs and replace each tag with the content of the same file from this install's
// node_modules/chevrotain/diagrams/ (railroad-diagrams.js, diagrams_builder.js,
// diagrams_behavior.js, main.js, diagrams.css: about 45 KB). The page is then self-contained: it
// opens from file://, from the npm package or from a repository checkout without node_modules.
// Rejected alternatives: a src pointing into ../node_modules (node_modules is not committed or
// shipped, so the page would be blank on GitHub and in the npm tarball), and rendering the SVG
// here in Node (possible, but it re-implements chevrotain's main.js, and the click-to-jump
// behaviour would still need diagrams_behavior.js inlined).
// Licences: chevrotain is Apache-2.0, its vendored railroad-diagrams CC0; a comment before each
// inlined file says where it came from, and railroad-diagrams keeps its own header.
//
// Determinism: the output depends only on the parser, the registry and the installed chevrotain
// version (pinned "~11.2.0"); no dates, no absolute paths, LF line endings. After upgrading
// chevrotain, run `npm run docs` and commit the new diagrams.html.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIAGRAMS = join(root, "grammar", "diagrams.html");
const OPS = join(root, "grammar", "ops.md");
const README = join(root, "grammar", "README.md");

const args = process.argv.slice(2);
const check = args.includes("--check");
if (args.some((a) => a !== "--check")) {
  console.error("usage: node scripts/gen-grammar.js [--check]");
  process.exit(2);
}

let parser,
  createSyntaxDiagramsCode,
  allOps,
  PARTS_OPS,
  describeArgType,
  PARAM_TYPES,
  SCALAR_FUNCTIONS,
  checkProgram,
  nodeHost;
try {
  ({ parser } = await import("../dist/syntax/parser.js"));
  ({ check: checkProgram } = await import("../dist/compiler.js"));
  ({ nodeHost } = await import("../dist/cli/host.js"));
  ({ allOps, PARTS_OPS, describeArgType } = await import("../dist/semantics/ops/index.js"));
  ({ PARAM_TYPES, SCALAR_FUNCTIONS } = await import("../dist/semantics/builtins.js"));
  ({ createSyntaxDiagramsCode } = await import("chevrotain"));
} catch (e) {
  console.error(`cannot load the compiler from dist/ (${e.message}): run \`npm run build\` first`);
  process.exit(2);
}

// ---- grammar/diagrams.html ----

/** The root of the chevrotain package that dist/syntax/parser.js itself imports. */
function chevrotainRoot() {
  const entry = createRequire(join(root, "dist", "syntax", "parser.js")).resolve("chevrotain");
  // entry is <root>/lib/src/api.js
  return join(dirname(entry), "..", "..");
}

function diagramsHtml() {
  const chevDir = chevrotainRoot();
  const version = JSON.parse(readFileSync(join(chevDir, "package.json"), "utf8")).version;
  const PLACEHOLDER = "resnetc-inline:";
  // Trailing spaces in chevrotain's template are dropped so that editors do not fight the check.
  const raw = createSyntaxDiagramsCode(parser.getSerializedGastProductions(), {
    resourceBase: PLACEHOLDER,
    css: `${PLACEHOLDER}diagrams.css`,
  }).replace(/[ \t]+$/gm, "");
  const inline = (file) => {
    const text = readFileSync(join(chevDir, "diagrams", file), "utf8")
      .replace(/\r\n/g, "\n")
      .trimEnd();
    if (/<\/(script|style)/i.test(text)) throw new Error(`${file} contains a closing tag and cannot be inlined`);
    return text;
  };
  const from = (file) =>
    `<!-- inlined from node_modules/chevrotain/diagrams/${file} ` +
    `(chevrotain ${version}; ${file.startsWith("vendor/") ? "CC0" : "Apache-2.0"}) -->`;
  let count = 0;
  // Function replacements: the inlined code contains `$` sequences that a string replacement would expand.
  let html = raw
    .replace(
      /<link rel='stylesheet' href='resnetc-inline:([^']+)'>/g,
      (_m, file) => (count++, `${from(file)}\n<style>\n${inline(file)}\n</style>`),
    )
    .replace(
      /<script src='resnetc-inline:([^']+)'><\/script>/g,
      (_m, file) => (count++, `${from(file)}\n<script>\n${inline(file)}\n</script>`),
    );
  const title = '<meta charset="utf-8">';
  if (
    count !== 5 ||
    !html.includes(title) ||
    html.includes(PLACEHOLDER) ||
    /<(script|link)\b[^>]*\b(src|href)\s*=/i.test(html)
  )
    throw new Error(
      `createSyntaxDiagramsCode() of chevrotain ${version} emits a page this script does not know how to inline; ` +
        `update scripts/gen-grammar.js`,
    );
  html = html.replace(title, `${title}\n<title>resnetc grammar: railroad diagrams</title>`);
  const banner = [
    "<!--",
    "  Railroad diagrams of the .resnet grammar, one per rule of src/syntax/parser.ts.",
    "  Generated by scripts/gen-grammar.js (`npm run docs`). DO NOT EDIT.",
    "  The renderer is inlined so that this page works offline. Reference: grammar/README.md.",
    "-->",
  ].join("\n");
  return `${banner}\n${html.trim()}\n`;
}

// ---- grammar/ops.md ----

function formatValue(v) {
  if (typeof v === "string") return `\`${v}\``;
  if (typeof v === "boolean") return `\`${v}\``;
  if (Array.isArray(v)) return `\`[${v.join(", ")}]\``;
  if (v !== 0 && Math.abs(v) < 1e-3) return `\`${v.toExponential()}\``;
  return `\`${v}\``;
}

const cell = (s) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function signature(op) {
  const parts = [];
  if (op.arity === "many") parts.push("tensor, ...");
  for (const a of op.args.filter((x) => x.positional))
    parts.push(a.default === undefined ? a.name : `${a.name}=${plain(a.default)}`);
  for (const a of op.args.filter((x) => !x.positional))
    parts.push(a.default === undefined ? `${a.name}=?` : `${a.name}=${plain(a.default)}`);
  return `${op.name}(${parts.join(", ")})`;
}

function plain(v) {
  if (Array.isArray(v)) return `[${v.join(", ")}]`;
  if (typeof v === "number" && v !== 0 && Math.abs(v) < 1e-3) return v.toExponential();
  return String(v);
}

function opsMarkdown() {
  const ops = allOps();
  const L = [
    "# Built-in operations",
    "",
    "<!-- Generated by scripts/gen-grammar.js (`npm run docs`) from the op registry in",
    "     src/semantics/ops/ and from src/semantics/builtins.ts. DO NOT EDIT. -->",
    "",
    "Every operation resnetc knows, as the compiler's registry defines it. The language itself is",
    "described in [README.md](README.md); blocks such as `Basic` and `Bottleneck` are written in the",
    "language, in [std/resnet.resnet](../std/resnet.resnet).",
    "",
    "How to read an entry:",
    "",
    "- An op is a pipeline stage: it applies to the value flowing through the pipeline",
    "  (`conv(64) bn relu`). Merge ops (`add`, `mul`, `concat`) take their tensors as positional",
    "  arguments instead (`concat(a, b)`); given only one, the flowing value comes first",
    "  (`concat(x)` is `concat(current, x)`).",
    "- Arguments with a position may be given without their name, in that order (`conv(64, 3)` is",
    "  `conv(out=64, k=3)`); the others must be named (`stride=2`). An argument without a default is",
    "  required (`=?` in the signature).",
    "- Types: `int`; `float` (an int is accepted); `bool` (`true` / `false`); `int or list of ints`",
    "  (`k=3`, `k=[1, 3]`: for a window, one int stands for every spatial dim and a list gives one",
    "  per spatial dim); enum words, written bare (`padding=same`, `init=zeros`).",
    "- An op named without parentheses takes its defaults: `relu` is `relu()`, `avgpool` is global",
    "  average pooling.",
    "",
    "## Index",
    "",
    "| op | aliases | family | summary |",
    "| --- | --- | --- | --- |",
  ];
  for (const op of ops)
    L.push(
      `| [\`${op.name}\`](#${op.name}) | ${cell((op.aliases ?? []).map((a) => `\`${a}\``).join(", "))} ` +
        `| ${op.family} | ${cell(op.summary)} |`,
    );
  L.push("");
  for (const op of ops) {
    L.push(`## ${op.name}`, "", `\`${signature(op)}\``, "");
    L.push(`${op.summary.charAt(0).toUpperCase()}${op.summary.slice(1)}.`, "");
    const facts = [`Family: ${op.family}.`];
    if (op.aliases?.length) facts.push(`Also called ${op.aliases.map((a) => `\`${a}\``).join(", ")}.`);
    facts.push(
      op.arity === "many"
        ? "Takes: the tensors given as positional arguments (with one, the flowing value and that one)."
        : "Takes: the flowing value.",
    );
    L.push(facts.join(" "), "");
    if (op.args.length === 0) {
      L.push("No arguments.", "");
      continue;
    }
    L.push("| argument | position | type | default | meaning |", "| --- | --- | --- | --- | --- |");
    let pos = 0;
    for (const a of op.args) {
      const where = a.positional ? String(++pos) : "named";
      const def = a.default === undefined ? "required" : formatValue(a.default);
      L.push(`| \`${a.name}\` | ${where} | ${cell(describeArgType(a.type))} | ${def} | ${cell(a.doc)} |`);
    }
    L.push("");
  }

  L.push(
    "## Parts of a tensor",
    "",
    "These cut the flowing value into a list of tensors, which `[i]` indexes (each part used is one",
    "`slice`); a merge given the list alone takes every part (`concat(xs)`).",
    "",
  );
  for (const p of PARTS_OPS) {
    L.push(`### ${p.name}`, "", `\`${signature({ ...p, arity: 1 })}\``, "");
    L.push(`${p.summary.charAt(0).toUpperCase()}${p.summary.slice(1)}.`, "");
    L.push("| argument | position | type | default | meaning |", "| --- | --- | --- | --- | --- |");
    let pos = 0;
    for (const a of p.args) {
      const where = a.positional ? String(++pos) : "named";
      const def = a.default === undefined ? "required" : formatValue(a.default);
      L.push(`| \`${a.name}\` | ${where} | ${cell(describeArgType(a.type))} | ${def} | ${cell(a.doc)} |`);
    }
    L.push("");
  }
  L.push(
    "## Parameter types",
    "",
    "The types a `block` or `model` parameter may declare (`c: int`, `sc: shortcut = auto`).",
    "",
  );
  L.push("| type | values |", "| --- | --- |");
  for (const [name, t] of Object.entries(PARAM_TYPES))
    L.push(`| \`${name}\` | ${typeof t === "string" ? t : cell(t.map((v) => `\`${v}\``).join(" | "))} |`);
  L.push("");
  L.push("## Scalar functions", "", "Usable wherever an expression is; see README.md for what each computes.", "");
  L.push([...SCALAR_FUNCTIONS].map((f) => `\`${f}\``).join(", "), "");
  return L.join("\n");
}

// ---- grammar/README.md: examples and EBNF ----

/** What is wrong with README.md: examples whose diagnostics are not the ones they name, and
 *  parser rules its EBNF misses (or has in excess). */
function readmeProblems() {
  const text = read(README);
  if (text === undefined) return { count: 0, problems: ["grammar/README.md is missing"] };
  const problems = [];
  let count = 0;
  const host = nodeHost(root);
  for (const m of text.matchAll(/^```resnet\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, m.index).split("\n").length + 1;
    const source = m[1];
    count++;
    // A name beside README.md, so `import "std/..."` and relative imports resolve as for a real file.
    const file = `grammar/README.md.line${line}.resnet`;
    const exampleHost = {
      ...host,
      readFile: (p) => (p === file ? new TextEncoder().encode(source) : host.readFile(p)),
    };
    const got = [
      ...new Set(checkProgram([file], exampleHost).diagnostics.map((d) => `${d.severity} ${d.code}`)),
    ].sort();
    const want = [
      ...new Set([...source.matchAll(/#.*?\b(error|warning) (RN\d{3})\b/g)].map((x) => `${x[1]} ${x[2]}`)),
    ].sort();
    if (got.join() !== want.join())
      problems.push(
        `grammar/README.md:${line}: example gives [${got.join(", ")}], its comments name [${want.join(", ")}]`,
      );
  }
  // The hand-written EBNF must have one line `rule = ...` per parser rule, with the same names.
  const rules = parser.getSerializedGastProductions().map((r) => r.name);
  const ebnf = [...text.matchAll(/^([a-z]\w*)\s+=/gm)].map((m) => m[1]);
  const missing = rules.filter((r) => !ebnf.includes(r));
  const extra = ebnf.filter((r) => !rules.includes(r));
  if (missing.length > 0) problems.push(`grammar/README.md: the EBNF lacks parser rule(s) ${missing.join(", ")}`);
  if (extra.length > 0)
    problems.push(`grammar/README.md: the EBNF has rule(s) ${extra.join(", ")} that parser.ts does not`);
  return { count, problems };
}

// ---- write or check ----

const outputs = [
  [DIAGRAMS, diagramsHtml()],
  [OPS, opsMarkdown()],
];

function read(path) {
  try {
    // CRLF from a Windows checkout is not a difference.
    return readFileSync(path, "utf8").replace(/\r\n/g, "\n");
  } catch {
    return undefined;
  }
}

const readme = readmeProblems();
if (readme.problems.length > 0) {
  console.error(
    `${readme.problems.join("\n")}\nupdate grammar/README.md (an example may name the diagnostics it expects: \`# ` +
      `error RN113\`), or fix the compiler`,
  );
  process.exitCode = 1;
} else console.log(`grammar/README.md: its ${readme.count} examples and its EBNF agree with the compiler`);

if (check) {
  const stale = outputs.filter(([path, text]) => read(path) !== text).map(([path]) => relative(root, path));
  if (stale.length > 0) {
    console.error(
      `out of date: ${stale.join(", ")}\nthe parser or the op registry changed since they were generated: run ` +
        `\`npm run docs\` and commit the result`,
    );
    process.exit(1);
  }
  console.log(`up to date: ${outputs.map(([p]) => relative(root, p)).join(", ")}`);
} else {
  for (const [path, text] of outputs) {
    if (read(path) === text) {
      console.log(`unchanged ${relative(root, path)}`);
      continue;
    }
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    console.log(`wrote ${relative(root, path)}`);
  }
}
