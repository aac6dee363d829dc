//! IDX image sets in MNIST's layout (gzip or raw).
//!
//! A folder holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
//! and `t10k-labels-idx1-ubyte`, each optionally gzipped (`.gz`). Images are u8 pixels scaled
//! to [0, 1]; their conversion to f32 is split across threads with rayon.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use rayon::prelude::*;

use crate::dataset::{Dataset, Splits, Targets};
use crate::error::DataError;
use crate::source::{Schema, TargetKind};

const IMAGES_MAGIC: u32 = 2051;
const LABELS_MAGIC: u32 = 2049;

/// The file for `stem` in `directory`, gzipped or not.
fn find(directory: &Path, stem: &str) -> Result<PathBuf, DataError> {
    let gzipped = directory.join(format!("{stem}.gz"));
    if gzipped.is_file() {
        return Ok(gzipped);
    }
    let raw = directory.join(stem);
    if raw.is_file() {
        return Ok(raw);
    }
    Err(DataError::Io {
        path: gzipped,
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("neither `{stem}.gz` nor `{stem}` is there"),
        ),
    })
}

fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = BufReader::new(file);
    Ok(
        if path.extension().is_some_and(|extension| extension == "gz") {
            Box::new(MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        },
    )
}

fn read_u32(reader: &mut dyn Read, path: &Path) -> Result<u32, DataError> {
    let mut bytes = [0u8; 4];
    reader.read_exact(&mut bytes).map_err(|_| DataError::Idx {
        path: path.to_path_buf(),
        message: "the header is cut short".into(),
    })?;
    Ok(u32::from_be_bytes(bytes))
}

/// Reads an IDX header: the magic number checked, then the dimensions.
fn header(reader: &mut dyn Read, path: &Path, magic: u32) -> Result<Vec<usize>, DataError> {
    let found = read_u32(reader, path)?;
    if found != magic {
        return Err(DataError::Idx {
            path: path.to_path_buf(),
            message: format!("magic number {found}, expected {magic}"),
        });
    }
    let dimensions = if magic == IMAGES_MAGIC { 3 } else { 1 };
    let dimensions = (0..dimensions)
        .map(|_| read_u32(reader, path).map(|value| value as usize))
        .collect::<Result<Vec<usize>, DataError>>()?;
    if magic == IMAGES_MAGIC && (dimensions[1] == 0 || dimensions[2] == 0) {
        return Err(DataError::Idx {
            path: path.to_path_buf(),
            message: format!(
                "its images are {}×{} pixels: an image needs one pixel at least",
                dimensions[1], dimensions[2]
            ),
        });
    }
    Ok(dimensions)
}

/// An error unless the test images (`test_path`, `test` rows × columns) have the training
/// images' size.
fn same_size(test_path: &Path, train: &[usize], test: &[usize]) -> Result<(), DataError> {
    if train[1..] == test[1..] {
        return Ok(());
    }
    Err(DataError::Image {
        path: test_path.to_path_buf(),
        message: format!(
            "its images are {}×{} pixels, the training images {}×{}: both splits need images of one size",
            test[1], test[2], train[1], train[2]
        ),
    })
}

fn read_body(reader: &mut dyn Read, path: &Path, length: usize) -> Result<Vec<u8>, DataError> {
    // The length comes from a header that may be corrupt: grow with the data actually read.
    let mut body = Vec::new();
    reader
        .take(length as u64)
        .read_to_end(&mut body)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if body.len() != length {
        return Err(DataError::Idx {
            path: path.to_path_buf(),
            message: format!("{} bytes of data, the header promises {length}", body.len()),
        });
    }
    Ok(body)
}

/// The images of one IDX image file (gzipped or not), pixels scaled to [0, 1]: the values,
/// the number of images and the pixels of each.
pub fn read_image_file(
    path: &Path,
    limit: Option<usize>,
) -> Result<(Vec<f32>, usize, usize), DataError> {
    read_image_file_sized(path, limit).map(|(pixels, count, width, _)| (pixels, count, width))
}

