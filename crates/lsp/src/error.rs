//! The ways serving can end badly: [`LspError`], this crate's one error enum.
//!
//! A bad document or a bad request is never one of them: those get diagnostics or an error
//! response, and the server goes on. These end the session.

use thiserror::Error;

/// Why a language server session ended other than by `shutdown` then `exit`.
#[derive(Debug, Error)]
pub enum LspError {
    /// The client closed the connection without sending `exit`.
    #[error("the editor closed the connection without asking the server to exit")]
    Disconnected,
    /// A message could not be sent: the client no longer reads.
    #[error("the editor no longer reads the connection: a message could not be sent")]
    CannotSend,
    /// `exit` came before `shutdown` (the protocol asks for exit status 1 then).
    #[error("the editor sent `exit` without `shutdown` first")]
    ExitWithoutShutdown,
    /// Reading or writing standard input or output failed (such as a message that is not
    /// JSON-RPC).
    #[error("reading or writing the connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// A response could not be encoded as JSON.
    #[error("a response could not be encoded: {0}")]
    Json(#[from] serde_json::Error),
}
