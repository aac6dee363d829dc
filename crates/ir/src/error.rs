//! Check errors: the one error enum of the checking stage, one variant per construct, each
//! carrying its data; `diagnostic.rs` turns them into diagnostics.

use mlpc_data::DataError;
use mlpc_syntax::Span;
use thiserror::Error;

use crate::memory::{MAX_TRAINING_BYTES, MemoryEstimate, gibibytes};
use crate::section::Section;
use crate::signature::{Kind, Nearest, Parameter, Written};

/// A reason a parsed file is not a valid model.
#[derive(Debug, Error)]
pub enum CheckError {
    /// A word that names nothing of its kind: a section, a layer, an optimizer...
    #[error("unknown {noun} `{name}`")]
    UnknownName {
        /// What it should name: `section`, `layer`, `activation`, `data source`...
        noun: &'static str,
        /// The word written.
        name: String,
        /// Where.
        span: Span,
        /// The closest valid word.
        suggestion: Option<&'static str>,
        /// Every valid word.
        candidates: Vec<&'static str>,
    },
    /// An argument (or setting) name that the callee does not take.
    #[error("unknown {} `{name}` {} `{callee}`", written.noun(), match written { Written::Arguments => "for", Written::Settings => "in" })]
    UnknownArgument {
        /// What was called: `sgd`, `train`.
        callee: &'static str,
        /// Arguments or settings.
        written: Written,
        /// The name written.
        name: String,
        /// Where.
        span: Span,
        /// The parameter probably meant.
        suggestion: Option<&'static str>,
        /// The callee's parameters, with their defaults.
        parameters: &'static [Parameter],
    },
    /// Something given twice.
    #[error("{what} `{name}` is given twice")]
    Duplicate {
        /// `section`, `argument` or `setting`.
        what: &'static str,
        /// Its name.
        name: &'static str,
        /// The second one.
        span: Span,
        /// The first one.
        first: Span,
    },
    /// Classification data with one class (or none): nothing to tell apart.
    #[error("the data has {classes} class{}: a classifier needs two at least", if *classes == 1 { "" } else { "es" })]
    OneClass {
        /// Classes in the training data.
        classes: usize,
        /// The data source.
        span: Span,
    },
    /// A cosine schedule whose floor is above the rate it starts from: it would raise it.
    #[error("the cosine schedule's `min_lr` ({min_lr}) is above the learning rate ({rate})")]
    FloorAboveRate {
        /// The floor.
        min_lr: f64,
        /// The optimizer's learning rate.
        rate: f64,
        /// The schedule.
        span: Span,
    },
    /// Two arguments that are alternatives to each other, both written.
    #[error("`{callee}` takes `{name}` or `{other}`, not both")]
    Alternatives {
        /// The row called.
        callee: &'static str,
        /// The argument with the alternatives.
        name: &'static str,
        /// The alternative also written.
        other: &'static str,
        /// The first of the two.
        span: Span,
        /// The other.
        other_span: Span,
    },
    /// A positional argument after a named one.
    #[error("a positional argument follows a named one")]
    PositionalAfterNamed {
        /// The positional argument.
        span: Span,
    },
    /// An argument to something that takes none.
    #[error("`{callee}` takes no arguments")]
    NoArguments {
        /// What was called.
        callee: &'static str,
        /// How it is written.
        example: &'static str,
        /// The first argument.
        span: Span,
    },
    /// More positional arguments than parameters.
    #[error("`{callee}` takes at most {} positional argument{}", parameters.len(), if parameters.len() == 1 { "" } else { "s" })]
    TooManyArguments {
        /// What was called.
        callee: &'static str,
        /// Its parameters, in order.
        parameters: &'static [Parameter],
        /// The first extra argument.
        span: Span,
    },
    /// A required argument is missing.
    #[error("`{callee}` needs its `{parameter}` argument")]
    MissingArgument {
        /// What was called.
        callee: &'static str,
        /// The missing parameter.
        parameter: &'static str,
        /// An example of the full call.
        example: &'static str,
        /// The call.
        span: Span,
    },
    /// A value of the wrong type.
    #[error("`{parameter}` must be {}, found {found} `{text}`", expected.describe())]
    WrongType {
        /// The parameter.
        parameter: &'static str,
        /// What it takes.
        expected: Kind,
        /// What was written: `a number`, `a name`.
        found: &'static str,
        /// The value as written.
        text: String,
        /// Where.
        span: Span,
    },
    /// A number outside its valid range.
    #[error("`{parameter}` is {text}, but must be {}", kind.range_text().unwrap_or_default())]
    OutOfRange {
        /// The parameter.
        parameter: &'static str,
        /// The value as written.
        text: String,
        /// The parameter's kind, with its range.
        kind: Kind,
        /// The valid value nearest to it, if there is one.
        nearest: Option<Nearest>,
        /// Where.
        span: Span,
    },
    /// A section with no default is missing.
    #[error("the model has no `{}` section", section.keyword())]
    MissingSection {
        /// The section.
        section: Section,
    },
    /// A `name = value` setting outside a block.
    #[error("`{key}` is a training setting, written outside `train {{ }}`")]
    SettingOutsideTrain {
        /// The setting's name.
        key: String,
        /// The setting.
        span: Span,
    },
    /// A block after a section that takes a value.
    #[error("`{}` takes a value, not a block", section.keyword())]
    BlockNotTaken {
        /// The section.
        section: Section,
        /// The block.
        span: Span,
    },
    /// A section that needs a block, written without one.
    #[error("`{}` needs a block `{{ ... }}`", section.keyword())]
    BlockMissing {
        /// The section.
        section: Section,
        /// The section's line.
        span: Span,
    },
    /// A statement inside `train { }`, which holds settings.
    #[error("`train` holds settings, but `{keyword}` is written as a statement")]
    StatementInTrain {
        /// The statement's first word.
        keyword: String,
        /// The statement.
        span: Span,
    },
    /// A setting inside `network { }`, which holds layers.
    #[error("a network holds layers, not settings")]
    SettingInNetwork {
        /// The setting.
        span: Span,
    },
    /// A block after a layer.
    #[error("a layer takes no block")]
    LayerBlock {
        /// How the layer is written.
        example: &'static str,
        /// The block.
        span: Span,
    },
    /// A layer that takes a block (`residual`) written without one, or with an empty one.
    #[error("`{keyword}` needs a block of layers")]
    BlockOfLayersMissing {
        /// The layer's name.
        keyword: String,
        /// How it is written.
        example: &'static str,
        /// The line, or the empty block.
        span: Span,
    },
    /// A residual block whose output width differs from its input width.
    #[error("a residual block must keep its width: it takes {inputs} but gives {outputs}")]
    ResidualWidth {
        /// The block's input width.
        inputs: usize,
        /// Its output width.
        outputs: usize,
        /// The last line of the block that sets the width.
        span: Span,
    },
    /// A softmax over one value, which is 1 whatever the value: a network that cannot learn.
    #[error("a softmax over one value is always 1")]
    SoftmaxOfOne {
        /// The layer that applies it.
        span: Span,
    },
    /// `input N` after the first line of the network.
    #[error("`input` must be the first line of the network")]
    InputNotFirst {
        /// The `input` line.
        span: Span,
    },
    /// `input N` where the data has another width.
    #[error("the network takes {written} inputs, but the data has {features} features")]
    InputWidth {
        /// The width written.
        written: usize,
        /// The data's width.
        features: usize,
        /// The `input` line.
        span: Span,
    },
    /// `network { }` with no layer.
    #[error("the network has no layers")]
    EmptyNetwork {
        /// The network section.
        span: Span,
    },
    /// A last layer whose width does not fit the data and the loss.
    #[error("the network gives {outputs} output{}, but {rule}", if *outputs == 1 { "" } else { "s" })]
    OutputWidth {
        /// The network's output width.
        outputs: usize,
        /// The width that fits.
        expected: usize,
        /// Why it is the width that fits.
        rule: OutputRule,
        /// Where the last width is written.
        span: Span,
        /// The loss.
        loss: &'static str,
        /// Where the loss is chosen.
        loss_span: Span,
    },
    /// A regression loss on classification data.
    #[error("`{loss}` is a regression loss, but the data is for classification")]
    RegressionLoss {
        /// The loss.
        loss: &'static str,
        /// Where it is chosen.
        span: Span,
    },
    /// A classification loss on regression data.
    #[error("`{loss}` is a classification loss, but the data is for regression")]
    ClassificationLoss {
        /// The loss.
        loss: &'static str,
        /// The target column, where the data names it.
        target: Option<String>,
        /// Where the loss is chosen.
        span: Span,
    },
    /// `binary_cross_entropy` on data with other than two classes.
    #[error("`binary_cross_entropy` needs two classes, but the data has {classes}")]
    BinaryClasses {
        /// The data's classes.
        classes: usize,
        /// Where the loss is chosen.
        span: Span,
    },
    /// A metric of the other task.
    #[error("metric `{metric}` does not fit a {} task", if *classification { "classification" } else { "regression" })]
    MetricTask {
        /// The metric.
        metric: &'static str,
        /// Whether the data is for classification.
        classification: bool,
        /// The metrics list.
        span: Span,
    },
    /// A network too large to train.
    #[error(
        "training this network would take about {}, over the cap of {} bytes ({})",
        gibibytes(estimate.bytes()),
        MAX_TRAINING_BYTES,
        gibibytes(MAX_TRAINING_BYTES)
    )]
    TooLarge {
        /// What training it would take.
        estimate: MemoryEstimate,
        /// The layer that takes the most.
        span: Span,
        /// That layer's trainable parameters.
        layer_parameters: u64,
        /// That layer's output width.
        layer_outputs: u64,
    },
    /// The data source cannot be inspected.
    #[error("the data source cannot be used")]
    Data {
        /// Why, naming the file.
        #[source]
        error: DataError,
        /// The data statement.
        span: Span,
    },
}

/// Why a network's output width must be what it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputRule {
    /// One output per class, for cross-entropy.
    Classes(usize),
    /// One logit, for binary cross-entropy.
    BinaryLogit,
    /// One output, the regression target.
    RegressionTarget,
}

impl std::fmt::Display for OutputRule {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputRule::Classes(classes) => write!(formatter, "the data has {classes} classes"),
            OutputRule::BinaryLogit => write!(
                formatter,
                "`binary_cross_entropy` takes one output (the logit of class 1)"
            ),
            OutputRule::RegressionTarget => {
                write!(formatter, "the data has one regression target")
            }
        }
    }
}