/// As [`read_image_file`], with the header's dimensions (images, rows, columns) too.
fn read_image_file_sized(
    path: &Path,
    limit: Option<usize>,
) -> Result<(Vec<f32>, usize, usize, Vec<usize>), DataError> {
    let path = path.to_path_buf();
    let mut reader = open(&path)?;
    let dimensions = header(&mut *reader, &path, IMAGES_MAGIC)?;
    let (count, width) = (
        dimensions[0].min(limit.unwrap_or(usize::MAX)),
        dimensions[1] * dimensions[2],
    );
    let length = count.checked_mul(width).ok_or_else(|| DataError::Idx {
        path: path.clone(),
        message: format!("{count} images of {width} pixels is more than memory holds"),
    })?;
    let bytes = read_body(&mut *reader, &path, length)?;
    let pixels = bytes.par_iter().map(|&byte| byte as f32 / 255.0).collect();
    Ok((pixels, count, width, dimensions))
}

fn read_labels(directory: &Path, stem: &str, limit: Option<usize>) -> Result<Vec<u32>, DataError> {
    let path = find(directory, stem)?;
    let mut reader = open(&path)?;
    let dimensions = header(&mut *reader, &path, LABELS_MAGIC)?;
    let count = dimensions[0].min(limit.unwrap_or(usize::MAX));
    Ok(read_body(&mut *reader, &path, count)?
        .into_iter()
        .map(u32::from)
        .collect())
}

/// Input width from the image header; classes from the training labels.
pub fn inspect(directory: &Path) -> Result<Schema, DataError> {
    let path = find(directory, "train-images-idx3-ubyte")?;
    let dimensions = header(&mut *open(&path)?, &path, IMAGES_MAGIC)?;
    let test_path = find(directory, "t10k-images-idx3-ubyte")?;
    let test_dimensions = header(&mut *open(&test_path)?, &test_path, IMAGES_MAGIC)?;
    same_size(&test_path, &dimensions, &test_dimensions)?;
    let labels = read_labels(directory, "train-labels-idx1-ubyte", None)?;
    let count = labels.iter().max().map_or(0, |&max| max as usize + 1);
    Ok(Schema {
        features: dimensions[1] * dimensions[2],
        feature_names: None,
        target: TargetKind::Classes { count, names: None },
    })
}

