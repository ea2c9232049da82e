// Hostile imports read no file outside the project (hardening issue, findings 2 and 3): absolute
// paths, `..` escapes, `std/../`, symbolic links leaving the project, procfs, FIFOs and devices
// are refused with RN005 / RN006 before anything is read, and no byte of the refused file reaches
// text, JSON or SARIF output. Each case below read (or hung on, or grew to GBs on) the file before.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_SOURCE_BYTES } from "../src/cli/host.js";
import { checkSource, repoRoot, runCli, type DiagnosticProducers } from "./helpers.js";

const bin = join(repoRoot, "bin", "resnetc.js");

/** For the docs test: each import-policy code, produced by the real Host (no fixtures needed). */
export const diagnosticProducers: DiagnosticProducers = {
  "RN005 an absolute import": () =>
    checkSource('import "/etc/passwd"\nmodel M {\n  input x: f32[N, 4]\n}\n').diagnostics.map((d) => d.code),
  "RN006 an import of a folder": () =>
    checkSource('import "test/bad"\nmodel M {\n  input x: f32[N, 4]\n}\n').diagnostics.map((d) => d.code),
};
const SECRET = "TOP_SECRET_7f3a9c";
let base: string;
let proj: string;

const model = "model M {\n  input x: f32[N, 4]\n  dense(2)\n}\n";
const importing = (spec: string): string => `import "${spec}"\n${model}`;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "resnetc-imports-"));
  proj = join(base, "proj");
  mkdirSync(join(proj, "sub"), { recursive: true });
  writeFileSync(join(proj, "package.json"), "{}\n");
  // Outside the project: a file whose first line would be echoed by a parse error.
  writeFileSync(join(base, "secret.resnet"), `${SECRET} = 1\n`);
  writeFileSync(join(base, "secret.txt"), `${SECRET} = 1\n`);
  symlinkSync(join(base, "secret.resnet"), join(proj, "sub", "link.resnet"));
  symlinkSync("/dev/zero", join(proj, "sub", "zero.resnet"));
  spawnSync("mkfifo", [join(proj, "sub", "fifo.resnet")]);
  writeFileSync(join(proj, "lib.resnet"), "block Twice(c: int) {\n  dense(c) dense(c)\n}\n");
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** `resnetc check main.resnet` in the project, as a child process with a time limit (a FIFO or a
 * device read by mistake would otherwise hang the test runner or exhaust its memory). */
