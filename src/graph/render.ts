// SVG and HTML pictures of a model: dot text (./text.ts) laid out by Graphviz compiled to
// WebAssembly (@viz-js/viz, loaded on first use: no system binary, no other command pays for it),
// and a self-contained HTML page around that SVG whose script collapses and expands block clusters.
// Takes: a GraphView. Gives: SVG or HTML text; the same view gives the same bytes.
// Must not: reach the network (the page's Content-Security-Policy allows no fetch, image, font or
// script from anywhere), place user text into the page except XML-escaped (xmlText) or into its
// script at all (the script reads numbers from a JSON block whose `<` are escaped).

import { commentText } from "../emit/escape.js";
import { allClusters, toDot, type GraphView } from "./text.js";

export class GraphRenderError extends Error {}

type Viz = Awaited<ReturnType<typeof import("@viz-js/viz").instance>>;
let viz: Promise<Viz> | undefined;

/** An SVG document of the view, laid out by Graphviz's dot. */
export async function toSvg(v: GraphView): Promise<string> {
  viz ??= import("@viz-js/viz").then((m) => m.instance());
  const r = (await viz).render(toDot(v), { format: "svg", engine: "dot" });
  if (r.status !== "success")
    throw new GraphRenderError(`Graphviz could not lay out ${v.name}: ${r.errors.map((e) => e.message).join("; ")}`);
  return r.output;
}

/** Text for XML or HTML content and attribute values. */
export function xmlText(s: string): string {
  const map: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  // Characters XML 1.0 cannot hold at all (C0 controls but tab and newline, lone surrogates...).
  return s
    .replace(/[&<>"']/g, (c) => map[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udfff]/gu, "\ufffd");
}

const STYLE = `
body { margin: 0; font: 14px system-ui, sans-serif; background: #fff; color: #222; }
header { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ddd; padding: 6px 12px; z-index: 1; }
header h1 { display: inline; font-size: 15px; margin-right: 16px; }
main { padding: 12px; overflow: auto; }
g.block > text { cursor: pointer; }
g.block.collapsed > path, g.block.collapsed > polygon { fill: #e3ecf7; }
.hidden { display: none; }
text.collapsed-note { font: 11px sans-serif; fill: #335; pointer-events: none; }
`;

/** The page's script: constant text, reads numbers only (the JSON in #graph-data). */
const SCRIPT = `
"use strict";
const data = JSON.parse(document.getElementById("graph-data").textContent);
const collapsed = new Set();
const el = (id) => document.getElementById(id);
function apply() {
  const hiddenNode = new Set();
  const hiddenBlock = new Set();
  // Blocks come parents first: one is hidden when its parent is collapsed or hidden.
  data.blocks.forEach(([id, start, end, parent]) => {
    const up = parent >= 0 ? data.blocks[parent][0] : undefined;
    if (up !== undefined && (collapsed.has(up) || hiddenBlock.has(up))) hiddenBlock.add(id);
    if (collapsed.has(id)) for (let n = start; n < end; n++) hiddenNode.add(n);
  });
  for (let n = 0; n < data.nodes; n++) el("n" + n)?.classList.toggle("hidden", hiddenNode.has(n));
  data.edges.forEach(([a, b], k) => el("e" + k)?.classList.toggle("hidden", hiddenNode.has(a) && hiddenNode.has(b)));
  for (const [id, start, end] of data.blocks) {
    const g = el(id);
    if (!g) continue;
    g.classList.toggle("hidden", hiddenBlock.has(id));
    g.classList.toggle("collapsed", collapsed.has(id));
    let note = g.querySelector("text.collapsed-note");
    if (collapsed.has(id) && !note) {
      const box = (g.querySelector("path, polygon") || g).getBBox();
      note = document.createElementNS("http://www.w3.org/2000/svg", "text");
      note.setAttribute("class", "collapsed-note");
      note.setAttribute("x", String(box.x + box.width / 2));
      note.setAttribute("y", String(box.y + box.height / 2));
      note.setAttribute("text-anchor", "middle");
      note.textContent = (end - start) + " layers collapsed (click the title to expand)";
      g.appendChild(note);
    } else if (!collapsed.has(id) && note) note.remove();
  }
}
for (const [id] of data.blocks) {
  const title = el(id)?.querySelector(":scope > text");
  title?.addEventListener("click", () => {
    collapsed.has(id) ? collapsed.delete(id) : collapsed.add(id);
    apply();
  });
}
el("collapse-all").addEventListener("click", () => {
  data.blocks.forEach(([id]) => collapsed.add(id));
  apply();
});
el("expand-all").addEventListener("click", () => {
  collapsed.clear();
  apply();
});
`;

/** Nothing from the network: only the page's own inline style and script. */
export const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

/** One HTML file: the SVG inline, buttons and a script to collapse and expand block clusters. */
export async function toHtml(v: GraphView): Promise<string> {
  const svg = (await toSvg(v)).replace(/^[\s\S]*?(?=<svg\b)/, "");
  const clusters = allClusters(v);
  const data = {
    nodes: v.nodes.length,
    edges: v.edges.map((e) => [e.from, e.to]),
    blocks: clusters.map((c) => [c.id, c.start, c.end, clusters.findIndex((p) => p.children.includes(c))]),
  };
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const title = xmlText(commentText(v.title));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${title}</h1>
<button id="collapse-all" type="button">collapse all blocks</button>
<button id="expand-all" type="button">expand all</button>
<span>${clusters.length} block instances; click a block's title to collapse or expand it</span></header>
<main>
${svg}
</main>
<script type="application/json" id="graph-data">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
