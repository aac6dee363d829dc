//! The pest parser generated from `grammar/mlp.pest`, and its [`Rule`]s.
//!
//! Kept apart from the tree building ([`crate::parser`]) and from the error type
//! ([`crate::error`]) so that both can name rules without depending on each other.

#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/mlp.pest"]
/// The pest parser generated from `grammar/mlp.pest`.
pub struct MlpParser;
