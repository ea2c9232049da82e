// `resnetc graph` (issue 15): each format for a small model (shapes on edges, block clusters
// nested as the blocks are), escaping of hostile file names and names in every format, the same
// bytes for the same input, the size limit, the committed pictures under docs/ being current, and
// the SVG of ResNet-18 opened in Debian's chromium (playwright-core, no browser download): it must
// draw (a screenshot of the expected size with the layers' colours in it). UPDATE_SCREENSHOT=1
// writes that screenshot to docs/resnet18-graph.png; otherwise it goes to out/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { chromium } from "playwright-core";
import { graphOf, repoRoot, runCliAsync } from "./helpers.js";
import { graphView, toDot, toMermaid, MAX_GRAPH_NODES, MAX_LABEL } from "../src/graph/text.js";
import { toHtml, toSvg } from "../src/graph/render.js";

const CHROMIUM = "/usr/bin/chromium";

const TINY = `import "std/resnet.resnet"

block Pair(c: int) {
  Basic(c) Basic(c)
}

model Tiny {
  input image: f32[N, 3, 16, 16]
  conv(8, k=3) bn relu
  stage layer1 { Pair(8) Basic(16, stride=2) }
  gap flatten dense(10) as fc
}

model Other {
  input image: f32[N, 3, 8, 8]
  conv(4, k=3) relu gap flatten dense(2)
}
`;

// A project in a temp folder whose .resnet file sits at a path full of syntax: a quote,
// `<script>...</script>` (the folder ends in `<`, the file starts with `script>`), `]]`, a newline.
const dir = mkdtempSync(join(tmpdir(), "resnetc-graph-"));
const HOSTILE_DIR = 'q"<script>alert(1)<';
const HOSTILE = `${HOSTILE_DIR}/script>]]\nx.resnet`;
writeFileSync(join(dir, "package.json"), "{}");
mkdirSync(join(dir, HOSTILE_DIR));
writeFileSync(join(dir, HOSTILE), TINY);
writeFileSync(join(dir, "tiny.resnet"), TINY);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const graph = (args: string[], cwd = dir) => runCliAsync(["graph", ...args], cwd);

