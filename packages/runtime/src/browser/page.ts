// The training page of `resnetc compile --target web`: trains the emitted model in the browser
// on WebGPU (where `navigator.gpu` gives an adapter) or wasm, on deterministic synthetic data or
// IDX / CIFAR-10 files picked in `#files`, and shows a progress line, loss and accuracy curves
// and a checkpoint download. Its contract with tests (and anyone's): query
// `?backend=webgpu|wasm|cpu&steps=N&batch=N&data=synthetic|files&samples=N&autostart=1`;
// progress in `#status`; when done, a JSON object in `#result`: backend, adapter, data, steps,
// losses, accuracies (each step's training-batch accuracy, before its update), accuracy (the
// last one), imagesPerSec, and the model's output (`prediction`) on a fixed seeded input
// (`predictionInput`, canonical NCHW), which ONNX Runtime reproduces from the checkpoint.
// `samples=N` sets the size of the synthetic set (default 1024).
// Takes: the emitted model module. Gives: a page. Must not: import anything from Node (it is
// bundled for the browser by web-build.ts), or fetch anything but its own wasm files.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { encodeCheckpoint } from "resnetc/weights/browser";
import { checkCompatible, type Dataset } from "../data-parse.js";
import { datasetFromFiles } from "./files.js";
import { getParams, initParams, toModelInput, type ParamInfo } from "../params-core.js";
import type { InputInfo } from "../train.js";
import { registerWebGpuKernels } from "../webgpu-kernels.js";
import { registerWasmTrainingKernels } from "../wasm-kernels.js";
import { registerFusedBatchNorm } from "../batchnorm.js";
import { registerReluGrad } from "../relu-grad.js";

export interface PageModel {
  MODEL_NAME: string;
  INPUTS: InputInfo[];
  PARAMS: ParamInfo[];
  CLASSES: number;
  buildModel(): tf.LayersModel;
}

export interface PageResult {
  model: string;
  backend: string;
  adapter: string;
  note: string;
  data: string;
  steps: number;
  batch: number;
  losses: number[];
  accuracies: number[];
  accuracy: number;
  imagesPerSec: number;
  predictionInput: { dims: number[]; data: number[] };
  prediction: number[];
}

/** The seed of the initial weights (`resnetc compile --target onnx --seed 0` draws the same). */
const INIT_SEED = 0;
const DATA_SEED = 1;
const PREDICTION_SEED = 2;

/** mulberry32: a small seeded generator, so data and the prediction input are the same in every
 * browser and run (Math.random cannot be seeded). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Synthetic data: `samples` images, each its class's fixed random pattern plus its own noise,
 * labels cycling through the classes; step s takes the next `batch` of them, wrapping around.
 * Deterministic. With samples = batch every step sees the same batch: the loss must fall
 * (the sanity check of fitting one batch). */
function syntheticBatch(shape: number[], classes: number, batch: number, step: number, samples: number) {
  const size = shape.reduce((a, b) => a * b, 1);
  const proto = rng(DATA_SEED);
  const patterns = Array.from({ length: classes }, () => Float32Array.from({ length: size }, () => proto() * 2 - 1));
  const x = new Float32Array(batch * size);
  const labels: number[] = [];
  for (let i = 0; i < batch; i++) {
    const k = (step * batch + i) % samples;
    const noise = rng(DATA_SEED + 1000 + k);
    const c = k % classes;
    labels.push(c);
    const p = patterns[c]!;
    for (let j = 0; j < size; j++) x[i * size + j] = p[j]! + 0.3 * (noise() * 2 - 1);
  }
  return { x, labels };
}

/** Step s of picked files: the next `batch` samples in file order, wrapping around. */
function fileBatch(d: Dataset, batch: number, step: number) {
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  const x = new Float32Array(batch * per);
  const labels: number[] = [];
  for (let i = 0; i < batch; i++) {
    const k = (step * batch + i) % d.count;
    x.set(d.images.subarray(k * per, (k + 1) * per), i * per);
    labels.push(d.labels[k]!);
  }
  return { x, labels };
}

interface Choice {
  backend: string;
  adapter: string;
  note: string;
}

/** WebGPU when an adapter is there (or asked for), else wasm with resnetc's training kernels,
 * else cpu. `forced` comes from `?backend=`. */
