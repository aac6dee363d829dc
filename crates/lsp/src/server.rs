//! The server loop: the protocol's life cycle (`initialize`, `shutdown`, `exit`), the document
//! notifications, and the requests, each answered.
//!
//! Before `initialize`, requests are answered with `ServerNotInitialized` and notifications
//! are dropped; after `shutdown`, requests are answered with `InvalidRequest`. Parameters that
//! do not decode get `InvalidParams`; a method the server does not offer, `MethodNotFound`.
//! Work on a document runs under `catch_unwind`: were it to panic, a request is answered with
//! an internal error and the session goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Exit,
    LogMessage, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, Formatting, HoverRequest, Initialize, Request as _, Shutdown,
};
use lsp_types::{
    CompletionOptions, CompletionParams, CompletionResponse, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
    DocumentFormattingParams, HoverParams, HoverProviderCapability, InitializeResult,
    LogMessageParams, MessageType, OneOf, Position, PublishDiagnosticsParams, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::documents::Documents;
use crate::error::LspError;
use crate::position::LineIndex;

/// Where the session is in the protocol's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for `initialize`.
    Starting,
    /// Serving.
    Running,
    /// `shutdown` was received: waiting for `exit`.
    ShuttingDown,
}

/// Serves one client on a connection until it sends `shutdown` and `exit` (then `Ok`).
pub fn serve(connection: Connection) -> Result<(), LspError> {
    let mut server = Server {
        connection: &connection,
        documents: Documents::default(),
        state: State::Starting,
    };
    server.run()
}

/// What the server offers: incremental text sync with save notifications, hover,
/// completion and whole-document formatting.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(["(", ",", "=", "["].map(String::from).to_vec()),
            ..CompletionOptions::default()
        }),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

struct Server<'a> {
    connection: &'a Connection,
    documents: Documents,
    state: State,
}

/// The answer to a request: a result, or an error code and message.
type Answer = Result<serde_json::Value, (ErrorCode, String)>;

