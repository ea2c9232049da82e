// @resnetc/runtime: backend choice, the doctor, and the training program's NaN guard, resume and
// `resnetc train` (data loaders and augmentation: runtime-data.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { chooseBackend } from "../src/backend.js";
import { syntheticDataset } from "../src/data.js";
import { setLearningRate } from "../src/train.js";
import { doctor, type Probe } from "../src/doctor.js";
import * as runtimeIndex from "../src/index.js";
import type { RuntimeApi } from "resnetc";
import { fileURLToPath } from "node:url";
import { inProcessTrainer, outDir, runCliAsync } from "./helpers.js";

describe("backend choice", () => {
  it(
    "prefers tfjs-node-gpu, then WebGPU, then tfjs-node; a package that fails to load is skipped " + "with its reason",
    async () => {
      const importer = async (pkg: string) => {
        if (pkg.endsWith("node-gpu")) throw new Error("libtensorflow.so: cannot open shared object file");
        throw new Error(`Cannot find package '${pkg}'`);
      };
      const c = await chooseBackend({ importer });
      expect(c.name).toBe("cpu");
      expect(c.skipped).toEqual([
        "@tensorflow/tfjs-node-gpu: libtensorflow.so: cannot open shared object file",
        "@tensorflow/tfjs-backend-webgpu: the `webgpu` package (Dawn for Node) is not installed (npm install webgpu " +
          "@tensorflow/tfjs-backend-webgpu (optional dependencies of @resnetc/runtime; an install may have " +
          "skipped them))",
        "@tensorflow/tfjs-node: not installed",
        "@tensorflow/tfjs-backend-wasm: not installed",
      ]);
      expect(c.advice).toMatch(/tfjs-node/);
      await expect(chooseBackend({ prefer: "tensorflow", importer })).rejects.toThrow(
        /backend tensorflow is not available: not installed/,
      );
    },
  );
});

