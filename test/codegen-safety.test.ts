// Hostile input cannot inject code (hardening issue, finding 1): user strings, file names and
// names reach the emitted TypeScript only through src/emit/escape.ts, and identifiers are
// generated. Each case here ran attacker code, or failed to compile, before that.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { tscStrict } from "../scripts/tsc-strict.js";
import { describe, expect, it } from "vitest";
import { commentText, IdentAllocator, tsLiteral } from "../src/emit/escape.js";
import { fitLine, pyStr } from "../src/emit/torch/python.js";
import { repoRoot, runCliAsync } from "./helpers.js";

// Inside the repository, so the emitted `@resnetc/runtime` import resolves for tsc.
const work = join(repoRoot, "out", "codegen-safety");
const bin = join(repoRoot, "bin", "resnetc.js");

/** The text of every token of a TypeScript source except comments and string/template literals. */
function codeOutsideCommentsAndStrings(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.ES2022, false, ts.LanguageVariant.Standard, text);
  const parts: string[] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (
      k === ts.SyntaxKind.SingleLineCommentTrivia ||
      k === ts.SyntaxKind.MultiLineCommentTrivia ||
      k === ts.SyntaxKind.StringLiteral ||
      k === ts.SyntaxKind.NoSubstitutionTemplateLiteral
    )
      continue;
    parts.push(scanner.getTokenText());
  }
  return parts.join(" ");
}

function typeCheck(files: string[]): void {
  const r = tscStrict(files, repoRoot);
  expect(r.output).toBe("");
  expect(r.status).toBe(0);
}

/** Compiles `source` (saved as `fileName` in a fresh folder) to TypeScript; returns the folder. */
async function compileTs(name: string, fileName: string, source: string): Promise<string> {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  mkdirSync(dirname(join(dir, fileName)), { recursive: true });
  writeFileSync(join(dir, fileName), source);
  const r = await runCliAsync(["compile", fileName, "--target", "ts", "-o", "ts"], dir);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return join(dir, "ts");
}

const PAYLOADS = [
  "*/ console.log('INJECTED ' + 6 * 7) /*",
  "`; console.log('INJECTED ' + 6 * 7); `",
  "${console.log('INJECTED ' + 6 * 7)}",
  "\u2028console.log('INJECTED ' + 6 * 7)\u2029",
  "\r console.log('INJECTED ' + 6 * 7) \r",
  "\\'); console.log('INJECTED ' + 6 * 7); ('\\",
];

