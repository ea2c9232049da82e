// `resnetc lint` and `resnetc check` with eslint's habits: globs, --max-warnings, --quiet, -o,
// option mistakes, colour, config files, suppression comments, --fix, did-you-mean, --model
// mistakes, SARIF checked against the SARIF 2.1.0 schema, and check --watch.
// test/fixtures/sarif-schema-2.1.0.json is OASIS's SARIF 2.1.0 schema (JSON Schema draft-07, $id
// .../oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json), taken from the npm registry:
// @datadog/datadog-ci-plugin-sarif 5.25.0 bundles it (src/json-schema/sarif-schema-2.1.0.json) in
// dist/bundle.js, from which it was extracted as JSON, unchanged in content.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import ajvModule from "ajv";
import ajvFormats from "ajv-formats";
import { codesIn, checkSource, repoRoot, runCli, type DiagnosticProducers } from "./helpers.js";
import { editDistance } from "../src/semantics/builtins.js";
import { useColor } from "../src/cli/color.js";

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A temporary project (package.json marks its root) holding the given files. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "resnetc-lint-"));
  temps.push(dir);
  writeFileSync(join(dir, "package.json"), '{"name":"tmp"}\n');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const WARN = `model M {
  input x: f32[N, 3, 32, 32]
  conv(8, bias=true) bn relu
}
`;

/** The same program with a suppression per case (line 3 of WARN is the conv). */
const SUPPRESSED = `model M {
  input x: f32[N, 3, 32, 32]
  # resnetc-disable-next-line RN303 -- the bias is wanted here
  conv(8, bias=true) bn relu
  conv(8, bias=true) bn  # resnetc-disable-line RN303, RN304
  # resnetc-disable-next-line
  relu
  # resnetc-disable-line RN201
}
`;

/** Lints SUPPRESSED in a temporary project that is removed at once (docs.test.ts runs this
 * outside this file's afterAll). */
