// The main job's last step: compile every example to ONNX under out/, then run each model in
// ONNX Runtime on a random batch of 2 and print its output shape and time.
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import ort from "onnxruntime-node";
import { main } from "../dist/cli/main.js";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const io = { cwd: root, out: (s) => console.log(s), err: (s) => console.error(s) };
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".resnet"))
  .sort();

let failed = 0;
for (const f of examples) {
  const dir = join("out", basename(f, ".resnet"));
  if (main(["compile", join("examples", f), "--target", "onnx", "-o", `${dir}/`], io) !== 0) {
    failed++;
    continue;
  }
}
console.log("");
console.log("model                     output        ms (batch 2)");
// Only the folders compiled above: out/ also holds what tests and other commands leave there.
for (const dir of examples.map((f) => basename(f, ".resnet"))) {
  for (const file of readdirSync(join(root, "out", dir))
    .filter((x) => x.endsWith(".onnx"))
    .sort()) {
    const session = await ort.InferenceSession.create(join(root, "out", dir, file));
    const feeds = {};
    for (const [i, name] of session.inputNames.entries()) {
      const meta = session.inputMetadata?.[i];
      const dims = (meta?.shape ?? []).map((d) => (typeof d === "number" ? d : 2));
      const n = dims.reduce((a, b) => a * b, 1);
      feeds[name] = new ort.Tensor(
        "float32",
        Float32Array.from({ length: n }, () => Math.random()),
        dims,
      );
    }
    const t = performance.now();
    const out = await session.run(feeds);
    const ms = performance.now() - t;
    const shapes = session.outputNames.map((o) => `[${out[o].dims.join(", ")}]`).join(" ");
    const finite = session.outputNames.every((o) => out[o].data.every(Number.isFinite));
    if (!finite) failed++;
    console.log(
      `${basename(file, ".onnx").padEnd(25)} ${shapes.padEnd(13)} ${ms.toFixed(1).padStart(8)}` +
        `${finite ? "" : "  NOT FINITE"}`,
    );
  }
}
process.exitCode = failed ? 1 : 0;
