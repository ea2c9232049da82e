// The argument every tfjs kernel function receives (tfjs's KernelFunc takes `{inputs, backend,
// attrs}`; its own type is not exported from @tensorflow/tfjs's public entry point).
// Takes: nothing. Gives: one type for every kernel resnetc registers. Must not: hold code.
import type * as tf from "@tensorflow/tfjs";

export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
