// `resnetc predict` through the CLI: the emitted tfjs model and ONNX Runtime give the same outputs
// (seeded initialisation, a checkpoint written with the encoder, one written by `resnetc train`),
// inputs and outputs in the declared layout as .npy, and every bad input a located one-line error
// that writes no output file.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeNpy, readNpy } from "../src/io/npy.js";
import { encodeCheckpoint } from "../src/weights/checkpoint.js";
import { loadOrt } from "../packages/runtime/src/predict.js";
import { repoRoot, runCliAsync } from "./helpers.js";

// Inside the repository, so `@resnetc/runtime` (the workspace package) and tfjs resolve.
const work = join(repoRoot, "out", "predict-test");
const at = (f: string): string => join(work, f);

const MLP = `model Mlp {
  input x: f32[N, 16]
  dense(32) bn relu
  dense(24, bias=false) bn relu
  dense(10)
}
`;
const TWO = `model Two {
  input a: f32[N, 8]
  input b: f32[N, 8]
  let h = (dense(6) bn)(a)
  let k = dense(6)(b)
  output score = (relu dense(4))(h + k)
  output feat = h
}
`;
// conv, bn, relu, pool, dense on an NCHW image: the tfjs model takes NCHW itself once the emitter
// does (no layout conversion outside the model).
const CNN = `model Cnn {
  input image: f32[N, 3, 8, 8]
  conv(4, k=3) bn relu
  maxpool(k=2)
  conv(6, k=3, stride=2) bn relu
  flatten
  dense(5)
}
`;

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}
const npy = (name: string, shape: number[], seed: number): string => {
  writeFileSync(
    at(name),
    encodeNpy(
      shape,
      values(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
    ),
  );
  return at(name);
};

const maxDiff = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Runs both engines on the same input and returns their outputs, each read back from its .npy. */
async function bothEngines(file: string, input: string[], extra: string[], tag: string) {
  const outs: Record<string, ReturnType<typeof readNpy>> = {};
  for (const engine of ["tfjs", "onnx"]) {
    const o = at(`${tag}-${engine}.npy`);
    const backend = engine === "tfjs" ? ["--backend", "cpu"] : [];
    const r = await runCliAsync(["predict", at(file), ...input, "--engine", engine, ...backend, ...extra, "-o", o]);
    expect(r.stderr + r.stdout).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${tag}-${engine}.npy: `);
    outs[engine] = readNpy(o);
  }
  expect(outs["tfjs"]!.shape).toEqual(outs["onnx"]!.shape);
  return { tfjs: outs["tfjs"]!, onnx: outs["onnx"]! };
}

/** The canonical parameter names and dims of a model, from the ONNX initializers `compile --text` lists. */
async function paramTable(file: string): Promise<{ name: string; dims: number[] }[]> {
  const r = await runCliAsync(["compile", at(file), "--target", "onnx", "-o", at(`${file}.onnx`), "--text"]);
  expect(r.code, r.stderr).toBe(0);
  const params: { name: string; dims: number[] }[] = [];
  for (const m of r.stdout.matchAll(/^init ([\w.]+): float\[([\d, ]*)\]/gm))
    params.push({ name: m[1]!, dims: m[2]!.split(",").map((d) => Number(d.trim())) });
  expect(params.length).toBeGreaterThan(0);
  return params;
}

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(at("mlp.resnet"), MLP);
  writeFileSync(at("two.resnet"), TWO);
  writeFileSync(at("cnn.resnet"), CNN);
  npy("x.npy", [5, 16], 1);
});

describe("resnetc predict: tfjs and ONNX Runtime agree", () => {
  it("rank-2 MLP, the seeded initialisation (default seed and --seed 7)", async () => {
    for (const seed of [[], ["--seed", "7"]]) {
      const { tfjs, onnx } = await bothEngines("mlp.resnet", ["--input", at("x.npy")], seed, `mlp-seed${seed[1] ?? 0}`);
      expect(tfjs.shape).toEqual([5, 10]);
      expect(maxDiff(tfjs.data, onnx.data)).toBeLessThan(1e-5);
    }
    // Different seeds give different models.
    expect(maxDiff(readNpy(at("mlp-seed0-tfjs.npy")).data, readNpy(at("mlp-seed7-tfjs.npy")).data)).toBeGreaterThan(
      1e-3,
    );
  }, 120_000);

  it("rank-2 MLP with a checkpoint written by the encoder (batch norm on its running statistics)", async () => {
    const params = await paramTable("mlp.resnet");
    const tensors = new Map(
      params.map((p, i) => {
        const n = p.dims.reduce((a, b) => a * b, 1);
        let data = values(n, 100 + i);
        // running_var must be positive; the rest anything, so batch norm is far from the identity.
        if (p.name.endsWith("running_var")) data = data.map((v) => 0.5 + Math.abs(v) * 2);
        return [p.name, { dims: p.dims, data }];
      }),
    );
    const { json, bin } = encodeCheckpoint(tensors, "Mlp");
    mkdirSync(at("ckpt"), { recursive: true });
    writeFileSync(at("ckpt/weights.json"), json);
    writeFileSync(at("ckpt/weights.bin"), bin);
    const { tfjs, onnx } = await bothEngines("mlp.resnet", ["--input", at("x.npy")], ["--weights", at("ckpt")], "ck");
    expect(maxDiff(tfjs.data, onnx.data)).toBeLessThan(1e-5);
    // The checkpoint's values are used: the output differs from the seeded one.
    expect(maxDiff(tfjs.data, readNpy(at("mlp-seed0-tfjs.npy")).data)).toBeGreaterThan(1e-3);
  }, 120_000);

  it("rank-2 MLP after a short `resnetc train` run", async () => {
    const run = at("run");
    const t = await runCliAsync([
      "train",
      at("mlp.resnet"),
      ...["--steps", "3", "--batch", "8", "--synthetic", "32", "--eval", "8", "--epochs", "1"],
      ...["--backend", "cpu", "--out", run],
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect(existsSync(join(run, "weights.json"))).toBe(true);
    const { tfjs, onnx } = await bothEngines("mlp.resnet", ["--input", at("x.npy")], ["--weights", run], "tr");
    expect(maxDiff(tfjs.data, onnx.data)).toBeLessThan(1e-5);
  }, 180_000);

  it("two inputs (NAME=FILE) and two outputs (-o DIR gets NAME.npy each)", async () => {
    npy("a.npy", [3, 8], 2);
    npy("b.npy", [3, 8], 3);
    const dirs: Record<string, string> = {};
    for (const engine of ["tfjs", "onnx"]) {
      dirs[engine] = at(`two-${engine}`);
      const r = await runCliAsync([
        "predict",
        at("two.resnet"),
        ...["--input", `b=${at("b.npy")}`, "--input", `a=${at("a.npy")}`, "--engine", engine, "-o", dirs[engine]!],
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(dirs[engine]!).sort()).toEqual(["feat.npy", "score.npy"]);
    }
    for (const [name, shape] of [
      ["score", [3, 4]],
      ["feat", [3, 6]],
    ] as const) {
      const [x, y] = [readNpy(join(dirs["tfjs"]!, `${name}.npy`)), readNpy(join(dirs["onnx"]!, `${name}.npy`))];
      expect(x.shape).toEqual(shape);
      expect(maxDiff(x.data, y.data)).toBeLessThan(1e-5);
    }
  }, 120_000);

  it("rank-4 conv model (conv, bn, relu, pool, dense), NCHW in: the engines agree", async () => {
    npy("img.npy", [2, 3, 8, 8], 4);
    const { tfjs, onnx } = await bothEngines("cnn.resnet", ["--input", at("img.npy")], ["--seed", "3"], "cnn");
    expect(tfjs.shape).toEqual([2, 5]);
    expect(maxDiff(tfjs.data, onnx.data)).toBeLessThan(1e-5);
  }, 120_000);
});

describe("resnetc predict: what it prints", () => {
  it("without -o: each output's shape, statistics, and per-sample argmax and top scores", async () => {
    const r = await runCliAsync(["predict", at("mlp.resnet"), "--input", at("x.npy"), "--engine", "onnx"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^output: \[5, 10\] float32\n {2}min -?[\d.e-]+ {2}max -?[\d.e-]+ {2}mean .* {2}std /);
    expect(r.stdout.match(/^ {2}sample \d: argmax \d+ {2}top \d+: -?[\d.e-]+, \d+: .*, \d+: .*$/gm)).toHaveLength(5);
  }, 60_000);

  it("resnetc --help lists predict, and predict --help describes its options", async () => {
    const main = await runCliAsync(["--help"]);
    expect(main.stdout).toMatch(/^ {2}predict <file> --input X\.npy/m);
    const help = await runCliAsync(["predict", "--help"]);
    expect(help.code).toBe(0);
    for (const o of ["--input NAME=X.npy", "--weights DIR", "--seed N", "--engine onnx", "--backend NAME", "-o OUT"])
      expect(help.stdout).toContain(o);
  });
});

describe("resnetc predict: bad inputs are clear, located errors and write nothing", () => {
  const run = async (args: string[]) => {
    // A folder: a model with several outputs writes NAME.npy into it, one with one output too.
    const out = args.includes("-o") ? args[args.indexOf("-o") + 1]! : at("never/");
    const r = await runCliAsync(["predict", ...args, ...(args.includes("-o") ? [] : ["-o", out])]);
    expect(existsSync(out)).toBe(false);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    return r;
  };

  it("a wrong shape names the file, the expected shape and the input's declaration", async () => {
    npy("wrong.npy", [5, 15], 5);
    for (const engine of ["tfjs", "onnx"]) {
      const r = await run([at("mlp.resnet"), "--input", at("wrong.npy"), "--engine", engine]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("wrong.npy has shape [5, 15]: dim 1 is 15, the model needs 16");
      expect(r.stderr).toMatch(/mlp\.resnet:2:3: input x of Mlp is f32\[N, 16\]/);
    }
    npy("rank.npy", [16], 6);
    const r = await run([at("mlp.resnet"), "--input", at("rank.npy")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has shape [16]: rank 1, the model needs rank 2");
    // The same symbol binds the same size in every input.
    npy("a4.npy", [4, 8], 7);
    const two = await run([at("two.resnet"), "--input", `a=${at("a.npy")}`, "--input", `b=${at("a4.npy")}`]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain("dim 0 (N) is 4, but N is 3 in another input");
  }, 60_000);

  it("a missing file, a file that is not .npy, and an unsupported dtype", async () => {
    let r = await run([at("mlp.resnet"), "--input", at("absent.npy")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^resnetc: cannot read .*absent\.npy: no such file$/);
    writeFileSync(at("text.npy"), "not numpy at all");
    r = await run([at("mlp.resnet"), "--input", at("text.npy")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/text\.npy: not a \.npy file \(it does not start with \\x93NUMPY\)/);
    const bytes = encodeNpy([5, 16], values(80, 1));
    bytes.set(Buffer.from("'descr': '>f4'"), 11);
    writeFileSync(at("big-endian.npy"), bytes);
    r = await run([at("mlp.resnet"), "--input", at("big-endian.npy")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/big-endian\.npy: it holds big-endian '>f4' values/);
  });

  it("inputs named wrongly or missing, and bad options", async () => {
    const cases: [string[], RegExp][] = [
      [[at("mlp.resnet")], /give the input with --input X\.npy/],
      [[at("two.resnet"), "--input", at("a.npy")], /Two has 2 inputs; give each as --input NAME=X\.npy/],
      [[at("two.resnet"), "--input", `c=${at("a.npy")}`], /Two has no input c \(its inputs: a, b\)/],
      [[at("two.resnet"), "--input", `a=${at("a.npy")}`], /no --input for b/],
      [[at("mlp.resnet"), "--input", at("x.npy"), "--input", at("x.npy")], /input x is given twice/],
      [[at("mlp.resnet"), "--input", at("x.npy"), "--engine", "torch"], /--engine is tfjs or onnx, found torch/],
      [[at("mlp.resnet"), "--input", at("x.npy"), "--engine", "onnx", "--backend", "cpu"], /--backend picks a tfjs/],
      [[at("mlp.resnet"), "--input", at("x.npy"), "--seed", "x"], /--seed takes an integer/],
      [[at("absent.resnet"), "--input", at("x.npy")], /cannot read .*absent\.resnet: no such file/],
      [
        [at("two.resnet"), "--input", `a=${at("a.npy")}`, "--input", `b=${at("b.npy")}`, "-o", at("y.npy")],
        /Two has 2 outputs \(score, feat\); give -o a folder/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const r = await run([at("mlp.resnet"), "--input", at("x.npy"), "--backend", "quantum"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^resnetc: unknown backend quantum/);
  });

  it("a checkpoint that is missing or does not fit the model: located RN601 / RN603", async () => {
    let r = await run([at("mlp.resnet"), "--input", at("x.npy"), "--weights", at("no-such-ckpt")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mlp\.resnet:\d+:\d+ error RN601 cannot read checkpoint/);
    const params = await paramTable("mlp.resnet");
    // Every tensor right but one: dense1.weight [32, 15] where the model needs [32, 16].
    const tensors = new Map<string, { dims: number[]; data: Float32Array }>(
      params.map((p) => [
        p.name,
        {
          dims: p.dims,
          data: values(
            p.dims.reduce((a, b) => a * b, 1),
            9,
          ),
        },
      ]),
    );
    tensors.set("dense1.weight", { dims: [32, 15], data: values(32 * 15, 9) });
    const { json, bin } = encodeCheckpoint(tensors);
    mkdirSync(at("bad-ckpt"), { recursive: true });
    writeFileSync(at("bad-ckpt/weights.json"), json);
    writeFileSync(at("bad-ckpt/weights.bin"), bin);
    for (const engine of ["tfjs", "onnx"]) {
      r = await run([at("mlp.resnet"), "--input", at("x.npy"), "--weights", at("bad-ckpt"), "--engine", engine]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/mlp\.resnet:3:3 error RN603 checkpoint tensor `dense1\.weight` has shape \[32, 15\]/);
    }
  });
});

describe("--engine onnx without onnxruntime-node", () => {
  it("says how to install it, in one line", async () => {
    const missing = Object.assign(new Error("Cannot find package 'onnxruntime-node' imported from /x/predict.js"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    await expect(loadOrt(() => Promise.reject(missing))).rejects.toThrow(
      new RegExp(
        "^--engine onnx needs onnxruntime-node, an optional dependency of @resnetc/runtime that is not installed " +
          "here: npm install onnxruntime-node \\(or use --engine tfjs\\)$",
      ),
    );
    const broken = new Error("libonnxruntime.so.1: cannot open shared object file\n    at somewhere");
    await expect(loadOrt(() => Promise.reject(broken))).rejects.toThrow(
      /^onnxruntime-node is installed but did not load: libonnxruntime\.so\.1: cannot open shared object file$/,
    );
    await expect(loadOrt(() => Promise.reject(missing))).rejects.toHaveProperty("name", "PredictError");
  });
});
