//! End-to-end tests of `mlpc lsp`: the binary spoken to as an editor speaks to it, JSON-RPC
//! messages with `Content-Length` headers on its standard input and output.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{fresh_folder, mlpc_command};

/// Long enough for a slow machine, short enough that a server that never answers fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `mlpc lsp`, its input, and the messages read from its output.
struct Server {
    child: Child,
    input: Option<ChildStdin>,
    messages: Receiver<Value>,
}

impl Server {
    fn start() -> Server {
        let mut child = mlpc_command(&["lsp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mlpc lsp");
        let input = child.stdin.take();
        let output = child.stdout.take().expect("standard output");
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(output);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            input,
            messages,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let input = self.input.as_mut().expect("input still open");
        write!(input, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write a message");
        input.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn receive(&self) -> Value {
        self.messages
            .recv_timeout(PATIENCE)
            .expect("the server writes a message")
    }

    /// Sends a request; its response's result (asserting that there is no error).
    fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.receive();
            if message["id"] == id && message.get("method").is_none() {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    /// The next notification of this method.
    fn notification(&self, method: &str) -> Value {
        loop {
            let message = self.receive();
            if message["method"] == method {
                return message["params"].clone();
            }
        }
    }

    /// Closes the server's input; its exit status and standard error.
    fn finish(mut self) -> (ExitStatus, String) {
        drop(self.input.take());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for mlpc lsp") {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("mlpc lsp did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut errors = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut errors);
        }
        (status, errors)
    }
}

/// One message: headers up to a blank line, then `Content-Length` bytes of JSON.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn place(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

/// A model with one error: a misspelt layer kind on line 4 (from 0), characters 2 to 6.
const MISSPELT: &str = "\
model demo
data xor(n = 200)

network {
  dens 10 relu

  dense 2
}

loss cross_entropy
optimizer adam(lr = 0.01)
";

#[test]
fn a_session_from_initialize_to_exit() {
    let folder = fresh_folder("lsp");
    let uri = format!("file://{}", folder.join("demo.mlp").display());
    let mut server = Server::start();

    let initialized = server.request(1, "initialize", json!({ "capabilities": {} }));
    assert_eq!(initialized["capabilities"]["hoverProvider"], true);
    assert_eq!(initialized["serverInfo"]["name"], "mlpc");
    server.notify("initialized", json!({}));

    server.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "mlp", "version": 1, "text": MISSPELT } }),
    );
    let published = server.notification("textDocument/publishDiagnostics");
    assert_eq!(published["uri"], uri.as_str());
    let diagnostics = published["diagnostics"].as_array().expect("a list");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["range"],
        json!({ "start": { "line": 4, "character": 2 }, "end": { "line": 4, "character": 6 } })
    );
    assert_eq!(
        diagnostics[0]["message"],
        "unknown layer `dens`\nhint: did you mean `dense`?"
    );

    let hover = server.request(2, "textDocument/hover", place(&uri, 6, 3));
    let markdown = hover["contents"]["value"].as_str().expect("Markdown");
    assert!(markdown.starts_with("**dense** (layer)"), "{markdown}");
    assert!(
        markdown.contains("`units`: a whole number ≥ 1; required"),
        "{markdown}"
    );
    let hover = server.request(3, "textDocument/hover", place(&uri, 10, 11));
    let markdown = hover["contents"]["value"].as_str().expect("Markdown");
    assert!(
        markdown.contains("`beta1`: a number in [0, 1); default `0.9`"),
        "{markdown}"
    );

    let items = server.request(4, "textDocument/completion", place(&uri, 5, 2));
    let labels: Vec<&str> = items
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["label"].as_str())
        .collect();
    for expected in ["dense", "dropout", "relu"] {
        assert!(labels.contains(&expected), "{expected}: {labels:?}");
    }

    assert_eq!(server.request(5, "shutdown", Value::Null), Value::Null);
    server.notify("exit", Value::Null);
    let (status, errors) = server.finish();
    assert_eq!(status.code(), Some(0), "{errors}");
    assert!(errors.is_empty(), "{errors}");
}

#[test]
fn an_editor_gone_without_exit_ends_the_server_with_status_1() {
    let mut server = Server::start();
    server.request(1, "initialize", json!({ "capabilities": {} }));
    let (status, errors) = server.finish();
    assert_eq!(status.code(), Some(1));
    assert!(
        errors.contains("error: the editor closed the connection"),
        "{errors}"
    );
}

/// A message that is not JSON-RPC is skipped (and said on standard error): the requests after
/// it are answered and the session ends as usual.
#[test]
fn a_malformed_message_is_skipped_not_fatal() {
    let mut server = Server::start();
    server.request(1, "initialize", json!({ "capabilities": {} }));
    server.notify("initialized", json!({}));
    let input = server.input.as_mut().expect("input");
    write!(input, "Content-Length: 9\r\n\r\n{{not json").expect("write");
    input.flush().expect("flush");
    // Edits to a document never opened are logged, not silently dropped.
    server.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": "file:///nowhere/never-opened.mlp", "version": 2 },
            "contentChanges": [{
                "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } },
                "text": "x"
            }]
        }),
    );
    let logged = server.notification("window/logMessage");
    assert!(
        logged["message"]
            .as_str()
            .is_some_and(|message| message.contains("never-opened.mlp`, which was not opened")),
        "{logged}"
    );
    assert_eq!(server.request(2, "shutdown", Value::Null), Value::Null);
    server.notify("exit", Value::Null);
    let (status, errors) = server.finish();
    assert_eq!(status.code(), Some(0), "{errors}");
    assert!(
        errors.contains("mlpc lsp: skipped a message that is not JSON-RPC"),
        "{errors}"
    );
}
