// Tile and Slice as block copies, for both the cpu and the wasm backend's kernels. A training step
// needs both: tfjs's batch-norm gradient tiles [1, 1, 1, C] up to [N, H, W, C] for every batch
// norm, and option A shortcuts slice a 6-D view. The stock kernels compute a multi-index per
// element (cpu) or walk elements one by one (wasm): on CIFAR ResNet-20 they took a third of a
// wasm training step. These copy contiguous runs (TypedArray.set / copyWithin) instead.
// Takes: typed arrays and shapes. Gives: the filled output array, and `copyPlan` (a kernel's
// output shape and fill) that the cpu and wasm adapters share. Must not: allocate per element.

import * as tf from "@tensorflow/tfjs";

type Numeric = Float32Array | Int32Array | Uint8Array;

/** Tile or Slice of x as its kernel attributes say: the output's shape, and the copy into it. */
export function copyPlan(
  name: "Tile" | "Slice",
  x: tf.TensorInfo,
  attrs: Record<string, unknown>,
): {
  shape: number[];
  fill: (xv: Numeric, out: Numeric) => void;
  runs?: (visit: (from: number, run: number) => void) => void;
} {
  if (name === "Tile") {
    const reps = attrs["reps"] as number[];
    return { shape: x.shape.map((d, i) => d * reps[i]!), fill: (xv, out) => tileInto(xv, x.shape, reps, out) };
  }
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as unknown as tf.Tensor,
    attrs["begin"] as number[],
    attrs["size"] as number[],
  );
  return {
    shape: size,
    fill: (xv, out) => sliceInto(xv, x.shape, begin, size, out),
    runs: (visit) => sliceRuns(x.shape, begin, size, visit),
  };
}

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** out = tile(x, reps): out.shape[i] = shape[i] * reps[i]. `out` must have that many elements. */
export function tileInto(x: Numeric, shape: number[], reps: number[], out: Numeric): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  const outShape = shape.map((d, i) => d * reps[i]!);
  const xs = strides(shape);
  const os = strides(outShape);
  // Fills the block of out at oOff for dims dim.. from x at xOff, then repeats it reps[dim] times.
  const fill = (dim: number, xOff: number, oOff: number): void => {
    const n = shape[dim]!;
    if (dim === rank - 1) {
      (out as Float32Array).set((x as Float32Array).subarray(xOff, xOff + n), oOff);
    } else {
      for (let i = 0; i < n; i++) fill(dim + 1, xOff + i * xs[dim]!, oOff + i * os[dim]!);
    }
    const block = n * os[dim]!;
    // Doubling: copy what is filled so far onto the rest, in as few calls as possible.
    let done = block;
    const total = block * reps[dim]!;
    while (done < total) {
      const len = Math.min(done, total - done);
      out.copyWithin(oOff + done, oOff, oOff + len);
      done += len;
    }
  };
  fill(0, 0, 0);
}

/** Visits the contiguous runs of x[begin[0] : begin[0] + size[0], ...] (a contiguous-step slice,
 * any rank) in output order: each run starts at x element `from` and is `run` elements long. */
export function sliceRuns(
  shape: number[],
  begin: number[],
  size: number[],
  visit: (from: number, run: number) => void,
): void {
  const rank = shape.length;
  if (size.some((d) => d === 0)) return;
  if (rank === 0) {
    visit(0, 1);
    return;
  }
  const xs = strides(shape);
  // The trailing dims taken whole are one contiguous run, together with the last partial dim.
  let last = rank - 1;
  while (last > 0 && begin[last] === 0 && size[last] === shape[last]) last--;
  const run = size[last]! * xs[last]!;
  const walk = (dim: number, xOff: number): void => {
    if (dim === last) {
      visit(xOff + begin[dim]! * xs[dim]!, run);
      return;
    }
    for (let i = 0; i < size[dim]!; i++) walk(dim + 1, xOff + (begin[dim]! + i) * xs[dim]!);
  };
  walk(0, 0);
}

/** out = x[begin[0] : begin[0] + size[0], ...] (a contiguous-step slice, any rank). */
export function sliceInto(x: Numeric, shape: number[], begin: number[], size: number[], out: Numeric): void {
  let o = 0;
  sliceRuns(shape, begin, size, (from, run) => {
    (out as Float32Array).set((x as Float32Array).subarray(from, from + run), o);
    o += run;
  });
}