async function chooseBackend(forced: string | null): Promise<Choice> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (forced === null || forced === "webgpu") {
    const adapter = (await gpu?.requestAdapter().catch(() => null)) as {
      info?: { vendor?: string; architecture?: string; description?: string };
    } | null;
    if (adapter && (await tf.setBackend("webgpu").catch(() => false))) {
      await tf.ready();
      registerWebGpuKernels();
      const i = adapter.info ?? {};
      const name = [i.vendor, i.architecture, i.description].filter((s) => s).join(" ") || "unnamed adapter";
      return { backend: "webgpu", adapter: name, note: "" };
    }
    if (forced === "webgpu") throw new Error("?backend=webgpu: this browser gives no WebGPU adapter");
  }
  if (forced === null || forced === "wasm") {
    // The .wasm files sit beside the page (web-build.ts copies them).
    setWasmPaths(new URL("./", location.href).href);
    if (await tf.setBackend("wasm").catch(() => false)) {
      await tf.ready();
      // resnetc's kernels (gradients on XNNPACK, fused batch norm); in a browser without its
      // SIMD module and helper thread (Node only), so their JavaScript loops run.
      registerWasmTrainingKernels();
      registerFusedBatchNorm("wasm");
      registerReluGrad("wasm");
      return {
        backend: "wasm",
        adapter: "",
        note: forced === "wasm" ? "?backend=wasm" : gpu ? "no WebGPU adapter: wasm" : "no WebGPU in this browser: wasm",
      };
    }
  }
  await tf.setBackend("cpu");
  registerFusedBatchNorm("cpu");
  return { backend: "cpu", adapter: "", note: "tfjs's cpu backend (slow)" };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.textContent = text;
  return e;
}

/** A curve as an inline SVG polyline (no chart library in the bundle). The loss is scaled from
 * its lowest to its highest value so a fall of a few percent over a few steps shows; accuracy
 * keeps its 0..1 range, so a curve from 0.1 to 0.2 does not look like one to 1. */
function drawCurve(svg: SVGSVGElement, values: number[], steps: number, what: "loss" | "accuracy"): void {
  const w = 480;
  const h = 160;
  const color = what === "loss" ? "#1f77b4" : "#2ca02c";
  const [min, max] = what === "loss" ? [Math.min(...values), Math.max(...values)] : [0, 1];
  const span = max - min || 1;
  const pts = values.map(
    (l, i) => `${(i / Math.max(steps - 1, 1)) * (w - 20) + 10},${h - 10 - ((l - min) / span) * (h - 40)}`,
  );
  svg.innerHTML =
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#fafafa" stroke="#ccc"/>` +
    `<text x="12" y="16" font-size="11">${what === "loss" ? "loss" : "training-batch accuracy"} per step: ` +
    `${max.toFixed(4)} (top) to ${min.toFixed(4)} (bottom)</text>` +
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>` +
    pts.map((p) => `<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${color}"/>`).join("");
}

function svgCurve(id: string): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("id", id);
  svg.setAttribute("width", "480");
  svg.setAttribute("height", "160");
  return svg;
}

