// The mlpc extension: starts `mlpc lsp` (the language server of .mlp files) over standard
// input and output, for diagnostics, hover, completion and formatting. Highlighting comes
// from the TextMate grammar in syntaxes/, which needs no server.

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const command = vscode.workspace.getConfiguration("mlpc").get("path", "mlpc");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "mlpc",
    "mlpc language server",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "mlp" },
        { scheme: "untitled", language: "mlp" },
      ],
    },
  );
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `mlpc: could not start \`${command} lsp\` (${error.message || error}). ` +
        "Install mlpc (cargo build --release) and put it on PATH, or set `mlpc.path`.",
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
