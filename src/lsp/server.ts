// `resnetc lsp --stdio`: the language server editors start for `.resnet` files.
// Takes: the Language Server Protocol on stdin/stdout (JSON-RPC with Content-Length framing).
// Gives: diagnostics as you type (debounced), hover with shapes, parameters and MACs, go to
// definition, completion, document symbols, formatting and the compiler's quick fixes.
// Must not: write to stdout except through the connection, read files outside the project (the
// workspace's Host and its import policy decide), or write any file (edits go to the editor).
// Loaded only by the `lsp` command, so the other commands never load vscode-languageserver.

import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CodeActionKind,
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  DocumentSymbol,
  MarkupKind,
  StreamMessageReader,
  StreamMessageWriter,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CodeAction,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type Location,
  type Range,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { formatSource } from "../fmt/format.js";
import {
  completions,
  definitionAt,
  fixesIn,
  hoverAt,
  positionIn,
  symbols,
  Workspace,
  type Analysis,
  type Symbol as ResnetSymbol,
} from "./analysis.js";

/** Quiet time after the last keystroke before a document is checked again. */
export const DEBOUNCE_MS = 100;

export interface LspIo {
  cwd: string;
  out: (s: string) => void;
  err: (s: string) => void;
}

export const LSP_HELP = `usage: resnetc lsp --stdio

Runs the language server for .resnet files on stdin/stdout (the Language Server Protocol), as
editors start it (editors/vscode/ is the VS Code extension). Diagnostics as you type, hover with
the shapes in and out of each op and block call, go to definition, completion, document symbols,
formatting (resnetc fmt) and quick fixes (resnetc lint --fix).`;

export function cmdLsp(args: string[], io: LspIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(LSP_HELP);
    return Promise.resolve(0);
  }
  const unknown = args.filter((a) => a !== "--stdio");
  if (unknown.length || !args.includes("--stdio")) {
    io.err(`resnetc lsp: ${unknown.length ? `unknown option ${unknown[0]}` : "give --stdio"}\n${LSP_HELP}`);
    return Promise.resolve(2);
  }
  return new Promise((done) => serve(io, done));
}

