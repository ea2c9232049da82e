// The command line: commands, formats, exit codes (0 ok, 1 diagnostics, 2 usage or I/O).
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { codesIn, repoRoot, runCli, type DiagnosticProducers } from "./helpers.js";
import { check } from "../src/compiler.js";
import { nodeHost } from "../src/cli/host.js";

/** Codes only the command line produces (from a flag), run by test/docs.test.ts. */
export const diagnosticProducers: DiagnosticProducers = {
  // The command line answers a wrong --model with a usage error; the library API still gives RN126.
  "RN126 --model names no model in the file": () =>
    check(["examples/cifar-resnet.resnet"], nodeHost(repoRoot), { model: "ResNet21" }).diagnostics.map((d) => d.code),
  // A small model and a temp -o, so that a regression writes a small file nobody will commit.
  "RN601 --weights names a folder without a checkpoint": () =>
    codesIn(
      runCli([
        "compile",
        "examples/cifar-resnet.resnet",
        "--model",
        "ResNet20",
        "--target",
        "onnx",
        "--weights",
        "test/bad",
        "-o",
        join(tmpdir(), `resnetc-rn601-${process.pid}.onnx`),
      ]).stderr,
    ),
};

describe("help and usage", () => {
  it("every command has --help", () => {
    for (const cmd of [["--help"], ["check", "--help"], ["lint", "--help"], ["summary", "--help"]]) {
      const r = runCli(cmd);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/usage: resnetc/);
    }
  });
  it("no command, an unknown command or an unknown flag is a usage error (2)", () => {
    expect(runCli([]).code).toBe(2);
    expect(runCli(["frobnicate"])).toMatchObject({ code: 2 });
    expect(runCli(["lint", "--nope", "examples"]).code).toBe(2);
    expect(runCli(["lint", "--format", "xml", "examples"]).stderr).toMatch(/unknown --format xml/);
  });
  it("a missing input file is an I/O error (2), without a stack trace", () => {
    const r = runCli(["check", "no/such/file.resnet"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read no\/such\/file.resnet/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("check", () => {
  it("prints one line per file with each model's size", () => {
    const r = runCli(["check", "examples/resnet18.resnet"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("examples/resnet18.resnet: ok (ResNet18 11,689,512 params, 1.81G MACs)");
  });
  it("exit 1 on errors, 0 on warnings, 1 on warnings with --deny-warnings", () => {
    expect(runCli(["check", "test/bad/residual-add-mismatch.resnet"]).code).toBe(1);
    expect(runCli(["check", "test/bad/warnings.resnet"]).code).toBe(0);
    expect(runCli(["check", "--deny-warnings", "test/bad/warnings.resnet"]).code).toBe(1);
  });
});

describe("lint", () => {
  it("lints every .resnet file under a folder", () => {
    const r = runCli(["lint", "examples"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+ files linted: 0 errors, 0 warnings$/m);
  });
  it("--format github writes workflow annotations with file, line and col", () => {
    const r = runCli(["lint", "--format", "github", "test/bad/residual-add-mismatch.resnet"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      "::error file=test/bad/residual-add-mismatch.resnet,line=14,col=3,endLine=14,endColumn=23,title=resnetc " +
        "RN201::RN201 residual add: branch gives [N, 128, 28, 28], shortcut gives [N, 64, 56, 56]%0Ahint: use " +
        "`shortcut project` (1x1 conv, stride 2) or `shortcut pad`",
    );
  });
  it("--format sarif writes SARIF 2.1.0 with rules and regions", () => {
    const r = runCli(["lint", "--format", "sarif", "test/bad/independent-errors.resnet", "test/bad/warnings.resnet"]);
    const log = JSON.parse(r.stdout);
    expect(log.version).toBe("2.1.0");
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe("resnetc");
    expect(run.results.map((x: { ruleId: string; level: string }) => `${x.ruleId}:${x.level}`)).toEqual([
      "RN110:error",
      "RN115:error",
      "RN203:error",
      "RN301:warning",
      "RN302:warning",
      "RN303:warning",
      "RN304:warning",
    ]);
    const first = run.results[0];
    expect(first.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: "test/bad/independent-errors.resnet", uriBaseId: "SRCROOT" },
      region: { startLine: 4, startColumn: 12, endLine: 4, endColumn: 17 },
    });
    expect(run.tool.driver.rules[first.ruleIndex].id).toBe("RN110");
  });
  it("--format json lists diagnostics with positions and counts", () => {
    const r = runCli(["lint", "--format", "json", "test/bad/syntax-multiple.resnet"]);
    const j = JSON.parse(r.stdout);
    expect(j.errors).toBe(3);
    expect(j.diagnostics.map((d: { line: number; column: number }) => [d.line, d.column])).toEqual([
      [2, 16],
      [8, 16],
      [9, 7],
    ]);
  });
});

describe("summary", () => {
  it("--json gives params, MACs and symbolic shapes", () => {
    const r = runCli(["summary", "examples/resnet18.resnet", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      models: [
        {
          name: "ResNet18",
          params: 11_689_512,
          macs: expect.any(Number),
          inputs: [{ name: "image", shape: ["N", 3, 224, 224] }],
          outputs: [{ name: "output", shape: ["N", 1000] }],
        },
      ],
    });
  });
  it("--model picks one model; an unknown one is a usage error naming the others", () => {
    const r = runCli(["summary", "examples/cifar-resnet.resnet", "--model", "ResNet20", "--json"]);
    expect(JSON.parse(r.stdout).models.map((m: { name: string; params: number }) => [m.name, m.params])).toEqual([
      ["ResNet20", 269_722],
    ]);
    const bad = runCli(["summary", "examples/cifar-resnet.resnet", "--model", "ResNet21"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /no model named `ResNet21` in examples\/cifar-resnet\.resnet; did you mean `ResNet20`\?/,
    );
    expect(bad.stderr).toMatch(/\(models there: ResNet20, ResNet32/);
  });
  it("the table lists every layer with its structural name", () => {
    const r = runCli(["summary", "examples/resnet50.resnet"]);
    expect(r.stdout).toMatch(/^layer2\.0\.downsample\.0 +conv +\[N, 512, 28, 28\] +131,072 +102,760,448$/m);
    expect(r.stdout).toMatch(/^params: +25,557,032 \(25\.56M\)$/m);
  });
});

describe("the installed command", () => {
  it("bin/resnetc.js runs (after the build) and sets the exit code", () => {
    const ok = spawnSync(process.execPath, ["bin/resnetc.js", "check", "examples/resnet18.resnet"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    expect(ok.status).toBe(0);
    const bad = spawnSync(process.execPath, ["bin/resnetc.js", "check", "test/bad/binary.resnet"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/RN002/);
  });
});
