// The compiler installs light (issue 10): `npm install` of the packed resnetc tarball into an
// empty project gives a node_modules without TensorFlow.js, under 40 MB, where `npx resnetc lint`
// reports a located error, and `resnetc train` says in one line how to get the runtime. With the
// runtime's tarball installed beside it, `resnetc doctor` runs. Offline: every dependency comes
// from npm's cache, which `npm ci` filled.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./helpers.js";

const MAX_BYTES = 40 * 1024 * 1024;
let work: string;
let tarballs: { compiler: string; runtime: string };

function npm(args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync("npm", args, {
    cwd,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** Bytes of every regular file under `dir` (links not followed), like `du --apparent-size`. */
function treeBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  }
  return total;
}

/** A folder for the fresh projects with no node_modules above it, so that nothing installed
 * elsewhere on the machine resolves in place of what the test installs. */
function cleanBase(): string {
  for (const base of [tmpdir(), "/var/tmp"]) {
    let clean = true;
    for (let d = base; ; d = dirname(d)) {
      if (existsSync(join(d, "node_modules"))) clean = false;
      if (dirname(d) === d) break;
    }
    if (clean) return base;
  }
  throw new Error(`no temporary folder without a node_modules above it (${tmpdir()}, /var/tmp)`);
}

beforeAll(() => {
  work = mkdtempSync(join(cleanBase(), "resnetc-pack-"));
  // dist/ is already built (npm test builds first); packing must not rebuild it.
  for (const [dir, key] of [
    [repoRoot, "compiler"],
    [join(repoRoot, "packages", "runtime"), "runtime"],
  ] as const) {
    const r = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const file = (JSON.parse(r.stdout) as { filename: string }[])[0]!.filename;
    (tarballs ??= { compiler: "", runtime: "" })[key] = join(work, file.replace(/^@/, "").replace(/\//g, "-"));
  }
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed resnetc tarball in an empty project", () => {
  it("installs under 40 MB without @tensorflow, and `npx resnetc lint` reports a located error", () => {
    const proj = join(work, "lint-only");
    mkdirSync(proj);
    writeFileSync(
      join(proj, "package.json"),
      JSON.stringify({ name: "user-project", version: "1.0.0", private: true }),
    );
    const install = npm(["install", "--prefer-offline", "--no-save", tarballs.compiler], proj);
    expect(install.code, install.out).toBe(0);
    const modules = join(proj, "node_modules");
    expect(readdirSync(modules)).not.toContain("@tensorflow");
    expect(readdirSync(modules)).not.toContain("typescript");
    const bytes = treeBytes(modules);
    console.log(`node_modules of a lint-only install: ${(bytes / 1024 / 1024).toFixed(1)} MB (limit 40 MB)`);
    expect(bytes).toBeLessThan(MAX_BYTES);

    writeFileSync(
      join(proj, "broken.resnet"),
      "model M {\n  input x: f32[N, 3, 8, 8]\n  conv(8, k=3) bn relu\n  expect [N, 16, 8, 8]\n}\n",
    );
    const lint = spawnSync("npx", ["--no-install", "resnetc", "lint", "."], {
      cwd: proj,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(lint.stdout).toMatch(/^broken\.resnet:4:3 error RN206 expect failed/m);
    expect(lint.stdout).toContain("^^^");
    expect(lint.status).toBe(1);

    // The training commands say in one line how to get the runtime.
    writeFileSync(join(proj, "good.resnet"), "model M {\n  input x: f32[N, 4]\n  dense(2)\n}\n");
    for (const [cmd, args] of [
      ["train", ["train", "good.resnet"]],
      ["doctor", ["doctor"]],
    ] as const) {
      const r = spawnSync("npx", ["--no-install", "resnetc", ...args], {
        cwd: proj,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.stderr.trim()).toMatch(
        new RegExp(`^resnetc: \`resnetc ${cmd}\` needs the training runtime: npm install @resnetc/runtime`),
      );
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.status).toBe(2);
    }
  }, 600_000);

  it("with @resnetc/runtime's tarball beside it, doctor and train run", () => {
    const proj = join(work, "with-runtime");
    mkdirSync(proj);
    writeFileSync(
      join(proj, "package.json"),
      JSON.stringify({ name: "user-project", version: "1.0.0", private: true }),
    );
    // --omit=optional: tfjs-node(-gpu) would try to download libtensorflow.
    const install = npm(
      ["install", "--prefer-offline", "--no-save", "--omit=optional", tarballs.compiler, tarballs.runtime],
      proj,
    );
    expect(install.code, install.out).toBe(0);
    const doctor = spawnSync("npx", ["--no-install", "resnetc", "doctor"], {
      cwd: proj,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(doctor.stdout).toMatch(/emitted programs will use: (wasm|cpu|tensorflow)/);
    writeFileSync(join(proj, "tiny.resnet"), "model Tiny {\n  input x: f32[N, 1, 4, 4]\n  flatten dense(2)\n}\n");
    const train = spawnSync(
      "npx",
      [
        "--no-install",
        "resnetc",
        "train",
        "tiny.resnet",
        "--synthetic",
        "8",
        "--batch",
        "4",
        "--epochs",
        "1",
        "--out",
        "run",
      ],
      { cwd: proj, encoding: "utf8", timeout: 300_000 },
    );
    expect(train.status, train.stdout + train.stderr).toBe(0);
    expect(statSync(join(proj, "run", "weights.bin")).size).toBe((2 * 16 + 2) * 4);
  }, 600_000);
});
