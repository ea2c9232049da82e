// Structure-aware mutations of .resnet source: the fuzzer's first source of programs.
// Takes: a seed program (an example, the standard library, a bad program), the rest of the
// corpus to splice from, and a random stream. Gives: a mutated program that stays mostly
// well-formed: whole statements (lines) deleted, duplicated, swapped or spliced in from another
// file; numbers turned into edge values; names turned into keywords, other ops, long names or
// names that clash; op arguments added or changed; expressions nested deeply.
// Must not: parse with the compiler's own parser (a mutation must not depend on the code under
// test agreeing with it); produce text that depends on anything but its inputs.

import { allOps } from "../dist/semantics/ops/index.js";

const OPS = allOps();
export const OP_NAMES = OPS.flatMap((o) => [o.name, ...(o.aliases ?? [])]);
const KEYWORDS = [
  "import",
  "block",
  "model",
  "input",
  "output",
  "let",
  "for",
  "in",
  "if",
  "else",
  "when",
  "residual",
  "shortcut",
  "expect",
  "stage",
  "true",
  "false",
  "and",
  "or",
  "not",
];
const WORDS = [
  "identity",
  "auto",
  "pad",
  "project",
  "avgproject",
  "none",
  "same",
  "valid",
  "zeros",
  "ones",
  "kaiming",
  "add",
  "mul",
  "concat",
  "iand",
  "nearest",
  "linear",
  "shape",
  "len",
  "min",
  "max",
  "ceil",
  "floor",
  "round",
  "sqrt",
  "abs",
  "int",
  "float",
  "N",
  "_",
  "C",
  "H",
  "W",
  "S",
];
/** The values where off-by-one, overflow and float handling go wrong. */
const EDGE_NUMBERS = [
  "0",
  "1",
  "-1",
  "2",
  "3",
  "7",
  "16",
  "255",
  "65536",
  "100000",
  "100001",
  "50000",
  "2147483647",
  "2147483648",
  "4294967296",
  "9007199254740993",
  "1" + "0".repeat(40),
  "1e308",
  "1e-320",
  "0.5",
  "1.5",
  "0.0",
  "-0.0",
  "2.5e3",
  "1e5",
];
const NEST_DEPTHS = [2, 5, 20, 60, 120, 150, 400, 1500, 10000];

/** Tokens that keep the text exactly: joining them gives the input back. */
export function tokenize(text) {
  // One group per kind, in the order of `kinds`; joined with | into one alternation.
  const re = new RegExp(
    [
      /(#[^\n]*)/,
      /(\n)/,
      /([ \t\r\f\u00a0\ufeff]+)/,
      /("[^"\n]*"?)/,
      /(\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)/,
      /(\d+)/,
      /([A-Za-z_][A-Za-z0-9_]*)/,
      /(\.\.|\/\/|==|!=|<=|>=)/,
      /([\s\S])/,
    ]
      .map((part) => part.source)
      .join("|"),
    "g",
  );
  const kinds = ["comment", "newline", "space", "string", "float", "int", "name", "op", "punct"];
  const out = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const k = m.slice(1).findIndex((g) => g !== undefined);
    out.push({ kind: kinds[k], text: m[0] });
  }
  return out;
}

const join = (toks) => toks.map((t) => t.text).join("");
const indexes = (toks, pred) => toks.flatMap((t, i) => (pred(t, i) ? [i] : []));

/** A plausible or edge value for an op argument of this type. */
function argValue(r, type) {
  if (r.chance(0.3)) return r.pick(EDGE_NUMBERS);
  if (type === "int") return String(r.pick([1, 2, 3, 4, 8, 16]));
  if (type === "float") return r.pick(["0.1", "0.5", "1e-5", "0", "1"]);
  if (type === "bool") return r.pick(["true", "false"]);
  if (type === "ints") return r.chance(0.7) ? String(r.pick([1, 2, 3, 5])) : `[${r.int(1, 3)}, ${r.int(1, 3)}]`;
  if (type.orInts && r.chance(0.5)) return String(r.pick([0, 1, 2, 3, 4]));
  return r.pick(type.enum);
}

/** `op(args)` for a random op with random arguments, usually of the right types. */
export function randomCall(r) {
  const op = r.pick(OPS);
  const name = r.pick([op.name, ...(op.aliases ?? [])]);
  const args = op.args
    .filter((a) => a.default === undefined || r.chance(0.4))
    .map((a) => `${a.name}=${argValue(r, a.type)}`);
  if (op.arity === "many") return r.chance(0.5) ? `${name}(identity)` : name;
  return args.length || r.chance(0.3) ? `${name}(${args.join(", ")})` : name;
}

