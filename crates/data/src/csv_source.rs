//! CSV sources: a header row, numeric feature columns and a target column chosen by name.
//!
//! With `task = auto` a target column of numbers is a regression target and one with any
//! non-number is a set of class labels. Class labels are sorted (numerically where they are
//! all numbers) and numbered from 0, so the mapping does not depend on row order. The test
//! split is a seeded random fraction of the rows or a second file with the same header.
//! Standardisation statistics come from the training rows trained on only (not the test split,
//! nor the rows a validation hold-out keeps, [`crate::HoldOut`]).

use std::path::Path;

use crate::dataset::{Dataset, Splits, Standardization, Targets};
use crate::error::DataError;
use crate::holdout::HoldOut;
use crate::random::Random;
use crate::source::{CsvTask, Schema, Source, TargetKind, TestSplit};

/// A CSV file read into memory: header, rows of text, and each row's line number.
struct Table {
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

fn read_table(path: &Path) -> Result<Table, DataError> {
    // A named pipe or a device would block the read (an editor's check) for ever.
    if let Ok(metadata) = std::fs::metadata(path)
        && !metadata.is_file()
    {
        return Err(DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        });
    }
    let delimiter = first_line(path).map_or(b',', |line| delimiter(&line));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_path(path)
        .map_err(|error| csv_error(path, error))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|error| csv_error(path, error))?
        .iter()
        .map(str::to_string)
        .collect();
    for (index, name) in header.iter().enumerate() {
        if name.is_empty() && header.len() > 1 {
            return Err(DataError::Csv {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "column {} has no name in the header{}",
                    index + 1,
                    if index + 1 == header.len() {
                        " (a comma at the end of each line makes an empty last column)"
                    } else {
                        ""
                    }
                ),
            });
        }
        if let Some(first) = header[..index].iter().position(|earlier| earlier == name) {
            return Err(DataError::Csv {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "columns {} and {} are both named `{name}`: a column is found by its name",
                    first + 1,
                    index + 1
                ),
            });
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(path, error))?;
        let line = record.position().map_or(0, |position| position.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    if rows.is_empty() {
        return Err(DataError::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: if header.is_empty() {
                "the file is empty: a CSV source needs a header row and one record per example"
                    .into()
            } else {
                "the file has a header but no records".into()
            },
        });
    }
    Ok(Table { header, rows })
}

/// The first line of a file, if it can be read.
fn first_line(path: &Path) -> Option<String> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(path).ok()?)
        .read_line(&mut line)
        .ok()?;
    Some(line)
}

/// The separator of a CSV file from its header line: a comma, unless the line has none and
/// has semicolons (as spreadsheets write CSV where the comma is the decimal mark) or tabs.
pub(crate) fn delimiter(header: &str) -> u8 {
    if header.contains(',') {
        b','
    } else if header.contains(';') {
        b';'
    } else if header.contains('\t') {
        b'\t'
    } else {
        b','
    }
}

/// A cell read as a finite number, or an error naming its line and column: an empty cell, a
/// word, NaN and infinity (written or overflowing `f32`) are refused.
pub(crate) fn number(
    field: &str,
    path: &Path,
    line: u64,
    column: &str,
    what: &str,
) -> Result<f32, DataError> {
    let refuse = |message: String| DataError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    if field.is_empty() {
        return Err(refuse(format!("{what} `{column}` is empty")));
    }
    let value = field.parse::<f32>().map_err(|_| DataError::NotANumber {
        path: path.to_path_buf(),
        line,
        what: what.to_string(),
        column: column.to_string(),
        field: field.to_string(),
    })?;
    if !value.is_finite() {
        return Err(refuse(format!(
            "{what} `{column}` holds `{field}`, which is not a finite number (as f32)"
        )));
    }
    Ok(value)
}

/// A CSV reader's error as the data stage words it, with its file and line.
pub(crate) fn csv_error(path: &Path, error: csv::Error) -> DataError {
    let line = error.position().map_or(1, |position| position.line());
    match error.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("this record has {len} fields, the header has {expected_len}"),
        },
        other => DataError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

