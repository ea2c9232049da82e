// Training runs that lose nothing (issue 16, finding 8): SIGINT in the middle of an epoch saves
// weights, optimizer state and data position, and --resume then ends with the very weights of a
// run that was never interrupted; per-step metrics go to steps.jsonl; a corrupt checkpoint is a
// one-line error naming its file and field. Before: Ctrl-C killed the run with nothing saved
// (exit code 130 from the shell, no state.json: the first assertions below fail), --resume
// restarted at the next epoch with fresh momentum, and state.json = "{" was an internal error.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeCheckpoint } from "resnetc/weights";
import { inProcessTrainer, outDir, resnetcRoot } from "./helpers.js";

const TINY = `import "std/resnet.resnet"
model Tiny { input image: f32[N, 3, 8, 8]; conv(8, k=3) bn relu; Basic(8, sc=pad); avgpool flatten dense(4) }`;

function setup(name: string): string {
  const dir = join(outDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "tiny.resnet"), TINY);
  return dir;
}

/** 200 samples in batches of 4: 50 steps an epoch, augmentation on, SGD with momentum, cpu. */
const trainArgs = (dir: string, out: string) => [
  join(resnetcRoot, "bin/resnetc.js"),
  "train",
  join(dir, "tiny.resnet"),
  "--backend",
  "cpu",
  "--epochs",
  "2",
  "--batch",
  "4",
  "--synthetic",
  "200",
  "--seed",
  "1",
  "--out",
  out,
];

const stepLines = (run: string) =>
  existsSync(join(run, "steps.jsonl"))
    ? readFileSync(join(run, "steps.jsonl"), "utf8").split("\n").filter(Boolean)
    : [];

