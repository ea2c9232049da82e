// Writes the generated half of the grammar reference, from the built compiler (dist/):
//   grammar/diagrams.html  railroad diagrams of every rule of src/syntax/parser.ts
//   grammar/ops.md         the built-in ops with their arguments and defaults, from the op
//                          registry (src/semantics/ops/), plus the parameter types and scalar
//                          functions of src/semantics/builtins.ts
// grammar/README.md is written by hand and links to both.
//
// Usage:  npm run grammar                      (build, then write both files)
//         node scripts/gen-grammar.js --check  (exit 1 when either file is out of date; a test
//                                               can run it, as test/docs.test.ts does for
//                                               scripts/gen-diagnostics.js)
//
// Offline diagrams. Chevrotain's createSyntaxDiagramsCode() emits a page whose <link> and
// <script src> tags load the diagram renderer from unpkg.com, so the page is blank without a
// network. Its `resourceBase` and `css` options only change those URLs. We call it with
// placeholder URLs and replace each tag with the content of the same file from this install's
// node_modules/chevrotain/diagrams/ (railroad-diagrams.js, diagrams_builder.js,
// diagrams_behavior.js, main.js, diagrams.css: about 45 KB). The page is then self-contained: it
// opens from file://, from the npm package or from a repository checkout without node_modules.
// Rejected alternatives: a src pointing into ../node_modules (node_modules is not committed or
// shipped, and the tarball's grammar/ would point nowhere), and rendering the SVG here in Node
// (railroad-diagrams needs a DOM for parts of it; we would be re-implementing main.js).
// Licences: chevrotain is Apache-2.0, railroad-diagrams CC0; each inlined file is marked with
// where it came from, and railroad-diagrams keeps its own header.
//
// Determinism: the output depends only on the parser, the registry and the installed chevrotain
// version (pinned "~11.2.0"); no dates, no absolute paths, LF line endings. After upgrading
// chevrotain, run `npm run grammar` and commit the new diagrams.html.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIAGRAMS = join(root, "grammar", "diagrams.html");
const OPS = join(root, "grammar", "ops.md");

const args = process.argv.slice(2);
const check = args.includes("--check");
if (args.some((a) => a !== "--check")) {
  console.error("usage: node scripts/gen-grammar.js [--check]");
  process.exit(2);
}

let parser, createSyntaxDiagramsCode, allOps, describeArgType, PARAM_TYPES, SCALAR_FUNCTIONS;
try {
  ({ parser } = await import("../dist/syntax/parser.js"));
  ({ allOps, describeArgType } = await import("../dist/semantics/ops/index.js"));
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
  const raw = createSyntaxDiagramsCode(parser.getSerializedGastProductions(), { resourceBase: PLACEHOLDER, css: `${PLACEHOLDER}diagrams.css` }).replace(/[ \t]+$/gm, "");
  const inline = (file) => {
    const text = readFileSync(join(chevDir, "diagrams", file), "utf8").replace(/\r\n/g, "\n").trimEnd();
    if (/<\/(script|style)/i.test(text)) throw new Error(`${file} contains a closing tag and cannot be inlined`);
    return text;
  };
  const from = (file) => `<!-- inlined from node_modules/chevrotain/diagrams/${file} (chevrotain ${version}, Apache-2.0) -->`;
  let count = 0;
  // Function replacements: the inlined code contains `$` sequences that a string replacement would expand.
  let html = raw
    .replace(/<link rel='stylesheet' href='resnetc-inline:([^']+)'>/g, (_m, file) => (count++, `${from(file)}\n<style>\n${inline(file)}\n</style>`))
    .replace(/<script src='resnetc-inline:([^']+)'><\/script>/g, (_m, file) => (count++, `${from(file)}\n<script>\n${inline(file)}\n</script>`));
  const title = '<meta charset="utf-8">';
  if (count !== 5 || !html.includes(title) || html.includes(PLACEHOLDER) || /<(script|link)\b[^>]*\b(src|href)\s*=/i.test(html))
    throw new Error(`createSyntaxDiagramsCode() of chevrotain ${version} emits a page this script does not know how to inline; update scripts/gen-grammar.js`);
  html = html.replace(title, `${title}\n<title>resnetc grammar: railroad diagrams</title>`);
  const banner = [
    "<!--",
    "  Railroad diagrams of the .resnet grammar, one per rule of src/syntax/parser.ts.",
    "  Generated by scripts/gen-grammar.js (`npm run grammar`). DO NOT EDIT.",
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
  for (const a of op.args.filter((x) => x.positional)) parts.push(a.default === undefined ? a.name : `${a.name}=${plain(a.default)}`);
  for (const a of op.args.filter((x) => !x.positional)) parts.push(a.default === undefined ? `${a.name}=?` : `${a.name}=${plain(a.default)}`);
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
    "<!-- Generated by scripts/gen-grammar.js (`npm run grammar`) from the op registry in",
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
    "  (one value for every spatial dim, or a list with one per spatial dim: `k=[1, 3]`); enum words,",
    "  written bare (`padding=same`, `init=zeros`).",
    "- An op named without parentheses takes its defaults: `relu` is `relu()`, `avgpool` is global",
    "  average pooling.",
    "",
    "## Index",
    "",
    "| op | aliases | family | summary |",
    "| --- | --- | --- | --- |",
  ];
  for (const op of ops) L.push(`| [\`${op.name}\`](#${op.name}) | ${cell((op.aliases ?? []).map((a) => `\`${a}\``).join(", "))} | ${op.family} | ${cell(op.summary)} |`);
  L.push("");
  for (const op of ops) {
    L.push(`## ${op.name}`, "", `\`${signature(op)}\``, "");
    L.push(`${op.summary.charAt(0).toUpperCase()}${op.summary.slice(1)}.`, "");
    const facts = [`Family: ${op.family}.`];
    if (op.aliases?.length) facts.push(`Also called ${op.aliases.map((a) => `\`${a}\``).join(", ")}.`);
    facts.push(op.arity === "many" ? "Takes: the tensors given as positional arguments (with one, the flowing value and that one)." : "Takes: the flowing value.");
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

  L.push("## Parameter types", "", "The types a `block` or `model` parameter may declare (`c: int`, `sc: shortcut = auto`).", "");
  L.push("| type | values |", "| --- | --- |");
  for (const [name, t] of Object.entries(PARAM_TYPES)) L.push(`| \`${name}\` | ${typeof t === "string" ? t : cell(t.map((v) => `\`${v}\``).join(" | "))} |`);
  L.push("");
  L.push("## Scalar functions", "", "Usable wherever an expression is; see README.md for what each computes.", "");
  L.push([...SCALAR_FUNCTIONS].map((f) => `\`${f}\``).join(", "), "");
  return L.join("\n");
}

// ---- write or check ----

const outputs = [
  [DIAGRAMS, diagramsHtml()],
  [OPS, opsMarkdown()],
];

const read = (path) => {
  try {
    // CRLF from a Windows checkout is not a difference.
    return readFileSync(path, "utf8").replace(/\r\n/g, "\n");
  } catch {
    return undefined;
  }
};

if (check) {
  const stale = outputs.filter(([path, text]) => read(path) !== text).map(([path]) => relative(root, path));
  if (stale.length > 0) {
    console.error(`out of date: ${stale.join(", ")}\nthe parser or the op registry changed since they were generated: run \`npm run grammar\` and commit the result`);
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