describe("strings in .resnet files", () => {
  it("cannot close the block's doc comment or any literal: `train --help` runs no injected code", async () => {
    // As a string argument, inside a list argument (a parameter whose default is a list), and
    // inside a block passed as an argument: every path by which an argument reaches a doc comment.
    // Also through a shared block (`share`), a shared block passed as an argument, a stage
    // without a name, an int-defaulted parameter given a string, a residual unit as an
    // expression and an indexed stage.
    const calls = PAYLOADS.flatMap((p, i) => [
      `  B(tag="${p}")`,
      `  L(t=["${p}", "a"])`,
      `  W(attn=B(tag="${p}"))`,
      `  let s${i} = share B(tag="${p}")`,
      `  s${i} W(attn=s${i})`,
      `  stage { B(tag="${p}") I(t="${p}") }`,
      // Stop 12's routes: a residual unit as an expression (repeated), an indexed stage.
      `  (residual { B(tag="${p}") }) * 2`,
      `  stage q${i}[${i}] { B(tag="${p}") }`,
      // Stop 21's: a `when` choice of blocks, a block-typed default, a model's str parameter.
      `  W(attn=B(tag="${p}") when true else none)`,
      `  D${i}`,
      `  B(tag=s)`,
    ]);
    const src =
      `block B(tag: str = "x") {\n  relu\n}\nblock L(t = [1, 2]) {\n  relu\n}\nblock I(t = 3) {\n  relu\n}\n` +
      `block W(attn: block = none) {\n  attn\n}\n` +
      PAYLOADS.map((p, i) => `block D${i}(attn: block = B(tag="${p}")) {\n  attn\n}\n`).join("") +
      `model M(s: str = "${PAYLOADS[0]}") {\n  input x: f32[N, 3, 4, 4]\n${calls.join("\n")}\n` +
      `  flatten dense(2)\n}\n`;
    const dir = await compileTs("strings", "m.resnet", src);
    const model = readFileSync(join(dir, "model.ts"), "utf8");
    // No text of a string argument reaches the generated code, not even inside a comment: the
    // block's doc comment gives the string's length. The code still type-checks.
    expect(model).not.toContain("INJECTED");
    expect(model).not.toContain("console.log");
    expect(model).toMatch(/\/\*\* B\(tag=<string of \d+ characters>\)/);
    expect(model).toMatch(/\/\*\* L\(t=\[<string of \d+ characters>, <string of 1 characters>\]\)/);
    expect(model).toMatch(/\/\*\* W\(attn=B\(tag=<string of \d+ characters>\)\)/);
    typeCheck([join(dir, "model.ts"), join(dir, "train.ts")]);
    // Before the fix, the first payload made this print INJECTED 42.
    const r = spawnSync(process.execPath, [bin, "train", join(work, "strings", "m.resnet"), "--help"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.stdout + r.stderr).not.toContain("INJECTED");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--epochs");
  }, 180_000);

  it("a file name with a newline, `*/` and quotes stays inside the header and location comments", async () => {
    // A folder name may hold `*/`; a file name a newline, quotes, backticks and U+2028.
    const name = "x */ y/evil\nconsole.log('INJECTED_FILE') \u2028`${1}`.resnet";
    const dir = await compileTs("filename", name, "model M {\n  input x: f32[N, 4]\n  dense(2)\n}\n");
    for (const f of ["model.ts", "train.ts"]) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(text).toContain("INJECTED_FILE"); // it is there, escaped, in comments
      expect(codeOutsideCommentsAndStrings(text)).not.toContain("INJECTED");
    }
    typeCheck([join(dir, "model.ts"), join(dir, "train.ts")]);
  }, 120_000);
});

describe("ONNX doc strings and the --text listing", () => {
  it("a file name with a newline cannot forge listing lines or carry control characters", async () => {
    const dir = join(work, "onnx-text");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const name = "a\nnode forged = Evil()\u001b[2J.resnet";
    writeFileSync(join(dir, name), "model M {\n  input x: f32[N, 4]\n  dense(2) relu\n}\n");
    const r = await runCliAsync(["compile", name, "--target", "onnx", "-o", "m.onnx", "--text"], dir);
    expect(r.code).toBe(0);
    const listing = r.stdout.split("\n").slice(0, -1); // the last line is the summary
    expect(listing.length).toBeGreaterThanOrEqual(5);
    for (const line of listing) expect(line).toMatch(/^(model|input|init|node|output) [\x20-\x7e]*$/);
    expect(listing.some((l) => l.startsWith("node forged"))).toBe(false);
    expect(r.stdout).toContain("/a\\u000anode forged = Evil()\\u001b[2J.resnet:3:3");
  });
});

describe("names in .resnet files", () => {
  it("TypeScript keywords and the emitter's own names as input and value names compile and type-check", async () => {
    const src = [
      "model M {",
      "  input class: f32[N, 4]",
      "  input rt: f32[N, 4]",
      "  input yield: f32[N, 4]",
      "  input buildModel: f32[N, 4]",
      "  let tf = class + rt",
      "  let x = tf + yield",
      "  let name = x + buildModel",
      "  output dense(2)(name)",
      "}",
      "",
    ].join("\n");
    const dir = await compileTs("keywords", "k.resnet", src);
    typeCheck([join(dir, "model.ts"), join(dir, "train.ts")]);
    const model = readFileSync(join(dir, "model.ts"), "utf8");
    // The ONNX and tfjs input names are the user's, as strings; the variables are generated.
    expect(model).toContain('rt.input({ name: "class"');
    expect(model).not.toMatch(/const (class|rt|yield|tf|x|name|buildModel) =/);
  }, 120_000);
});