describe("an interrupted run", () => {
  it(
    "SIGINT mid-epoch saves and exits 130; --resume ends with the uninterrupted run's weights and " +
      "momentum, bit for bit",
    async () => {
      const dir = setup("rt-resume");
      const whole = join(dir, "whole");
      const cut = join(dir, "cut");
      const a = spawnSync(process.execPath, trainArgs(dir, whole), { encoding: "utf8", timeout: 120_000 });
      expect(a.status, a.stderr).toBe(0);

      // The same run, sent SIGINT once its log shows a few steps of the first epoch.
      const child = spawn(process.execPath, trainArgs(dir, cut), { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c) => (output += String(c)));
      child.stderr.on("data", (c) => (output += String(c)));
      const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
      const deadline = Date.now() + 60_000;
      while (stepLines(cut).length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      child.kill("SIGINT");
      expect(await exited, output).toBe(130);
      expect(output).toMatch(/SIGINT: finishing this step, then saving a checkpoint/);
      expect(output).toMatch(/interrupted at epoch 1, step \d+: checkpoint saved in .*; continue with --resume/);
      const state = JSON.parse(readFileSync(join(cut, "state.json"), "utf8"));
      // Mid-epoch, for real: the position is inside epoch 1, not at its end.
      expect(state.epoch).toBe(0);
      expect(state.position.sample).toBeGreaterThan(0);
      expect(state.position.sample).toBeLessThan(200);
      expect(state.step).toBe(state.position.sample / 4);
      expect(stepLines(cut)).toHaveLength(state.step);

      const c = spawnSync(process.execPath, [...trainArgs(dir, cut), "--resume"], {
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(c.status, c.stderr).toBe(0);
      expect(c.stdout).toMatch(
        new RegExp(
          `resumed from .* at epoch 1, sample ${state.position.sample} of 200 \\(step ${state.step}\\), with the ` +
            `optimizer's state`,
        ),
      );
      for (const f of ["weights.bin", "optimizer.bin", "weights.json", "optimizer.json"])
        expect(readFileSync(join(cut, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
      // The step log is continued, not restarted: the same 100 steps with the same losses.
      const strip = (run: string) => stepLines(run).map((l) => ({ ...JSON.parse(l), seconds: 0 }));
      expect(strip(cut)).toEqual(strip(whole));
      expect(strip(whole).map((r) => r.step)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      // The epochs' metrics too, the interrupted epoch's running sums included (time aside).
      const metrics = (run: string) =>
        JSON.parse(readFileSync(join(run, "metrics.json"), "utf8")).epochs.map((e: Record<string, number>) => [
          e.trainLoss,
          e.trainAccuracy,
          e.testLoss,
          e.lr,
        ]);
      expect(metrics(cut)).toEqual(metrics(whole));
    },
    240_000,
  );
});

describe("a corrupt checkpoint", () => {
  it("is a clear error naming the file and field, never an internal error or a divergence", async () => {
    const dir = setup("rt-corrupt");
    const run = join(dir, "run");
    const trainer = await inProcessTrainer(dir);
    const train = (args: string[]) =>
      trainer(["--backend", "cpu", "--epochs", "2", "--batch", "4", "--synthetic", "8", "--out", run, ...args]);
    expect((await train(["--epochs", "1"])).code).toBe(0);
    const saved = Object.fromEntries(
      ["state.json", "weights.json", "weights.bin"].map((f) => [f, readFileSync(join(run, f))]),
    );
    const state = JSON.parse(saved["state.json"]!.toString());
    const nanBin = new Uint8Array(saved["weights.bin"]!.length);
    new DataView(nanBin.buffer).setFloat32(0, NaN, true);
    const cases: [string, string | Uint8Array, RegExp][] = [
      ["state.json", "{", /state\.json is not JSON/],
      [
        "state.json",
        JSON.stringify({ ...state, history: undefined }),
        /state\.json: "history" must be a list of finished epochs, found nothing/,
      ],
      [
        "state.json",
        JSON.stringify({ ...state, step: -3 }),
        /state\.json: "step" must be a whole number from 0 to \d+, found -3/,
      ],
      [
        "state.json",
        JSON.stringify({ ...state, position: { ...state.position, sample: 9 } }),
        /state\.json: "position\.sample" must be a whole number from 0 to 7, found 9/,
      ],
      [
        "state.json",
        JSON.stringify({ ...state, history: [{ ...state.history[0], trainAccuracy: "high" }] }),
        /"history\[0\]\.trainAccuracy" must be a finite number from 0 to 1, found "high"/,
      ],
      ["weights.json", "null", /weights\.json: expected an object with "format" and "tensors", found null/],
      [
        "weights.json",
        JSON.stringify({ ...JSON.parse(saved["weights.json"]!.toString()), tensors: [null] }),
        /weights\.json: tensors\[0\] must be an object/,
      ],
      [
        "weights.json",
        JSON.stringify({
          ...JSON.parse(saved["weights.json"]!.toString()),
          tensors: JSON.parse(saved["weights.json"]!.toString()).tensors.map((t: object) => ({ ...t, offset: 0 })),
        }),
        /weights\.json: tensors\[\d+\] .* at offset 0 overlaps tensors\[\d+\]/,
      ],
      ["weights.bin", nanBin, /weights\.bin: tensor .* holds NaN at element 0: the checkpoint is corrupt/],
    ];
    for (const [file, bytes, re] of cases) {
      writeFileSync(join(run, file), bytes);
      const r = await train(["--resume"]);
      expect(r.code, `${file}: ${r.text}`).toBe(1);
      expect(r.text).toMatch(/^error: cannot resume from .*: /m);
      expect(r.text).toMatch(re);
      expect(r.text).not.toMatch(/internal error|training diverged|lower --lr|\n\s+at /);
      writeFileSync(join(run, file), saved[file]!);
    }
    // The optimizer's state is checked the same way: a tensor of another optimizer is named.
    const { json, bin } = encodeCheckpoint(new Map([["conv1.weight/m", { dims: [1], data: Float32Array.of(0) }]]));
    writeFileSync(join(run, "optimizer.json"), json);
    writeFileSync(join(run, "optimizer.bin"), bin);
    expect((await train(["--resume"])).text).toMatch(
      /optimizer\.json: tensor conv1\.weight\/m is not sgd state of this model/,
    );
  }, 120_000);
});
