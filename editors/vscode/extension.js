// The VS Code client for `.resnet` files: starts `resnetc lsp --stdio` and connects it to the editor.
// Takes: the `resnet.server.command` setting (else the workspace's node_modules/.bin/resnetc, else
// `resnetc` on the PATH). Gives: the language server's features for the `resnet` language.
// Must not: start more than one server per window, or run anything but that command.
"use strict";

const { existsSync } = require("node:fs");
const { join } = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

/** The resnetc executable: the setting, the workspace's own install, or the PATH. */
function serverCommand() {
  const configured = vscode.workspace.getConfiguration("resnet").get("server.command");
  if (configured) return configured;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const bin = process.platform === "win32" ? "resnetc.cmd" : "resnetc";
    const local = join(folder.uri.fsPath, "node_modules", ".bin", bin);
    if (existsSync(local)) return local;
  }
  return "resnetc";
}

function activate(context) {
  const command = serverCommand();
  const run = { command, args: ["lsp", "--stdio"], transport: TransportKind.stdio };
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder) run.options = { cwd: folder.uri.fsPath };
  client = new LanguageClient(
    "resnet",
    "resnetc language server",
    { run, debug: run },
    {
      documentSelector: [{ scheme: "file", language: "resnet" }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.resnet") },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
