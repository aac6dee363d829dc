//! The language server driven as an editor drives it, over an in-memory connection: the
//! life cycle, diagnostics on open and change (data-dependent ones included), hover,
//! completion, formatting, and answers to bad requests.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

use mlpc_lsp::LspError;

/// Long enough for a slow machine, short enough that a server that never answers fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// An editor's end of the connection, with the server on its own thread.
struct Client {
    connection: Connection,
    server: Option<JoinHandle<Result<(), LspError>>>,
    next_id: i32,
    /// Notifications that came while waiting for a response.
    pending: Vec<Notification>,
}

impl Client {
    fn start() -> Client {
        let (server, connection) = Connection::memory();
        let server = std::thread::spawn(move || mlpc_lsp::serve(server));
        Client {
            connection,
            server: Some(server),
            next_id: 0,
            pending: Vec::new(),
        }
    }

    /// A started client that has initialized the server.
    fn initialized() -> Client {
        let mut client = Client::start();
        let result = client.request("initialize", json!({ "capabilities": {} }));
        assert_eq!(result["serverInfo"]["name"], "mlpc");
        client.notify("initialized", json!({}));
        client
    }

    fn receive(&self) -> Message {
        self.connection
            .receiver
            .recv_timeout(PATIENCE)
            .expect("the server answers")
    }

    /// Sends a request; its response (a result or an error).
    fn call(&mut self, method: &str, params: Value) -> Response {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let request = Request::new(id.clone(), method.to_string(), params);
        self.connection
            .sender
            .send(request.into())
            .expect("the server listens");
        loop {
            match self.receive() {
                Message::Response(response) if response.id == id => return response,
                Message::Response(other) => panic!("a response to another request: {other:?}"),
                Message::Notification(notification) => self.pending.push(notification),
                Message::Request(request) => panic!("the server sent a request: {request:?}"),
            }
        }
    }

    /// Sends a request that must succeed; its result.
    fn request(&mut self, method: &str, params: Value) -> Value {
        match self.call(method, params).response_result {
            Ok(result) => result,
            Err(error) => panic!("{method} failed: {error:?}"),
        }
    }