/// The target's column, in a header that has one feature column at least.
fn target_column(table: &Table, path: &Path, target: &str) -> Result<usize, DataError> {
    let column = table
        .header
        .iter()
        .position(|name| name == target)
        .ok_or_else(|| DataError::MissingColumn {
            path: path.to_path_buf(),
            name: target.to_string(),
            available: table.header.clone(),
        })?;
    if table.header.len() < 2 {
        return Err(DataError::NoFeatures {
            path: path.to_path_buf(),
            target: target.to_string(),
        });
    }
    Ok(column)
}

/// The header's names of the feature columns (every column but the target).
fn feature_names(table: &Table, column: usize) -> Vec<String> {
    table
        .header
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != column)
        .map(|(_, name)| name.clone())
        .collect()
}

/// Whether the target is read as classes.
fn is_classification(task: CsvTask, table: &Table, column: usize) -> bool {
    match task {
        CsvTask::Classification => true,
        CsvTask::Regression => false,
        CsvTask::Auto => table
            .rows
            .iter()
            .any(|(_, row)| row[column].parse::<f64>().is_err()),
    }
}

/// The sorted distinct labels: numerically when all are numbers.
fn class_labels(table: &Table, column: usize) -> Vec<String> {
    let mut labels: Vec<String> = table
        .rows
        .iter()
        .map(|(_, row)| row[column].clone())
        .collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.iter().all(|label| label.parse::<f64>().is_ok()) {
        labels.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap_or(0.0)
                .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    }
    labels
}

fn parts(source: &Source) -> (&Path, &str, CsvTask) {
    let Source::Csv {
        path, target, task, ..
    } = source
    else {
        unreachable!("csv_source takes a CSV source")
    };
    (path, target, *task)
}

/// A schema already read, and what it was read from: the file (by its size and modification
/// time), the target column and the task.
struct Inspected {
    path: std::path::PathBuf,
    target: String,
    task: CsvTask,
    length: u64,
    modified: Option<std::time::SystemTime>,
    schema: Schema,
}

/// Schemas already read, newest last. An editor checks a model at every keystroke, and
/// finding a CSV file's classes reads the whole file: an unchanged file is not read again.
static INSPECTED: std::sync::Mutex<Vec<Inspected>> = std::sync::Mutex::new(Vec::new());

/// How many schemas are kept.
const INSPECTED_KEPT: usize = 8;

/// Input width from the header; task and classes from the target column (remembered while
/// the file is unchanged).
pub fn inspect(source: &Source) -> Result<Schema, DataError> {
    let (path, target, task) = parts(source);
    let metadata = std::fs::metadata(path).ok();
    let (length, modified) = metadata.as_ref().map_or((0, None), |metadata| {
        (metadata.len(), metadata.modified().ok())
    });
    let same = |seen: &Inspected| {
        seen.path == path
            && seen.target == target
            && seen.task == task
            && seen.length == length
            && seen.modified == modified
            && modified.is_some()
    };
    let mut inspected = INSPECTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(seen) = inspected.iter().find(|seen| same(seen)) {
        return Ok(seen.schema.clone());
    }
    drop(inspected);
    let schema = inspect_file(path, target, task)?;
    inspected = INSPECTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    inspected.retain(|seen| seen.path != path || seen.target != target || seen.task != task);
    if inspected.len() >= INSPECTED_KEPT {
        inspected.remove(0);
    }
    inspected.push(Inspected {
        path: path.to_path_buf(),
        target: target.to_string(),
        task,
        length,
        modified,
        schema: schema.clone(),
    });
    Ok(schema)
}

