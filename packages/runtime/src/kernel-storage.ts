// A float32 kernel's view of its backend's memory, for the kernels resnetc registers on the cpu
// and wasm backends (batchnorm.ts, layers-spike.ts): read an input's values, make an output.
// Takes: the backend's name and object (a kernel's `args.backend`). Gives: `read` and `make`.
// Must not: be held across allocations on wasm: making an output may grow (move) the heap, so a
// kernel makes all its outputs first and takes its views (`read`, the view function) after.
import type * as tf from "@tensorflow/tfjs";

export type Storage = {
  read(t: tf.TensorInfo): Float32Array;
  make(shape: number[]): [tf.TensorInfo, () => Float32Array];
};

export function storage(backendName: "cpu" | "wasm", backend: unknown): Storage {
  if (backendName === "wasm") {
    const b = backend as {
      makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
      typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
    };
    return {
      read: (t) => b.typedArrayFromHeap(t),
      make: (shape) => {
        const info = b.makeOutput(shape, "float32");
        return [info, () => b.typedArrayFromHeap(info)];
      },
    };
  }
  const b = backend as {
    data: { get(id: object): { values: Float32Array } };
    makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
  };
  return {
    read: (t) => b.data.get(t.dataId).values,
    make: (shape) => {
      const values = new Float32Array(shape.reduce((p, q) => p * q, 1));
      const info = b.makeTensorInfo(shape, "float32", values);
      return [info, () => values];
    },
  };
}