function lintSuppressed(): string {
  const dir = project({ "a.resnet": SUPPRESSED });
  try {
    return runCli(["lint", "a.resnet"], dir).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const diagnosticProducers: DiagnosticProducers = {
  "RN306 a suppression comment that suppresses nothing": () => codesIn(lintSuppressed()),
  "RN307 a suppression comment that names no code": () => codesIn(lintSuppressed()),
};

const bin = join(repoRoot, "bin", "resnetc.js");
function runBin(args: string[], cwd = repoRoot, env: Record<string, string | undefined> = {}) {
  const base = { ...process.env };
  delete base["FORCE_COLOR"];
  delete base["NO_COLOR"];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", env: { ...base, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sarifValidator() {
  const schema = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/sarif-schema-2.1.0.json"), "utf8"));
  // CommonJS modules: their classes are on `default` (module.exports.default) as their types say.
  const ajv = new ajvModule.default({ allErrors: true, strict: false });
  ajvFormats.default(ajv);
  return ajv.compile(schema);
}

describe("inputs: files, folders and quoted globs", () => {
  it("a quoted ** glob lints the same files as the folder", () => {
    const folder = runCli(["lint", "examples"]);
    const glob = runCli(["lint", "examples/**/*.resnet"]);
    const count = (s: string) => Number(/^(\d+) files linted/m.exec(s)?.[1]);
    expect(count(glob.stdout)).toBeGreaterThan(10);
    expect(count(glob.stdout)).toBe(count(folder.stdout));
    expect(glob.code).toBe(0);
  }, 120_000);
  it("a glob takes only the files it matches, and only .resnet files", () => {
    const r = runCli(["lint", "--format", "json", "test/bad/warn*.resnet"]);
    const j = JSON.parse(r.stdout);
    expect(j.files).toBe(1);
    expect(new Set(j.diagnostics.map((d: { file: string }) => d.file))).toEqual(new Set(["test/bad/warnings.resnet"]));
    expect(JSON.parse(runCli(["lint", "--format", "json", "test/bad/*"]).stdout).files).toBeGreaterThan(20);
  }, 120_000);
  it("a glob that climbs out of the project, or is absolute, is refused; one that matches nothing is an error", () => {
    const dir = project({ "in/a.resnet": WARN });
    writeFileSync(join(dir, "..", `outside-${process.pid}.resnet`), WARN);
    const out = runCli(["lint", "../../*.resnet"], join(dir, "in"));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/pattern \.\.\/\.\.\/\*\.resnet reaches outside the project root/);
    expect(runCli(["lint", `${tmpdir()}/*.resnet`], dir).stderr).toMatch(/is absolute/);
    rmSync(join(dir, "..", `outside-${process.pid}.resnet`));
    const none = runCli(["lint", "nothing/**/*.resnet"], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no \.resnet files match nothing\/\*\*\/\*\.resnet/);
  });
});

describe("--max-warnings, --quiet, -o", () => {
  // test/bad/warnings.resnet has 4 warnings and no error.
  it("--max-warnings N exits 1 only with more than N warnings", () => {
    expect(runCli(["lint", "test/bad/warnings.resnet", "--max-warnings", "4"]).code).toBe(0);
    const over = runCli(["lint", "test/bad/warnings.resnet", "--max-warnings", "3"]);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/4 warnings, more than --max-warnings 3/);
    expect(runCli(["lint", "test/bad/warnings.resnet", "--max-warnings", "many"]).code).toBe(2);
  });
  it("--quiet reports errors only, and the exit code still counts warnings for --max-warnings", () => {
    const q = JSON.parse(runCli(["lint", "--quiet", "--format", "json", "test/bad/independent-errors.resnet"]).stdout);
    expect(q.errors).toBeGreaterThan(0);
    expect(q.warnings).toBe(0);
    const w = runCli(["lint", "--quiet", "test/bad/warnings.resnet", "--max-warnings", "0"]);
    expect(w.stdout).toBe("1 file linted: 0 errors, 0 warnings");
    expect(w.code).toBe(1);
  });
  it("-o writes the report to a file (atomically: nothing else is left in the folder), not stdout", () => {
    const dir = mkdtempSync(join(tmpdir(), "resnetc-o-"));
    temps.push(dir);
    const r = runCli(["lint", "test/bad/warnings.resnet", "--format", "json", "-o", join(dir, "report.json")]);
    expect(r.stdout).toBe("");
    expect(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).warnings).toBe(4);
    expect(readdirSync(dir)).toEqual(["report.json"]);
    runCli(["lint", "test/bad/warnings.resnet", "--output-file", join(dir, "report.json"), "--quiet"]);
    expect(readFileSync(join(dir, "report.json"), "utf8")).toBe("1 file linted: 0 errors, 0 warnings\n");
  });
});

