// The training page of `resnetc compile --target web` in a real browser: Debian's chromium,
// driven by playwright-core (no browser download), headless with WebGPU on SwiftShader (a Vulkan
// on the CPU that ships with chromium). The page for CIFAR ResNet-20 trains on WebGPU, its loss
// falls on a batch it sees every step, its downloaded checkpoint compiles to ONNX, and ONNX
// Runtime's output on the page's fixed input equals the page's own prediction. The wasm fallback
// (resnetc's kernels, without their Node-only SIMD helper) trains too. The page is served over
// http: file:// URLs refuse module scripts and wasm. Under CI=true these never skip; elsewhere
// they skip when /usr/bin/chromium is missing. A page for a small 1x8x8 model trains on IDX
// files set on its file input (one gzipped, so DecompressionStream runs). A screenshot of the
// WebGPU run goes to out/ (to docs/web-page.png with UPDATE_SCREENSHOTS=1).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { gzipSync } from "node:zlib";
import ort from "onnxruntime-node";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PageResult } from "../src/browser/page.js";
import { idxImages, idxLabels } from "./data-fixtures.js";
import { outDir, resnetcRoot, runCliAsync } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (process.env["CI"] === "true" && !haveChromium)
  throw new Error(`CI: ${CHROMIUM} is missing (apt-get install chromium, as .ci/run does)`);

const dir = join(outDir, "web-page-test");
const site = join(dir, "site");
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