/// Loads the train and test splits, each optionally cut to its first `limit` examples.
pub fn load(
    directory: &Path,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
) -> Result<Splits, DataError> {
    let split = |images: &str,
                 labels: &str,
                 limit: Option<usize>|
     -> Result<(Dataset, PathBuf, Vec<usize>), DataError> {
        let path = find(directory, images)?;
        let (features, count, width, dimensions) = read_image_file_sized(&path, limit)?;
        let labels = read_labels(directory, labels, limit)?;
        if labels.len() != count {
            return Err(DataError::Idx {
                path: directory.join(images),
                message: format!("{count} images but {} labels", labels.len()),
            });
        }
        let dataset = Dataset {
            features,
            feature_count: width,
            targets: Targets::Classes(labels),
        };
        Ok((dataset, path, dimensions))
    };
    let (train, test) = rayon::join(
        || {
            split(
                "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte",
                train_limit,
            )
        },
        || {
            split(
                "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte",
                test_limit,
            )
        },
    );
    let ((train, _, train_dimensions), (test, test_path, test_dimensions)) = (train?, test?);
    same_size(&test_path, &train_dimensions, &test_dimensions)?;
    Ok(Splits {
        train,
        test,
        class_names: None,
        target_standardization: None,
        feature_standardization: None,
        feature_names: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(folder: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(folder.join(name), bytes).expect("write");
    }

    #[test]
    fn corrupt_headers_are_errors_not_crashes() {
        let folder = std::env::temp_dir().join(format!("mlpc-idx-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let header = |magic: u32, dimensions: &[u32]| -> Vec<u8> {
            let mut bytes = magic.to_be_bytes().to_vec();
            for dimension in dimensions {
                bytes.extend(dimension.to_be_bytes());
            }
            bytes
        };
        // Claims 4 billion huge images but holds three bytes.
        let mut images = header(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX]);
        images.extend([1, 2, 3]);
        write(&folder, "train-images-idx3-ubyte", &images);
        write(&folder, "t10k-images-idx3-ubyte", &images);
        let mut labels = header(LABELS_MAGIC, &[u32::MAX]);
        labels.extend([1, 2]);
        write(&folder, "train-labels-idx1-ubyte", &labels);
        write(&folder, "t10k-labels-idx1-ubyte", &labels);
        assert!(matches!(
            load(&folder, None, None),
            Err(DataError::Idx { .. })
        ));
        assert!(matches!(inspect(&folder), Err(DataError::Idx { .. })));
        write(&folder, "train-images-idx3-ubyte", &header(7, &[]));
        let error = inspect(&folder).expect_err("a bad magic number");
        assert!(error.to_string().contains("magic number 7"), "{error}");
        // Images of no pixel.
        let mut images = header(IMAGES_MAGIC, &[2, 0, 28]);
        images.extend([1, 2]);
        write(&folder, "train-images-idx3-ubyte", &images);
        let error = inspect(&folder).expect_err("images of no pixel");
        assert!(
            error.to_string().contains("its images are 0×28 pixels"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    /// Training and test images of different sizes are refused, by inspection and by loading,
    /// naming the test file and both sizes.
    #[test]
    fn both_splits_need_images_of_one_size() {
        let folder = std::env::temp_dir().join(format!("mlpc-idx-sizes-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let file = |magic: u32, dimensions: &[u32], body: usize| -> Vec<u8> {
            let mut bytes = magic.to_be_bytes().to_vec();
            for dimension in dimensions {
                bytes.extend(dimension.to_be_bytes());
            }
            bytes.extend(std::iter::repeat_n(1u8, body));
            bytes
        };
        write(
            &folder,
            "train-images-idx3-ubyte",
            &file(IMAGES_MAGIC, &[2, 4, 2], 16),
        );
        write(
            &folder,
            "t10k-images-idx3-ubyte",
            &file(IMAGES_MAGIC, &[2, 4, 4], 32),
        );
        write(
            &folder,
            "train-labels-idx1-ubyte",
            &file(LABELS_MAGIC, &[2], 2),
        );
        write(
            &folder,
            "t10k-labels-idx1-ubyte",
            &file(LABELS_MAGIC, &[2], 2),
        );
        for error in [
            inspect(&folder).expect_err("inspect: sizes differ"),
            load(&folder, None, None).expect_err("load: sizes differ"),
        ] {
            let text = error.to_string();
            assert!(text.contains("t10k-images-idx3-ubyte"), "{text}");
            assert!(
                text.contains("its images are 4×4 pixels, the training images 4×2"),
                "{text}"
            );
        }
        write(
            &folder,
            "t10k-images-idx3-ubyte",
            &file(IMAGES_MAGIC, &[2, 4, 2], 16),
        );
        assert_eq!(inspect(&folder).expect("one size").features, 8);
        assert_eq!(
            load(&folder, None, None)
                .expect("one size")
                .test
                .feature_count,
            8
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn reads_the_shipped_mnist_headers() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
        let schema = inspect(&folder).expect("MNIST");
        assert_eq!(schema.features, 784);
        assert_eq!(
            schema.target,
            TargetKind::Classes {
                count: 10,
                names: None
            }
        );
        let splits = load(&folder, Some(100), Some(50)).expect("MNIST loads");
        assert_eq!((splits.train.len(), splits.test.len()), (100, 50));
        assert!(
            splits
                .train
                .features
                .iter()
                .all(|pixel| (0.0..=1.0).contains(pixel))
        );
    }
}
