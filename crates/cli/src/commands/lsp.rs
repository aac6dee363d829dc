//! `mlpc lsp`: the language server of `.mlp` files, for editors (README, "Editors").

use crate::report::Outcome;

/// Serves one editor over standard input and output until it sends `shutdown` and `exit`.
/// Standard output carries the protocol alone, so a session that ends badly (the editor gone
/// without `exit`, input that is not JSON-RPC) is reported on standard error, status 1.
pub fn run() -> Outcome {
    match mlpc_lsp::serve_stdio() {
        Ok(()) => Outcome::Success,
        Err(error) => {
            eprint!(
                "{}",
                mlpc_syntax::diagnostic::render_plain_error(&error.to_string(), None)
            );
            Outcome::Failure
        }
    }
}
