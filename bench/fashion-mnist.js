// bench/fashion-mnist: trains a small ResNet on the real Fashion-MNIST (Debian's
// dataset-fashion-mnist) on this machine's CPU for a bounded time and prints test accuracy and
// samples/s. The last stdout line is one JSON object with the figures.
//
// usage: node bench/fashion-mnist.js [--minutes 30] [--batch 64] [--lr 0.1] [--optimizer sgd|adam]
//                                    [--augment] [--data DIR]
//
// Method (bench/fashion-lib.js): a short probe (20 steps) measures throughput; the run then gets
// as many steps as fit in --minutes (less a share for the per-epoch evaluations), with a cosine
// schedule that ends exactly at the last step, and a --minutes stop as a safety net. Test accuracy
// is on the full 10,000-image test set, measured after the last step. Target: >= 90%.
// Recipe: SGD with momentum 0.9 and weight decay 1e-4 (the training program's defaults), no
// augmentation (in a run of a few epochs pad-and-crop costs more accuracy than it gives; PyTorch
// on the same model and budget agrees).
import { parseArgs } from "node:util";
import { runFashionBench } from "./fashion-lib.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "0.1" },
    optimizer: { type: "string", default: "sgd" },
    augment: { type: "boolean", default: false },
    data: { type: "string", default: "/usr/share/datasets/fashion-mnist" },
  },
});
const minutes = Number(values.minutes);
const batch = Number(values.batch);
const data = values.data;

// Two basic blocks after a 3x3 stem; each block halves the resolution (a block at full 28x28
// would cost 40% of the compute for little accuracy in a 30-minute budget).
const MODEL = `# A small ResNet for 28x28 grey images (He et al. 2015's basic blocks, projection shortcuts).
import "std/resnet.resnet"
model FashionResNet {
  input image: f32[N, 1, 28, 28]
  conv(16, k=3) bn relu
  Basic(32, stride=2) Basic(64, stride=2)
  expect [N, 64, 7, 7]
  avgpool flatten dense(10)
}
`;

await runFashionBench({
  bench: "fashion-mnist",
  model: MODEL,
  file: "fashion.resnet",
  target: 0.9,
  minutes,
  batch,
  lr: values.lr,
  optimizer: values.optimizer,
  augment: values.augment,
  data,
});