describe("the contract with the compiler's CLI", () => {
  it("the package is a RuntimeApi (checked by tsc), and its emitted module URLs name real files", async () => {
    const api: RuntimeApi = runtimeIndex;
    expect(typeof api.trainEmitted).toBe("function");
    // The built package, as the CLI loads it (from src/ the URL would name a .ts file's .js).
    const built = (await import("@resnetc/runtime")) as RuntimeApi;
    const urls = built.emittedModuleUrls();
    for (const url of [urls.runtime, urls.tfjs]) {
      expect(url).toMatch(/^file:\/\//);
      expect(existsSync(fileURLToPath(url)), url).toBe(true);
    }
  });
});

describe("doctor", () => {
  const probe = (over: Partial<Probe> = {}): Probe => ({
    importPackage: async (p) => {
      if (p === "@tensorflow/tfjs") return {};
      throw new Error(`Cannot find package '${p}'`);
    },
    run: () => ({ code: 1, stdout: "" }),
    nodeVersion: "v20.0.0",
    ...over,
  });
  it("on a machine with only the cpu backend: reports it and how to get a faster one", async () => {
    const lines: string[] = [];
    expect(await doctor({ out: (s) => lines.push(s) }, probe())).toBe(0);
    const text = lines.join("\n");
    expect(text).toMatch(/ok +cpu/);
    expect(text).toMatch(/emitted programs will use: cpu/);
    expect(text).toMatch(/CUDA runtime: +needs 11\.2, found none/);
    expect(text).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
  });
  it("with wasm: its threads and whether resnetc's SIMD kernels run", async () => {
    const withWasm = (simd: boolean, threads: number) =>
      probe({
        importPackage: async (p) =>
          p.endsWith("wasm") || p === "@tensorflow/tfjs" ? {} : Promise.reject(new Error(`Cannot find package '${p}'`)),
        wasm: async () => ({ threads, simd }),
      });
    const lines: string[] = [];
    await doctor({ out: (s) => lines.push(s) }, withWasm(true, 2));
    expect(lines.join("\n")).toMatch(
      /emitted programs will use: wasm\nwasm: XNNPACK on 2 threads; resnetc's SIMD kernels .*: on/,
    );
    const off: string[] = [];
    await doctor({ out: (s) => off.push(s) }, withWasm(false, 1));
    expect(off.join("\n")).toMatch(
      /XNNPACK on 1 thread \(RESNETC_WASM_THREADS=0.*SIMD kernels .*: off \(RESNETC_WASM_SIMD=0/,
    );
  });
  it("with CUDA libraries of the wrong versions: needed vs found, and the fix", async () => {
    const lines: string[] = [];
    const run = (cmd: string) =>
      cmd === "ldconfig"
        ? {
            code: 0,
            stdout:
              "\tlibcudart.so.12 (libc6,x86-64) => /usr/lib/libcudart.so.12\n\tlibcudnn.so.9 (libc6,x86-64) => " +
              "/usr/lib/libcudnn.so.9\n",
          }
        : { code: 0, stdout: "NVIDIA H100, 550.54\n" };
    await doctor({ out: (s) => lines.push(s) }, probe({ run }));
    const text = lines.join("\n");
    expect(text).toMatch(/GPU and driver: NVIDIA H100, 550\.54/);
    expect(text).toMatch(/needs 11\.2, found libcudart\.so\.12/);
    expect(text).toMatch(/needs 8\.1, found libcudnn\.so\.9/);
    expect(text).toMatch(/install the CUDA 11\.2 runtime/);
    expect(text).toMatch(/install cuDNN 8\.1/);
  });
});

describe("the training program", () => {
  const small = `import "std/resnet.resnet"
model Tiny { input image: f32[N, 3, 8, 8]; conv(8, k=3) bn relu; Basic(8, sc=pad); avgpool flatten dense(4) }`;
  const sink = () => Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: false });

  it(
    "resnetc train runs the program; a diverging run stops with a clear message and keeps the last good " +
      "checkpoint; --resume continues",
    async () => {
      const dir = join(outDir, "rt-test");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "tiny.resnet"), small);
      const run = join(dir, "run");
      const ok = await runCliAsync([
        "train",
        join(dir, "tiny.resnet"),
        "--epochs",
        "1",
        "--batch",
        "4",
        "--synthetic",
        "8",
        "--out",
        run,
      ]);
      expect(ok.code).toBe(0);
      expect(existsSync(join(run, "weights.json"))).toBe(true);
      const before = readFileSync(join(run, "weights.bin"));
      const metrics = JSON.parse(readFileSync(join(run, "metrics.json"), "utf8"));
      expect(metrics.epochs).toHaveLength(1);

      // Resume for a second epoch: history grows to 2.
      expect(
        (
          await runCliAsync([
            "train",
            join(dir, "tiny.resnet"),
            "--epochs",
            "2",
            "--batch",
            "4",
            "--synthetic",
            "8",
            "--out",
            run,
            "--resume",
          ])
        ).code,
      ).toBe(0);
      expect(JSON.parse(readFileSync(join(run, "metrics.json"), "utf8")).epochs).toHaveLength(2);
      const afterResume = readFileSync(join(run, "weights.bin"));
      expect(Buffer.compare(before, afterResume)).not.toBe(0);

      // An absurd learning rate diverges: exit 3, the message, and the checkpoint untouched.
      const { runTraining } = await import("@resnetc/runtime");
      const out: string[] = [];
      const w = Object.assign(new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }), { isTTY: false });
      const gen = join(dir, "gen");
      expect((await runCliAsync(["compile", join(dir, "tiny.resnet"), "--target", "ts", "-o", gen])).code).toBe(0);
      const mod = await import(join(gen, "model.ts"));
      const code = await runTraining({
        name: "Tiny",
        buildModel: mod.buildModel,
        inputs: mod.INPUTS,
        params: mod.PARAMS,
        classes: mod.CLASSES,
        argv: [
          "--epochs",
          "3",
          "--batch",
          "4",
          "--synthetic",
          "8",
          "--out",
          run,
          "--resume",
          "--lr",
          "1e30",
          "--no-augment",
        ],
        out: w,
      });
      expect(code).toBe(3);
      expect(out.join("")).toMatch(/training diverged: the loss is (NaN|Infinity)/);
      expect(out.join("")).toMatch(/last good checkpoint is kept/);
      expect(Buffer.compare(readFileSync(join(run, "weights.bin")), afterResume)).toBe(0);
      void sink;
    },
    120_000,
  );

  it(
    "--minutes stops after the session's first step past the limit, --eval limits the held-out set, --steps ends " +
      "the LR schedule",
    async () => {
      const dir = join(outDir, "rt-limits-test");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "tiny.resnet"), small);
      const trainer = await inProcessTrainer(dir);
      const train = async (args: string[]) => {
        const { code, text } = await trainer(["--batch", "4", "--synthetic", "8", "--no-augment", ...args]);
        expect(code).toBe(0);
        return text;
      };
      // 8 samples in batches of 4: 2 steps per epoch, 10 epochs by default. --minutes 0 leaves one step.
      const text = await train(["--minutes", "0", "--eval", "3", "--out", join(dir, "timed")]);
      expect(text).toMatch(/\(8 samples, 3 held out\)/);
      // The epoch stopped after its first of 2 steps: the bar says 50%, not 100% (as it did before).
      expect(text).toMatch(/epoch 1\/10 \[########\.{8}\] 50% .*\(stopped at step 1 of 2\)/);
      expect(text).not.toMatch(/100%/);
      expect(text).toMatch(/after 0 epochs and part of epoch 1; .*--resume continues the epoch/);
      expect(JSON.parse(readFileSync(join(dir, "timed", "metrics.json"), "utf8")).epochs).toHaveLength(1);
      // A cosine over the 2 steps run, not over 10 epochs: the second step's LR is half the base.
      await train(["--steps", "2", "--schedule", "cosine", "--out", join(dir, "steps")]);
      expect(JSON.parse(readFileSync(join(dir, "steps", "metrics.json"), "utf8")).epochs[0].lr).toBeCloseTo(0.05, 6);
    },
    60_000,
  );

  it("evaluate's loss is the mean cross-entropy over the set, and its accuracy the hit rate", async () => {
    const dir = join(outDir, "rt-test3");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tiny.resnet"), small);
    expect(
      (await runCliAsync(["compile", join(dir, "tiny.resnet"), "--target", "ts", "-o", join(dir, "gen")])).code,
    ).toBe(0);
    const mod = await import(join(dir, "gen", "model.ts"));
    const { evaluate, initParams } = await import("@resnetc/runtime");
    const tf = await import("@tensorflow/tfjs");
    const model = mod.buildModel();
    initParams(model, mod.PARAMS, 4);
    const d = syntheticDataset({ count: 6, shape: [3, 8, 8], classes: 4, seed: 2 });
    const r = await evaluate(model, d, 4, [3, 8, 8], 4);
    const logits = tf.tidy(
      () =>
        (
          model.predict(tf.tensor4d(d.images, [6, 3, 8, 8])) as import("@tensorflow/tfjs").Tensor
        ).arraySync() as number[][],
    );
    let ce = 0;
    let hits = 0;
    logits.forEach((row, i) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      ce += lse - row[d.labels[i]!]!;
      if (row.indexOf(m) === d.labels[i]) hits++;
    });
    expect(r.loss).toBeCloseTo(ce / 6, 4);
    expect(r.accuracy).toBeCloseTo(hits / 6, 6);
  }, 60_000);

  it("bad options and bad data are errors (exit 1), not stack traces", async () => {
    const dir = join(outDir, "rt-test2");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tiny.resnet"), small);
    const bad = await runCliAsync([
      "train",
      join(dir, "tiny.resnet"),
      "--data",
      "/no/such/dir",
      "--out",
      join(dir, "run"),
    ]);
    expect(bad.code).toBe(1);
    const opt = await runCliAsync(["train", join(dir, "tiny.resnet"), "--batch", "zero", "--out", join(dir, "run")]);
    expect(opt.code).toBe(1);
  }, 60_000);
});

describe("setLearningRate", () => {
  // tfjs's SGD and momentum optimizers cache the rate as a tensor: a schedule that only assigned
  // the `learningRate` field trained at the initial rate throughout.
  it("changes the size of the next step for SGD, momentum and Adam", () => {
    for (const make of [() => tf.train.sgd(0.5), () => tf.train.momentum(0.5, 0.9), () => tf.train.adam(0.5)]) {
      const opt = make();
      const w = tf.variable(tf.scalar(1));
      const step = () => opt.minimize(() => tf.mul(w, 1) as tf.Scalar);
      step();
      const first = 1 - w.dataSync()[0]!;
      setLearningRate(opt, 0.05);
      const before = w.dataSync()[0]!;
      step();
      const second = before - w.dataSync()[0]!;
      // Every one of them moves against the gradient (1); at a tenth of the rate, SGD's step is a
      // tenth, momentum's (0.9 * 1 + 1) / 10 of the first, Adam's a tenth.
      expect(first).toBeGreaterThan(0);
      expect(second / first).toBeCloseTo(opt.getClassName() === "Momentum" ? 0.19 : 0.1, 5);
      w.dispose();
      opt.dispose();
    }
  });
});