describe("a hostile file's control characters", () => {
  // ESC sequences (colour, an OSC window title, a cursor move up and line erase that would hide
  // the error line), BEL, a C1 CSI, DEL and a right-to-left override, in a string the error
  // message quotes and the excerpt shows.
  const nasty = "a\x1b[31mRED\x1b]0;title\x07\x1b[1A\x1b[2K\u009b2J\x7f\u202eevil";
  const text = `block B(c = 4) {\n  conv(c) relu\n}\nmodel M {\n  input x: f32[N, 3, 8, 8]\n  B(c=["${nasty}"])\n}\n`;
  const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
  it("reach neither the text report, the GitHub annotations nor the summary: each is shown as a symbol", () => {
    const dir = project({ "a.resnet": text });
    for (const format of ["text", "github"]) {
      const r = runCli(["lint", "--format", format, "a.resnet"], dir);
      expect(r.code).toBe(1);
      const out = `${r.stdout}\n${r.stderr}`;
      expect(out).toContain("RN115");
      expect(out).not.toMatch(INVISIBLE);
      expect(out).toContain("a\u241b[31mRED\u241b]0;title\u2407\u241b[1A\u241b[2K\ufffd2J\u2421\ufffdevil");
    }
    // The excerpt keeps its alignment: the caret under `B(` of line 6 starts where `B` does.
    const lines = runCli(["check", "a.resnet"], dir).stderr.split("\n");
    const i = lines.findIndex((l) => l.includes("6 |   B(c="));
    expect(lines[i + 1]!.indexOf("^")).toBe(lines[i]!.indexOf("B(c="));
    expect(lines[i + 1]!.length - lines[i + 1]!.indexOf("^")).toBe(lines[i]!.length - lines[i]!.indexOf("B(c="));
  });
  it("a long string or list is cut in the message, not quoted whole", () => {
    const long = "x".repeat(1000); // strings may be up to 1,024 characters (RN401)
    const list = Array.from({ length: 5000 }, (_, i) => i).join(", ");
    const dir = project({
      "a.resnet":
        `model M {\n  input x: f32[N, 3, 8, 8]\n  conv("${long}")\n}\n` +
        `model M2 {\n  input x: f32[N, 3, 8, 8]\n  conv([${list}])\n}\n`,
    });
    const r = runCli(["lint", "--format", "json", "a.resnet"], dir);
    const messages = JSON.parse(r.stdout).diagnostics.map((d: { message: string }) => d.message) as string[];
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('..." (1000 characters)');
    expect(messages[1]).toContain("[0, 1, 2, 3, 4, 5, 6, 7, ... (5000 items)]");
    for (const m of messages) expect(m.length).toBeLessThan(200);
  });
});

describe("option mistakes", () => {
  it("an unknown option gets the command's usage line and a did-you-mean, not Node's text", () => {
    const r = runCli(["lint", "--max-warning", "0", "examples"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^resnetc lint: unknown option --max-warning; did you mean --max-warnings\?$/m);
    expect(r.stderr).toMatch(/^usage: resnetc lint /m);
    expect(r.stderr).not.toMatch(/Unknown option|positional argument/);
    const c = runCli(["check", "--wacth", "examples"]);
    expect(c.stderr).toMatch(/unknown option --wacth; did you mean --watch\?/);
    expect(c.stderr).toMatch(/^usage: resnetc check /m);
    expect(runCli(["lint", "examples", "--format"]).stderr).toMatch(/--format needs a value/);
  });
});

describe("colour", () => {
  it("FORCE_COLOR wins, then NO_COLOR, then whether the stream is a terminal", () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: "1" })).toBe(false);
    expect(useColor(true, { TERM: "dumb" })).toBe(false);
    expect(useColor(false, { FORCE_COLOR: "1" })).toBe(true);
    expect(useColor(false, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(true);
    expect(useColor(true, { FORCE_COLOR: "0" })).toBe(false);
  });
  it("the installed command colours text output with FORCE_COLOR, never with NO_COLOR or into a pipe", () => {
    const forced = runBin(["lint", "test/bad/warnings.resnet"], repoRoot, { FORCE_COLOR: "1" });
    expect(forced.stdout).toContain("\x1b[33mwarning\x1b[0m");
    expect(runBin(["lint", "test/bad/warnings.resnet"]).stdout).not.toContain("\x1b[");
    expect(runBin(["lint", "test/bad/warnings.resnet"], repoRoot, { NO_COLOR: "1" }).stdout).not.toContain("\x1b[");
    // JSON and SARIF are never coloured.
    const json = runBin(["lint", "--format", "json", "test/bad/warnings.resnet"], repoRoot, { FORCE_COLOR: "1" });
    expect(JSON.parse(json.stdout).warnings).toBe(4);
  });
});

