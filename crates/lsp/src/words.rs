//! The language's names as the editor features see them: every table of `mlpc-ir`'s
//! vocabulary (and the sections) as [`Word`]s of one shape, whatever IR value a row builds.
//!
//! Hover, completion and the TextMate grammar read the names from here, so a row added to a
//! table reaches all three with no change in this crate.

use mlpc_ir::section::Section;
use mlpc_ir::signature::{Kind, Parameter, Row, Table};
use mlpc_ir::vocabulary::{
    ACTIVATIONS, INITIALIZERS, LAYERS, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, SOURCES, TASKS,
    TRAIN,
};

/// One name of the language, with what it takes.
#[derive(Debug, Clone, Copy)]
pub struct Word {
    /// What kind of name it is: `layer`, `activation`, `section`...
    pub noun: &'static str,
    /// The name as written.
    pub name: &'static str,
    /// Its parameters (a section's are its value, or for `train`, its settings).
    pub parameters: &'static [Parameter],
    /// An example of its use.
    pub example: &'static str,
    /// Whether its parameters are written by name (`lr = 0.1`, `epochs = 10`); a section's
    /// one parameter is its value, never named.
    pub named_parameters: bool,
}

/// The kinds of name, one per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Top-level sections: `network`, `optimizer`...
    Sections,
    /// Layer kinds, and `input`.
    Layers,
    /// Activations.
    Activations,
    /// Weight initializers.
    Initializers,
    /// Losses.
    Losses,
    /// Optimizers.
    Optimizers,
    /// Learning-rate schedules.
    Schedules,
    /// Data sources.
    Sources,
    /// Tasks of a CSV target.
    Tasks,
    /// Metrics.
    Metrics,
}

impl Names {
    /// Every kind of name, in the order a name found in several is looked up.
    pub const ALL: [Names; 10] = [
        Names::Sections,
        Names::Layers,
        Names::Activations,
        Names::Losses,
        Names::Optimizers,
        Names::Schedules,
        Names::Initializers,
        Names::Sources,
        Names::Tasks,
        Names::Metrics,
    ];

    /// Every word of this kind, in the table's order.
    pub fn words(self) -> Vec<Word> {
        match self {
            Names::Sections => Section::ALL.into_iter().map(section_word).collect(),
            Names::Layers => table_words(&LAYERS),
            Names::Activations => table_words(&ACTIVATIONS),
            Names::Initializers => table_words(&INITIALIZERS),
            Names::Losses => table_words(&LOSSES),
            Names::Optimizers => table_words(&OPTIMIZERS),
            Names::Schedules => table_words(&SCHEDULES),
            Names::Sources => table_words(&SOURCES),
            Names::Tasks => table_words(&TASKS),
            Names::Metrics => table_words(&METRICS),
        }
    }

    /// The word of this name, if this kind has one.
    pub fn find(self, name: &str) -> Option<Word> {
        self.words().into_iter().find(|word| word.name == name)
    }

    /// The kind of name a parameter's value is, if its values are names.
    pub fn of_kind(kind: Kind) -> Option<Names> {
        match kind {
            Kind::Activation(_) => Some(Names::Activations),
            Kind::Initializer(_) => Some(Names::Initializers),
            Kind::Loss(_) => Some(Names::Losses),
            Kind::Optimizer(_) => Some(Names::Optimizers),
            Kind::Schedule(_) => Some(Names::Schedules),
            Kind::Source(_) => Some(Names::Sources),
            Kind::Task(_) => Some(Names::Tasks),
            Kind::Metrics(_) => Some(Names::Metrics),
            Kind::Integer(_)
            | Kind::Real(_)
            | Kind::Boolean
            | Kind::Text
            | Kind::Path
            | Kind::Word => None,
        }
    }
}

/// A line of `network { }`: a layer kind or an activation.
pub fn network_line(name: &str) -> Option<Word> {
    Names::Layers
        .find(name)
        .or_else(|| Names::Activations.find(name))
}

/// The first word of any kind with this name (in [`Names::ALL`]'s order).
pub fn anywhere(name: &str) -> Option<Word> {
    Names::ALL.into_iter().find_map(|names| names.find(name))
}

/// The settings of `train { }`, as a word.
pub fn train_settings() -> Word {
    Word {
        noun: "section",
        name: Section::Train.keyword(),
        parameters: TRAIN.parameters,
        example: Section::Train.example(),
        named_parameters: true,
    }
}

fn section_word(section: Section) -> Word {
    match section {
        Section::Train => train_settings(),
        Section::Model
        | Section::Data
        | Section::Network
        | Section::Loss
        | Section::Optimizer
        | Section::Schedule => Word {
            noun: "section",
            name: section.keyword(),
            parameters: section.signature().parameters,
            example: section.example(),
            named_parameters: false,
        },
    }
}

fn table_words<T>(table: &'static Table<T>) -> Vec<Word> {
    table
        .rows
        .iter()
        .map(|row: &'static Row<T>| Word {
            noun: table.noun,
            name: row.name,
            parameters: row.parameters,
            example: row.example,
            named_parameters: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_seen_with_its_rows() {
        assert_eq!(
            Names::Sections.find("network").map(|word| word.noun),
            Some("section")
        );
        assert_eq!(
            Names::Layers
                .find("dense")
                .map(|word| word.parameters.len()),
            Some(4)
        );
        assert_eq!(
            network_line("relu").map(|word| word.noun),
            Some("activation")
        );
        assert_eq!(network_line("dropout").map(|word| word.noun), Some("layer"));
        assert!(network_line("adam").is_none());
        // `mae` is a loss and a metric: the loss comes first.
        assert_eq!(anywhere("mae").map(|word| word.noun), Some("loss"));
        let train = Names::Sections.find("train").expect("train");
        assert!(
            train
                .parameters
                .iter()
                .any(|parameter| parameter.name == "epochs")
        );
        for names in Names::ALL {
            assert!(!names.words().is_empty(), "{names:?}");
        }
    }
}