impl Server<'_> {
    fn run(&mut self) -> Result<(), LspError> {
        while let Ok(message) = self.connection.receiver.recv() {
            match message {
                Message::Request(request) => self.request(request)?,
                Message::Notification(notification) if notification.method == Exit::METHOD => {
                    return match self.state {
                        State::ShuttingDown => Ok(()),
                        State::Starting | State::Running => Err(LspError::ExitWithoutShutdown),
                    };
                }
                Message::Notification(notification) => self.notification(notification)?,
                // The server sends no requests, so expects no responses.
                Message::Response(_) => {}
            }
        }
        Err(LspError::Disconnected)
    }

    fn send(&self, message: impl Into<Message>) -> Result<(), LspError> {
        self.connection
            .sender
            .send(message.into())
            .map_err(|_| LspError::CannotSend)
    }

    fn request(&mut self, request: Request) -> Result<(), LspError> {
        let Request { id, method, params } = request;
        let answer = match (self.state, method.as_str()) {
            (State::Starting, Initialize::METHOD) => {
                self.state = State::Running;
                to_json(InitializeResult {
                    capabilities: capabilities(),
                    server_info: Some(ServerInfo {
                        name: "mlpc".to_string(),
                        version: Some(env!("CARGO_PKG_VERSION").to_string()),
                    }),
                })
            }
            (State::Starting, _) => Err((
                ErrorCode::ServerNotInitialized,
                "the server is not initialized: send `initialize` first".to_string(),
            )),
            (State::ShuttingDown, _) => Err((
                ErrorCode::InvalidRequest,
                "the server is shutting down: only `exit` is expected".to_string(),
            )),
            (State::Running, Initialize::METHOD) => Err((
                ErrorCode::InvalidRequest,
                "the server is already initialized".to_string(),
            )),
            (State::Running, Shutdown::METHOD) => {
                self.state = State::ShuttingDown;
                Ok(serde_json::Value::Null)
            }
            (State::Running, HoverRequest::METHOD) => self.hover(params),
            (State::Running, Completion::METHOD) => self.completion(params),
            (State::Running, Formatting::METHOD) => self.formatting(params),
            (State::Running, other) => Err((
                ErrorCode::MethodNotFound,
                format!("the mlpc language server does not offer `{other}`"),
            )),
        };
        self.respond(id, answer)
    }

    fn respond(&self, id: RequestId, answer: Answer) -> Result<(), LspError> {
        let response = match answer {
            Ok(result) => Response {
                id,
                response_result: Ok(result),
            },
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(response)
    }

    fn notification(&mut self, notification: Notification) -> Result<(), LspError> {
        if self.state != State::Running {
            return Ok(());
        }
        let Notification { method, params } = notification;
        match method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Some(opened) = self.decoded::<DidOpenTextDocumentParams>(&method, params)? {
                    let document = opened.text_document;
                    self.documents
                        .open(document.uri.clone(), document.text, document.version);
                    self.publish(&document.uri)?;
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Some(changed) =
                    self.decoded::<DidChangeTextDocumentParams>(&method, params)?
                {
                    let document = changed.text_document;
                    let changes = changed.content_changes;
                    let known = self
                        .documents
                        .change(&document.uri, document.version, changes)
                        .is_some();
                    if known {
                        self.publish(&document.uri)?;
                    } else {
                        self.log(&format!(
                            "mlpc: ignored edits to `{}`, which was not opened (an editor opens a document before it edits it); hover and completion there wait for its whole text",
                            document.uri.as_str()
                        ))?;
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                // The data files may have changed too: check again.
                if let Some(saved) = self.decoded::<DidSaveTextDocumentParams>(&method, params)? {
                    self.publish(&saved.text_document.uri)?;
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Some(closed) = self.decoded::<DidCloseTextDocumentParams>(&method, params)? {
                    let uri = closed.text_document.uri;
                    self.documents.close(&uri);
                    self.send_diagnostics(uri, Vec::new(), None)?;
                }
            }
            // `initialized`, `$/cancelRequest` (every request is answered at once) and the
            // notifications the server does not use.
            _ => {}
        }
        Ok(())
    }

    /// A notification's parameters, or `None` (said in the editor's log: a document that is
    /// never opened would otherwise leave hover and completion silent with no reason given).
    fn decoded<T: DeserializeOwned>(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<Option<T>, LspError> {
        match serde_json::from_value(params) {
            Ok(decoded) => Ok(Some(decoded)),
            Err(error) => {
                self.log(&format!("mlpc: ignored a `{method}` notification: {error}"))?;
                Ok(None)
            }
        }
    }

    /// Sends the editor a warning for its log.
    fn log(&self, message: &str) -> Result<(), LspError> {
        let params = LogMessageParams {
            typ: MessageType::WARNING,
            message: message.to_string(),
        };
        self.send(Notification {
            method: LogMessage::METHOD.to_string(),
            params: serde_json::to_value(params)?,
        })
    }

    /// Checks an open document and sends its diagnostics.
    fn publish(&self, uri: &Uri) -> Result<(), LspError> {
        let Some(document) = self.documents.get(uri) else {
            return Ok(());
        };
        // An unsaved document's data paths are relative to the server's folder.
        let path = crate::uri::file_path(uri).unwrap_or_else(|| PathBuf::from("untitled.mlp"));
        let found = catch_unwind(AssertUnwindSafe(|| {
            crate::diagnostics::diagnostics(uri, &document.text, &path)
        }))
        .unwrap_or_else(|_| {
            // Not an empty list: that would say the file is fine.
            vec![lsp_types::Diagnostic {
                range: lsp_types::Range::default(),
                severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                source: Some("mlpc".to_string()),
                message: "internal error in mlpc's checker: this file could not be checked"
                    .to_string(),
                ..lsp_types::Diagnostic::default()
            }]
        });
        self.send_diagnostics(uri.clone(), found, Some(document.version))
    }

    fn send_diagnostics(
        &self,
        uri: Uri,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> Result<(), LspError> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        let notification = Notification {
            method: PublishDiagnostics::METHOD.to_string(),
            params: serde_json::to_value(params)?,
        };
        self.send(notification)
    }

    fn hover(&self, params: serde_json::Value) -> Answer {
        let params: HoverParams = decode_request(params)?;
        let place = params.text_document_position_params;
        self.at(&place.text_document.uri, place.position, |text, offset| {
            to_json(crate::hover::hover(text, offset))
        })
    }

    fn completion(&self, params: serde_json::Value) -> Answer {
        let params: CompletionParams = decode_request(params)?;
        let place = params.text_document_position;
        self.at(&place.text_document.uri, place.position, |text, offset| {
            to_json(CompletionResponse::Array(crate::completion::completion(
                text, offset,
            )))
        })
    }

    fn formatting(&self, params: serde_json::Value) -> Answer {
        let params: DocumentFormattingParams = decode_request(params)?;
        self.at(&params.text_document.uri, Position::default(), |text, _| {
            match crate::formatting::formatting(text) {
                Ok(edits) => to_json(edits),
                // The syntax errors are already in the editor's diagnostics: no edit, and no
                // error popup at every format-on-save of a file being written.
                Err(_) => Ok(serde_json::Value::Null),
            }
        })
    }

    /// Runs `work` on an open document's text and the offset of a position in it (`null`
    /// for a document that is not open), catching a panic.
    fn at(
        &self,
        uri: &Uri,
        position: Position,
        work: impl FnOnce(&str, usize) -> Answer,
    ) -> Answer {
        let Some(document) = self.documents.get(uri) else {
            return Ok(serde_json::Value::Null);
        };
        let text = document.text.as_str();
        catch_unwind(AssertUnwindSafe(|| {
            work(text, LineIndex::new(text).offset(position))
        }))
        .unwrap_or_else(|_| {
            Err((
                ErrorCode::InternalError,
                "internal error in the mlpc language server".to_string(),
            ))
        })
    }
}

fn to_json(value: impl Serialize) -> Answer {
    serde_json::to_value(value).map_err(|error| (ErrorCode::InternalError, error.to_string()))
}

fn decode_request<T: DeserializeOwned>(
    params: serde_json::Value,
) -> Result<T, (ErrorCode, String)> {
    serde_json::from_value(params).map_err(|error| (ErrorCode::InvalidParams, error.to_string()))
}