describe("config: resnetc.config.json or package.json's resnetc key", () => {
  it("sets severities per code, found from the working folder up to the project root", () => {
    const dir = project({ "models/a.resnet": WARN });
    const lintIn = (cwd: string) => runCli(["lint", "--format", "json", "a.resnet"], join(dir, cwd));
    expect(JSON.parse(lintIn("models").stdout).warnings).toBe(1);
    writeFileSync(join(dir, "resnetc.config.json"), '{"rules": {"RN303": "off"}}');
    expect(JSON.parse(lintIn("models").stdout).warnings).toBe(0);
    writeFileSync(join(dir, "resnetc.config.json"), '{"rules": {"RN303": "error"}}');
    const asError = lintIn("models");
    expect(asError.code).toBe(1);
    expect(JSON.parse(asError.stdout).diagnostics[0]).toMatchObject({ code: "RN303", severity: "error" });
    rmSync(join(dir, "resnetc.config.json"));
    writeFileSync(join(dir, "package.json"), '{"name": "tmp", "resnetc": {"rules": {"RN303": "off"}}}');
    expect(JSON.parse(lintIn("models").stdout).warnings).toBe(0);
  });
  it("a config above the project root is not read", () => {
    const outer = mkdtempSync(join(tmpdir(), "resnetc-outer-"));
    temps.push(outer);
    writeFileSync(join(outer, "resnetc.config.json"), '{"rules": {"RN303": "off"}}');
    mkdirSync(join(outer, "proj"));
    writeFileSync(join(outer, "proj", "package.json"), "{}");
    writeFileSync(join(outer, "proj", "a.resnet"), WARN);
    expect(JSON.parse(runCli(["lint", "--format", "json", "a.resnet"], join(outer, "proj")).stdout).warnings).toBe(1);
  });
  it("errors cannot be turned off, and unknown codes or levels are usage errors with a suggestion", () => {
    const bad = (config: string) => {
      const dir = project({ "a.resnet": WARN, "resnetc.config.json": config });
      return runCli(["lint", "a.resnet"], dir);
    };
    expect(bad('{"rules": {"RN201": "off"}}')).toMatchObject({ code: 2 });
    expect(bad('{"rules": {"RN201": "off"}}').stderr).toMatch(/RN201 is an error and cannot be set to "off"/);
    expect(bad('{"rules": {"RN330": "off"}}').stderr).toMatch(/"RN330" is not a resnetc diagnostic code; did you mean/);
    expect(bad('{"rules": {"RN303": "silent"}}').stderr).toMatch(/use "off", "warn" or "error"/);
    expect(bad('{"rule": {}}').stderr).toMatch(/unknown key "rule"; did you mean "rules"\?/);
    expect(bad("{not json").stderr).toMatch(/resnetc.config.json is not valid JSON/);
  });
});