fn inspect_file(path: &Path, target: &str, task: CsvTask) -> Result<Schema, DataError> {
    let table = read_table(path)?;
    let column = target_column(&table, path, target)?;
    let feature_names = feature_names(&table, column);
    let classification = is_classification(task, &table, column);
    let labels = classification.then(|| class_labels(&table, column));
    // Every cell read as training will read it, so that a checked model's data loads.
    validate(&table, path, column, labels.as_deref())?;
    let target = if let Some(names) = labels {
        TargetKind::Classes {
            count: names.len(),
            names: Some(names),
        }
    } else {
        TargetKind::Regression {
            name: Some(target.to_string()),
        }
    };
    Ok(Schema {
        features: feature_names.len(),
        feature_names: Some(feature_names),
        target,
    })
}

/// The first (by line) error [`to_dataset`] would meet in `table`, found without keeping the
/// data set, records shared among the cores ([`read_record`] on each).
fn validate(
    table: &Table,
    path: &Path,
    column: usize,
    labels: Option<&[String]>,
) -> Result<(), DataError> {
    use rayon::prelude::*;
    let first_error = table
        .rows
        .par_iter()
        .map_init(Vec::new, |features, record| {
            features.clear();
            read_record(table, path, column, labels, record, features).err()
        })
        .flatten()
        .find_first(|_| true);
    first_error.map_or(Ok(()), Err)
}

/// A record's target: a class's index, or a value.
enum Target {
    Class(u32),
    Value(f32),
}

/// One record read as training reads it: its features appended to `features` (every column
/// but the target's, each a finite number), and its target (a class among `labels`, or a
/// number), or the error naming its line and column.
fn read_record(
    table: &Table,
    path: &Path,
    column: usize,
    labels: Option<&[String]>,
    (line, row): &(u64, Vec<String>),
    features: &mut Vec<f32>,
) -> Result<Target, DataError> {
    for (index, field) in row.iter().enumerate() {
        if index != column {
            features.push(number(field, path, *line, &table.header[index], "column")?);
        }
    }
    let field = &row[column];
    let refuse = |message: String| DataError::Csv {
        path: path.to_path_buf(),
        line: *line,
        message,
    };
    if field.is_empty() {
        return Err(refuse(format!(
            "target column `{}` is empty",
            table.header[column]
        )));
    }
    match labels {
        Some(labels) => match labels.iter().position(|label| label == field) {
            Some(class) => Ok(Target::Class(class as u32)),
            None => Err(refuse(format!(
                "label `{field}` in column `{}` is not among the training file's labels",
                table.header[column]
            ))),
        },
        None => {
            number(field, path, *line, &table.header[column], "target column").map(Target::Value)
        }
    }
}

fn to_dataset(
    table: &Table,
    path: &Path,
    column: usize,
    labels: Option<&[String]>,
) -> Result<Dataset, DataError> {
    let width = table.header.len() - 1;
    let mut features = Vec::with_capacity(table.rows.len() * width);
    let mut classes = Vec::new();
    let mut values = Vec::new();
    for record in &table.rows {
        match read_record(table, path, column, labels, record, &mut features)? {
            Target::Class(class) => classes.push(class),
            Target::Value(value) => values.push(value),
        }
    }
    let targets = if labels.is_some() {
        Targets::Classes(classes)
    } else {
        Targets::Values(values)
    };
    Ok(Dataset {
        features,
        feature_count: width,
        targets,
    })
}

/// Loads every row of a CSV source to score a trained model on it: labels are numbered with
/// the training run's `class_names` (a label the model never saw is an error naming its
/// line), and features and target are standardised with the training run's statistics, never
/// the file's own.
pub fn load_for_scoring(
    source: &Source,
    class_names: Option<&[String]>,
    feature_standardization: Option<&[Standardization]>,
    target_standardization: Option<Standardization>,
) -> Result<Dataset, DataError> {
    let Source::Csv { path, target, .. } = source else {
        unreachable!("csv_source takes a CSV source")
    };
    let table = read_table(path)?;
    let column = target_column(&table, path, target)?;
    let mut dataset = to_dataset(&table, path, column, class_names)?;
    if let Some(statistics) = feature_standardization {
        Standardization::apply_to_rows(statistics, &mut dataset.features);
    }
    if let (Some(statistic), Targets::Values(values)) =
        (target_standardization, &mut dataset.targets)
    {
        for value in values.iter_mut() {
            *value = statistic.apply(*value as f64) as f32;
        }
    }
    Ok(dataset)
}

