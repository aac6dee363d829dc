//! The pictures of a run, as PNG files in its folder (plotters' bitmap backend, with a font
//! shipped in the binary, so no system font library is needed):
//!
//! - `curves.png`: train and test loss, and the test metric, per epoch;
//! - `decision_boundary.png` (2-D classification data): the predicted class over the plane,
//!   with the training points (circles) and test points (crosses) on top;
//! - `confusion.png` (classification): the test split's confusion matrix, with class names;
//! - `predictions.png` (regression): predicted against true values on the test split.
//!
//! Written after training by `mlpc run`, and again on demand by `mlpc plot RUN_FOLDER`.

use std::path::{Path, PathBuf};
use std::sync::Once;

use mlpc_data::inputs::Inputs;
use mlpc_data::{Dataset, Splits, Targets};
use mlpc_train::checkpoint::RunState;
use mlpc_train::predict::{Prediction, load_saved, predict_with};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans (its licence: `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

const SIZE: (u32, u32) = (800, 600);

/// Colours of classes, in order (then repeated).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(class: usize) -> RGBColor {
    PALETTE[class % PALETTE.len()]
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Where a picture is drawn before it is renamed into place (a `.png` name: the encoder is
/// chosen by the extension), so that a reader never sees half a file.
fn partial(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    path.with_file_name(format!(".partial-{name}"))
}

/// Renames a drawn picture into place.
fn finish(partial: &Path, path: PathBuf) -> Result<PathBuf, String> {
    std::fs::rename(partial, &path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(path)
}

/// Any drawing failure, in words.
fn failed(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// Writes every picture that fits the run; returns the files written.
pub fn write_all(folder: &Path, state: &RunState, splits: &Splits) -> Result<Vec<PathBuf>, String> {
    register_font();
    // The saved network, loaded once for every picture that predicts.
    let (network, device) = load_saved(folder, state, mlpc_train::Backend::Flex).map_err(failed)?;
    let predict = |inputs: &Inputs| predict_with(&network, &device, state, inputs);
    let mut written = vec![curves(folder, state)?];
    let classification = matches!(splits.train.targets, Targets::Classes(_));
    let test_predictions = predict(&Inputs {
        features: splits.test.features.clone(),
        width: splits.test.feature_count,
    });
    if classification {
        if splits.train.feature_count == 2 {
            written.push(decision_boundary(folder, state, splits, &predict)?);
        }
        written.push(confusion(folder, state, &splits.test, &test_predictions)?);
    } else {
        written.push(regression(folder, state, &splits.test, &test_predictions)?);
    }
    Ok(written)
}

/// The class index of a prediction.
fn class_of(prediction: &Prediction) -> usize {
    match prediction {
        Prediction::Class { probabilities, .. } => probabilities
            .iter()
            .enumerate()
            .max_by(|left, right| left.1.1.total_cmp(&right.1.1))
            .map_or(0, |(index, _)| index),
        Prediction::Value(_) => 0,
    }
}

fn bounds(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let low = values.clone().fold(f64::INFINITY, f64::min);
    let high = values.fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() || !high.is_finite() {
        return (0.0, 1.0);
    }
    let margin = ((high - low) * 0.05).max(1e-6);
    (low - margin, high + margin)
}

fn curves(folder: &Path, state: &RunState) -> Result<PathBuf, String> {
    let path = folder.join("curves.png");
    let partial = partial(&path);
    let root = BitMapBackend::new(&partial, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let (top, bottom) = root.split_vertically(SIZE.1 / 2);
    let history = &state.history;
    let epochs = history.len().max(1) as f64;
    let losses = history
        .iter()
        .flat_map(|report| [report.train_loss, report.test_loss])
        .filter(|value| value.is_finite());
    let (low, high) = bounds(losses);
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!("{}: loss per epoch", state.model.name),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..epochs + 0.5, low.min(0.0)..high)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_labels(epoch_labels(epochs))
        .x_label_formatter(&whole_epochs)
        .x_desc("epoch")
        .y_desc("loss")
        .draw()
        .map_err(failed)?;
    for (name, pick, style) in [("train loss", 0, colour(0)), ("test loss", 1, colour(1))] {
        let points = history.iter().map(|report| {
            let value = if pick == 0 {
                report.train_loss
            } else {
                report.test_loss
            };
            (report.epoch as f64, value)
        });
        chart
            .draw_series(LineSeries::new(points, style.stroke_width(2)))
            .map_err(failed)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(failed)?;
    // The test metric: accuracy for classification, R² for regression.
    let (metric, values): (&str, Vec<(f64, f64)>) =
        if history.iter().any(|report| report.test_accuracy.is_some()) {
            (
                "test accuracy (%)",
                history
                    .iter()
                    .filter_map(|report| {
                        report
                            .test_accuracy
                            .map(|value| (report.epoch as f64, value * 100.0))
                    })
                    .collect(),
            )
        } else {
            (
                "test R²",
                history
                    .iter()
                    .filter_map(|report| report.test_r2.map(|value| (report.epoch as f64, value)))
                    .collect(),
            )
        };
    let (low, high) = bounds(values.iter().map(|(_, value)| *value));
    let mut chart = ChartBuilder::on(&bottom)
        .caption(metric, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..epochs + 0.5, low..high)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_labels(epoch_labels(epochs))
        .x_label_formatter(&whole_epochs)
        .x_desc("epoch")
        .y_desc(metric)
        .draw()
        .map_err(failed)?;
    chart
        .draw_series(LineSeries::new(values, colour(2).stroke_width(2)))
        .map_err(failed)?;
    root.present().map_err(failed)?;
    finish(&partial, path)
}

fn decision_boundary(
    folder: &Path,
    state: &RunState,
    splits: &Splits,
    predict: &dyn Fn(&Inputs) -> Vec<Prediction>,
) -> Result<PathBuf, String> {
    let path = folder.join("decision_boundary.png");
    let all = splits
        .train
        .features
        .chunks(2)
        .chain(splits.test.features.chunks(2));
    let (x_low, x_high) = bounds(all.clone().map(|point| point[0] as f64));
    let (y_low, y_high) = bounds(all.map(|point| point[1] as f64));
    // The predicted class on a grid over the plane.
    let steps = 160usize;
    let mut grid = Vec::with_capacity(steps * steps * 2);
    for row in 0..steps {
        for column in 0..steps {
            grid.push((x_low + (x_high - x_low) * (column as f64 + 0.5) / steps as f64) as f32);
            grid.push((y_low + (y_high - y_low) * (row as f64 + 0.5) / steps as f64) as f32);
        }
    }
    let inputs = Inputs {
        features: grid,
        width: 2,
    };
    let classes = predict(&inputs);
    let partial = partial(&path);
    let root = BitMapBackend::new(&partial, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: decision boundary", state.model.name),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(x_low..x_high, y_low..y_high)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .draw()
        .map_err(failed)?;
    let cell = (
        (x_high - x_low) / steps as f64,
        (y_high - y_low) / steps as f64,
    );
    chart
        .draw_series(
            inputs
                .features
                .chunks(2)
                .zip(&classes)
                .map(|(point, prediction)| {
                    let (x, y) = (
                        point[0] as f64 - cell.0 / 2.0,
                        point[1] as f64 - cell.1 / 2.0,
                    );
                    Rectangle::new(
                        [(x, y), (x + cell.0, y + cell.1)],
                        colour(class_of(prediction)).mix(0.35).filled(),
                    )
                }),
        )
        .map_err(failed)?;
    let labels = |dataset: &Dataset| match &dataset.targets {
        Targets::Classes(classes) => classes.clone(),
        Targets::Values(_) => Vec::new(),
    };
    let train_labels = labels(&splits.train);
    chart
        .draw_series(
            splits
                .train
                .features
                .chunks(2)
                .zip(&train_labels)
                .map(|(point, &class)| {
                    Circle::new(
                        (point[0] as f64, point[1] as f64),
                        3,
                        colour(class as usize).filled(),
                    )
                }),
        )
        .map_err(failed)?;
    let test_labels = labels(&splits.test);
    chart
        .draw_series(
            splits
                .test
                .features
                .chunks(2)
                .zip(&test_labels)
                .map(|(point, &class)| {
                    Cross::new(
                        (point[0] as f64, point[1] as f64),
                        4,
                        colour(class as usize).stroke_width(2),
                    )
                }),
        )
        .map_err(failed)?;
    root.present().map_err(failed)?;
    finish(&partial, path)
}

fn confusion(
    folder: &Path,
    state: &RunState,
    test: &Dataset,
    predictions: &[Prediction],
) -> Result<PathBuf, String> {
    let path = folder.join("confusion.png");
    let Targets::Classes(truth) = &test.targets else {
        return Err("a confusion matrix needs classes".into());
    };
    let count = match &state.model.task {
        mlpc_ir::Task::Classification { classes, .. } => (*classes).max(2),
        mlpc_ir::Task::Regression { .. } => 2,
    };
    let names: Vec<String> = state
        .class_names
        .clone()
        .unwrap_or_else(|| (0..count).map(|class| class.to_string()).collect());
    let mut matrix = vec![vec![0usize; count]; count];
    for (&actual, prediction) in truth.iter().zip(predictions) {
        let predicted = class_of(prediction);
        if (actual as usize) < count && predicted < count {
            matrix[actual as usize][predicted] += 1;
        }
    }
    let most = matrix.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let partial = partial(&path);
    let root = BitMapBackend::new(&partial, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}: test confusion (rows: true, columns: predicted)",
                state.model.name
            ),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(90)
        // A segmented range `0..n` has the n + 1 cells 0 to n.
        .build_cartesian_2d(
            (0..count - 1).into_segmented(),
            (0..count - 1).into_segmented(),
        )
        .map_err(failed)?;
    // Labels at the middle of each cell; the first class's row on top.
    let name = |index: usize| names.get(index).cloned().unwrap_or_default();
    let label = |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(index) => name(*index),
        SegmentValue::Exact(_) | SegmentValue::Last => String::new(),
    };
    let row_label = |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(index) if *index < count => name(count - 1 - index),
        SegmentValue::CenterOf(_) | SegmentValue::Exact(_) | SegmentValue::Last => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(count)
        .y_labels(count)
        .x_label_formatter(&label)
        .y_label_formatter(&row_label)
        .x_desc("predicted")
        .y_desc("true")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(failed)?;
    for (actual, row) in matrix.iter().enumerate() {
        for (predicted, &cases) in row.iter().enumerate() {
            let y = count - 1 - actual;
            let shade = cases as f64 / most;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(predicted), SegmentValue::Exact(y)),
                        (
                            SegmentValue::Exact(predicted + 1),
                            SegmentValue::Exact(y + 1),
                        ),
                    ],
                    RGBColor(31, 119, 180).mix(0.1 + 0.9 * shade).filled(),
                )))
                .map_err(failed)?;
            let text_colour = if shade > 0.5 { WHITE } else { BLACK };
            chart
                .draw_series(std::iter::once(Text::new(
                    cases.to_string(),
                    (SegmentValue::CenterOf(predicted), SegmentValue::CenterOf(y)),
                    ("sans-serif", 18).into_font().color(&text_colour),
                )))
                .map_err(failed)?;
        }
    }
    root.present().map_err(failed)?;
    finish(&partial, path)
}

fn regression(
    folder: &Path,
    state: &RunState,
    test: &Dataset,
    predictions: &[Prediction],
) -> Result<PathBuf, String> {
    let path = folder.join("predictions.png");
    let Targets::Values(truth) = &test.targets else {
        return Err("a regression plot needs values".into());
    };
    let scale = state.target_standardization;
    let points: Vec<(f64, f64)> = truth
        .iter()
        .zip(predictions)
        .filter_map(|(&actual, prediction)| match prediction {
            Prediction::Value(value) => {
                let actual = actual as f64;
                let actual = scale.map_or(actual, |scale| actual * scale.deviation + scale.mean);
                Some((actual, *value))
            }
            Prediction::Class { .. } => None,
        })
        .collect();
    let (low, high) = bounds(points.iter().flat_map(|(x, y)| [*x, *y]));
    let partial = partial(&path);
    let root = BitMapBackend::new(&partial, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let target = match &state.model.task {
        mlpc_ir::Task::Regression { target: Some(name) } => name.clone(),
        _ => "target".into(),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}: predicted against true {target} (test)",
                state.model.name
            ),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(low..high, low..high)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("true")
        .y_desc("predicted")
        .draw()
        .map_err(failed)?;
    chart
        .draw_series(LineSeries::new([(low, low), (high, high)], BLACK.mix(0.5)))
        .map_err(failed)?;
    chart
        .draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, colour(0).filled())),
        )
        .map_err(failed)?;
    root.present().map_err(failed)?;
    finish(&partial, path)
}

/// How many labels an epoch axis asks for: one an epoch, up to ten.
fn epoch_labels(epochs: f64) -> usize {
    (epochs as usize).clamp(1, 10)
}

/// An epoch axis's label: whole epochs only (a tick between two epochs has none).
fn whole_epochs(epoch: &f64) -> String {
    if epoch.fract() == 0.0 {
        format!("{epoch:.0}")
    } else {
        String::new()
    }
}
