// Outputs do not depend on the working directory (hardening issue, finding 7): the same compile
// run from the project root and from elsewhere gives the same ONNX bytes and the same TypeScript;
// files are named relative to their project root and the standard library as `std/NAME.resnet`,
// never by an absolute path of this machine. Before, doc strings and comments carried the path
// as typed relative to the working directory, and std nodes the absolute install path.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, runCliAsync } from "./helpers.js";

const elsewhere = mkdtempSync(join(tmpdir(), "resnetc-cwd-"));
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

describe("outputs independent of the working directory", () => {
  it("ONNX: the same bytes from the repository and from another folder; std named std/...", async () => {
    const a = join(elsewhere, "a.onnx");
    const b = join(elsewhere, "b.onnx");
    expect(
      (await runCliAsync(["compile", "examples/resnet18.resnet", "--target", "onnx", "-o", a], repoRoot)).code,
    ).toBe(0);
    expect(
      (
        await runCliAsync(
          ["compile", join(repoRoot, "examples", "resnet18.resnet"), "--target", "onnx", "-o", b, "--text"],
          elsewhere,
        )
      ).code,
    ).toBe(0);
    const bytesA = readFileSync(a);
    expect(Buffer.compare(bytesA, readFileSync(b))).toBe(0);
    const text = bytesA.toString("latin1");
    expect(text).toContain("std/resnet.resnet:");
    expect(text).toContain("examples/resnet18.resnet:");
    expect(text).not.toContain(repoRoot);
    expect(text).not.toContain(elsewhere);
  });

  it("TypeScript: the same model.ts and train.ts from both folders, with no absolute path", async () => {
    const a = join(elsewhere, "ts-a");
    const b = join(elsewhere, "ts-b");
    expect((await runCliAsync(["compile", "examples/resnet18.resnet", "--target", "ts", "-o", a], repoRoot)).code).toBe(
      0,
    );
    expect(
      (
        await runCliAsync(
          ["compile", join(repoRoot, "examples", "resnet18.resnet"), "--target", "ts", "-o", b],
          elsewhere,
        )
      ).code,
    ).toBe(0);
    for (const f of ["model.ts", "train.ts"]) {
      const text = readFileSync(join(a, f), "utf8");
      expect(readFileSync(join(b, f), "utf8")).toBe(text);
      expect(text).not.toContain(repoRoot);
    }
    expect(readFileSync(join(a, "model.ts"), "utf8")).toContain("// std/resnet.resnet:");
  });

  it("the web page: the same files from both folders", async () => {
    const a = join(elsewhere, "web-a");
    const b = join(elsewhere, "web-b");
    const args = ["--model", "ResNet20", "--target", "web"];
    expect((await runCliAsync(["compile", "examples/cifar-resnet.resnet", ...args, "-o", a], repoRoot)).code).toBe(0);
    const abs = join(repoRoot, "examples", "cifar-resnet.resnet");
    expect((await runCliAsync(["compile", abs, ...args, "-o", b], elsewhere)).code).toBe(0);
    for (const f of ["index.html", "app.js"])
      expect(Buffer.compare(readFileSync(join(a, f)), readFileSync(join(b, f)))).toBe(0);
  }, 120_000);
});
