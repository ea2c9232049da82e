// The language server (`resnetc lsp --stdio`) driven over stdio as an editor drives it.
// Takes: bin/resnetc.js (npm run build first) and a small project in a temporary folder.
// Gives: checks of every feature the server announces, through JSON-RPC with Content-Length framing.
// Must not: leave the server process running.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import { repoRoot } from "./helpers.js";

const BLOCKS = `block Basic(c: int, stride: int = 1) {
  residual {
    conv(c, k=3, stride=stride) bn relu
    conv(c, k=3) bn
  }
  relu
}
`;

const MAIN = `import "blocks.resnet"

model Net(classes: int = 10) {
  input image: f32[N, 3, 32, 32]
  conv(16, k=3, bias=true) bn relu
  stage layer1 {
    Basic(16) * 2
  }
  let width = 32
  Basic(width, stride=2)
  avgpool flatten dense(classes)
}
`;

interface Pos {
  line: number;
  character: number;
}
interface Range {
  start: Pos;
  end: Pos;
}
interface Diag {
  range: Range;
  code: string;
  severity: number;
  message: string;
  source: string;
}

/** The 0-based position of the `nth` occurrence of `needle` in `text`, plus `delta` characters. */
function posOf(text: string, needle: string, delta = 0, nth = 0): Pos {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`${needle} not in text`);
  const before = text.slice(0, at + delta);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - before.lastIndexOf("\n") - 1 };
}

let dir: string;
let server: ChildProcess;
let conn: MessageConnection;
let mainUri: string;
let blocksUri: string;
const published = new Map<string, Diag[][]>();
const waiters: { uri: string; pred: (ds: Diag[]) => boolean; resolve: (ds: Diag[]) => void }[] = [];

/** Resolves with the first diagnostics published for `uri` after the call that satisfy `pred`. */
function nextDiagnostics(uri: string, pred: (ds: Diag[]) => boolean = () => true): Promise<Diag[]> {
  return new Promise((resolve, reject) => {
    const w = { uri, pred, resolve };
    waiters.push(w);
    setTimeout(() => reject(new Error(`no matching diagnostics for ${uri}`)), 20_000).unref();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "resnetc-lsp-"));
  writeFileSync(join(dir, "package.json"), "{}\n");
  writeFileSync(join(dir, "blocks.resnet"), BLOCKS);
  writeFileSync(join(dir, "main.resnet"), MAIN);
  mainUri = pathToFileURL(join(dir, "main.resnet")).href;
  blocksUri = pathToFileURL(join(dir, "blocks.resnet")).href;
  server = spawn(process.execPath, [join(repoRoot, "bin", "resnetc.js"), "lsp", "--stdio"], {
    cwd: dir,
    stdio: ["pipe", "pipe", "inherit"],
  });
  conn = createMessageConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  conn.onNotification("textDocument/publishDiagnostics", (p: { uri: string; diagnostics: Diag[] }) => {
    published.set(p.uri, [...(published.get(p.uri) ?? []), p.diagnostics]);
    for (const w of [...waiters])
      if (w.uri === p.uri && w.pred(p.diagnostics)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(p.diagnostics);
      }
  });
  conn.listen();
}, 30_000);

afterAll(async () => {
  try {
    await conn.sendRequest("shutdown");
    await conn.sendNotification("exit");
  } catch {
    // the server is gone already
  }
  conn.dispose();
  await new Promise<void>((resolve) => {
    if (server.exitCode !== null) return resolve();
    const t = setTimeout(() => (server.kill("SIGKILL"), resolve()), 5000);
    server.once("exit", () => (clearTimeout(t), resolve()));
  });
  rmSync(dir, { recursive: true, force: true });
});

