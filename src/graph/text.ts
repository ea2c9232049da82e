// Graphviz dot and Mermaid flowchart text of one model's graph IR: a node per layer (its
// structural name and what it does), an edge per tensor labelled with that tensor's shape, and a
// cluster (dot) or subgraph (Mermaid) per block instance, nested as the blocks are.
// Takes: a Graph (src/ir/ir.ts) and a title (the model and the file it came from).
// Gives: a GraphView (what to draw) and its dot or Mermaid text; the same input gives the same text.
// Must not: place any text that comes from a .resnet file (names, block arguments, file paths)
// into dot or Mermaid except through dotString / mermaidText, which escape it for that format
// (quotes, backslashes, `<script>`, newlines, Mermaid's `#...;` entities), or draw a model
// larger than MAX_GRAPH_NODES (GraphTooLarge: Graphviz's layout would take minutes), or a label
// line longer than MAX_LABEL.

import { commentText } from "../emit/escape.js";
import { shapeStr } from "../ir/dims.js";
import type { Graph, IrNode } from "../ir/ir.js";

/** Most layers (plus outputs) one picture draws: ResNet-152 has 516, Inception-ResNet-v2 823;
 * CIFAR ResNet-1202 (4,210) is refused, with the count, rather than laid out for minutes. */
export const MAX_GRAPH_NODES = 2000;

export class GraphTooLarge extends Error {}

/** Longest line of a label (longer ones end in `...`): a structural name joins several names of
 * up to 256 characters each, and every layer of a stage repeats the stage's name. */
export const MAX_LABEL = 160;