let server: Server;
let base = "";
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = await runCliAsync([
    "compile",
    "examples/cifar-resnet.resnet",
    "--model",
    "ResNet20",
    "--target",
    "web",
    "-o",
    site,
  ]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  // A model of MNIST's kind (one channel), small enough to train in seconds on SwiftShader.
  writeFileSync(
    join(dir, "tiny.resnet"),
    'import "std/resnet.resnet"\nmodel Tiny {\n  input image: f32[N, 1, 8, 8]\n  conv(8, k=3) bn relu\n  ' +
      "Basic(8)\n  avgpool flatten dense(10)\n}\n",
  );
  const t = await runCliAsync(["compile", join(dir, "tiny.resnet"), "--target", "web", "-o", join(site, "tiny")]);
  expect(t.stderr).toBe("");
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    // A folder's URL (/, /tiny/) serves its index.html, as any static server does.
    const file = normalize(join(site, path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(site) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // WebGPU is behind a flag on Linux; SwiftShader is the Vulkan device where there is no GPU.
    args: ["--headless=new", "--enable-unsafe-webgpu", "--use-vulkan=swiftshader", "--use-angle=swiftshader"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits for the page's `#result` (or an error in `#status`) and parses it. */
async function resultOf(page: Page): Promise<PageResult> {
  await page.waitForFunction(
    () =>
      document.querySelector("#result")?.textContent ||
      document.querySelector("#status")?.textContent?.startsWith("error"),
    undefined,
    { timeout: 400_000, polling: 500 },
  );
  const text = await page.textContent("#result");
  if (!text) throw new Error(`the page failed: ${await page.textContent("#status")}`);
  return JSON.parse(text) as PageResult;
}

/** Opens the page with the query given and waits for its result. */
async function train(query: string): Promise<{ page: Page; result: PageResult }> {
  const page = await browser.newPage({ acceptDownloads: true });
  await page.goto(base + query);
  return { page, result: await resultOf(page) };
}

/** The page's two checkpoint downloads, saved into `to`. */
async function downloadCheckpoint(page: Page, to: string): Promise<void> {
  const names: string[] = [];
  let saved = 0;
  const done = new Promise<void>((ok, fail) => {
    page.on("download", (d) => {
      names.push(d.suggestedFilename());
      // Done when both files are saved, not when both downloads have started (the first save
      // could still be writing when the second download is announced).
      d.saveAs(join(to, d.suggestedFilename()))
        .then(() => ++saved === 2 && ok())
        .catch(fail);
    });
  });
  await page.click("#download");
  await done;
  expect(names.sort()).toEqual(["weights.bin", "weights.json"]);
}

/** ResNet-20 compiled to ONNX (with the checkpoint in `weights`, else the seed's initial values)
 * and run in ONNX Runtime on `input`. */
async function onnxOutput(name: string, input: PageResult["predictionInput"], weights?: string): Promise<Float32Array> {
  const onnx = join(dir, name);
  const args = ["compile", "examples/cifar-resnet.resnet", "--model", "ResNet20", "--target", "onnx", "-o", onnx];
  const c = await runCliAsync(weights === undefined ? args : [...args, "--weights", weights]);
  expect(c.stderr).toBe("");
  expect(c.code).toBe(0);
  const session = await ort.InferenceSession.create(onnx);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(input.data), input.dims) };
  return (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
}

describe.skipIf(!haveChromium)("compile --target web: the training page in chromium", () => {
  it("trains ResNet-20 on WebGPU, and its checkpoint in ONNX Runtime gives the page's prediction", async () => {
    // samples=4 = batch: every step sees the same batch, so the loss must fall.
    const { page, result } = await train("?autostart=1&steps=3&batch=4&samples=4");
    expect(result.backend).toBe("webgpu");
    expect(result.adapter).not.toBe("");
    expect(result.steps).toBe(3);
    expect(result.losses).toHaveLength(3);
    for (const l of result.losses) expect(Number.isFinite(l)).toBe(true);
    expect(result.losses[2]!).toBeLessThan(result.losses[0]!);
    expect(result.accuracies).toHaveLength(3);
    expect(result.data).toBe("synthetic");
    expect(result.imagesPerSec).toBeGreaterThan(0);
    expect(await page.textContent("#status")).toMatch(/^step 3\/3 loss .* on webgpu .*done$/);
    // The committed screenshot (docs/web-page.png) is rewritten only when asked, as golden files
    // are; otherwise a test run would leave the tree dirty.
    const shot =
      process.env["UPDATE_SCREENSHOTS"] === "1"
        ? join(resnetcRoot, "docs", "web-page.png")
        : join(outDir, "web-page.png");
    await page.screenshot({ path: shot });

    const ckpt = join(dir, "checkpoint");
    mkdirSync(ckpt, { recursive: true });
    await downloadCheckpoint(page, ckpt);
    await page.close();
    const trained = await onnxOutput("trained.onnx", result.predictionInput, ckpt);
    expect(trained.length).toBe(result.prediction.length);
    const diff = Math.max(...Array.from(trained, (v, i) => Math.abs(v - result.prediction[i]!)));
    console.log(
      `web page: ${result.adapter}, losses ${result.losses.map((l) => l.toFixed(4)).join(" ")}, ` +
        `ONNX Runtime vs page max |diff| ${diff.toExponential(2)}`,
    );
    expect(diff).toBeLessThan(1e-4);
    // A trained model, not the initial one: the page's weights moved the output away from the
    // seed's (the same compile without --weights).
    const initial = await onnxOutput("initial.onnx", result.predictionInput);
    expect(Math.max(...Array.from(initial, (v, i) => Math.abs(v - trained[i]!)))).toBeGreaterThan(1e-3);
  }, 500_000);

  it("trains on IDX files picked in #files (images gzipped), with accuracy per step", async () => {
    // 6 images of 8x8: class c is bright in row c, so the labels are learnable.
    const labels = [0, 1, 2, 3, 4, 5];
    const images = idxImages(6, 8, 8, (i) => (Math.floor((i % 64) / 8) === labels[Math.floor(i / 64)]! ? 250 : 10));
    const files = [
      { name: "train-images-idx3-ubyte.gz", mimeType: "application/gzip", buffer: gzipSync(images) },
      { name: "train-labels-idx1-ubyte", mimeType: "application/octet-stream", buffer: idxLabels(labels) },
    ];
    const page = await browser.newPage();
    await page.goto(base + "tiny/?steps=2&batch=3&data=files");
    await page.setInputFiles("#files", files);
    await page.click("#start");
    const result = await resultOf(page);
    expect(result.data).toBe("IDX (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte)");
    expect(result.steps).toBe(2);
    expect(result.losses).toHaveLength(2);
    for (const l of result.losses) expect(Number.isFinite(l)).toBe(true);
    expect(result.accuracies).toHaveLength(2);
    // Each is a count of a batch of 3 right, divided by 3.
    for (const a of result.accuracies) expect([0, 1, 2, 3].map((k) => k / 3)).toContain(a);
    expect(result.accuracy).toBe(result.accuracies[1]);
    expect(await page.locator("#accuracy polyline").getAttribute("points")).toMatch(/^\S+,\S+ \S+,\S+$/);
    // A file of the wrong kind is refused with the runtime's own message.
    await page.reload();
    await page.setInputFiles("#files", [files[1]!, { ...files[1]!, name: "other-labels" }]);
    await page.click("#start");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("error"));
    expect(await page.textContent("#status")).toMatch(
      /^error: train-labels-idx1-ubyte has 14 bytes, too few for an IDX image header/,
    );
    await page.close();
  }, 300_000);

  it("falls back to wasm with resnetc's kernels when asked (?backend=wasm)", async () => {
    const { page, result } = await train("?autostart=1&steps=3&batch=4&samples=4&backend=wasm");
    await page.close();
    expect(result.backend).toBe("wasm");
    expect(result.note).toBe("?backend=wasm");
    expect(result.losses[2]!).toBeLessThan(result.losses[0]!);
    expect(result.prediction).toHaveLength(10);
  }, 120_000);
});
