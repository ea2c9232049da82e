// The threaded wasm backend (wasm-threads.ts), each run in a child process as a user's program
// would: it starts with every core (up to XNNPACK's 8) and resnetc's SIMD helper thread, computes
// what the single-threaded backend computes, and lets the process end on its own (no hang on its
// worker threads).
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { outDir, pkgRoot } from "./helpers.js";

const dir = join(outDir, "wasm-threads-test");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Inside the repository so that the packages resolve; uses the built runtime (npm test builds).
const SCRIPT =
  `import * as tf from "@tensorflow/tfjs";
import { chooseBackend } from "../../dist/backend.js";
import { simdKernels } from "../../dist/simd.js";
const choice = await chooseBackend({ prefer: "wasm" });
const x = tf.randomUniform([4, 16, 16, 8], -1, 1, "float32", 1);
const w = tf.randomUniform([3, 3, 8, 16], -1, 1, "float32", 2);
const [dx, dw] = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a, b, 1, "same"))))([x, w]);
const [dx2, dw2] = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a, b, 2, "same"))))([x, w]);
const y = tf.matMul(tf.reshape(x, [64, 128]), tf.randomUniform([128, 96], -1, 1, "float32", 3));
console.log(JSON.stringify({ backend: tf.getBackend(), threads: tf.backend().wasm.tfjs.getThreadsCount(), reason: ` +
  `choice.reason, helper: simdKernels(tf.backend()).threads, dx: Array.from(dx.dataSync()), dw: ` +
  `Array.from(dw.dataSync()), dx2: Array.from(dx2.dataSync()), dw2: Array.from(dw2.dataSync()), y: ` +
  `Array.from(y.dataSync()) }));
`;

type Probe = {
  backend: string;
  threads: number;
  helper: number;
  reason: string;
  dx: number[];
  dw: number[];
  dx2: number[];
  dw2: number[];
  y: number[];
};
function run(env: Record<string, string>): Probe {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "probe.mjs");
  writeFileSync(file, SCRIPT);
  // A hang on the worker threads would hit the timeout and fail the test.
  const out = execFileSync(process.execPath, [file], {
    cwd: pkgRoot,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

describe("threaded wasm", () => {
  it("uses every core, says so, matches the single-threaded backend, and lets the process exit", () => {
    const threaded = run({});
    const single = run({ RESNETC_WASM_THREADS: "0" });
    expect(threaded.backend).toBe("wasm");
    const cores = Math.min(os.cpus().length, 8);
    expect(threaded.threads).toBe(cores >= 2 ? cores : 1);
    expect(single.threads).toBe(1);
    // resnetc's SIMD module runs half of each filter gradient on a helper thread of its own.
    expect(threaded.helper).toBe(cores >= 2 ? 2 : 1);
    expect(single.helper).toBe(1);
    expect(threaded.reason).toContain(`${threaded.threads} thread`);
    for (const key of ["dx", "dw", "dx2", "dw2", "y"] as const) {
      const a = threaded[key];
      const b = single[key];
      expect(a.length).toBe(b.length);
      const scale = Math.max(...b.map(Math.abs));
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / scale, key).toBeLessThan(1e-5);
    }
  }, 150_000);
});
