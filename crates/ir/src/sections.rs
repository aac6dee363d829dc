//! The top-level statements of a file, matched to [`Section`]s and bound to typed values.

use mlpc_data::Source;
use mlpc_syntax::Span;
use mlpc_syntax::ast::{Argument, Entry, File, Statement};

use crate::bind::{Binder, unknown};
use crate::error::CheckError;
use crate::model::{Loss, Optimizer, Schedule, Training};
use crate::section::Section;
use crate::vocabulary::{TRAIN, train_signature};

/// What the sections of a file say, each as far as it could be bound.
#[derive(Debug, Default)]
pub struct Sections<'a> {
    /// Each section written, with its statement, in order.
    seen: Vec<(Section, &'a Statement)>,
    /// `model NAME`.
    pub name: Option<String>,
    /// `data SOURCE`, with the statement's span.
    pub data: Option<(Source, Span)>,
    /// `network { ... }`, bound later, layer by layer.
    pub network: Option<&'a Statement>,
    /// `loss L`, with where the loss is written.
    pub loss: Option<(Loss, Span)>,
    /// `optimizer O`.
    pub optimizer: Option<Optimizer>,
    /// `schedule S`, and where it is written.
    pub schedule: Option<(Schedule, Span)>,
    /// `train { ... }`, with where `metrics` is written, if it is.
    pub train: Option<(Training, Option<Span>)>,
}

impl<'a> Sections<'a> {
    /// Matches the file's top-level statements to sections and binds their arguments;
    /// reports unknown, repeated and misplaced ones, and missing required sections.
    pub fn collect(file: &'a File, binder: &mut Binder) -> Sections<'a> {
        let mut sections = Sections::default();
        // Sections an unknown keyword was probably meant for: reported there, not also missing.
        let mut meant: Vec<&str> = Vec::new();
        for entry in &file.entries {
            let statement = match entry {
                Entry::Setting(setting) => {
                    binder.errors.push(CheckError::SettingOutsideTrain {
                        key: setting.key.name.clone(),
                        span: setting.span,
                    });
                    continue;
                }
                Entry::Statement(statement) => statement,
            };
            let keyword = &statement.keyword;
            let Some(section) = Section::find(&keyword.name) else {
                meant.extend(mlpc_syntax::did_you_mean(
                    &keyword.name,
                    Section::keywords(),
                ));
                binder.errors.push(unknown(
                    "section",
                    &keyword.name,
                    keyword.span,
                    Section::keywords(),
                ));
                continue;
            };
            if let Some((_, first)) = sections.seen.iter().find(|(seen, _)| *seen == section) {
                binder.errors.push(CheckError::Duplicate {
                    what: "section",
                    name: section.keyword(),
                    span: keyword.span,
                    first: first.keyword.span,
                });
                continue;
            }
            sections.seen.push((section, statement));
            sections.bind(section, statement, binder);
        }
        for section in Section::ALL {
            if section.required()
                && !sections.seen.iter().any(|(seen, _)| *seen == section)
                && !meant.contains(&section.keyword())
            {
                binder.errors.push(CheckError::MissingSection { section });
            }
        }
        sections
    }

    /// Binds one section's statement.
    fn bind(&mut self, section: Section, statement: &'a Statement, binder: &mut Binder) {
        match (&statement.block, section.takes_block()) {
            (Some(block), false) => binder.errors.push(CheckError::BlockNotTaken {
                section,
                span: block.span,
            }),
            (None, true) => binder.errors.push(CheckError::BlockMissing {
                section,
                span: statement.span,
            }),
            (Some(_), true) | (None, false) => {}
        }
        let bound = binder.bind(
            section.signature(),
            statement.all_arguments(),
            statement.span,
        );
        match section {
            Section::Model => self.name = bound.map(|bound| bound.text("name")),
            Section::Data => {
                self.data = bound.map(|bound| (bound.source("source"), statement.span))
            }
            Section::Network => self.network = Some(statement),
            Section::Loss => {
                self.loss = bound.map(|bound| {
                    let span = bound.span_of("loss").unwrap_or(statement.span);
                    (bound.loss("loss"), span)
                })
            }
            Section::Optimizer => self.optimizer = bound.map(|bound| bound.optimizer("optimizer")),
            Section::Schedule => {
                self.schedule = bound.map(|bound| (bound.schedule("schedule"), statement.span))
            }
            Section::Train => self.train = bind_train(statement, binder),
        }
    }
}

/// Binds the settings of `train { ... }`, with where `metrics` is written.
fn bind_train(statement: &Statement, binder: &mut Binder) -> Option<(Training, Option<Span>)> {
    let mut settings = Vec::new();
    for entry in statement.block.iter().flat_map(|block| &block.entries) {
        match entry {
            Entry::Setting(setting) => settings.push(Argument {
                name: Some(setting.key.clone()),
                value: setting.value.clone(),
                span: setting.span,
            }),
            Entry::Statement(inner) => binder.errors.push(CheckError::StatementInTrain {
                keyword: inner.keyword.name.clone(),
                span: inner.span,
            }),
        }
    }
    let bound = binder.bind(train_signature(), &settings, statement.span)?;
    Some(((TRAIN.build)(&bound), bound.span_of("metrics")))
}

/// The training settings of a file without `train { }`: every default.
pub fn default_training(binder: &mut Binder) -> Training {
    let no_settings: [Argument; 0] = [];
    let bound = binder
        .bind(train_signature(), &no_settings, Span::default())
        .expect("every training setting has a default or may be left out");
    (TRAIN.build)(&bound)
}
