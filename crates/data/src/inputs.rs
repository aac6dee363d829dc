//! Inputs to predict on (`mlpc predict`): rows of features, read from a CSV text with the
//! training features' columns (found by name where the training file named them; a target
//! column is ignored), an IDX image file, or a PGM image (binary `P5` or text `P2`). Pixels are
//! scaled to [0, 1] as training scaled them. Standardisation is the caller's: it has the
//! training run's statistics.

use std::path::{Path, PathBuf};

use crate::error::DataError;

/// Rows of features, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// `rows * width` values.
    pub features: Vec<f32>,
    /// Values per row.
    pub width: usize,
}

impl Inputs {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.features.len() / self.width.max(1)
    }
}

/// What the trained model takes, to read inputs for it.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Features per example.
    pub width: usize,
    /// The training file's feature columns, in order, where it named them.
    pub feature_names: Option<&'a [String]>,
    /// The training target's column, ignored when present.
    pub target: Option<&'a str>,
}

/// Reads CSV `text` (from `path`, for messages: `-` for standard input).
pub fn csv(path: &Path, text: &str, expected: Expected) -> Result<Inputs, DataError> {
    let refuse = |line: u64, message: String| DataError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(crate::csv_source::delimiter(
            text.lines().next().unwrap_or(""),
        ))
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|error| crate::csv_source::csv_error(path, error))?
        .iter()
        .map(str::to_string)
        .collect();
    // A first line of numbers is a row, not column names: read as a header, it would be lost
    // (unless it holds the very names the model's features had, numbers as they may be).
    let names_known = expected
        .feature_names
        .is_some_and(|names| names.iter().all(|name| header.contains(name)));
    if !header.is_empty() && !names_known && header.iter().all(|cell| cell.parse::<f64>().is_ok()) {
        let mut first = header.iter().take(8).cloned().collect::<Vec<_>>().join(",");
        if header.len() > 8 {
            first.push_str(&format!(",… ({} values)", header.len()));
        }
        return Err(DataError::NoHeader {
            path: path.to_path_buf(),
            first,
            names: expected.feature_names.map(|names| names.join(",")),
        });
    }
    // Where each feature the model takes comes from in this file.
    let columns: Vec<usize> = match expected.feature_names {
        Some(names) => {
            for (index, name) in header.iter().enumerate() {
                if !names.contains(name) && Some(name.as_str()) != expected.target {
                    return Err(refuse(
                        1,
                        format!(
                            "column {} `{name}` is not one the model was trained on (its features: {})",
                            index + 1,
                            names.join(", ")
                        ),
                    ));
                }
            }
            names
                .iter()
                .map(|name| {
                    header
                        .iter()
                        .position(|column| column == name)
                        .ok_or_else(|| {
                            refuse(
                                1,
                                format!("the file has no column `{name}`, a feature of the model"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?
        }
        None => {
            let kept: Vec<usize> = (0..header.len())
                .filter(|&index| Some(header[index].as_str()) != expected.target)
                .collect();
            if kept.len() != expected.width {
                return Err(refuse(
                    1,
                    format!(
                        "{} feature columns, but the model takes {}",
                        kept.len(),
                        expected.width
                    ),
                ));
            }
            kept
        }
    };
    let mut features = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| crate::csv_source::csv_error(path, error))?;
        let line = record.position().map_or(0, |position| position.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        for &column in &columns {
            let field = record.get(column).unwrap_or("");
            features.push(crate::csv_source::number(
                field,
                path,
                line,
                &header[column],
                "column",
            )?);
        }
    }
    if features.is_empty() {
        return Err(refuse(1, "no rows to predict on".into()));
    }
    Ok(Inputs {
        features,
        width: columns.len(),
    })
}

/// Reads an IDX image file: every image, if each has the model's number of pixels.
pub fn idx(path: &Path, expected: Expected) -> Result<Inputs, DataError> {
    let (features, count, width) = crate::idx::read_image_file(path, None)?;
    if width != expected.width {
        let side = (width as f64).sqrt().round() as usize;
        let (columns, rows) = if side * side == width {
            (side, side)
        } else {
            (width, 1)
        };
        return Err(wrong_shape(path, columns, rows, expected.width));
    }
    if count == 0 {
        return Err(image_error(path, "the file holds no image".into()));
    }
    Ok(Inputs { features, width })
}

/// Reads a PGM image (`P5` binary or `P2` text, any maximum value) as one row of pixels in
/// [0, 1], if it has the model's number of pixels.
pub fn pgm(path: &Path, expected: Expected) -> Result<Inputs, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let refuse = |message: &str| image_error(path, message.to_string());
    // The header: magic, width, height, maximum, separated by whitespace and `#` comments.
    let mut position = 0;
    let mut fields = Vec::new();
    while fields.len() < 4 {
        while position < bytes.len()
            && (bytes[position].is_ascii_whitespace() || bytes[position] == b'#')
        {
            if bytes[position] == b'#' {
                while position < bytes.len() && bytes[position] != b'\n' {
                    position += 1;
                }
            } else {
                position += 1;
            }
        }
        let start = position;
        while position < bytes.len() && !bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        if start == position {
            return Err(refuse("the PGM header is cut short"));
        }
        fields.push(String::from_utf8_lossy(&bytes[start..position]).into_owned());
    }
    let magic = fields[0].as_str();
    let number = |text: &str| {
        text.parse::<usize>()
            .map_err(|_| refuse("the PGM header is not three numbers after its magic"))
    };
    let (columns, rows, maximum) = (
        number(&fields[1])?,
        number(&fields[2])?,
        number(&fields[3])?,
    );
    if maximum == 0 || maximum > 65_535 {
        return Err(refuse(
            "the PGM maximum grey value is not between 1 and 65535",
        ));
    }
    let pixels = columns
        .checked_mul(rows)
        .ok_or_else(|| refuse("the image is too large"))?;
    let values: Vec<usize> = match magic {
        "P5" => {
            let body = &bytes[(position + 1).min(bytes.len())..];
            let size = if maximum < 256 { 1 } else { 2 };
            if body.len() / size < pixels {
                return Err(refuse("the image data is cut short"));
            }
            (0..pixels)
                .map(|index| match size {
                    1 => body[index] as usize,
                    _ => (body[2 * index] as usize) << 8 | body[2 * index + 1] as usize,
                })
                .collect()
        }
        "P2" => {
            let text = String::from_utf8_lossy(&bytes[position..]);
            let values: Vec<usize> = text
                .split_ascii_whitespace()
                .take(pixels)
                .map(|word| {
                    word.parse::<usize>()
                        .map_err(|_| refuse("a grey value is not a number"))
                })
                .collect::<Result<_, _>>()?;
            if values.len() < pixels {
                return Err(refuse("the image data is cut short"));
            }
            values
        }
        _ => return Err(refuse("not a grey PGM image (P2 or P5)")),
    };
    let grey = values
        .iter()
        .map(|&value| value.min(maximum) as f32 / maximum as f32)
        .collect();
    fit_image(path, columns, rows, grey, expected.width)
}

/// Reads a PNG image (grey, grey with alpha, RGB, RGBA or a palette; 8 or 16 bits) as one row
/// of grey pixels in [0, 1] (luma `0.299 R + 0.587 G + 0.114 B`; alpha is ignored), resized to
/// the model's square input where its size differs.
pub fn png(path: &Path, expected: Expected) -> Result<Inputs, DataError> {
    let refuse = |message: String| image_error(path, message);
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut decoder = ::png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(::png::Transformations::EXPAND | ::png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|error| refuse(format!("not a readable PNG image: {error}")))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| refuse("the image is too large".into()))?;
    let mut buffer = vec![0; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|error| refuse(format!("not a readable PNG image: {error}")))?;
    let channels = frame.color_type.samples();
    let grey: Vec<f32> = buffer[..frame.buffer_size()]
        .chunks(channels)
        .map(|pixel| {
            let value = match pixel {
                [red, green, blue, ..] if channels >= 3 => {
                    0.299 * *red as f32 + 0.587 * *green as f32 + 0.114 * *blue as f32
                }
                [grey, ..] => *grey as f32,
                [] => 0.0,
            };
            value / 255.0
        })
        .collect();
    fit_image(
        path,
        frame.width as usize,
        frame.height as usize,
        grey,
        expected.width,
    )
}

/// An image as the model's input: as it is when it has the model's number of pixels, else
/// resized (each target pixel the mean of the source pixels it covers) when both it and the
/// model's input are square; any other shape is an error naming both.
fn fit_image(
    path: &Path,
    columns: usize,
    rows: usize,
    grey: Vec<f32>,
    width: usize,
) -> Result<Inputs, DataError> {
    if columns * rows == width {
        return Ok(Inputs {
            features: grey,
            width,
        });
    }
    let side = (width as f64).sqrt().round() as usize;
    if columns != rows || columns == 0 || side * side != width {
        return Err(wrong_shape(path, columns, rows, width));
    }
    let span = |index: usize| {
        let start = index * columns / side;
        let end = ((index + 1) * columns / side).max(start + 1).min(columns);
        start..end
    };
    let mut features = Vec::with_capacity(width);
    for row in 0..side {
        for column in 0..side {
            let (mut total, mut count) = (0.0f32, 0usize);
            for y in span(row) {
                for x in span(column) {
                    total += grey[y * columns + x];
                    count += 1;
                }
            }
            features.push(total / count.max(1) as f32);
        }
    }
    Ok(Inputs { features, width })
}

/// The error for an image whose shape the model cannot take.
fn wrong_shape(path: &Path, columns: usize, rows: usize, width: usize) -> DataError {
    let pixels = columns * rows;
    let side = (width as f64).sqrt() as usize;
    let shape = if side * side == width {
        format!("{side}x{side} = {width}")
    } else {
        width.to_string()
    };
    image_error(
        path,
        format!("an image of {columns}x{rows} = {pixels} pixels, but the model takes {shape}"),
    )
}

fn image_error(path: &Path, message: String) -> DataError {
    DataError::Image {
        path: PathBuf::from(path),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected<'a>(names: Option<&'a [String]>, width: usize) -> Expected<'a> {
        Expected {
            width,
            feature_names: names,
            target: Some("label"),
        }
    }

    #[test]
    fn csv_columns_are_found_by_name_and_the_target_ignored() {
        let names = vec!["a".to_string(), "b".to_string()];
        let inputs = csv(
            Path::new("x.csv"),
            "label,b,a\nz,2,1\nz,4,3\n",
            expected(Some(&names), 2),
        )
        .expect("reads");
        assert_eq!(inputs.features, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(inputs.rows(), 2);
        let error = csv(
            Path::new("x.csv"),
            "a,b,c\n1,2,3\n",
            expected(Some(&names), 2),
        )
        .expect_err("unknown column");
        assert!(
            error
                .to_string()
                .contains("x.csv:1: column 3 `c` is not one the model was trained on"),
            "{error}"
        );
        let error =
            csv(Path::new("x.csv"), "a\n1\n", expected(Some(&names), 2)).expect_err("missing");
        assert!(error.to_string().contains("no column `b`"), "{error}");
        let error =
            csv(Path::new("x.csv"), "a,b\n1,x\n", expected(Some(&names), 2)).expect_err("word");
        assert!(
            error.to_string().contains("x.csv:2: column `b` holds `x`"),
            "{error}"
        );
        let error =
            csv(Path::new("x.csv"), "p,q,r\n1,2,3\n", expected(None, 2)).expect_err("width");
        assert!(
            error
                .to_string()
                .contains("3 feature columns, but the model takes 2"),
            "{error}"
        );
        // Features named by numbers are names where the model's are those numbers.
        let numbered = vec!["0".to_string(), "1".to_string()];
        let inputs = csv(
            Path::new("x.csv"),
            "0,1\n0.5,2\n",
            expected(Some(&numbered), 2),
        )
        .expect("the model's own names");
        assert_eq!(inputs.features, vec![0.5, 2.0]);
        // A file without a header would lose its first row to it.
        for names in [None, Some(names.as_slice())] {
            let error =
                csv(Path::new("x.csv"), "0,0.5\n1,1\n", expected(names, 2)).expect_err("no header");
            assert!(
                error
                    .to_string()
                    .contains("x.csv:1: the first line holds numbers (`0,0.5`), not column names"),
                "{error}"
            );
        }
        let error = csv(
            Path::new("x.csv"),
            "a,b\n1,2\n3\n",
            expected(Some(&names), 2),
        )
        .expect_err("ragged");
        assert!(
            error
                .to_string()
                .contains("x.csv:3: this record has 1 fields, the header has 2"),
            "{error}"
        );
    }

    #[test]
    fn pgm_images_of_both_kinds_scale_to_one() {
        let folder = std::env::temp_dir().join(format!("mlpc-pgm-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let binary = folder.join("b.pgm");
        let mut bytes = b"P5\n# a comment\n2 2\n255\n".to_vec();
        bytes.extend([0, 51, 255, 102]);
        std::fs::write(&binary, bytes).expect("write");
        let inputs = pgm(&binary, expected(None, 4)).expect("reads");
        assert_eq!(inputs.features, vec![0.0, 0.2, 1.0, 0.4]);
        let text = folder.join("t.pgm");
        std::fs::write(&text, "P2 2 2 10\n0 5\n10 2\n").expect("write");
        assert_eq!(
            pgm(&text, expected(None, 4)).expect("reads").features,
            vec![0.0, 0.5, 1.0, 0.2]
        );
        // A square image of another size is resized: each pixel the mean of those it covers.
        let resized = pgm(&binary, expected(None, 1)).expect("resized");
        assert_eq!(resized.features, vec![(0.0 + 0.2 + 1.0 + 0.4) / 4.0]);
        let larger = pgm(&text, expected(None, 16)).expect("resized up");
        assert_eq!(larger.features[..4], [0.0, 0.0, 0.5, 0.5]);
        let wide = folder.join("w.pgm");
        std::fs::write(&wide, "P2 4 2 10\n0 1 2 3\n4 5 6 7\n").expect("write");
        let error = pgm(&wide, expected(None, 784)).expect_err("shape");
        assert!(
            error
                .to_string()
                .contains("an image of 4x2 = 8 pixels, but the model takes 28x28 = 784"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&folder);
    }
}
