// Layers used more than once: every later use of a `share`d block applies the first use's layers.
// Takes: the table a generated buildModel passes (layer name -> the layer whose weights it uses),
// and, from each helper that makes a layer with weights, how to make it. Gives: the first use's
// layer object for a name in the table (tfjs applies one layer to several inputs and keeps its
// weights once, so training updates them from every use), else a new layer.
// Must not: reuse a layer without weights (their configs follow the input's shape), or outlive the
// buildModel call that set the table (it ends with an empty one).

import type * as tf from "@tensorflow/tfjs";

let aliases = new Map<string, string>();
const built = new Map<string, tf.layers.Layer>();

/** Sets the table for the model being built (`{}` when it is done). */
export function shareLayers(table: Readonly<Record<string, string>>): void {
  aliases = new Map(Object.entries(table));
  built.clear();
}

/** The layer `name`: the one already made for the layer it shares, or `make()`. */
export function weightLayer<L extends tf.layers.Layer>(name: string, make: () => L): L {
  const owner = aliases.get(name);
  if (owner !== undefined) {
    const layer = built.get(owner);
    if (!layer) throw new Error(`shared layer ${name}: its first use ${owner} was not built before it`);
    return layer as L;
  }
  const layer = make();
  if (aliases.size > 0) built.set(name, layer);
  return layer;
}