function download(name: string, data: BlobPart, type: string): void {
  const a = el("a", { href: URL.createObjectURL(new Blob([data], { type })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

export function startPage(m: PageModel): void {
  const q = new URLSearchParams(location.search);
  const int = (k: string, d: number) => {
    const v = Number(q.get(k) ?? d);
    return Number.isInteger(v) && v > 0 ? v : d;
  };
  const steps = int("steps", 20);
  const batch = int("batch", 16);
  const samples = int("samples", 1024);
  let data = q.get("data") ?? "synthetic";
  document.title = `resnetc: train ${m.MODEL_NAME}`;
  const status = el(
    "p",
    { id: "status" },
    `ready: ${steps} steps of batch ${batch} on ${data} data (${samples} samples)`,
  );
  const start = el("button", { id: "start" }, "train");
  const save = el("button", { id: "download", disabled: "" }, "download checkpoint");
  const files = el("input", { id: "files", type: "file", multiple: "" });
  // Picking files switches the run to them, as ?data=files does.
  files.onchange = () => {
    data = files.files?.length ? "files" : "synthetic";
    status.textContent = `ready: ${steps} steps of batch ${batch} on ${files.files?.length ?? 0} picked files`;
  };
  const pickLabel = el("label", {}, "data: IDX (MNIST, Fashion-MNIST; .gz too) or CIFAR-10 .bin files ");
  pickLabel.append(files);
  const lossSvg = svgCurve("loss");
  const accSvg = svgCurve("accuracy");
  const result = el("pre", { id: "result" });
  const curves = el("p");
  curves.append(lossSvg, " ", accSvg);
  document.body.append(el("h1", {}, `${m.MODEL_NAME}`), pickLabel, status, start, save, curves, result);
  let checkpoint: { json: string; bin: Uint8Array } | undefined;
  save.onclick = () => {
    if (!checkpoint) return;
    download("weights.json", checkpoint.json, "application/json");
    // encodeCheckpoint allocates a plain ArrayBuffer (never shared memory).
    download("weights.bin", checkpoint.bin as Uint8Array<ArrayBuffer>, "application/octet-stream");
  };
  const run = async () => {
    start.setAttribute("disabled", "");
    try {
      if (data !== "synthetic" && data !== "files") throw new Error(`?data=${data}: synthetic or files`);
      const input = m.INPUTS[0]!;
      const shape = input.shape.map((d) => (typeof d === "number" ? d : NaN));
      if (m.INPUTS.length !== 1 || shape.some((d) => !Number.isFinite(d)))
        throw new Error("the page trains models with one input of fixed shape");
      let picked: Dataset | undefined;
      if (data === "files") {
        picked = await datasetFromFiles(Array.from(files.files ?? []));
        checkCompatible(picked, shape as [number, number, number], m.CLASSES, input.name);
      }
      const choice = await chooseBackend(q.get("backend"));
      status.textContent = `backend ${choice.backend} ${choice.adapter} ${choice.note}: building ${m.MODEL_NAME}`;
      const model = m.buildModel();
      initParams(model, m.PARAMS, INIT_SEED);
      const optimizer = tf.train.momentum(0.05, 0.9);
      const losses: number[] = [];
      const accuracies: number[] = [];
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) {
        const b = picked ? fileBatch(picked, batch, s) : syntheticBatch(shape, m.CLASSES, batch, s, samples);
        const x = toModelInput(b.x, batch, shape);
        const labels = tf.tensor1d(b.labels, "int32");
        const y = tf.oneHot(labels, m.CLASSES);
        let correct: tf.Tensor | undefined;
        const cost = optimizer.minimize(() => {
          const logits = model.apply(x, { training: true }) as tf.Tensor;
          // The accuracy of the logits this step trains on: no second forward pass. Kept out of
          // minimize's tidy, and outside the gradient (argMax has none).
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32")));
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        }, true)!;
        // Async reads: WebGPU has no cheap synchronous one, and they keep the page responsive.
        const loss = (await cost.data())[0]!;
        const acc = (await correct!.data())[0]! / batch;
        tf.dispose([x, labels, y, cost, correct!]);
        losses.push(loss);
        accuracies.push(acc);
        if (!Number.isFinite(loss)) throw new Error(`step ${s + 1}: the loss is ${loss}`);
        const secs = (performance.now() - t0) / 1000;
        const rate = (((s + 1) * batch) / secs).toFixed(1);
        const on = `${choice.backend}${choice.adapter ? ` (${choice.adapter})` : ""}`;
        const figures = `loss ${loss.toFixed(4)} accuracy ${acc.toFixed(3)} ${rate} images/s`;
        status.textContent = `step ${s + 1}/${steps} ${figures} on ${on}`;
        drawCurve(lossSvg, losses, steps, "loss");
        drawCurve(accSvg, accuracies, steps, "accuracy");
      }
      const imagesPerSec = (steps * batch) / ((performance.now() - t0) / 1000);
      const r = rng(PREDICTION_SEED);
      const fixed = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const xin = toModelInput(fixed, 1, shape);
      const out = model.predict(xin) as tf.Tensor;
      const prediction = Array.from(await out.data());
      tf.dispose([xin, out]);
      checkpoint = encodeCheckpoint(await getParams(model, m.PARAMS), m.MODEL_NAME);
      save.removeAttribute("disabled");
      const res: PageResult = {
        model: m.MODEL_NAME,
        ...choice,
        data: picked ? picked.name : "synthetic",
        steps,
        batch,
        losses,
        accuracies,
        accuracy: accuracies[accuracies.length - 1]!,
        imagesPerSec,
        predictionInput: { dims: [1, ...shape], data: Array.from(fixed) },
        prediction,
      };
      status.textContent += ": done";
      result.textContent = JSON.stringify(res);
    } catch (e) {
      status.textContent = `error: ${(e as Error).message}`;
      start.removeAttribute("disabled");
    }
  };
  start.onclick = () => void run();
  if (q.get("autostart") === "1") void run();
}