describe("resnetc lsp --stdio", () => {
  it("initializes and announces its features", async () => {
    const r = await conn.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: {},
    });
    for (const cap of [
      "hoverProvider",
      "definitionProvider",
      "completionProvider",
      "documentSymbolProvider",
      "documentFormattingProvider",
      "codeActionProvider",
    ])
      expect(r.capabilities[cap], cap).toBeTruthy();
    await conn.sendNotification("initialized", {});
  }, 30_000);

  it("publishes the compiler's diagnostics on didOpen, and new ones after didChange", async () => {
    const first = nextDiagnostics(mainUri);
    await conn.sendNotification("textDocument/didOpen", {
      textDocument: { uri: mainUri, languageId: "resnet", version: 1, text: MAIN },
    });
    const ds = await first;
    expect(ds.map((d) => d.code)).toEqual(["RN303"]);
    expect(ds[0]!.source).toBe("resnetc");
    expect(ds[0]!.severity).toBe(2); // warning
    expect(ds[0]!.range.start).toEqual(posOf(MAIN, "conv(16"));
    expect(ds[0]!.message).toMatch(/bias/);

    // An unsaved edit: a typo in an op name is an error at the typo.
    const broken = MAIN.replace("avgpool flatten", "avgpol flatten");
    const second = nextDiagnostics(mainUri, (d) => d.some((x) => x.severity === 1));
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: mainUri, version: 2 },
      contentChanges: [{ text: broken }],
    });
    const after = await second;
    const err = after.find((d) => d.severity === 1)!;
    expect(err.range.start).toEqual(posOf(broken, "avgpol"));
    expect(err.message).toMatch(/avgpol/);

    // Back to the file's text, by an incremental change of the one word.
    const third = nextDiagnostics(mainUri, (d) => !d.some((x) => x.severity === 1));
    const at = posOf(broken, "avgpol");
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: mainUri, version: 3 },
      contentChanges: [{ range: { start: at, end: { line: at.line, character: at.character + 6 } }, text: "avgpool" }],
    });
    expect((await third).map((d) => d.code)).toEqual(["RN303"]);
  }, 30_000);

  it("checks once after a burst of keystrokes (debounced)", async () => {
    const before = published.get(mainUri)?.length ?? 0;
    const last = nextDiagnostics(mainUri, (d) => d.some((x) => x.message.includes("avgpoo")));
    // Five edits sent at once, as fast typing sends them: only the text after the last is checked.
    for (let v = 0; v < 5; v++)
      void conn.sendNotification("textDocument/didChange", {
        textDocument: { uri: mainUri, version: 10 + v },
        contentChanges: [{ text: MAIN.replace("avgpool", "avgpool".slice(0, 2 + v)) }],
      });
    const ds = await last;
    expect(ds.find((d) => d.severity === 1)!.message).toContain("avgpoo");
    await new Promise((r) => setTimeout(r, 300));
    expect((published.get(mainUri)?.length ?? 0) - before).toBeLessThanOrEqual(2);
    const clean = nextDiagnostics(mainUri, (d) => !d.some((x) => x.severity === 1));
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: mainUri, version: 20 },
      contentChanges: [{ text: MAIN }],
    });
    await clean;
  }, 30_000);

  it("checks against other open documents' unsaved text", async () => {
    await conn.sendNotification("textDocument/didOpen", {
      textDocument: { uri: blocksUri, languageId: "resnet", version: 1, text: BLOCKS },
    });
    // Rename the block in the unsaved buffer only: main.resnet's calls of it break.
    const renamed = BLOCKS.replace("Basic(c: int", "Basik(c: int");
    const broken = nextDiagnostics(mainUri, (d) => d.some((x) => x.severity === 1));
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: blocksUri, version: 2 },
      contentChanges: [{ text: renamed }],
    });
    expect((await broken).find((d) => d.severity === 1)!.range.start).toEqual(posOf(MAIN, "Basic(16"));
    // A syntax error in the imported buffer stops main.resnet's check: it is shown at the import.
    const importErr = nextDiagnostics(mainUri, (d) => d.some((x) => x.code === "RN102" || /^in /.test(x.message)));
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: blocksUri, version: 3 },
      contentChanges: [{ text: BLOCKS.replace("conv(c, k=3) bn", "conv(c,, k=3) bn") }],
    });
    const atImport = (await importErr).find((x) => /^in blocks\.resnet:4:/.test(x.message))!;
    expect(atImport.range.start).toEqual(posOf(MAIN, "import"));
    expect(atImport.severity).toBe(1);
    const fixed = nextDiagnostics(mainUri, (d) => !d.some((x) => x.severity === 1));
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: blocksUri, version: 4 },
      contentChanges: [{ text: BLOCKS }],
    });
    await fixed;
  }, 30_000);

  it("hover shows the shapes flowing in and out, parameters and MACs", async () => {
    type Hover = { contents: { value: string }; range: Range } | null;
    const conv = await conn.sendRequest<Hover>("textDocument/hover", {
      textDocument: { uri: mainUri },
      position: posOf(MAIN, "conv(16", 1),
    });
    expect(conv!.contents.value).toContain("**conv**");
    expect(conv!.contents.value).toContain("in: `[N, 3, 32, 32]` → out: `[N, 16, 32, 32]`");
    // 3x3 conv, 3 -> 16 channels, with bias: 16*3*9 + 16.
    expect(conv!.contents.value).toContain(`parameters: ${(16 * 3 * 9 + 16).toLocaleString("en-US")}`);
    expect(conv!.contents.value).toContain(`MACs: ${(16 * 3 * 9 * 32 * 32).toLocaleString("en-US")}`);

    const block = await conn.sendRequest<Hover>("textDocument/hover", {
      textDocument: { uri: mainUri },
      position: posOf(MAIN, "Basic(width", 2),
    });
    const text = block!.contents.value;
    expect(text).toContain("**Basic**");
    expect(text).toContain("in: `[N, 16, 32, 32]` → out: `[N, 32, 16, 16]`");
    expect(block!.range.start).toEqual(posOf(MAIN, "Basic(width"));

    // Inside the block's own file: the ops of each instance (three calls, two kinds of shapes).
    const inBlock = await conn.sendRequest<Hover>("textDocument/hover", {
      textDocument: { uri: blocksUri },
      position: posOf(BLOCKS, "conv(c, k=3, stride", 1),
    });
    // blocks.resnet has no model; main.resnet, open too, runs three layers through this conv.
    expect(inBlock!.contents.value).toContain("in: `[N, 16, 32, 32]` → out: `[N, 16, 32, 32]`");
    expect(inBlock!.contents.value).toContain("in: `[N, 16, 32, 32]` → out: `[N, 32, 16, 16]`");
    expect(inBlock!.contents.value).toContain("3 instances come from this place");
    const opDoc = await conn.sendRequest<Hover>("textDocument/hover", {
      textDocument: { uri: mainUri },
      position: posOf(MAIN, "avgpool", 2),
    });
    expect(opDoc!.contents.value).toContain("avgpool");
    expect(opDoc!.contents.value).toMatch(/in: `\[N, 32, 16, 16\]` → out: `\[N, 32, 1, 1\]`/);
  });

  it("goes to the definition of blocks, parameters, let names and imports", async () => {
    type Loc = { uri: string; range: Range } | null;
    const def = (pos: Pos) =>
      conn.sendRequest<Loc>("textDocument/definition", { textDocument: { uri: mainUri }, position: pos });
    const block = await def(posOf(MAIN, "Basic(16", 1));
    expect(block!.uri).toBe(blocksUri);
    expect(block!.range.start).toEqual(posOf(BLOCKS, "Basic"));
    const letName = await def(posOf(MAIN, "Basic(width", 7));
    expect(letName!.uri).toBe(mainUri);
    expect(letName!.range.start).toEqual(posOf(MAIN, "width = 32"));
    const param = await def(posOf(MAIN, "dense(classes", 7));
    expect(param!.range.start).toEqual(posOf(MAIN, "classes: int"));
    const keyword = await def(posOf(MAIN, "stride=2", 1));
    expect(keyword!.uri).toBe(blocksUri);
    expect(keyword!.range.start).toEqual(posOf(BLOCKS, "stride: int"));
    const inBlock = await conn.sendRequest<Loc>("textDocument/definition", {
      textDocument: { uri: blocksUri },
      position: posOf(BLOCKS, "stride=stride", 8),
    });
    expect(inBlock!.uri).toBe(blocksUri);
    expect(inBlock!.range.start).toEqual(posOf(BLOCKS, "stride: int"));
    const imp = await def(posOf(MAIN, "blocks.resnet", 2));
    expect(imp!.uri).toBe(blocksUri);
    expect(imp!.range.start).toEqual({ line: 0, character: 0 });
  });

  it("completes ops (with signature and doc) and blocks (with parameters)", async () => {
    type Item = { label: string; kind: number; detail?: string; documentation?: { value: string } };
    const items = await conn.sendRequest<Item[]>("textDocument/completion", {
      textDocument: { uri: mainUri },
      position: posOf(MAIN, "avgpool"),
    });
    const conv = items.find((i) => i.label === "conv")!;
    expect(conv.detail).toMatch(/^conv\(.*k.*stride/);
    expect(conv.documentation!.value).toMatch(/`stride`/);
    const basic = items.find((i) => i.label === "Basic")!;
    expect(basic.detail).toBe("Basic(c: int, stride: int = …)");
    expect(items.some((i) => i.label === "residual")).toBe(true);
  });

  it("lists models, blocks and stages as document symbols", async () => {
    type Sym = { name: string; kind: number; children?: Sym[]; selectionRange: Range };
    const syms = await conn.sendRequest<Sym[]>("textDocument/documentSymbol", { textDocument: { uri: mainUri } });
    expect(syms.map((s) => s.name)).toEqual(["Net"]);
    expect(syms[0]!.children!.map((s) => s.name)).toEqual(["layer1"]);
    expect(syms[0]!.selectionRange.start).toEqual(posOf(MAIN, "Net"));
    const blockSyms = await conn.sendRequest<Sym[]>("textDocument/documentSymbol", {
      textDocument: { uri: blocksUri },
    });
    expect(blockSyms.map((s) => s.name)).toEqual(["Basic"]);
  });

  it("formats through the formatter", async () => {
    const messy = MAIN.replace("  let width = 32", "  let   width=32");
    const ok = nextDiagnostics(mainUri);
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: mainUri, version: 4 },
      contentChanges: [{ text: messy }],
    });
    await ok;
    type TextEdit = { range: Range; newText: string };
    const edits = await conn.sendRequest<TextEdit[]>("textDocument/formatting", {
      textDocument: { uri: mainUri },
      options: { tabSize: 2, insertSpaces: true },
    });
    expect(edits).toHaveLength(1);
    expect(edits[0]!.newText).toBe(MAIN);
    const back = nextDiagnostics(mainUri);
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: mainUri, version: 5 },
      contentChanges: [{ text: MAIN }],
    });
    await back;
    const none = await conn.sendRequest<TextEdit[]>("textDocument/formatting", {
      textDocument: { uri: mainUri },
      options: { tabSize: 2, insertSpaces: true },
    });
    expect(none).toEqual([]);
  });

  it("offers the RN303 fix as a code action", async () => {
    type Action = {
      title: string;
      kind: string;
      edit: { changes: Record<string, { range: Range; newText: string }[]> };
    };
    const line = posOf(MAIN, "conv(16").line;
    const actions = await conn.sendRequest<Action[]>("textDocument/codeAction", {
      textDocument: { uri: mainUri },
      range: { start: { line, character: 0 }, end: { line, character: 10 } },
      context: { diagnostics: [] },
    });
    expect(actions.map((a) => a.title)).toEqual(["drop bias=true"]);
    expect(actions[0]!.kind).toBe("quickfix");
    const [edit] = actions[0]!.edit.changes[mainUri]!;
    // Applying the edit removes `, bias=true` and nothing else.
    const lines = MAIN.split("\n");
    const l = lines[edit!.range.start.line]!;
    lines[edit!.range.start.line] =
      l.slice(0, edit!.range.start.character) + edit!.newText + l.slice(edit!.range.end.character);
    expect(lines.join("\n")).toBe(MAIN.replace("conv(16, k=3, bias=true)", "conv(16, k=3)"));
    const elsewhere = await conn.sendRequest<Action[]>("textDocument/codeAction", {
      textDocument: { uri: mainUri },
      range: { start: { line: line + 2, character: 0 }, end: { line: line + 2, character: 3 } },
      context: { diagnostics: [] },
    });
    expect(elsewhere).toEqual([]);
  });

  it("refuses imports that leave the project, even from an unsaved buffer", async () => {
    const escaping = MAIN.replace('import "blocks.resnet"', 'import "../outside.resnet"');
    const ds = nextDiagnostics(mainUri, (d) => d.some((x) => x.code === "RN005"));
    await conn.sendNotification("textDocument/didChange", {
      textDocument: { uri: mainUri, version: 6 },
      contentChanges: [{ text: escaping }],
    });
    const got = await ds;
    expect(got.find((d) => d.code === "RN005")!.range.start).toEqual(posOf(escaping, "import"));
  });
});