    fn notify(&self, method: &str, params: Value) {
        let notification = Notification::new(method.to_string(), params);
        self.connection
            .sender
            .send(notification.into())
            .expect("the server listens");
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Value {
        loop {
            let notification = if self.pending.is_empty() {
                match self.receive() {
                    Message::Notification(notification) => notification,
                    other => panic!("expected a notification, got {other:?}"),
                }
            } else {
                self.pending.remove(0)
            };
            if notification.method == "textDocument/publishDiagnostics"
                && notification.params["uri"] == uri
            {
                return notification.params;
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "mlp", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    /// Shuts the server down; what `serve` returned.
    fn shut_down(mut self) -> Result<(), LspError> {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.join()
    }

    fn join(&mut self) -> Result<(), LspError> {
        self.server
            .take()
            .expect("a server")
            .join()
            .expect("the server thread does not panic")
    }
}

fn place(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

/// The Markdown of a hover.
fn hover(client: &mut Client, uri: &str, line: u32, character: u32) -> String {
    let result = client.request("textDocument/hover", place(uri, line, character));
    result["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("a Markdown hover: {result}"))
        .to_string()
}

fn completion_labels(client: &mut Client, uri: &str, line: u32, character: u32) -> Vec<String> {
    let result = client.request("textDocument/completion", place(uri, line, character));
    result
        .as_array()
        .expect("a list of items")
        .iter()
        .map(|item| item["label"].as_str().expect("a label").to_string())
        .collect()
}

const URI: &str = "file:///tmp/mlpc-lsp-test/demo.mlp";

/// A model with one error: a misspelt layer kind.
const MISSPELT: &str = "\
model demo
data xor(n = 200)

network {
  dens 10 relu

  dense 2
}

loss cross_entropy
optimizer adam(lr=0.01)
";

#[test]
fn an_editor_session_from_initialize_to_exit() {
    let mut client = Client::start();
    let result = client.request("initialize", json!({ "capabilities": {} }));
    let capabilities = &result["capabilities"];
    assert_eq!(capabilities["hoverProvider"], true);
    assert_eq!(capabilities["documentFormattingProvider"], true);
    assert!(capabilities["completionProvider"].is_object());
    client.notify("initialized", json!({}));

    // The error, at the misspelt word, with its hint and label.
    let published = client.open(URI, MISSPELT);
    assert_eq!(published["version"], 1);
    let diagnostics = published["diagnostics"].as_array().expect("a list");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(
        diagnostic["range"],
        json!({ "start": { "line": 4, "character": 2 }, "end": { "line": 4, "character": 6 } })
    );
    assert_eq!(diagnostic["severity"], 1);
    assert_eq!(diagnostic["source"], "mlpc");
    assert_eq!(
        diagnostic["message"],
        "unknown layer `dens`\nhint: did you mean `dense`?"
    );
    assert_eq!(
        diagnostic["relatedInformation"][0]["message"],
        "not a known layer"
    );

    // Hover: an activation, a layer, an optimizer, from the tables.
    let relu = hover(&mut client, URI, 4, 11);
    assert!(relu.starts_with("**relu** (activation)"), "{relu}");
    let dense = hover(&mut client, URI, 6, 4);
    assert!(dense.starts_with("**dense** (layer)"), "{dense}");
    for expected in [
        "`units`: a whole number ≥ 1; required",
        "`activation`: one of identity, relu",
        "default `identity`",
        "`init`: one of kaiming_uniform",
        "default `kaiming_uniform`",
        "`bias`: `true` or `false`; default `true`",
    ] {
        assert!(dense.contains(expected), "{expected}: {dense}");
    }
    let adam = hover(&mut client, URI, 10, 12);
    assert!(adam.starts_with("**adam** (optimizer)"), "{adam}");
    for expected in [
        "`lr`: a number > 0; default `0.001`",
        "`beta1`: a number in [0, 1); default `0.9`",
        "`beta2`: a number in [0, 1); default `0.999`",
        "`epsilon`: a number > 0; default `1e-8`",
        "`weight_decay`: a number ≥ 0; default `0`",
    ] {
        assert!(adam.contains(expected), "{expected}: {adam}");
    }
    // Off any name: no hover.
    let comment = client.request("textDocument/hover", place(URI, 2, 0));
    assert_eq!(comment, Value::Null);

    // Completion: layers and activations inside the network, sections at the top level.
    let in_network = completion_labels(&mut client, URI, 5, 2);
    for expected in ["dense", "dropout", "batchnorm", "relu", "leaky_relu"] {
        assert!(
            in_network.iter().any(|label| label == expected),
            "{expected}: {in_network:?}"
        );
    }
    assert!(!in_network.iter().any(|label| label == "optimizer"));
    let top = completion_labels(&mut client, URI, 8, 0);
    for expected in ["network", "optimizer", "loss", "train"] {
        assert!(
            top.iter().any(|label| label == expected),
            "{expected}: {top:?}"
        );
    }
    let in_call = completion_labels(&mut client, URI, 10, 15);
    assert!(in_call.iter().any(|label| label == "beta1"), "{in_call:?}");

    // Formatting: one edit to the canonical text.
    let edits = client.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let edits = edits.as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0]["range"],
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 11, "character": 0 } })
    );
    assert_eq!(
        edits[0]["newText"],
        MISSPELT.replace("adam(lr=0.01)", "adam(lr = 0.01)")
    );

    // Fixing the word (an incremental change) clears the diagnostics.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": URI, "version": 2 },
            "contentChanges": [{
                "range": { "start": { "line": 4, "character": 6 }, "end": { "line": 4, "character": 6 } },
                "text": "e"
            }]
        }),
    );
    let published = client.diagnostics(URI);
    assert_eq!(published["version"], 2);
    assert_eq!(published["diagnostics"], json!([]));

    // Closing clears them too.
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": URI } }),
    );
    assert_eq!(client.diagnostics(URI)["diagnostics"], json!([]));

    client.shut_down().expect("a clean exit");
}

