// The formatter (src/fmt) and `resnetc fmt`: idempotent on every example, standard-library file and
// parsing bad program; never changes what a model compiles to; keeps every comment; one canonical
// style; --check exit codes; a file that does not parse is reported where it fails and left alone.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkFile } from "../src/api.js";
import { emitOnnx, OPSET_DEFAULT } from "../src/emit/onnx/emit.js";
import { formatSource } from "../src/fmt/format.js";
import { lex } from "../src/syntax/lexer.js";
import { parseSource } from "../src/syntax/parse.js";
import { repoRoot, runCliAsync } from "./helpers.js";

const resnetFiles = (dir: string): string[] =>
  readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith(".resnet"))
    .sort()
    .map((f) => `${dir}/${f}`);
const read = (rel: string): string => readFileSync(join(repoRoot, rel), "utf8");

async function fmt(text: string, file = "test.resnet"): Promise<string> {
  const r = await formatSource(file, text);
  if (!r.ok) throw new Error(`does not parse: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.text;
}

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "resnetc-fmt-"));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/**
 * The same program with its whitespace spoiled, from the lexer's tokens (comments and strings are never
 * touched). `lines` false: within lines only (no indentation, spaces around `=` and after `,`, trailing
 * blanks), so the layout choices the formatter keeps (blank lines, one-line bodies) stay as they were.
 * `lines` true: also a line break after every comma (inside brackets, where the lexer ignores it) and
 * every blank line tripled.
 */
function spoil(text: string, lines: boolean): string {
  const { tokens } = lex(text);
  let out = "";
  let at = 0;
  for (const t of tokens) {
    out += text.slice(at, t.startOffset);
    if (t.tokenType.name === "Comma") out += lines ? ",\n" : ",  ";
    else if (t.tokenType.name === "Equals") out += " = ";
    else if (t.tokenType.name === "Newline" && t.image === "\n") out += lines ? "   \n\n\n" : "   \n";
    else out += t.image;
    at = t.endOffset! + 1;
  }
  out += text.slice(at);
  return out.replace(/^[ \t]+/gm, "");
}

describe("idempotent", { timeout: 60_000 }, () => {
  for (const file of [...resnetFiles("examples"), ...resnetFiles("std")]) {
    it(`${file}: formatting twice changes nothing`, async () => {
      const once = await fmt(read(file), file);
      expect(await fmt(once, file)).toBe(once);
      // A copy with its spacing spoiled comes out the same as the original does.
      const spoilt = spoil(read(file), false);
      expect(spoilt).not.toBe(read(file));
      expect(await fmt(spoilt, file)).toBe(once);
    });
  }

  it("every file of the bad-program corpus that parses (and no other) is formatted idempotently", async () => {
    let parsed = 0;
    let refused = 0;
    for (const file of resnetFiles("test/bad")) {
      const text = read(file);
      const syntaxOk = !parseSource(file, text)[1].some((d) => d.severity === "error");
      const r = await formatSource(file, text);
      expect(r.ok, file).toBe(syntaxOk);
      if (!r.ok) {
        refused++;
        continue;
      }
      parsed++;
      expect(await fmt(r.text, file), file).toBe(r.text);
    }
    expect(parsed).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(3);
  }, 120_000);
});

describe("meaning", { timeout: 60_000 }, () => {
  /** ONNX of every model in the file at `path`, node doc strings (source line:col) left out:
   * formatting moves lines, and only the locations may change. */
  function onnxOf(path: string): Uint8Array[] {
    const checked = checkFile(path);
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(checked.graphs.length).toBeGreaterThan(0);
    return checked.graphs.map((g) => {
      const r = emitOnnx(g, { opset: OPSET_DEFAULT, seed: 0 });
      expect(r.bytes).toBeDefined();
      return r.bytes!;
    });
  }

  it("every example model compiles to the same ONNX bytes before and after formatting", async () => {
    const dir = tempDir();
    let models = 0;
    for (const file of resnetFiles("examples")) {
      const text = read(file);
      const copy = join(dir, file.split("/").pop()!);
      writeFileSync(copy, text);
      const before = onnxOf(copy);
      // Formatted from a badly laid out copy, so the check means something once examples are formatted.
      const formatted = await fmt(spoil(text, true), file);
      expect(formatted).not.toBe(text);
      writeFileSync(copy, formatted);
      const after = onnxOf(copy);
      expect(after.length, file).toBe(before.length);
      for (const [i, b] of before.entries())
        expect(Buffer.compare(Buffer.from(after[i]!), Buffer.from(b)), file).toBe(0);
      models += before.length;
    }
    expect(models).toBeGreaterThan(20);
  }, 600_000);

  it("a call stays a call and two stages stay two stages", async () => {
    const src = "model M {\n  input x: f32[N, 3, 8, 8]\n  let a = relu (identity)\n  let b = (conv(8))(x)\n  b\n}\n";
    const out = await fmt(src);
    expect(out).toContain("let a = relu (identity)");
    expect(out).toContain("let b = (conv(8))(x)");
  });
});

describe("comments", { timeout: 60_000 }, () => {
  const src = `# header

import "std/resnet.resnet"   # why std
# before the block


block A(c: int,   # after c
        # own line in the parameters
        s: int = 1) {   # after the brace
  # first
  conv(c, k=3)  bn;relu # after relu


  # middle

  let y = conv(
    16, # sixteen
    # before k
    k = 3
    # before the paren
  )
  residual { conv(c) bn }
  shortcut auto
  stage t {
    # only a comment
  }
  # last in the body
}
model M { input x: f32[N, 3, 8, 8]; A(3) }
# end of file
`;
  const texts = (s: string): string[] => lex(s).comments.map((c) => c.image.trimEnd());

  it("every comment survives, in order, and formatting is idempotent", async () => {
    const out = await fmt(src);
    expect(texts(out)).toEqual(texts(src));
    expect(texts(src).length).toBe(15);
    expect(await fmt(out)).toBe(out);
  });

  it("comments stay where they were: after their code, or on their own line", async () => {
    const out = await fmt(src);
    expect(out).toContain('import "std/resnet.resnet"  # why std\n# before the block\n\nblock A(\n');
    expect(out).toContain(
      "  c: int,  # after c\n  # own line in the parameters\n  s: int = 1\n) {  # after the brace\n",
    );
    expect(out).toContain("  # first\n  conv(c, k=3) bn\n  relu  # after relu\n\n  # middle\n\n  let y = conv(\n");
    expect(out).toContain("    16,  # sixteen\n    # before k\n    k=3\n    # before the paren\n  )\n");
    expect(out).toContain("  stage t {\n    # only a comment\n  }\n  # last in the body\n}\n");
    expect(out.endsWith("}\n\n# end of file\n")).toBe(true);
  });

  it("own-line comments where a statement goes on: before `else`, `shortcut`, an operand in brackets", async () => {
    for (const src of [
      "block A(c: int) {\n  if c > 1 {\n    relu\n  }\n  # why\n  else {\n    bn\n  }\n}\n",
      "block A(c: int) {\n  residual { relu }\n  # why\n  shortcut auto\n}\n",
      "block A(c: int) {\n  residual {\n    relu\n  }\n  # why\n  shortcut auto\n}\n",
      "block A(c: int) {\n  let y = (c\n  # why\n  + 1)\n  relu\n}\n",
      "block A(c: int) {\n  conv(\n    # lead\n    8,\n    # k\n    k=3\n  )\n}\n",
    ])
      expect(await fmt(src)).toBe(src);
  });

  it("line ends: CRLF becomes LF; a lone CR, whitespace to the lexer, stays whitespace", async () => {
    expect(await fmt("model M {\r\n  input x: f32[N, 3, 8, 8]  # c\r\n  relu\r\n}\r\n")).toBe(
      "model M {\n  input x: f32[N, 3, 8, 8]  # c\n  relu\n}\n",
    );
    expect(await fmt("model M {\n  input x: f32[N, 3, 8, 8]\n  conv(8)\rbn\n}\n")).toContain("\n  conv(8) bn\n");
  });
});

describe("canonical style", { timeout: 60_000 }, () => {
  it("one statement per line, two-space indent, spaces around operators, none around an argument's =", async () => {
    const src = "model M{input x:f32[N,3,8,8];conv(8,k = 3)bn;let n=2*3+1\nrelu}";
    expect(await fmt(src)).toBe(
      "model M {\n  input x: f32[N, 3, 8, 8]\n  conv(8, k=3) bn\n  let n = 2 * 3 + 1\n  relu\n}\n",
    );
  });

  it("blank lines: at most one kept, none after `{` or before `}`, one after each definition", async () => {
    const src = "block A(c: int) {\n\n  relu\n\n\n\n  bn\n\n}\nblock B(c: int) {\n  relu\n}\n\n\n\n";
    expect(await fmt(src)).toBe("block A(c: int) {\n  relu\n\n  bn\n}\n\nblock B(c: int) {\n  relu\n}\n");
  });

  it("a long list breaks one item per line, without a trailing comma; a short one stays on its line", async () => {
    const long = Array.from({ length: 12 }, (_, i) => `p${i}: int = ${i}`).join(", ");
    const out = await fmt(`block A(${long}) {\n  relu\n}\n`);
    expect(out).toBe(
      `block A(\n${Array.from({ length: 12 }, (_, i) => `  p${i}: int = ${i}`).join(",\n")}\n) {\n  relu\n}\n`,
    );
    expect(out.split("\n").every((l) => l.length <= 120)).toBe(true);
    expect(await fmt("block A(\n  c: int,\n  s: int\n) {\n  relu\n}\n")).toBe("block A(c: int, s: int) {\n  relu\n}\n");
  });

  it("a one-line nested body stays so while it fits; `shortcut` follows it, else starts the next line", async () => {
    const inline = "block A(c: int) {\n  residual { conv(c) bn } shortcut auto\n  stage s { relu }\n}\n";
    expect(await fmt(inline)).toBe(inline);
    expect(await fmt("block A(c: int) {\n  residual { conv(c) bn }\n  shortcut auto\n}\n")).toBe(
      "block A(c: int) {\n  residual { conv(c) bn } shortcut auto\n}\n",
    );
    const broken = "block A(c: int) {\n  residual {\n    conv(c) bn\n  } shortcut auto\n}\n";
    expect(await fmt(broken)).toBe("block A(c: int) {\n  residual {\n    conv(c) bn\n  }\n  shortcut auto\n}\n");
    const wide = `block A(c: int) {\n  residual { ${"conv(c, k=3) bn relu ".repeat(5)}} shortcut auto\n}\n`;
    const out = await fmt(wide);
    expect(out).toMatch(/^ {2}residual \{\n {4}conv\(c, k=3\)[^\n]*\n {2}\}\n {2}shortcut auto\n\}\n$/m);
    expect(await fmt(out)).toBe(out);
  });

  it("`else` follows the `}`", async () => {
    const src = "block A(c: int) {\n  if c > 1 { relu }\n  else if c < 0 { bn }\n  else { identity }\n}\n";
    expect(await fmt(src)).toBe("block A(c: int) {\n  if c > 1 { relu } else if c < 0 { bn } else { identity }\n}\n");
  });
});

describe("resnetc fmt", { timeout: 60_000 }, () => {
  const messy = "model M{input x:f32[N,3,8,8]\nconv(8,k = 3) bn relu}\n";

  it("--help", async () => {
    const r = await runCliAsync(["fmt", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: resnetc fmt \[--check\]/);
    expect((await runCliAsync(["--help"])).stdout).toMatch(/\n {2}fmt \[--check\]/);
  });

  it("--check lists unformatted files and exits 1 without writing; fmt writes them; then --check exits 0", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.resnet"), messy);
    writeFileSync(join(dir, "b.resnet"), await fmt(messy));
    let r = await runCliAsync(["fmt", "--check", "."], dir);
    expect(r.code).toBe(1);
    expect(r.stdout.split("\n")).toEqual(["a.resnet"]);
    expect(readFileSync(join(dir, "a.resnet"), "utf8")).toBe(messy);
    r = await runCliAsync(["fmt", "."], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("formatted a.resnet");
    expect(readFileSync(join(dir, "a.resnet"), "utf8")).toBe(await fmt(messy));
    r = await runCliAsync(["fmt", "--check", "a.resnet", "b.resnet"], dir);
    expect(r).toMatchObject({ code: 0, stdout: "" });
  });

  it("a file that does not parse gets a located error, exit 1, and is left untouched", async () => {
    const dir = tempDir();
    const bad = "model M {\n  input x: f32[N, 3, 8, 8]\n  conv(8,, k=3)\n}\n";
    writeFileSync(join(dir, "bad.resnet"), bad);
    writeFileSync(join(dir, "ok.resnet"), messy);
    const before = statSync(join(dir, "bad.resnet")).mtimeMs;
    const r = await runCliAsync(["fmt", "."], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bad\.resnet:3:10 error RN102 /m);
    expect(r.stderr).toContain("  3 |   conv(8,, k=3)");
    expect(readFileSync(join(dir, "bad.resnet"), "utf8")).toBe(bad);
    expect(statSync(join(dir, "bad.resnet")).mtimeMs).toBe(before);
    // The other files are still formatted.
    expect(readFileSync(join(dir, "ok.resnet"), "utf8")).toBe(await fmt(messy));
    expect((await runCliAsync(["fmt", "--check", "bad.resnet"], dir)).code).toBe(1);
  });

  it("usage errors exit 2", async () => {
    expect((await runCliAsync(["fmt"])).code).toBe(2);
    expect((await runCliAsync(["fmt", "no/such/dir"])).code).toBe(2);
    expect((await runCliAsync(["fmt", "--nope", "examples"])).code).toBe(2);
  });
});