/** The lines of a `block ... { }` definition (brace-balanced), or undefined. */
function blockSpans(text) {
  const lines = text.split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*block\s/.test(lines[i])) continue;
    let depth = 0;
    for (let j = i; j < lines.length; j++) {
      for (const ch of lines[j].replace(/#.*/, "")) depth += ch === "{" ? 1 : ch === "}" ? -1 : 0;
      if (depth <= 0 && j > i - 1 && lines[j].includes("}")) {
        out.push(lines.slice(i, j + 1).join("\n"));
        break;
      }
    }
  }
  return out;
}

/** Each mutation takes (text, r, corpus) and gives the new text (or the same text when it does
 * not apply). */
const mutations = {
  deleteLine(text, r) {
    const lines = text.split("\n");
    lines.splice(r.int(0, lines.length - 1), 1);
    return lines.join("\n");
  },
  duplicateLine(text, r) {
    const lines = text.split("\n");
    const i = r.int(0, lines.length - 1);
    lines.splice(i, 0, ...Array(r.pick([1, 1, 2, 5])).fill(lines[i]));
    return lines.join("\n");
  },
  swapLines(text, r) {
    const lines = text.split("\n");
    const i = r.int(0, lines.length - 1);
    const j = r.int(0, lines.length - 1);
    [lines[i], lines[j]] = [lines[j], lines[i]];
    return lines.join("\n");
  },
  edgeNumber(text, r) {
    const toks = tokenize(text);
    const nums = indexes(toks, (t) => t.kind === "int" || t.kind === "float");
    if (!nums.length) return text;
    toks[r.pick(nums)].text = r.pick(EDGE_NUMBERS);
    return join(toks);
  },
  rename(text, r) {
    const toks = tokenize(text);
    const names = indexes(toks, (t) => t.kind === "name");
    if (!names.length) return text;
    const i = r.pick(names);
    const old = toks[i].text;
    const fileNames = [...new Set(names.map((k) => toks[k].text))];
    const replacement = r.weighted([
      [3, () => r.pick(KEYWORDS)],
      [3, () => r.pick(OP_NAMES)],
      [2, () => r.pick(WORDS)],
      [3, () => r.pick(fileNames)], // a clash with another name of the same file
      [1, () => "x".repeat(r.pick([64, 1000, 100000]))],
      [1, () => `${old}_${r.int(0, 9)}`],
      [
        1,
        () =>
          r.pick([
            "class",
            "tf",
            "rt",
            "yield",
            "constructor",
            "__proto__",
            "prototype",
            "toString",
            "output",
            "input1",
            "image",
          ]),
      ],
    ])();
    // Every occurrence, or just this one: renaming all keeps the program consistent.
    if (r.chance(0.5)) for (const k of names) if (toks[k].text === old) toks[k].text = replacement;
    toks[i].text = replacement;
    return join(toks);
  },
  changeOp(text, r) {
    const toks = tokenize(text);
    const ops = indexes(toks, (t) => t.kind === "name" && OP_NAMES.includes(t.text));
    if (!ops.length) return text;
    const i = r.pick(ops);
    // A bare op, or a call: replace the call with its parentheses.
    let end = i + 1;
    if (toks[end]?.text === "(") {
      let depth = 0;
      for (; end < toks.length; end++) {
        depth += toks[end].text === "(" ? 1 : toks[end].text === ")" ? -1 : 0;
        if (depth === 0) break;
      }
      end++;
    }
    toks.splice(i, end - i, { kind: "name", text: randomCall(r) });
    return join(toks);
  },
  addArg(text, r) {
    const toks = tokenize(text);
    const calls = indexes(toks, (t, k) => t.kind === "name" && toks[k + 1]?.text === "(");
    if (!calls.length) return text;
    const i = r.pick(calls);
    const op = OPS.find((o) => o.name === toks[i].text || o.aliases?.includes(toks[i].text));
    const spec =
      op && op.args.length
        ? r.pick(op.args)
        : { name: r.pick(["k", "stride", "padding", "axis", "groups", "c", "ceil", "dilation", "p"]), type: "int" };
    const arg = r.chance(0.2) ? argValue(r, spec.type) : `${spec.name}=${argValue(r, spec.type)}`;
    const empty = toks[i + 2]?.text === ")";
    toks[i + 1].text = empty ? `(${arg}` : `(${arg}, `;
    return join(toks);
  },
  nest(text, r) {
    const toks = tokenize(text);
    const names = indexes(toks, (t) => t.kind === "name" && (OP_NAMES.includes(t.text) || /^[A-Z]/.test(t.text)));
    if (!names.length) return text;
    const i = r.pick(names);
    const d = r.pick(NEST_DEPTHS);
    const t = toks[i].text;
    toks[i].text = r.weighted([
      [3, () => "(".repeat(d) + t + ")".repeat(d)],
      [1, () => `${t} ${`${t} `.repeat(d)}`],
      [1, () => `(${t}) * ${d}`],
      [1, () => `${t} + ${Array(Math.min(d, 2000)).fill("identity").join(" + ")}`],
      [1, () => `${"stage s { ".repeat(d)}${t}${" }".repeat(d)}`],
      [1, () => `${"residual { ".repeat(d)}${t}${" }".repeat(d)}`],
    ])();
    // Numbers and lists nest too: `- - - 3`, `[[[3]]]`.
    if (r.chance(0.2)) {
      const nums = indexes(toks, (x) => x.kind === "int");
      if (nums.length) {
        const k = r.pick(nums);
        toks[k].text = r.chance(0.5) ? "- ".repeat(d * 2) + toks[k].text : "[".repeat(d) + toks[k].text + "]".repeat(d);
      }
    }
    return join(toks);
  },
  splice(text, r, corpus) {
    const donor = r.pick(corpus);
    const blocks = blockSpans(donor);
    const lines = text.split("\n");
    const at = r.int(0, lines.length);
    if (blocks.length && r.chance(0.6)) lines.splice(at, 0, r.pick(blocks));
    else {
      const dl = donor.split("\n");
      const a = r.int(0, dl.length - 1);
      lines.splice(at, 0, ...dl.slice(a, a + r.int(1, 6)));
    }
    return lines.join("\n");
  },
  repeat(text, r) {
    const toks = tokenize(text);
    const names = indexes(toks, (t) => t.kind === "name" && (OP_NAMES.includes(t.text) || /^[A-Z]/.test(t.text)));
    if (!names.length) return text;
    toks[r.pick(names)].text += ` * ${r.pick(["0", "1", "3", "100", "100000", "100001", "-1", "2.5", "1000000000"])}`;
    return join(toks);
  },
  insertToken(text, r) {
    const toks = tokenize(text);
    const k = r.int(0, toks.length);
    toks.splice(k, 0, {
      kind: "punct",
      text: r.pick([
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ",",
        "=",
        "..",
        "*",
        "-",
        "\n",
        ";",
        '"',
        "#",
        "\u0000",
        "é",
        "\ud83d\ude00",
        ...KEYWORDS,
      ]),
    });
    return join(toks);
  },
  truncate(text, r) {
    return text.slice(0, r.int(0, text.length));
  },
  statement(text, r) {
    // A generated statement inside some body: a call, a residual unit, a let, an expect.
    const lines = text.split("\n");
    const inBody = indexes(lines, (l) => /^\s+\S/.test(l));
    if (!inBody.length) return text;
    const at = r.pick(inBody);
    const indent = /^\s*/.exec(lines[at])[0];
    const stmt = r.weighted([
      [4, () => `${randomCall(r)} ${randomCall(r)}`],
      [
        2,
        () => {
          const args = r.pick([
            "",
            "merge=concat",
            "scale=0.1",
            "gate=0",
            "layerscale=1e-5",
            "drop_path=0.2",
            "merge=mul",
            "merge=and",
          ]);
          const body = randomCall(r);
          const shortcut = r.pick(["auto", "identity", "pad", "project", "avgproject", "none", "{ bn }"]);
          return `residual(${args}) { ${body} } shortcut ${shortcut}`;
        },
      ],
      [1, () => `let ${r.pick(["x", "h", "y", "image", "relu"])} = ${randomCall(r)}`],
      [1, () => `expect [${r.pick(["N, _, _, _", "N, 64, 7, 7", "_", "N, C", "N, C, H, W"])}]`],
      [1, () => `output ${r.pick(["", "o = ", "image = ", "conv1 = ", "output = "])}${randomCall(r)}`],
      [
        1,
        () =>
          `input ${r.pick(["x", "image", "y"])}: ` +
          `f32[${r.pick(["N, 3, 8, 8", "N, 16", "N, 4, 8", "1, 1, 1, 1", "N, 0, 8, 8"])}]`,
      ],
    ])();
    lines.splice(at + r.int(0, 1), 0, indent + stmt);
    return lines.join("\n");
  },
};

const WEIGHTS = [
  [3, "deleteLine"],
  [2, "duplicateLine"],
  [2, "swapLines"],
  [5, "edgeNumber"],
  [4, "rename"],
  [5, "changeOp"],
  [5, "addArg"],
  [2, "nest"],
  [2, "splice"],
  [2, "repeat"],
  [1, "insertToken"],
  [1, "truncate"],
  [5, "statement"],
];

/** One to four mutations of `text`; the names of those applied are returned for the report. */
export function mutate(text, r, corpus) {
  const applied = [];
  const n = r.weighted([
    [5, 1],
    [3, 2],
    [1, 3],
    [1, 4],
  ]);
  for (let k = 0; k < n; k++) {
    const m = r.weighted(WEIGHTS);
    text = mutations[m](text, r, corpus);
    applied.push(m);
  }
  return { text, applied };
}