const clip = (s: string): string => (s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 3)}...` : s);

export interface ViewNode {
  /** `n<index>`: a node of the IR by its id; an output sink gets an index after the last node. */
  id: string;
  /** Lines of the label (user text, unescaped). */
  lines: string[];
  kind: "io" | "conv" | "norm" | "act" | "pool" | "merge" | "other";
  /** Uses another layer's parameters (`share`). */
  shared: boolean;
}

export interface ViewEdge {
  from: number;
  to: number;
  /** The tensor's shape, `[N, 64, 56, 56]`. */
  label: string;
}

export interface ViewCluster {
  /** `b<index>`, the index in Graph.blocks. */
  id: string;
  label: string;
  /** The IR nodes directly inside this cluster (not inside a nested one). */
  nodes: number[];
  children: ViewCluster[];
  start: number;
  end: number;
}

export interface GraphView {
  title: string;
  /** A name for the graph that is an identifier (the model's name when it is one). */
  name: string;
  nodes: ViewNode[];
  edges: ViewEdge[];
  /** Top-level clusters; nodes outside every cluster are in `loose`. */
  clusters: ViewCluster[];
  loose: number[];
}

const KINDS: Record<string, ViewNode["kind"]> = {
  input: "io",
  conv: "conv",
  dwconv: "conv",
  sepconv: "conv",
  dense: "conv",
  bn: "norm",
  groupnorm: "norm",
  layernorm: "norm",
  relu: "act",
  leaky: "act",
  prelu: "act",
  gelu: "act",
  silu: "act",
  sigmoid: "act",
  tanh: "act",
  hardswish: "act",
  softmax: "act",
  maxpool: "pool",
  avgpool: "pool",
  gap: "pool",
  add: "merge",
  sub: "merge",
  mul: "merge",
  concat: "merge",
};

const stride = (s: number[]): string => (s.every((v) => v === 1) ? "" : ` /${[...new Set(s)].join("x")}`);

/** What a node does, in a few characters: `conv 3x3 /2, 128`, `maxpool 3x3 /2`, `dense 1000`. */
export function describe(n: IrNode): string {
  switch (n.op) {
    case "conv":
    case "dwconv":
    case "sepconv": {
      const a = n.attrs;
      const extra = [a.groups > 1 ? `g=${a.groups}` : "", a.dilation.some((d) => d !== 1) ? `d=${a.dilation[0]}` : ""];
      return `${n.op} ${a.kernel.join("x")}${stride(a.stride)}, ${a.out}${extra.filter(Boolean).map((e) => ` ${e}`)}`;
    }
    case "dense":
      return `dense ${n.attrs.out}`;
    case "maxpool":
    case "avgpool":
      return n.attrs.global ? `global ${n.op}` : `${n.op} ${n.attrs.kernel.join("x")}${stride(n.attrs.stride)}`;
    case "dropout":
    case "drop_path":
      return `${n.op} ${n.attrs.p}`;
    case "input":
      return `input ${n.attrs.dtype}`;
    default:
      return n.op;
  }
}

/** What to draw for a graph: nodes, shape-labelled edges and the block instances as a tree. */
export function graphView(g: Graph, title: string): GraphView {
  const count = g.nodes.length + g.outputs.length;
  if (count > MAX_GRAPH_NODES)
    throw new GraphTooLarge(
      `${g.name} has ${count.toLocaleString("en-US")} layers and outputs; a picture draws at most ` +
        `${MAX_GRAPH_NODES.toLocaleString("en-US")} (a smaller model, or a --model with fewer blocks)`,
    );
  const nodes: ViewNode[] = g.nodes.map((n) => ({
    id: `n${n.id}`,
    lines: [clip(n.name), clip(describe(n))],
    kind: KINDS[n.op] ?? "other",
    shared: n.shares !== undefined,
  }));
  const edges: ViewEdge[] = [];
  for (const n of g.nodes)
    for (const i of n.inputs) edges.push({ from: i, to: n.id, label: shapeStr(g.nodes[i]?.shape ?? []) });
  for (const [k, o] of g.outputs.entries()) {
    const id = g.nodes.length + k;
    nodes.push({ id: `n${id}`, lines: [clip(o.name), "output"], kind: "io", shared: false });
    edges.push({ from: o.node, to: id, label: shapeStr(o.shape) });
  }

  // Blocks come parent first; sorted by start (then the longer first) they nest as a stack. A
  // block that would overlap another without nesting (none should) is not drawn as a cluster.
  const order = g.blocks
    .map((b, i) => ({ b, i }))
    .filter(({ b }) => b.end > b.start)
    .sort((x, y) => x.b.start - y.b.start || y.b.end - x.b.end || x.i - y.i);
  const top: ViewCluster[] = [];
  const owner: (ViewCluster | undefined)[] = new Array(g.nodes.length).fill(undefined);
  const stack: ViewCluster[] = [];
  for (const { b, i } of order) {
    while (stack.length && stack[stack.length - 1]!.end <= b.start) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent && b.end > parent.end) continue;
    const c: ViewCluster = {
      id: `b${i}`,
      label: clip(`${b.name}: ${b.block}${b.args ? `(${b.args})` : ""}`),
      nodes: [],
      children: [],
      start: b.start,
      end: b.end,
    };
    (parent ? parent.children : top).push(c);
    stack.push(c);
    for (let n = b.start; n < b.end; n++) owner[n] = c;
  }
  const loose: number[] = [];
  for (let n = 0; n < g.nodes.length; n++) (owner[n] ? owner[n]!.nodes : loose).push(n);
  for (let k = 0; k < g.outputs.length; k++) loose.push(g.nodes.length + k);
  const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(g.name) ? g.name : "model";
  return { title: clip(title), name, nodes, edges, clusters: top, loose };
}

/** A dot double-quoted string of lines of user text: printable ASCII (commentText), `\` and `"`
 * escaped (so no `\N`, `\G` or `\l` of Graphviz's label escapes survives), lines joined by `\n`. */
export function dotString(lines: readonly string[]): string {
  return `"${lines.map((l) => commentText(l).replace(/[\\"]/g, (c) => `\\${c}`)).join("\\n")}"`;
}

const FILL: Record<ViewNode["kind"], string> = {
  io: "#e8e8e8",
  conv: "#cfe2f3",
  norm: "#fff2cc",
  act: "#d9ead3",
  pool: "#f4cccc",
  merge: "#ead1dc",
  other: "#ffffff",
};

function* walk(cs: readonly ViewCluster[]): Generator<ViewCluster> {
  for (const c of cs) {
    yield c;
    yield* walk(c.children);
  }
}

/** All clusters, parents before children. */
export const allClusters = (v: GraphView): ViewCluster[] => [...walk(v.clusters)];

/** Graphviz dot text. Every node, cluster and edge carries an `id` the HTML page's script uses. */
export function toDot(v: GraphView): string {
  const out: string[] = [
    `digraph ${v.name} {`,
    `  graph [label=${dotString([v.title])}, labelloc=t, fontname="Helvetica", fontsize=16, ` +
      `rankdir=TB, nodesep=0.3, ranksep=0.3];`,
    `  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.1,0.03"];`,
    `  edge [fontname="Helvetica", fontsize=8, fontcolor="#555555", color="#666666", arrowsize=0.6];`,
  ];
  const node = (i: number, indent: string): void => {
    const n = v.nodes[i]!;
    const style = n.shared ? `, style="rounded,filled,dashed"` : "";
    const shape = n.kind === "io" ? ", shape=oval" : "";
    out.push(
      `${indent}${n.id} [id="${n.id}", label=${dotString(n.lines)}, fillcolor="${FILL[n.kind]}"${shape}${style}];`,
    );
  };
  const cluster = (c: ViewCluster, indent: string): void => {
    out.push(`${indent}subgraph cluster_${c.id} {`);
    out.push(
      `${indent}  id="${c.id}"; class="block"; label=${dotString([c.label])}; labeljust=l; fontsize=10; ` +
        `style="rounded,filled"; fillcolor="#f7f7f7"; color="#999999";`,
    );
    // Children in node order, so the text follows the model.
    const items = [...c.nodes.map((n) => ({ at: n, n })), ...c.children.map((k) => ({ at: k.start, k }))];
    items.sort((a, b) => a.at - b.at);
    for (const it of items) "k" in it ? cluster(it.k!, `${indent}  `) : node(it.n!, `${indent}  `);
    out.push(`${indent}}`);
  };
  const items = [...v.loose.map((n) => ({ at: n, n })), ...v.clusters.map((k) => ({ at: k.start, k }))];
  items.sort((a, b) => a.at - b.at);
  for (const it of items) "k" in it ? cluster(it.k!, "  ") : node(it.n!, "  ");
  for (const [k, e] of v.edges.entries())
    out.push(`  n${e.from} -> n${e.to} [id="e${k}", label=${dotString([e.label])}];`);
  out.push("}");
  return out.join("\n") + "\n";
}

/**
 * Text inside a quoted Mermaid label: printable ASCII (commentText), then every character Mermaid
 * or the HTML it renders to would read as syntax written as a Mermaid entity code (`#quot;`,
 * `#lt;`, `#35;` ...), so a name can neither end the label nor become markup.
 */
export function mermaidText(s: string): string {
  const codes: Record<string, string> = { "#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;" };
  return commentText(s).replace(/[#"<>&`]/g, (c) => codes[c] ?? `#${c.charCodeAt(0)};`);
}

/** A Mermaid `flowchart TD`: the title as a comment, subgraphs for blocks, shapes on edges. */
export function toMermaid(v: GraphView): string {
  const out: string[] = [`%% ${mermaidText(v.title)}`, "flowchart TD"];
  const label = (lines: readonly string[]): string => `"${lines.map(mermaidText).join("<br/>")}"`;
  const node = (i: number, indent: string): void => {
    const n = v.nodes[i]!;
    const [open, close] = n.kind === "io" ? ["([", "])"] : ["[", "]"];
    out.push(`${indent}${n.id}${open}${label(n.lines)}${close}:::${n.kind}`);
  };
  const cluster = (c: ViewCluster, indent: string): void => {
    out.push(`${indent}subgraph ${c.id} [${label([c.label])}]`);
    out.push(`${indent}  direction TB`);
    const items = [...c.nodes.map((n) => ({ at: n, n })), ...c.children.map((k) => ({ at: k.start, k }))];
    items.sort((a, b) => a.at - b.at);
    for (const it of items) "k" in it ? cluster(it.k!, `${indent}  `) : node(it.n!, `${indent}  `);
    out.push(`${indent}end`);
  };
  const items = [...v.loose.map((n) => ({ at: n, n })), ...v.clusters.map((k) => ({ at: k.start, k }))];
  items.sort((a, b) => a.at - b.at);
  for (const it of items) "k" in it ? cluster(it.k!, "  ") : node(it.n!, "  ");
  for (const e of v.edges) out.push(`  n${e.from} -->|${label([e.label])}| n${e.to}`);
  for (const [kind, fill] of Object.entries(FILL)) out.push(`  classDef ${kind} fill:${fill},stroke:#666666`);
  return out.join("\n") + "\n";
}
