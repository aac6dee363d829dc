//! The top-level sections of a model file: what each is called, takes and looks like.

use crate::signature::{Kind, Parameter, Signature, Written, required};
use crate::vocabulary::{LOSSES, OPTIMIZERS, SCHEDULES, SOURCES};

/// A top-level section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `model NAME`
    Model,
    /// `data SOURCE`
    Data,
    /// `network { ... }`
    Network,
    /// `loss L`
    Loss,
    /// `optimizer O`
    Optimizer,
    /// `schedule S`
    Schedule,
    /// `train { ... }`
    Train,
}

impl Section {
    /// Every section, in canonical order.
    pub const ALL: [Section; 7] = [
        Section::Model,
        Section::Data,
        Section::Network,
        Section::Loss,
        Section::Optimizer,
        Section::Schedule,
        Section::Train,
    ];

    /// The section of a keyword.
    pub fn find(keyword: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .find(|section| section.keyword() == keyword)
    }

    /// Every keyword, in canonical order.
    pub fn keywords() -> Vec<&'static str> {
        Section::ALL.into_iter().map(Section::keyword).collect()
    }

    /// Its keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Section::Model => "model",
            Section::Data => "data",
            Section::Network => "network",
            Section::Loss => "loss",
            Section::Optimizer => "optimizer",
            Section::Schedule => "schedule",
            Section::Train => "train",
        }
    }

    /// An example of it, for hints.
    pub fn example(self) -> &'static str {
        match self {
            Section::Model => "model digits",
            Section::Data => "data mnist(\"../data/mnist\")",
            Section::Network => "network { dense 10 }",
            Section::Loss => "loss cross_entropy",
            Section::Optimizer => "optimizer sgd(lr = 0.1)",
            Section::Schedule => "schedule cosine",
            Section::Train => "train { epochs = 10, batch_size = 64 }",
        }
    }

    /// Whether a model must have it (the others have defaults).
    pub fn required(self) -> bool {
        match self {
            Section::Data | Section::Network | Section::Loss | Section::Optimizer => true,
            Section::Model | Section::Schedule | Section::Train => false,
        }
    }

    /// Whether it holds a block `{ ... }` rather than a value.
    pub fn takes_block(self) -> bool {
        match self {
            Section::Network | Section::Train => true,
            Section::Model
            | Section::Data
            | Section::Loss
            | Section::Optimizer
            | Section::Schedule => false,
        }
    }

    /// What binding its arguments needs to know.
    pub fn signature(self) -> Signature {
        static MODEL: [Parameter; 1] = [required("name", Kind::Word)];
        static DATA: [Parameter; 1] = [required("source", Kind::Source(&SOURCES))];
        static LOSS: [Parameter; 1] = [required("loss", Kind::Loss(&LOSSES))];
        static OPTIMIZER: [Parameter; 1] = [required("optimizer", Kind::Optimizer(&OPTIMIZERS))];
        static SCHEDULE: [Parameter; 1] = [required("schedule", Kind::Schedule(&SCHEDULES))];
        let parameters: &'static [Parameter] = match self {
            Section::Model => &MODEL,
            Section::Data => &DATA,
            Section::Loss => &LOSS,
            Section::Optimizer => &OPTIMIZER,
            Section::Schedule => &SCHEDULE,
            Section::Network | Section::Train => &[],
        };
        Signature {
            name: self.keyword(),
            parameters,
            example: self.example(),
            written: Written::Arguments,
        }
    }
}