describe("the piecewise re-parse of open buffers", () => {
  it("gives what a whole-file parse gives, for every example and std file, before and after edits", async () => {
    const { IncrementalParser } = await import("../src/lsp/incremental.js");
    const { parseSource } = await import("../src/syntax/parse.js");
    const files = ["examples", "std"].flatMap((d) =>
      readdirSync(join(repoRoot, d))
        .filter((f) => f.endsWith(".resnet"))
        .map((f) => join(repoRoot, d, f)),
    );
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const p = new IncrementalParser("f.resnet");
      expect(p.parse(text), file).toEqual(parseSource("f.resnet", text));
      // An edit inside the last definition: only that piece is parsed again, the others move.
      const last = text.lastIndexOf("{");
      const edited = `# a new first line\n${text.slice(0, last + 1)}\n  # edited\n${text.slice(last + 1)}`;
      expect(p.parse(edited), file).toEqual(parseSource("f.resnet", edited));
      if (!p.stats.whole) expect(p.stats.parsed, file).toBe(1);
      // `block` as a parameter's type on a line of its own does not start a piece.
      const typed = `block X(a:\nblock = none) {\n  relu\n}\n${text}`;
      expect(p.parse(typed), file).toEqual(parseSource("f.resnet", typed));
      // A syntax error is reported where it is, as a whole-file parse reports it.
      const broken = `${text}\nblock Broken(c: int) {\n  conv(c,, k=3)\n}\n`;
      const [, ds] = p.parse(broken);
      expect(
        ds.map((d) => [d.code, d.span.start]),
        file,
      ).toEqual(parseSource("f.resnet", broken)[1].map((d) => [d.code, d.span.start]));
    }
  }, 120_000);

  it("parses a long definition body chunk by chunk, as a whole-file parse would", async () => {
    const { IncrementalParser } = await import("../src/lsp/incremental.js");
    const { parseSource } = await import("../src/syntax/parse.js");
    let text = "block B(c: int, stride: int = 1) {\n  residual {\n    conv(c, k=3, stride=stride) bn relu\n  }\n}\n\n";
    text += "model Big {\n  input x: f32[N, 8, 4, 4]\n";
    for (let i = 0; i < 300; i++)
      text += i % 50 === 7 ? `  residual {\n    conv(8, k=3) # a comment\n  }\n` : `  B(8${i === 150 ? "@" : ""})\n`;
    text += "  avgpool flatten dense(10)\n}\n# the end\n";
    const p = new IncrementalParser("big.resnet");
    for (const edit of ["", ", stride=1", ", stride=1)\n  B(8", ",, stride=1", ""]) {
      const t = text.replace("@", edit);
      const [ast, ds] = p.parse(t);
      const [wholeAst, wholeDs] = parseSource("big.resnet", t);
      if (wholeDs.length === 0) expect(ast).toEqual(wholeAst);
      expect(ds.map((d) => [d.code, d.span.start])).toEqual(wholeDs.map((d) => [d.code, d.span.start]));
      if (edit === ", stride=1") expect([p.stats.chunksParsed, p.stats.chunksReused > 5]).toEqual([1, true]);
    }
  }, 60_000);
});