describe("resnetc graph: formats", { timeout: 120_000 }, () => {
  it("dot: a node per layer, the shape on every edge, blocks as nested clusters", async () => {
    const r = await graph(["tiny.resnet", "--model", "Tiny", "--format", "dot"]);
    expect(r.code).toBe(0);
    const dot = r.stdout;
    expect(dot).toMatch(/^digraph Tiny \{/);
    expect(dot).toContain('label="Tiny (tiny.resnet)"');
    // The stride-2 conv's output shape on its edge, and the classifier's.
    expect(dot).toMatch(/-> n\d+ \[id="e\d+", label="\[N, 16, 8, 8\]"\]/);
    expect(dot).toMatch(/-> n\d+ \[id="e\d+", label="\[N, 10\]"\]/);
    // Pair's two Basic blocks are clusters inside Pair's cluster; the stride-2 Basic is beside it.
    expect(dot).toContain('  subgraph cluster_b0 {\n    id="b0"; class="block"; label="layer1.0: Pair(c=8)"');
    expect(dot).toContain('    subgraph cluster_b1 {\n      id="b1"; class="block"; label="layer1.0.basic1: Basic(');
    expect(dot).toContain('  subgraph cluster_b3 {\n    id="b3"; class="block"; label="layer1.1: Basic(c=16, stride=2');
    expect(dot).toMatch(/label="layer1\.1\.conv1\\nconv 3x3 \/2, 16"/);
    // Every edge has a shape label: as many labelled edges as layer inputs plus the output.
    const g = graphOf(TINY, "Tiny");
    const edges = g.nodes.reduce((s, n) => s + n.inputs.length, 0) + g.outputs.length;
    expect(dot.match(/ -> n\d+ \[id="e\d+", label="\[N(, \d+)+\]"\]/g)).toHaveLength(edges);
  });

  it("mermaid: a flowchart TD with subgraphs and the shapes as edge labels", async () => {
    const r = await graph(["tiny.resnet", "--model", "Tiny", "--format", "mermaid"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[1]).toBe("flowchart TD");
    expect(lines).toContain('  subgraph b0 ["layer1.0: Pair(c=8)"]');
    expect(lines).toContain('    subgraph b1 ["layer1.0.basic1: Basic(c=8, stride=1, sc=auto)"]');
    expect(r.stdout).toMatch(/ n\d+ -->\|"\[N, 16, 8, 8\]"\| n\d+/);
    // subgraph ... end balance
    expect(lines.filter((l) => /^\s*subgraph /.test(l)).length).toBe(lines.filter((l) => /^\s*end$/.test(l)).length);
  });

  it("svg: Graphviz's layout with the clusters, the nodes and the edge labels", async () => {
    const r = await graph(["tiny.resnet", "--model", "Tiny", "--format", "svg"]);
    expect(r.code).toBe(0);
    const svg = r.stdout;
    expect(svg).toMatch(/<svg width="\d+pt" height="\d+pt"/);
    expect(svg).toMatch(/<g id="b0" class="cluster block">/);
    expect(svg).toMatch(/<g id="b1" class="cluster block">/);
    expect(svg).toContain(">layer1.1.conv1</text>");
    expect(svg).toContain(">[N, 16, 8, 8]</text>");
    expect(svg.match(/<g id="e\d+" class="edge">/g)!.length).toBeGreaterThan(20);
  });

  it("html: one page with the SVG inline, the collapse script and no network", async () => {
    const out = join(dir, "tiny.html");
    const r = await graph(["tiny.resnet", "--model", "Tiny", "--format", "html", "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/tiny\.html: Tiny, \d+ nodes, \d+ edges \(html\)/);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<\?xml|<!DOCTYPE svg/);
    expect(html).toMatch(/<g id="b0" class="cluster block">/);
    expect(html).not.toMatch(/\b(src|href)=/);
    const data = JSON.parse(/<script type="application\/json" id="graph-data">(.*)<\/script>/.exec(html)![1]!);
    expect(data.blocks).toEqual([
      ["b0", 4, 18, -1],
      ["b1", 4, 11, 0],
      ["b2", 11, 18, 0],
      ["b3", 18, 27, -1],
    ]);
  });

  it("the same input gives the same bytes, on stdout and with -o", async () => {
    for (const format of ["dot", "mermaid", "svg", "html"]) {
      const a = await graph(["tiny.resnet", "--model", "Tiny", "--format", format]);
      const b = await graph(["tiny.resnet", "--model", "Tiny", "--format", format]);
      expect(a.code).toBe(0);
      expect(b.stdout).toBe(a.stdout);
      const out = join(dir, `tiny.${format}`);
      expect((await graph(["tiny.resnet", "--model", "Tiny", "--format", format, "-o", out])).code).toBe(0);
      expect(readFileSync(out, "utf8")).toBe(a.stdout + "\n");
    }
  });

  it("usage errors: no format, an unknown one, two models without --model, a wrong --model", async () => {
    expect((await graph(["tiny.resnet", "--model", "Tiny"])).stderr).toMatch(
      /--format must be svg, dot, mermaid, html/,
    );
    expect((await graph(["tiny.resnet", "--format", "png"])).code).toBe(2);
    const two = await graph(["tiny.resnet", "--format", "dot"]);
    expect(two).toMatchObject({ code: 2 });
    expect(two.stderr).toMatch(/has 2 models \(Tiny, Other\); pick one with --model/);
    expect((await graph(["tiny.resnet", "--format", "dot", "--model", "Tiy"])).stderr).toMatch(/did you mean `Tiny`/);
    const help = await graph(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: resnetc graph/);
  });

  it("a file with errors gives its diagnostics and exit 1, writing nothing", async () => {
    writeFileSync(join(dir, "bad.resnet"), "model M {\n  input x: f32[N, 3, 8, 8]\n  conv(4, k=3) frob\n}\n");
    const out = join(dir, "bad.svg");
    const r = await graph(["bad.resnet", "--format", "svg", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.resnet:3:/);
    expect(existsSync(out)).toBe(false);
  });

  it("a model too large to lay out is a usage error that says where it is, at once", async () => {
    const t = Date.now();
    const r = await runCliAsync(["graph", "examples/cifar-resnet.resnet", "--model", "ResNet1202", "--format", "svg"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `ResNet1202 has 4,210 layers and outputs; a picture draws at most ${MAX_GRAPH_NODES.toLocaleString("en-US")}`,
      ),
    );
    expect(r.stderr).toMatch(/the model is at examples\/cifar-resnet\.resnet:\d+:\d+/);
    expect(Date.now() - t).toBeLessThan(30_000);
  });

  it("ResNet-152 (517 nodes) is drawn in every format", async () => {
    for (const format of ["dot", "mermaid", "svg"]) {
      const r = await runCliAsync(["graph", "examples/resnet152.resnet", "--format", format]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("layer4.2.conv3");
    }
  });
});

describe("resnetc graph: hostile names", { timeout: 120_000 }, () => {
  it("a file path with a quote, <script>, ]] and a newline is escaped in every format", async () => {
    const outs: Record<string, string> = {};
    for (const format of ["dot", "mermaid", "svg", "html"]) {
      const r = await graph([HOSTILE, "--model", "Tiny", "--format", format]);
      expect(r.code, r.stderr).toBe(0);
      outs[format] = r.stdout;
    }
    // dot: the quote is \", the newline is shown as \u000a (commentText), never a line break.
    expect(outs["dot"]).toContain('label="Tiny (q\\"<script>alert(1)</script>]]\\\\u000ax.resnet)"');
    // mermaid: no quote, < or > of the path survives, so no label ends early and no tag appears.
    expect(outs["mermaid"]!.split("\n")[0]).toBe(
      "%% Tiny (q#quot;#lt;script#gt;alert(1)#lt;/script#gt;]]\\u000ax.resnet)",
    );
    for (const f of ["mermaid", "svg"]) expect(outs[f]).not.toMatch(/<script|<\/script/i);
    // svg: XML text.
    expect(outs["svg"]).toContain(">Tiny (q&quot;&lt;script&gt;alert(1)&lt;/script&gt;]]\\u000ax.resnet)</text>");
    // html: exactly the page's own two scripts.
    expect(outs["html"]!.match(/<script/gi)).toHaveLength(2);
    expect(outs["html"]).toContain(
      "<title>Tiny (q&quot;&lt;script&gt;alert(1)&lt;/script&gt;]]\\u000ax.resnet)</title>",
    );
  });

  it("names with quotes, backslashes, Graphviz escapes, tags and newlines are escaped (IR built by hand)", async () => {
    // Layer names are identifiers in .resnet, but the drawing must not rely on that.
    const g = graphOf(TINY, "Tiny");
    const evil = 'a"b\\G\\N<script>x</script>]]>\n%%`#amp;&';
    g.nodes[1]!.name = evil;
    g.blocks[0]!.name = evil;
    g.blocks[0]!.args = evil;
    const v = graphView(g, `title ${evil}`);
    const dot = toDot(v);
    // Each dot string: quotes and backslashes escaped, no raw newline inside a statement.
    for (const line of dot.split("\n"))
      for (const s of line.match(/"(?:[^"\\]|\\.)*"/g) ?? []) expect(s).not.toMatch(/\n/);
    expect(dot).toContain('label="a\\"b\\\\G\\\\N<script>x</script>]]>\\\\u000a%%`#amp;&\\n');
    const svg = await toSvg(v);
    expect(svg).not.toMatch(/<script/);
    // \G and \N stayed text: Graphviz did not replace them by the graph's or node's name.
    expect(svg).toContain(">a&quot;b\\G\\N&lt;script&gt;x&lt;/script&gt;]]&gt;\\u000a%%`#amp;&amp;</text>");
    const mermaid = toMermaid(v);
    for (const line of mermaid.split("\n").slice(1))
      expect(line, line).toMatch(
        new RegExp(
          '^\\s*(flowchart TD|direction TB|end|subgraph b\\d+ \\["[^"]*"\\]|n\\d+\\(?\\["[^"]*"\\]\\)?:::\\w+|' +
            'n\\d+ -->\\|"[^"]*"\\| n\\d+|classDef \\w+ [^"]*|)$',
        ),
      );
    expect(mermaid).toContain("a#quot;b\\G\\N#lt;script#gt;x#lt;/script#gt;]]#gt;\\u000a%%#96;#35;amp;#amp;");
    const html = await toHtml(v);
    expect(html.match(/<script/gi)).toHaveLength(2);
  });
});

describe("resnetc graph: long names", { timeout: 120_000 }, () => {
  it("a layer name longer than MAX_LABEL (a stage name of 250 characters) is clipped in every label", async () => {
    const long = "s".repeat(250);
    writeFileSync(
      join(dir, "long.resnet"),
      `import "std/resnet.resnet"\nmodel Long {\n  input image: f32[N, 3, 8, 8]\n` +
        `  stage ${long} { Basic(3) * 20 }\n}\n`,
    );
    for (const format of ["dot", "svg"]) {
      const r = await graph(["long.resnet", "--format", format]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${"s".repeat(MAX_LABEL - 3)}...`);
      expect(r.stdout).not.toContain("s".repeat(MAX_LABEL));
    }
  });
});

describe("resnetc graph --format html in chromium", { timeout: 300_000 }, () => {
  it("clicking a block's title collapses it (its layers and nested blocks hidden) and again expands it", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (as .ci/run does)`).toBe(true);
    const out = join(dir, "collapse.html");
    expect((await graph(["tiny.resnet", "--model", "Tiny", "--format", "html", "-o", out])).code).toBe(0);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless=new"] });
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.goto(pathToFileURL(out).href);
      const hidden = (ids: string[]) =>
        page.evaluate((ids) => ids.map((id) => getComputedStyle(document.getElementById(id)!).display === "none"), ids);
      const ids = ["n4", "n17", "b1", "b2", "n18", "b0", "e0"];
      expect(await hidden(ids)).toEqual([false, false, false, false, false, false, false]);
      // Pair's cluster (b0: nodes 4..17, with b1 and b2 inside).
      await page.click("#b0 > text");
      expect(await hidden(ids)).toEqual([true, true, true, true, false, false, false]);
      expect(await page.textContent("#b0 text.collapsed-note")).toBe("14 layers collapsed (click the title to expand)");
      // The edge from relu1 (n3, outside) into the collapsed block stays; one inside it goes.
      const edgeIn = await page.evaluate(() => getComputedStyle(document.getElementById("e3")!).display);
      expect(edgeIn).not.toBe("none");
      await page.click("#b0 > text");
      expect(await hidden(ids)).toEqual([false, false, false, false, false, false, false]);
      expect(await page.$("#b0 text.collapsed-note")).toBeNull();
      await page.click("#collapse-all");
      expect(await hidden(["n4", "n18", "n26", "n27", "b1", "b3"])).toEqual([true, true, true, false, true, false]);
      await page.click("#expand-all");
      expect(await hidden(["n4", "n18", "n26", "b1"])).toEqual([false, false, false, false]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe("resnetc graph: the pictures in docs/", { timeout: 300_000 }, () => {
  const pictures = [
    ["examples/resnet18.resnet", "docs/resnet18.svg"],
    ["docs/residual-unit.resnet", "docs/residual-unit.svg"],
  ] as const;
  it.each(pictures)(
    "%s is drawn as committed in %s (regenerate: resnetc graph FILE --format svg -o SVG)",
    async (src, svg) => {
      const r = await runCliAsync(["graph", src, "--format", "svg"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + "\n" === readFileSync(join(repoRoot, svg), "utf8"), `${svg} is not current`).toBe(true);
    },
  );

  it("the SVG of ResNet-18 renders in headless chromium: a screenshot of its size, with the layers drawn", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (as .ci/run does)`).toBe(true);
    const r = await runCliAsync(["graph", "examples/resnet18.resnet", "--format", "svg"]);
    expect(r.code).toBe(0);
    const [, wPt, hPt] = /<svg width="(\d+)pt" height="(\d+)pt"/.exec(r.stdout)!;
    // CSS px are 4/3 of a pt; the page is exactly the picture's size.
    const width = Math.ceil((Number(wPt) * 4) / 3);
    const height = Math.ceil((Number(hPt) * 4) / 3);
    const svgPath = join(dir, "resnet18.svg");
    writeFileSync(svgPath, r.stdout);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless=new"] });
    try {
      const page = await browser.newPage({ viewport: { width, height } });
      await page.goto(pathToFileURL(svgPath).href);
      const box = await page.evaluate(() => {
        const svg = document.documentElement as unknown as SVGSVGElement;
        return {
          w: svg.getBoundingClientRect().width,
          h: svg.getBoundingClientRect().height,
          nodes: svg.querySelectorAll("g.node").length,
        };
      });
      expect(box.nodes).toBe(71); // 70 layers and the output
      expect(Math.abs(box.w - width)).toBeLessThan(2);
      expect(Math.abs(box.h - height)).toBeLessThan(2);
      const png = await page.screenshot({ timeout: 120_000 });
      // PNG's IHDR: width and height, big-endian, at bytes 16 and 20.
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([width, height]);
      // Count the pixels in a blank page: how many are not white, and how many have a conv's fill.
      const blank = await browser.newPage();
      const counts = await blank.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement("canvas");
        c.width = img.width;
        c.height = img.height;
        const ctx = c.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        let conv = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i]! < 250 || px[i + 1]! < 250 || px[i + 2]! < 250) ink++;
          // #cfe2f3, the convolutions' fill
          if (Math.abs(px[i]! - 0xcf) < 3 && Math.abs(px[i + 1]! - 0xe2) < 3 && Math.abs(px[i + 2]! - 0xf3) < 3) conv++;
        }
        return { ink, conv, total: px.length / 4 };
      }, png.toString("base64"));
      expect(counts.total).toBe(width * height);
      expect(counts.ink / counts.total).toBeGreaterThan(0.1);
      expect(counts.ink / counts.total).toBeLessThan(0.9);
      // 20 convolutions (17 + 3 projections) and the classifier, each box ~100x35 px.
      expect(counts.conv).toBeGreaterThan(21 * 2000);
      const target =
        process.env["UPDATE_SCREENSHOT"] === "1"
          ? join(repoRoot, "docs", "resnet18-graph.png")
          : join(repoRoot, "out", "resnet18-graph.png");
      mkdirSync(join(target, ".."), { recursive: true });
      writeFileSync(target, png);
    } finally {
      await browser.close();
    }
  });
});