function checkIn(source: string, args: string[] = []): { code: number | null; out: string } {
  writeFileSync(join(proj, "main.resnet"), source);
  const r = spawnSync(process.execPath, [bin, "check", "main.resnet", ...args], {
    cwd: proj,
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("imports outside the project (RN005)", { timeout: 60_000 }, () => {
  const cases: [string, string, RegExp][] = [
    ["an absolute path", "/etc/passwd", /RN005 cannot import "\/etc\/passwd": absolute paths are not allowed/],
    ["an absolute .resnet path", join("/tmp", "x.resnet"), /RN005 .*absolute paths are not allowed/],
    [
      "`..` out of the project",
      "../secret.resnet",
      /RN005 cannot import "\.\.\/secret\.resnet": it leaves the project root/,
    ],
    [
      "`..` to procfs (the process environment)",
      "../../../../../../proc/self/environ",
      /RN005 .*it leaves the project root/,
    ],
    ["std/ followed by `..`", "std/../package.json", /RN005 .*it leaves the standard library/],
    ["std/ climbing further", "std/../../../../../etc/passwd", /RN005 .*it leaves the standard library/],
    ["a symbolic link to a file outside", "sub/link.resnet", /RN005 .*symbolic link to a file outside the project/],
    ["a symbolic link to the zero device", "sub/zero.resnet", /RN005 .*symbolic link to a file outside the project/],
  ];
  for (const [what, spec, expected] of cases) {
    it(`${what}: refused at the import, nothing read`, () => {
      const r = checkIn(importing(spec));
      expect(r.out).toMatch(expected);
      expect(r.out).toContain("main.resnet:1:1 error");
      expect(r.out).not.toContain(SECRET);
      expect(r.code).toBe(1);
    });
  }

  it("--root widens the project: a library one folder up is allowed, and still nothing above it", () => {
    writeFileSync(
      join(proj, "sub", "uses-lib.resnet"),
      `import "../lib.resnet"\nmodel M {\n  input x: f32[N, 4]\n  Twice(3)\n}\n`,
    );
    writeFileSync(join(proj, "sub", "package.json"), "{}\n"); // sub/ is now a project of its own
    try {
      const narrow = spawnSync(process.execPath, [bin, "check", "sub/uses-lib.resnet"], {
        cwd: proj,
        encoding: "utf8",
      });
      expect(narrow.stderr).toMatch(/RN005 .*leaves the project root/);
      const wide = spawnSync(process.execPath, [bin, "check", "sub/uses-lib.resnet", "--root", "."], {
        cwd: proj,
        encoding: "utf8",
      });
      expect(wide.stderr).toBe("");
      expect(wide.stdout).toContain("sub/uses-lib.resnet: ok");
    } finally {
      rmSync(join(proj, "sub", "package.json"));
      rmSync(join(proj, "sub", "uses-lib.resnet"));
    }
  });

  it("inside the project and from std/, imports still work", () => {
    const r = checkIn(
      `import "lib.resnet"\nimport "std/resnet.resnet"\nmodel M {\n  input x: f32[N, 4]\n  Twice(3)\n}\n`,
    );
    expect(r.out).toContain("main.resnet: ok");
    expect(r.code).toBe(0);
  });
});

describe("imports of things that are not regular .resnet files (RN006)", { timeout: 60_000 }, () => {
  it("a FIFO is refused at once instead of blocking forever", () => {
    const r = checkIn(importing("sub/fifo.resnet"));
    expect(r.out).toMatch(/RN006 cannot import "sub\/fifo\.resnet": it is not a regular file/);
    expect(r.code).toBe(1);
  });

  it("a folder, or a file without the .resnet extension, is refused", () => {
    writeFileSync(join(proj, "notes.txt"), `${SECRET}\n`);
    expect(checkIn(importing("sub")).out).toMatch(/RN006 cannot import "sub": it is a directory/);
    const txt = checkIn(importing("notes.txt"));
    expect(txt.out).toMatch(/RN006 .*only \.resnet files can be imported/);
    expect(txt.out).not.toContain(SECRET);
  });

  it(`a source over ${MAX_SOURCE_BYTES / 1024} KiB is refused without reading it whole`, () => {
    writeFileSync(join(proj, "big.resnet"), `# ${"x".repeat(MAX_SOURCE_BYTES)}\n`);
    const r = checkIn(importing("big.resnet"));
    expect(r.out).toMatch(/RN001 cannot read big\.resnet: larger than 1 MiB, the limit for \.resnet sources/);
    expect(r.code).toBe(1);
  });
});

describe("lint over a folder with hostile links", { timeout: 60_000 }, () => {
  it("reports each refused file, lints the others, and no output format carries the secret", () => {
    writeFileSync(join(proj, "main.resnet"), importing("../secret.resnet"));
    writeFileSync(join(proj, "good.resnet"), model);
    for (const format of ["text", "json", "sarif", "github"]) {
      const r = spawnSync(process.execPath, [bin, "lint", ".", "--format", format], {
        cwd: proj,
        encoding: "utf8",
        timeout: 20_000,
      });
      const out = r.stdout + r.stderr;
      expect(out).not.toContain(SECRET);
      expect(out).toContain("sub/link.resnet");
      expect(out).toContain("sub/zero.resnet");
      expect(out).toContain("sub/fifo.resnet");
      expect(out).toContain("RN005");
      expect(r.status).toBe(2); // unreadable root files are I/O errors
    }
    const json = JSON.parse(
      spawnSync(process.execPath, [bin, "lint", ".", "--format", "json"], { cwd: proj, encoding: "utf8" }).stdout,
    ) as { files: number; diagnostics: { code: string; file: string; message: string }[] };
    expect(json.files).toBeGreaterThanOrEqual(6);
    expect(json.diagnostics.find((d) => d.file === "sub/link.resnet")!.message).toBe(
      "cannot read sub/link.resnet: it is a symbolic link to a file outside the project",
    );
    rmSync(join(proj, "good.resnet"));
  });

  it("the in-process CLI refuses the same way (the Host, not the child process, enforces it)", () => {
    writeFileSync(join(proj, "main.resnet"), importing("../secret.txt"));
    const r = runCli(["check", "main.resnet"], proj);
    expect(r.stderr).toMatch(/RN005/);
    expect(r.stderr).not.toContain(SECRET);
  });
});
