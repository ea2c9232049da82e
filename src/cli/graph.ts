// `resnetc graph FILE [--model M] --format svg|dot|mermaid|html [-o OUT]`: the architecture as a
// picture, each tensor's shape on its edge, block instances as (collapsible, in html) clusters.
// Takes: arguments and the CLI's IO sink. Gives: an exit code: 0 written, 1 the file has errors,
// 2 usage or I/O error (a model too large to draw is a usage error that says where it is).
// Must not: write other than through writeFileAtomic, or load the drawing code (and Graphviz's
// WebAssembly) before the file has checked without errors.

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { checkIsolated, hasErrors } from "../compiler.js";
import { renderText, summaryLine } from "../diagnostics/render.js";
import { AtomicWriteError, writeFileAtomic } from "../io/atomic-write.js";
import { spanLocator } from "../api.js";
import { suggest } from "../semantics/builtins.js";
import { ConfigError, loadConfig, postProcess } from "./config.js";
import { displayPath, expandInputs, nodeHost } from "./host.js";
import { projectRootFor } from "./lint.js";
import type { Io } from "./main.js";

export const GRAPH_FORMATS = ["svg", "dot", "mermaid", "html"] as const;

export const GRAPH_HELP = `usage: resnetc graph <file> [--model NAME] --format svg|dot|mermaid|html [-o OUT]

Draws a model (the file's only one, or the one named): a box per layer with its structural name
and what it does, an arrow per tensor labelled with its shape, and a cluster per block instance.
  --format svg       an SVG picture, laid out by Graphviz (built in: no system binary needed)
  --format dot       Graphviz dot text, for your own \`dot -Tpng\`
  --format mermaid   a Mermaid \`flowchart TD\` (GitHub renders it in a \`\`\`mermaid block)
  --format html      one self-contained page: the SVG and buttons and clicks that collapse and
                     expand block clusters (no network access)
  -o, --output FILE  write to FILE (atomically) instead of stdout

The same file gives the same bytes. Models of more than 2,000 layers are refused.`;

class GraphUsage extends Error {}

export async function cmdGraph(args: string[], io: Io): Promise<number> {
  try {
    return await run(args, io);
  } catch (e) {
    if (e instanceof GraphUsage) {
      io.err(`resnetc graph: ${e.message}\nrun \`resnetc graph --help\` for usage`);
      return 2;
    }
    if (e instanceof AtomicWriteError || e instanceof ConfigError) return (io.err(`resnetc: ${e.message}`), 2);
    throw e;
  }
}

async function run(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        root: { type: "string" },
        model: { type: "string" },
        format: { type: "string" },
        output: { type: "string", short: "o" },
      },
    });
  } catch (e) {
    throw new GraphUsage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return (io.out(GRAPH_HELP), 0);
  if (positionals.length !== 1) throw new GraphUsage("give exactly one .resnet file");
  const format = values.format;
  if (!GRAPH_FORMATS.includes(format as never))
    throw new GraphUsage(
      `--format must be ${GRAPH_FORMATS.join(", ")}` +
        (format === undefined ? " (it is required)" : `, found ${format}`),
    );
  const file = positionals[0]!;
  const { files, missing } = expandInputs(io.cwd, [file]);
  if (missing.length || files.length !== 1) return (io.err(`resnetc: cannot read ${file}: no such file`), 2);
  const host = nodeHost(io.cwd, values.root !== undefined ? { root: values.root } : {});
  const model = values.model;
  const r = checkIsolated(files[0]!, host, model === undefined ? {} : { model });
  if (model !== undefined && r.diagnostics.some((d) => d.code === "RN126")) {
    const models = (r.program?.files ?? [])
      .filter((f) => r.program!.roots.has(f.file))
      .flatMap((f) => f.definitions.filter((d) => d.kind === "model").map((d) => d.name));
    const s = suggest(model, models);
    throw new GraphUsage(
      `no model named \`${model}\` in ${file}${s ? `; did you mean \`${s}\`?` : ""} ` +
        `(models there: ${models.join(", ") || "none"})`,
    );
  }
  const config = loadConfig(io.cwd, projectRootFor(io.cwd, values.root));
  const diagnostics = postProcess(r.diagnostics, r.sources, io.cwd, config);
  for (const d of diagnostics) io.err(renderText(d, r.sources) + "\n");
  if (diagnostics.some((d) => d.code === "RN001" && d.message.startsWith(`cannot read ${files[0]}:`))) return 2;
  if (hasErrors(diagnostics)) return (io.err(summaryLine(diagnostics)), 1);
  if (r.graphs.length !== 1)
    throw new GraphUsage(
      `${file} has ${r.graphs.length} models (${r.graphs.map((g) => g.name).join(", ") || "none"}); ` +
        `pick one with --model`,
    );
  const g = r.graphs[0]!;
  const title = `${g.name} (${r.stablePath(g.file)})`;
  const { graphView, GraphTooLarge, toDot, toMermaid } = await import("../graph/text.js");
  let view;
  try {
    view = graphView(g, title);
  } catch (e) {
    if (!(e instanceof GraphTooLarge)) throw e;
    const at = g.nodes[0] ? spanLocator(r.sources, (p) => displayPath(io.cwd, p))(g.nodes[0].span) : file;
    throw new GraphUsage(`${e.message}; the model is at ${at}`);
  }
  let text: string;
  if (format === "dot") text = toDot(view);
  else if (format === "mermaid") text = toMermaid(view);
  else {
    const { toSvg, toHtml } = await import("../graph/render.js");
    text = format === "svg" ? await toSvg(view) : await toHtml(view);
  }
  if (values.output === undefined) {
    io.out(text.replace(/\n$/, ""));
    return 0;
  }
  const target = resolve(io.cwd, values.output);
  writeFileAtomic(target, text);
  io.err(
    `${displayPath(io.cwd, target)}: ${g.name}, ${view.nodes.length} nodes, ${view.edges.length} edges (${format})`,
  );
  return 0;
}