#[test]
fn data_paths_resolve_from_the_document_and_data_checks_run() {
    let folder = std::env::temp_dir().join(format!("mlpc-lsp-data-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let mut rows = String::from("x,y,label\n");
    for index in 0..30 {
        let label = ["a", "b", "c"][index % 3];
        rows.push_str(&format!("{}.5,{}.25,{label}\n", index % 7, index % 5));
    }
    std::fs::write(folder.join("points.csv"), rows).expect("the data");
    let uri = format!("file://{}", folder.join("model.mlp").display());
    let model = "data csv(\"points.csv\", target = \"label\")\n\
                 network {\n  dense 8 relu\n  dense 2\n}\n\
                 loss cross_entropy\noptimizer sgd(lr = 0.1)\n";

    let mut client = Client::initialized();
    let published = client.open(&uri, model);
    let diagnostics = published["diagnostics"].as_array().expect("a list");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .is_some_and(|message| message
                .starts_with("the network gives 2 outputs, but the data has 3 classes")),
        "{diagnostics:?}"
    );
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 3);

    // The same model elsewhere: its data file is not there.
    let elsewhere = "file:///nonexistent-mlpc-folder/model.mlp";
    let published = client.open(elsewhere, model);
    let message = published["diagnostics"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.starts_with("cannot read `/nonexistent-mlpc-folder/points.csv`"),
        "{message}"
    );
    client.shut_down().expect("a clean exit");
    let _ = std::fs::remove_dir_all(&folder);
    assert!(!Path::new("/nonexistent-mlpc-folder").exists());
}

#[test]
fn bad_requests_get_error_answers_and_the_session_goes_on() {
    let mut client = Client::start();
    // Before `initialize`.
    let early = client.call("textDocument/hover", place(URI, 0, 0));
    assert_eq!(early.response_result.expect_err("refused").code, -32002);
    let result = client.request("initialize", json!({ "capabilities": {} }));
    assert!(result["capabilities"].is_object());
    client.notify("initialized", json!({}));

    let unknown = client.call("textDocument/definition", place(URI, 0, 0));
    assert_eq!(unknown.response_result.expect_err("refused").code, -32601);
    let malformed = client.call("textDocument/hover", json!({ "position": "here" }));
    assert_eq!(malformed.response_result.expect_err("refused").code, -32602);
    // A document that is not open: nothing to say.
    let unopened = client.request("textDocument/hover", place(URI, 0, 0));
    assert_eq!(unopened, Value::Null);
    // A notification that does not decode is dropped.
    client.notify("textDocument/didOpen", json!({ "textDocument": 3 }));
    // Said in the editor's log, not dropped silently.
    let logged = loop {
        match client.receive() {
            Message::Notification(notification) if notification.method == "window/logMessage" => {
                break notification.params;
            }
            Message::Notification(other) => client.pending.push(other),
            other => panic!("expected a notification, got {other:?}"),
        }
    };
    let message = logged["message"].as_str().expect("a message");
    assert!(message.contains("textDocument/didOpen"), "{message}");

    // A file that does not parse: diagnostics, no formatting, hover and completion still work.
    let broken = "network {\n  dense 8 relu (\n  drop\n";
    let published = client.open(URI, broken);
    assert!(
        !published["diagnostics"]
            .as_array()
            .expect("a list")
            .is_empty()
    );
    // No edit (and no error, which editors show as a popup at every format-on-save).
    let refused = client.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(refused, Value::Null);
    let relu = hover(&mut client, URI, 1, 12);
    assert!(relu.starts_with("**relu**"), "{relu}");
    // Positions past the end are clamped.
    let far = client.request("textDocument/completion", place(URI, 99, 99));
    assert!(far.is_array());

    assert_eq!(client.request("shutdown", Value::Null), Value::Null);
    let late = client.call("textDocument/hover", place(URI, 0, 0));
    assert_eq!(late.response_result.expect_err("refused").code, -32600);
    client.notify("exit", Value::Null);
    client.join().expect("a clean exit");
}

#[test]
fn exit_without_shutdown_is_an_error() {
    let mut client = Client::initialized();
    client.notify("exit", Value::Null);
    assert!(matches!(client.join(), Err(LspError::ExitWithoutShutdown)));
}