describe("suppression comments", () => {
  it("suppress the named warning on their line, and report those that did nothing", () => {
    const r = runCli(["lint", "--format", "json", "a.resnet"], project({ "a.resnet": SUPPRESSED }));
    const j = JSON.parse(r.stdout);
    const got = j.diagnostics.map((d: { code: string; line: number; message: string }) => `${d.line} ${d.code}`);
    // Both RN303s are suppressed; RN304 on line 5 names nothing there; line 6 names no code;
    // line 8 names an error.
    expect(got).toEqual(["5 RN306", "6 RN307", "8 RN307"]);
    expect(j.diagnostics[2].message).toMatch(/RN201 is an error, and errors cannot be suppressed/);
  });
  it("a comment that is not a directive suppresses nothing", () => {
    const text = WARN.replace("conv(8, bias=true) bn relu", "conv(8, bias=true) bn relu  # resnetc-disable RN303");
    const r = runCli(["lint", "--format", "json", "a.resnet"], project({ "a.resnet": text }));
    expect(JSON.parse(r.stdout).diagnostics.map((d: { code: string }) => d.code)).toEqual(["RN303"]);
  });
  it("apply to check as well", () => {
    const text = WARN.replace("  conv(8", "  # resnetc-disable-next-line RN303\n  conv(8");
    const r = runCli(["check", "a.resnet", "--deny-warnings"], project({ "a.resnet": text }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(runCli(["check", "a.resnet", "--deny-warnings"], project({ "a.resnet": WARN })).code).toBe(1);
  });
});

describe("--fix", () => {
  it("drops a bias=true the norm cancels, writes the file, reports what it fixed and what remains", () => {
    const src = `block B(c: int, b: bool) {
  conv(c, k=3, bias=true) bn relu
  conv(c, bias = b) bn
}
model M {
  input x: f32[N, 3, 32, 32]
  B(8, b=true)
  conv(8, bias=true, k=1) bn
}
`;
    const dir = project({ "a.resnet": src });
    const r = runCli(["lint", "--fix", "--format", "json", "a.resnet"], dir);
    expect(r.stderr).toBe("fixed a.resnet: 2 RN303");
    const after = readFileSync(join(dir, "a.resnet"), "utf8");
    expect(after).toContain("  conv(c, k=3) bn relu\n");
    expect(after).toContain("  conv(8, k=1) bn\n");
    // A bias passed through a parameter is the caller's decision: reported, not rewritten.
    expect(after).toContain("conv(c, bias = b) bn");
    const left = JSON.parse(r.stdout).diagnostics.map((d: { code: string; line: number }) => `${d.line} ${d.code}`);
    expect(left).toEqual(["3 RN303"]);
    // The fixed file checks to the same model, less the two biases.
    expect(runCli(["check", "a.resnet"], dir).stdout).toMatch(/^a\.resnet: ok \(M /);
    expect(readdirSync(dir).sort()).toEqual(["a.resnet", "package.json"]);
  });
  it("without --fix nothing is written", () => {
    const dir = project({ "a.resnet": WARN });
    runCli(["lint", "a.resnet"], dir);
    expect(readFileSync(join(dir, "a.resnet"), "utf8")).toBe(WARN);
  });
});

describe("did you mean", () => {
  it("counts a swap of two letters as one edit", () => {
    expect(editDistance("rleu", "relu")).toBe(1);
    expect(editDistance("rleu", "len")).toBe(2);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
  it("offers relu for rleu, and a block in scope for its misspelling", () => {
    const r = checkSource("model M {\n  input x: f32[N, 3, 32, 32]\n  conv(8, k=3) bn rleu\n}\n");
    expect(r.diagnostics.map((d) => d.message)).toEqual(["unknown name `rleu`; did you mean `relu`?"]);
    const b = checkSource(
      "block Stem() { conv(8, k=3) bn relu }\nmodel M {\n  input x: f32[N, 3, 32, 32]\n  Setm()\n}\n",
    );
    expect(b.diagnostics.map((d) => d.message).join("\n")).toMatch(/did you mean `Stem`\?/);
  });
});

describe("--model", () => {
  it("a model that no file has is a usage error naming those that exist", () => {
    const r = runCli(["check", "examples/cifar-resnet.resnet", "--model", "ResNet21"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no model named `ResNet21` in examples\/cifar-resnet\.resnet; did you mean `ResNet20`\?/);
    expect(r.stderr).toMatch(/models there: ResNet20, ResNet32, ResNet44, ResNet56, ResNet110, ResNet1202/);
    expect(r.stderr).not.toMatch(/RN126|:1:1/);
  });
  it("with several files, those without the model are skipped", () => {
    const r = runCli(["check", "examples/cifar-resnet.resnet", "examples/resnet18.resnet", "--model", "ResNet20"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^examples\/cifar-resnet\.resnet: ok \(ResNet20 269,722 params/m);
    expect(r.stdout).toMatch(/^examples\/resnet18\.resnet: ok$/m);
  });
});

describe("SARIF", () => {
  const validate = sarifValidator();
  it("is valid SARIF 2.1.0, with a helpUri per rule into docs/diagnostics.md and URIs from the repository root", () => {
    const r = runCli(
      ["lint", "--format", "sarif", "independent-errors.resnet", "warnings.resnet"],
      join(repoRoot, "test/bad"),
    );
    const log = JSON.parse(r.stdout);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const run = log.runs[0];
    expect(run.originalUriBaseIds.SRCROOT.uri).toBe(pathToFileURL(repoRoot + "/").href);
    expect(run.results[0].locations[0].physicalLocation.artifactLocation).toEqual({
      uri: "test/bad/independent-errors.resnet",
      uriBaseId: "SRCROOT",
    });
    const docs = readFileSync(join(repoRoot, "docs/diagnostics.md"), "utf8");
    for (const rule of run.tool.driver.rules) {
      const anchor = /docs\/diagnostics\.md#(rn\d+)$/.exec(rule.helpUri)?.[1];
      expect(anchor).toBe(rule.id.toLowerCase());
      expect(docs).toContain(`<a id="${anchor}"></a>${rule.id} |`);
    }
  });
  it("a log that breaks the schema is caught (the validator is not vacuous)", () => {
    const log = JSON.parse(runCli(["lint", "--format", "sarif", "test/bad/warnings.resnet"]).stdout);
    log.runs[0].results[0].level = "fatal";
    expect(validate(log)).toBe(false);
  });
  it('`resnetc lint "examples/**/*.resnet" --max-warnings 0 --format sarif -o out.sarif` works as written', () => {
    const dir = mkdtempSync(join(tmpdir(), "resnetc-sarif-"));
    temps.push(dir);
    cpSync(join(repoRoot, "examples"), join(dir, "examples"), { recursive: true });
    writeFileSync(join(dir, "package.json"), "{}");
    const r = runBin(
      ["lint", "examples/**/*.resnet", "--max-warnings", "0", "--format", "sarif", "-o", "out.sarif"],
      dir,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const log = JSON.parse(readFileSync(join(dir, "out.sarif"), "utf8"));
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.runs[0].results).toEqual([]);
    expect(log.runs[0].originalUriBaseIds.SRCROOT.uri).toBe(pathToFileURL(dir + "/").href);
  }, 120_000);
});

describe("check --watch", () => {
  it("checks again when a file changes", async () => {
    const dir = project({ "a.resnet": WARN.replace("bias=true", "k=3") });
    const child = spawn(process.execPath, [bin, "check", "--watch", "a.resnet"], { cwd: dir });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (err += b));
    const until = async (what: () => boolean, ms: number) => {
      for (const t0 = Date.now(); !what();) {
        if (Date.now() - t0 > ms) throw new Error(`timed out; stdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(() => /waiting for changes/.test(err), 30_000);
      expect(out).toMatch(/^a\.resnet: ok \(M /);
      writeFileSync(join(dir, "a.resnet"), WARN.replace("relu", "rleu"));
      await until(() => out.split("\n").filter(Boolean).length >= 2, 30_000);
      expect(out.split("\n")[1]).toMatch(/^a\.resnet: errors/);
      expect(err).toMatch(/a\.resnet changed: checking again/);
      expect(err).toMatch(/unknown name `rleu`; did you mean `relu`\?/);
      // A config written beside it re-checks too: RN303 made an error.
      writeFileSync(join(dir, "a.resnet"), WARN);
      await until(() => out.split("\n").filter(Boolean).length >= 3, 30_000);
      expect(out.split("\n")[2]).toMatch(/^a\.resnet: ok \(M /);
      writeFileSync(join(dir, "resnetc.config.json"), '{"rules": {"RN303": "error"}}');
      await until(() => out.split("\n").filter(Boolean).length >= 4, 30_000);
      expect(out.split("\n")[3]).toMatch(/^a\.resnet: errors \(M /);
      expect(err).toMatch(/resnetc\.config\.json changed: checking again/);
    } finally {
      child.kill("SIGTERM");
    }
    const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on("exit", r)));
    expect(code).toBe(1);
    expect(existsSync(join(dir, "a.resnet"))).toBe(true);
  }, 90_000);
});
