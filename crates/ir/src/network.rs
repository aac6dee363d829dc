//! The lines of `network { ... }`, each looked up among layer kinds and activations, bound
//! and built.

use mlpc_syntax::Span;
use mlpc_syntax::ast::{Entry, Statement};

use crate::bind::{Binder, unknown};
use crate::error::CheckError;
use crate::model::LayerKind;
use crate::vocabulary::{ACTIVATIONS, LAYERS, NetworkLine, holds_layers};

/// A line of the network as bound from the text, before shapes are known.
#[derive(Debug, Clone)]
pub struct WrittenLayer {
    /// A layer, or `input N`.
    pub line: NetworkLine,
    /// The line.
    pub span: Span,
    /// Where a dense layer's width is written.
    pub units_span: Option<Span>,
    /// The lines of its block, for a layer written with one (`residual { ... }`).
    pub block: Option<WrittenNetwork>,
}

/// The layers of a network block, and whether every line could be bound (if not, widths
/// past the bad line are not checked: they would only repeat its error).
#[derive(Debug, Clone)]
pub struct WrittenNetwork {
    /// The lines that were bound, in order.
    pub layers: Vec<WrittenLayer>,
    /// Whether every line was.
    pub complete: bool,
}

/// Binds each line of a `network { }` block.
pub fn bind_layers(network: &Statement, binder: &mut Binder) -> WrittenNetwork {
    let mut written = WrittenNetwork {
        layers: Vec::new(),
        complete: true,
    };
    for entry in network.block.iter().flat_map(|block| &block.entries) {
        let statement = match entry {
            Entry::Statement(statement) => statement,
            Entry::Setting(setting) => {
                binder
                    .errors
                    .push(CheckError::SettingInNetwork { span: setting.span });
                continue;
            }
        };
        match bind_line(statement, binder) {
            Some(layer) => written.layers.push(layer),
            None => written.complete = false,
        }
    }
    written
}

/// Binds one line: a layer kind, an activation, or `input N`.
fn bind_line(statement: &Statement, binder: &mut Binder) -> Option<WrittenLayer> {
    let keyword = &statement.keyword;
    let arguments = statement.all_arguments();
    let (line, units_span) = if let Some(row) = LAYERS.find(&keyword.name) {
        let bound = binder.bind(row.signature(), arguments, statement.span);
        // A layer that holds layers has its block bound even when its arguments are wrong.
        if holds_layers(row) {
            let line = bound.as_ref().map(|bound| (row.build)(bound));
            return bind_block(statement, line, row.example, binder);
        }
        refuse_block(statement, row.example, binder);
        let bound = bound?;
        ((row.build)(&bound), bound.span_of("units"))
    } else if let Some(row) = ACTIVATIONS.find(&keyword.name) {
        refuse_block(statement, row.example, binder);
        let activation = binder.build(row, arguments, statement.span)?;
        (
            NetworkLine::Layer(LayerKind::Activation { activation }),
            None,
        )
    } else {
        let mut candidates = LAYERS.names();
        candidates.extend(ACTIVATIONS.names());
        binder
            .errors
            .push(unknown("layer", &keyword.name, keyword.span, candidates));
        return None;
    };
    Some(WrittenLayer {
        line,
        span: statement.span,
        units_span,
        block: None,
    })
}

/// Binds a layer written with a block of layers (`residual { dense 128 relu, dense 128 }`):
/// each line of the block as a line of the network.
fn bind_block(
    statement: &Statement,
    line: Option<NetworkLine>,
    example: &'static str,
    binder: &mut Binder,
) -> Option<WrittenLayer> {
    let empty = statement
        .block
        .as_ref()
        .is_none_or(|block| block.entries.is_empty());
    if empty {
        binder.errors.push(CheckError::BlockOfLayersMissing {
            keyword: statement.keyword.name.clone(),
            example,
            span: statement
                .block
                .as_ref()
                .map_or(statement.span, |block| block.span),
        });
        return None;
    }
    let block = bind_layers(statement, binder);
    Some(WrittenLayer {
        line: line?,
        span: statement.span,
        units_span: None,
        block: Some(block),
    })
}

fn refuse_block(statement: &Statement, example: &'static str, binder: &mut Binder) {
    if let Some(block) = &statement.block {
        binder.errors.push(CheckError::LayerBlock {
            example,
            span: block.span,
        });
    }
}