describe("escape.ts", () => {
  it("tsLiteral gives one-line literals that evaluate back to the input", () => {
    for (const s of [...PAYLOADS, "plain", "", "\u0000\u001b[31m"]) {
      const lit = tsLiteral(s);
      expect(lit).not.toMatch(/[\n\r\u2028\u2029]/);
      expect(new Function(`return ${lit};`)()).toBe(s);
    }
  });

  it("commentText is printable ASCII that cannot end a comment", () => {
    for (const s of [...PAYLOADS, "a*/b", "x\ny", "\u001b[2J"]) {
      const c = commentText(s);
      expect(c).toMatch(/^[\x20-\x7e]*$/);
      expect(c).not.toContain("*/");
    }
    expect(commentText("examples/resnet18.resnet:3:5")).toBe("examples/resnet18.resnet:3:5");
  });

  it("IdentAllocator: prefixed, valid, unique, short, and linear when many names collide", () => {
    const ids = new IdentAllocator("v_");
    const made = ["a.b", "a_b", "a.b", "class", "1x", "a_b_2", "é"].map((n) => ids.fresh(n));
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(id).toMatch(/^v_[A-Za-z0-9_]*$/);
    // 20,000 names that share one 48-character base: suffixes come from a counter (no rescans).
    const long = new IdentAllocator("v_");
    const many = Array.from({ length: 20_000 }, () => long.fresh("s".repeat(100_000)));
    expect(new Set(many).size).toBe(20_000);
    for (const id of many) expect(id.length).toBeLessThan(60);
  });
});

// ---- --target torch: the same guarantees for the generated Python (src/emit/torch/python.ts) ----

const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "pipe" }).status === 0;

/** The tokens of a Python source other than comments and string literals (Python's tokenize). */
function pythonCode(path: string): string {
  const script =
    "import io, sys, tokenize\n" +
    "src = open(sys.argv[1], encoding='ascii').read()\n" +
    "toks = tokenize.generate_tokens(io.StringIO(src).readline)\n" +
    "print(' '.join(t.string for t in toks if t.type not in (tokenize.COMMENT, tokenize.STRING)))\n";
  const r = spawnSync(PYTHON, ["-c", script, path], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return r.stdout;
}

/** Compiles `source` (saved as `fileName` in a fresh folder) to PyTorch; returns model.py's path. */
async function compileTorch(name: string, fileName: string, source: string): Promise<string> {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(join(dir, fileName)), { recursive: true });
  writeFileSync(join(dir, fileName), source);
  const r = await runCliAsync(["compile", fileName, "--target", "torch", "-o", "py"], dir);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const path = join(dir, "py", "model.py");
  const text = readFileSync(path, "utf8");
  expect(text).toMatch(/^[\x20-\x7e\n]*$/); // ASCII, no control characters
  expect(text.split("\n").filter((l) => l.length > 120)).toEqual([]);
  const c = spawnSync(PYTHON, ["-m", "py_compile", path], { encoding: "utf8" });
  expect(c.stderr).toBe("");
  return path;
}

/** .resnet strings hold no `"` and no newline; everything else can be there. */
const PY_PAYLOADS = [
  "'''; __import__('os').system('echo INJECTED'); '''",
  "\\'); print('INJECTED') #",
  "\r__import__('os').system('echo INJECTED')\r",
  "\u2028print('INJECTED')\u2029",
  "\u001b[2J print('INJECTED') \\",
];