/// Loads, splits and standardises a CSV source (its statistics from the training rows but
/// those `hold_out` keeps for validation).
pub fn load(source: &Source, hold_out: Option<HoldOut>) -> Result<Splits, DataError> {
    let Source::Csv {
        path,
        target,
        task,
        standardize,
        standardize_target,
        test,
    } = source
    else {
        unreachable!("csv_source takes a CSV source")
    };
    let table = read_table(path)?;
    let column = target_column(&table, path, target)?;
    let labels = is_classification(*task, &table, column).then(|| class_labels(&table, column));
    let all = to_dataset(&table, path, column, labels.as_deref())?;
    let (train, test) = match test {
        TestSplit::Fraction { fraction, seed } => {
            let order = Random::new(*seed).permutation(all.len());
            // At most all rows; `load` rejects an empty split, naming the source.
            let test_count = (((all.len() as f64) * fraction).round() as usize).min(all.len());
            (
                all.select(&order[test_count..]),
                all.select(&order[..test_count]),
            )
        }
        TestSplit::File { path: test_path } => {
            let test_table = read_table(test_path)?;
            if test_table.header != table.header {
                return Err(DataError::Csv {
                    path: test_path.clone(),
                    line: 1,
                    message: format!("the header differs from `{}`'s", path.display()),
                });
            }
            (
                all,
                to_dataset(&test_table, test_path, column, labels.as_deref())?,
            )
        }
    };
    let feature_names = feature_names(&table, column);
    let mut splits = Splits {
        train,
        test,
        class_names: labels,
        target_standardization: None,
        feature_standardization: None,
        feature_names: Some(feature_names),
    };
    if *standardize {
        splits.standardize_features(hold_out);
    }
    if *standardize_target {
        splits.standardize_target(hold_out);
    }
    Ok(splits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Targets;

    /// Loads with no validation hold-out.
    fn load(source: &Source) -> Result<Splits, DataError> {
        super::load(source, None)
    }

    fn source(path: &Path, test: TestSplit, task: CsvTask) -> Source {
        Source::Csv {
            path: path.to_path_buf(),
            target: "label".into(),
            task,
            standardize: true,
            standardize_target: true,
            test,
        }
    }

    #[test]
    fn a_schema_is_read_again_only_when_its_file_changes() {
        let folder = std::env::temp_dir().join(format!("mlpc-csv-schema-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let file = folder.join("data.csv");
        std::fs::write(&file, "x,label\n1,a\n2,b\n").expect("write");
        let csv = source(
            &file,
            TestSplit::Fraction {
                fraction: 0.5,
                seed: 1,
            },
            CsvTask::Auto,
        );
        let classes = |schema: Schema| match schema.target {
            TargetKind::Classes { count, .. } => count,
            TargetKind::Regression { .. } => 0,
        };
        assert_eq!(classes(inspect(&csv).expect("schema")), 2);
        assert_eq!(classes(inspect(&csv).expect("remembered")), 2);
        std::fs::write(&file, "x,label\n1,a\n2,b\n3,c\n").expect("rewrite");
        assert_eq!(classes(inspect(&csv).expect("read again")), 3);
        // A folder (or a pipe) is no CSV file: an error, not a read that never ends.
        let folder_source = source(
            &folder,
            TestSplit::Fraction {
                fraction: 0.5,
                seed: 1,
            },
            CsvTask::Auto,
        );
        let error = inspect(&folder_source).expect_err("a folder");
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn a_second_file_is_the_test_split_and_statistics_come_from_training_rows_only() {
        let folder = std::env::temp_dir().join(format!("mlpc-csv-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let train = folder.join("train.csv");
        let test = folder.join("test.csv");
        std::fs::write(&train, "x,label\n1,b\n3,a\n5,b\n7,a\n").expect("write");
        std::fs::write(&test, "x,label\n100,a\n").expect("write");
        let splits = load(&source(
            &train,
            TestSplit::File { path: test.clone() },
            CsvTask::Auto,
        ))
        .expect("loads");
        assert_eq!(
            splits.class_names,
            Some(vec!["a".to_string(), "b".to_string()]),
            "labels sorted, not in row order"
        );
        assert_eq!(splits.train.targets, Targets::Classes(vec![1, 0, 1, 0]));
        // Mean 4 and deviation sqrt(5) from the training rows; the test row is scaled with them.
        let expected = ((100.0 - 4.0) / 5f64.sqrt()) as f32;
        assert!(
            (splits.test.features[0] - expected).abs() < 1e-5,
            "{:?}",
            splits.test.features
        );
        let training_mean: f32 = splits.train.features.iter().sum::<f32>() / 4.0;
        assert!(training_mean.abs() < 1e-6);

        std::fs::write(&test, "x,label\n2,c\n").expect("write");
        let error = load(&source(
            &train,
            TestSplit::File { path: test.clone() },
            CsvTask::Auto,
        ))
        .expect_err("unknown label");
        assert!(
            error.to_string().contains("test.csv:2") && error.to_string().contains("`c`"),
            "{error}"
        );
        for (text, message) in [
            (
                "x,label\n",
                "test.csv:1: the file has a header but no records",
            ),
            ("", "test.csv:1: the file is empty"),
            ("x,label\n,a\n", "test.csv:2: column `x` is empty"),
            (
                "x,label\nNaN,a\n",
                "test.csv:2: column `x` holds `NaN`, which is not a finite number",
            ),
            (
                "x,label\n-inf,a\n",
                "test.csv:2: column `x` holds `-inf`, which is not a finite number",
            ),
            (
                "x,label\n1e39,a\n",
                "test.csv:2: column `x` holds `1e39`, which is not a finite number",
            ),
            (
                "x,label\n1,\n",
                "test.csv:2: target column `label` is empty",
            ),
            (
                "x,label\n1,a\n2\n",
                "test.csv:3: this record has 1 fields, the header has 2",
            ),
        ] {
            std::fs::write(&test, text).expect("write");
            let error = load(&source(
                &train,
                TestSplit::File { path: test.clone() },
                CsvTask::Auto,
            ))
            .expect_err(message);
            assert!(error.to_string().contains(message), "{error} / {message}");
        }
        std::fs::write(&test, "x,label\nseven,a\n").expect("write");
        let error = load(&source(
            &train,
            TestSplit::File { path: test.clone() },
            CsvTask::Auto,
        ))
        .expect_err("not a number");
        assert!(
            error.to_string().contains("column `x` holds `seven`"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    /// With a validation hold-out, features and a regression target are standardised with
    /// the statistics of the training rows that are trained on, not of the held-out ones.
    #[test]
    fn held_out_rows_stay_out_of_the_statistics() {
        let folder = std::env::temp_dir().join(format!("mlpc-csv-hold-out-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let file = folder.join("data.csv");
        let rows: String = (0..40)
            .map(|i| format!("{},{}\n", i * i, 3 * i + 1))
            .collect();
        std::fs::write(&file, format!("x,label\n{rows}")).expect("write");
        let regression = source(
            &file,
            TestSplit::Fraction {
                fraction: 0.25,
                seed: 3,
            },
            CsvTask::Regression,
        );
        let mut raw_source = regression.clone();
        let Source::Csv {
            standardize,
            standardize_target,
            ..
        } = &mut raw_source
        else {
            unreachable!("a CSV source")
        };
        (*standardize, *standardize_target) = (false, false);
        let raw = super::load(&raw_source, None).expect("raw");
        let hold_out = HoldOut::of(0.25, 11);
        let (kept, held) = hold_out.expect("a fraction").split(raw.train.len());
        assert_eq!(held.len(), 8);
        let Targets::Values(targets) = &raw.train.targets else {
            unreachable!("regression")
        };
        let expected_feature =
            Standardization::fit(kept.iter().map(|&row| raw.train.features[row] as f64));
        let expected_target = Standardization::fit(kept.iter().map(|&row| targets[row] as f64));
        let standardized = super::load(&regression, hold_out).expect("standardised");
        assert_eq!(
            standardized.feature_standardization.as_deref(),
            Some(&[expected_feature][..])
        );
        assert_eq!(standardized.target_standardization, Some(expected_target));
        // Without a hold-out, every training row counts: other statistics.
        let all = super::load(&regression, None).expect("all rows");
        assert_ne!(
            all.feature_standardization,
            standardized.feature_standardization
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    /// A header without a comma but with semicolons (or tabs) separates by them, as
    /// spreadsheets write CSV where the comma is the decimal mark.
    #[test]
    fn semicolons_or_tabs_separate_where_the_header_has_no_comma() {
        let folder =
            std::env::temp_dir().join(format!("mlpc-csv-separators-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        for (name, separator) in [("semicolons.csv", ";"), ("tabs.csv", "\t")] {
            let file = folder.join(name);
            let text = "x,label\n1,a\n2,b\n3,a\n4,b\n".replace(',', separator);
            std::fs::write(&file, text).expect("write");
            let fraction = TestSplit::Fraction {
                fraction: 0.25,
                seed: 0,
            };
            let splits = load(&source(&file, fraction, CsvTask::Auto)).expect(name);
            assert_eq!(splits.train.len() + splits.test.len(), 4, "{name}");
            assert_eq!(
                splits.class_names.as_deref(),
                Some(&["a".to_string(), "b".to_string()][..])
            );
        }
        let _ = std::fs::remove_dir_all(&folder);
    }

    /// Of many bad cells, the check names the first by line, whichever core finds it; a
    /// regression target that is not a number is found too.
    #[test]
    fn the_check_names_the_first_bad_cell() {
        let folder = std::env::temp_dir().join(format!("mlpc-csv-cells-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let file = folder.join("data.csv");
        let rows: String = (0..20_000)
            .map(|i| match i {
                7 | 15_000 => format!("{i},x{i},a\n"),
                _ => format!("{i},{i},a\n"),
            })
            .collect();
        std::fs::write(&file, format!("p,q,label\n{rows}")).expect("write");
        let fraction = TestSplit::Fraction {
            fraction: 0.25,
            seed: 0,
        };
        let error = inspect(&source(&file, fraction.clone(), CsvTask::Auto)).expect_err("bad");
        assert!(
            error
                .to_string()
                .contains("data.csv:9: column `q` holds `x7`"),
            "{error}"
        );
        std::fs::write(&file, "p,label\n1,2\n3,four\n").expect("write");
        let error =
            inspect(&source(&file, fraction, CsvTask::Regression)).expect_err("a word target");
        assert!(
            error
                .to_string()
                .contains("data.csv:3: target column `label` holds `four`"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn numeric_targets_are_regression_unless_told() {
        let folder = std::env::temp_dir().join(format!("mlpc-csv-task-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let file = folder.join("data.csv");
        let rows: String = (0..20).map(|i| format!("{i},{}\n", i % 3)).collect();
        std::fs::write(&file, format!("x,label\n{rows}")).expect("write");
        let fraction = TestSplit::Fraction {
            fraction: 0.25,
            seed: 1,
        };
        let regression =
            inspect(&source(&file, fraction.clone(), CsvTask::Auto)).expect("inspects");
        assert_eq!(
            regression.target,
            crate::TargetKind::Regression {
                name: Some("label".into())
            }
        );
        let classes =
            inspect(&source(&file, fraction.clone(), CsvTask::Classification)).expect("inspects");
        assert!(matches!(
            classes.target,
            crate::TargetKind::Classes { count: 3, .. }
        ));
        let splits = load(&source(&file, fraction, CsvTask::Auto)).expect("loads");
        assert_eq!((splits.train.len(), splits.test.len()), (15, 5));
        let _ = std::fs::remove_dir_all(&folder);
    }
}
