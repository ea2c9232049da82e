// A model's layer table and totals, as text or as the JSON `resnetc summary --json` prints.
// Takes: graphs. Gives: strings and plain objects. Must not: print.

import { dimStr, type Dim } from "./dims.js";
import type { Graph } from "./ir.js";

const fmt = (n: number): string => (Number.isFinite(n) ? n.toLocaleString("en-US") : "?");
const jsonDim = (d: Dim): number | string => (typeof d === "number" ? d : dimStr(d));
const shape = (s: readonly Dim[]): string => `[${s.map(dimStr).join(", ")}]`;

/** Human-readable magnitudes: 4.09G, 25.6M. */
export function human(n: number): string {
  if (!Number.isFinite(n)) return "?";
  for (const [v, s] of [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "K"],
  ] as const)
    if (n >= v) return `${(n / v).toFixed(2)}${s}`;
  return String(n);
}

export function summaryTable(g: Graph): string {
  const rows = g.nodes.map((n) => [
    n.name,
    n.op,
    shape(n.shape),
    // A later use of a shared block names the layer whose parameters it uses (counted there).
    n.shares !== undefined ? `(shares ${g.nodes[n.shares]!.name})` : n.params ? fmt(n.params) : "",
    n.macs ? fmt(n.macs) : Number.isNaN(n.macs) ? "?" : "",
  ]);
  const head = ["layer", "op", "output shape", "params", "MACs"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [`model ${g.name} (${g.file})`, line(head), rule, ...rows.map(line), rule];
  out.push(`inputs:  ${g.inputs.map((i) => `${i.name} ${shape(i.shape)}`).join(", ")}`);
  out.push(`outputs: ${g.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(", ")}`);
  out.push(`params:  ${fmt(g.params)} (${human(g.params)})`);
  out.push(`MACs:    ${fmt(g.macs)} (${human(g.macs)}) per sample`);
  out.push(`layers:  ${g.nodes.length}`);
  return out.join("\n");
}

export function summaryJson(graphs: readonly Graph[]): object {
  return {
    models: graphs.map((g) => ({
      name: g.name,
      params: g.params,
      macs: Number.isFinite(g.macs) ? g.macs : null,
      inputs: g.inputs.map((i) => ({ name: i.name, shape: i.shape.map(jsonDim) })),
      outputs: g.outputs.map((o) => ({ name: o.name, shape: o.shape.map(jsonDim) })),
    })),
  };
}