describe("Python (--target torch)", () => {
  it("string arguments, file names and block arguments stay out of the code; importing runs nothing", async () => {
    const calls = PY_PAYLOADS.flatMap((p, i) => [
      `  B(tag="${p}")`,
      `  let s${i} = share B(tag="${p}")`,
      `  s${i} W(attn=s${i})`,
      `  stage { B(tag="${p}") }`,
    ]);
    const src =
      `block B(tag: str = "x") {\n  conv(3) relu\n}\nblock W(attn: block = none) {\n  attn\n}\n` +
      `model M {\n  input x: f32[N, 3, 4, 4]\n${calls.join("\n")}\n  flatten dense(2)\n}\n`;
    const name = "x \"\"\" y/evil\n__import__('os').system('echo INJECTED_FILE') \u2028'.resnet";
    const path = await compileTorch("py-strings", name, src);
    const text = readFileSync(path, "utf8");
    // String arguments appear as their length only.
    expect(text).not.toContain("system('echo INJECTED')");
    expect(text).toMatch(/# B\(tag=<string of \d+ characters>\)/);
    expect(text).toContain("INJECTED_FILE"); // the file name is there, escaped, in comments
    expect(pythonCode(path)).not.toContain("INJECTED");
    if (hasTorch) {
      const argsDir = dirname(path);
      const run = spawnSync(
        PYTHON,
        [
          "-c",
          `import sys; sys.path.insert(0, ${JSON.stringify(argsDir)}); import model; model.MODELS['M'](); print('OK')`,
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
      expect(run.stdout + run.stderr).not.toContain("INJECTED");
      expect(run.stdout.trim()).toBe("OK");
    }
  }, 180_000);

  it("Python keywords, nn.Module attributes and the module's own names as model, input and layer names", async () => {
    const long = "very_long_layer_name_".repeat(12);
    const src = [
      "model torch {",
      "  input None: f32[N, 3, 6, 6]",
      "  input self: f32[N, 3, 6, 6]",
      "  let x = None + self",
      "  x conv(4) as forward bn as training relu conv(4) as eval bn as state_dict",
      `  stage F { conv(4) as nn conv(4) as MODELS conv(4) as ${long} }`,
      "  gap flatten dense(2) as INPUTS",
      "}",
      "model MODELS {",
      `  input ${long}: f32[N, 4]`,
      `  output class = ${long} dense(2) as _put`,
      "}",
      "",
    ].join("\n");
    const path = await compileTorch("py-names", "k.resnet", src);
    const text = readFileSync(path, "utf8");
    // Classes are named after the models where Python allows; MODELS keeps the models' own names.
    expect(text).toMatch(/^MODELS = \{\n {4}"torch": torch_2,\n {4}"MODELS": MODELS_2,\n\}$/m);
    if (!hasTorch) return;
    const script = [
      "import sys, torch as T",
      "sys.path.insert(0, sys.argv[1])",
      "import model",
      "for name, cls in model.MODELS.items():",
      "    m = cls()",
      "    print(name, ','.join(m.state_dict().keys()))",
      "    m.eval()",
      "    assert m.training is False",
      "    m.train()",
      "    assert m.training is True",
      "    print(name, tuple(m(*[T.randn(2, *s) for _, s in cls.INPUTS]).shape))",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", script, dirname(path)], { encoding: "utf8", timeout: 120_000 });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toContain("torch forward.weight,training.weight,training.bias,training.running_mean,");
    expect(lines[0]).toContain(`F.nn.weight,F.nn.bias,F.MODELS.weight,F.MODELS.bias,F.${long}.weight`);
    expect(lines[1]).toBe("torch (2, 2)");
    expect(lines[2]).toBe("MODELS _put.weight,_put.bias");
    expect(lines[3]).toBe("MODELS (2, 2)");
  }, 180_000);
});

describe("src/emit/torch/python.ts", () => {
  it("pyStr gives one-line ASCII literals that Python reads back as the input", () => {
    const inputs = [...PY_PAYLOADS, 'a"""\n\r\u2028b', "\u0000", "plain", "", "\ud800 lone", "\u{1f600}", "\\", '"'];
    for (const s of inputs) expect(pyStr(s)).toMatch(/^"[\x20-\x7e]*"$/);
    const r = spawnSync(
      PYTHON,
      ["-c", `import json, sys\nprint(json.dumps([${inputs.map(pyStr).join(", ")}], ensure_ascii=True))`],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual(inputs);
  });

  it("fitLine keeps lines within 120 columns without changing the statement", () => {
    const name = "n".repeat(300) + '"\\';
    const line = `_put(self, ${pyStr(name)}, nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False))`;
    const lines = fitLine("        ", line);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(120);
    const direct = spawnSync(PYTHON, ["-c", "import ast, sys\nprint(ast.dump(ast.parse(sys.stdin.read())))"], {
      encoding: "utf8",
      input: line,
    });
    expect(direct.stderr).toBe("");
    const reparsed = spawnSync(
      PYTHON,
      ["-c", `import ast, sys\nprint(ast.dump(ast.parse(sys.stdin.read().strip())))`],
      { encoding: "utf8", input: lines.map((l) => l.trim()).join("\n") },
    );
    expect(reparsed.stdout).toBe(direct.stdout);
  });
});
