//! One module per subcommand.

pub mod backends;
pub mod bench;
pub mod check;
pub mod eval;
pub mod export;
pub mod format;
pub mod gradcheck;
pub mod lsp;
pub mod plot;
pub mod predict;
pub mod run;
pub mod summary;