function serve(io: LspIo, done: (code: number) => void): void {
  const connection = createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  const documents = new TextDocuments(TextDocument);
  let ws = new Workspace(io.cwd);
  const timers = new Map<string, NodeJS.Timeout>();

  const absOfUri = (uri: string): string | undefined => (uri.startsWith("file:") ? fileURLToPath(uri) : undefined);
  const uriOf = (path: string): string => pathToFileURL(ws.absOf(path)).href;

  const rangeOf = (a: Analysis, file: string, start: number, end: number): Range => ({
    start: positionIn(a, file, start),
    end: positionIn(a, file, end),
  });

  const toLsp = (a: Analysis, d: Diagnostic): LspDiagnostic => {
    const extra = d.notes.filter((n) => !n.span).map((n) => `\nnote: ${n.message}`);
    const out: LspDiagnostic = {
      range: rangeOf(a, d.span.file, d.span.start, d.span.end),
      severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: d.code,
      source: "resnetc",
      message: d.message + extra.join("") + (d.hint ? `\nhint: ${d.hint}` : ""),
    };
    const related = d.notes.filter((n) => n.span && a.result.sources.has(n.span.file));
    if (related.length)
      out.relatedInformation = related.map((n) => ({
        location: { uri: uriOf(n.span!.file), range: rangeOf(a, n.span!.file, n.span!.start, n.span!.end) },
        message: n.message,
      }));
    return out;
  };

  const analysisOf = (uri: string): Analysis | undefined => {
    const abs = absOfUri(uri);
    return abs === undefined ? undefined : ws.analysis(abs);
  };

  const publish = (uri: string): void => {
    const a = analysisOf(uri);
    if (!a) return;
    void connection.sendDiagnostics({ uri, diagnostics: a.diagnostics.map((d) => toLsp(a, d)) });
  };

  const schedule = (uri: string): void => {
    clearTimeout(timers.get(uri));
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        try {
          publish(uri);
        } catch (e) {
          connection.console.error(`resnetc: internal error checking ${uri}: ${(e as Error).message}`);
        }
      }, DEBOUNCE_MS),
    );
  };

  connection.onInitialize((params) => {
    const root = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    if (root && root.startsWith("file:")) ws = new Workspace(fileURLToPath(root));
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        completionProvider: { triggerCharacters: [] },
        documentSymbolProvider: true,
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: "resnetc" },
    };
  });

  documents.onDidChangeContent(({ document }) => {
    const abs = absOfUri(document.uri);
    if (abs === undefined) return;
    ws.setText(abs, document.getText());
    schedule(document.uri);
    // Open documents that import this one see its unsaved text too.
    for (const other of ws.dependents(abs)) schedule(pathToFileURL(other).href);
  });
  documents.onDidClose(({ document }) => {
    const abs = absOfUri(document.uri);
    clearTimeout(timers.get(document.uri));
    if (abs !== undefined) ws.close(abs);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onHover(({ textDocument, position }) => {
    const doc = documents.get(textDocument.uri);
    const a = analysisOf(textDocument.uri);
    if (!doc || !a) return null;
    const h = hoverAt(a, doc.offsetAt(position), ws.graphsThrough(a));
    if (!h) return null;
    return {
      contents: { kind: MarkupKind.Markdown, value: h.markdown },
      range: rangeOf(a, a.path, h.span.start, h.span.end),
    };
  });

  connection.onDefinition(({ textDocument, position }): Location | null => {
    const doc = documents.get(textDocument.uri);
    const a = analysisOf(textDocument.uri);
    if (!doc || !a) return null;
    const at = definitionAt(a, ws.host, doc.offsetAt(position));
    if (!at) return null;
    return { uri: uriOf(at.file), range: rangeOf(a, at.file, at.start, at.end) };
  });

  connection.onCompletion(({ textDocument }): CompletionItem[] => {
    const a = analysisOf(textDocument.uri);
    return completions(a).map((c) => ({
      label: c.label,
      kind:
        c.kind === "op"
          ? CompletionItemKind.Function
          : c.kind === "block"
            ? CompletionItemKind.Class
            : CompletionItemKind.Keyword,
      detail: c.detail,
      ...(c.documentation ? { documentation: { kind: MarkupKind.Markdown, value: c.documentation } } : {}),
    }));
  });

  connection.onDocumentSymbol(({ textDocument }): DocumentSymbol[] => {
    const a = analysisOf(textDocument.uri);
    const ast = a?.asts.get(a.path);
    if (!a || !ast) return [];
    const kinds = { model: SymbolKind.Class, block: SymbolKind.Function, stage: SymbolKind.Namespace };
    const convert = (s: ResnetSymbol): DocumentSymbol =>
      DocumentSymbol.create(
        s.name,
        s.detail,
        kinds[s.kind],
        rangeOf(a, a.path, s.span.start, s.span.end),
        rangeOf(a, a.path, s.nameSpan.start, s.nameSpan.end),
        s.children.map(convert),
      );
    return symbols(ast).map(convert);
  });

  connection.onDocumentFormatting(async ({ textDocument }) => {
    const doc = documents.get(textDocument.uri);
    const abs = absOfUri(textDocument.uri);
    if (!doc || abs === undefined) return null;
    const text = doc.getText();
    try {
      const r = await formatSource(ws.pathOf(abs), text);
      if (!r.ok || r.text === text) return [];
      return [{ range: { start: doc.positionAt(0), end: doc.positionAt(text.length) }, newText: r.text }];
    } catch (e) {
      connection.console.error(`resnetc: ${(e as Error).message}`);
      return [];
    }
  });

  connection.onCodeAction(({ textDocument, range }): CodeAction[] => {
    const doc = documents.get(textDocument.uri);
    const a = analysisOf(textDocument.uri);
    if (!doc || !a) return [];
    return fixesIn(a, doc.offsetAt(range.start), doc.offsetAt(range.end)).map(({ diagnostic, edit }) => ({
      title: diagnostic.code === "RN303" ? "drop bias=true" : `fix ${diagnostic.code}`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [toLsp(a, diagnostic)],
      isPreferred: true,
      edit: {
        changes: {
          [textDocument.uri]: [{ range: rangeOf(a, edit.file, edit.start, edit.end), newText: edit.text }],
        },
      },
    }));
  });

  // A file changed on disk (an import not open here): check every open document again.
  connection.onDidChangeWatchedFiles(() => {
    ws.forgetChecks();
    for (const d of documents.all()) schedule(d.uri);
  });

  connection.onShutdown(() => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  });
  connection.onExit(() => done(0));

  documents.listen(connection);
  connection.listen();
}
