//! The pictures of a run (`mlpc run` writes them; `mlpc plot` draws them again): each PNG is
//! decoded and checked for its size and content, not only for existing.

use std::collections::HashMap;
use std::path::Path;

mod common;
use common::{fresh_folder, mlpc_ok};

/// A PNG file decoded: its width, height, and how many pixels have each colour.
fn decode(path: &Path) -> (u32, u32, HashMap<Vec<u8>, usize>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|_| panic!("{} is missing", path.display())),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    let channels = frame.color_type.samples();
    let mut counts = HashMap::new();
    for pixel in pixels[..frame.buffer_size()].chunks(channels) {
        *counts.entry(pixel.to_vec()).or_insert(0usize) += 1;
    }
    (frame.width, frame.height, counts)
}

/// Width, height and the number of distinct colours of a PNG file.
fn picture(path: &Path) -> (u32, u32, usize) {
    let (width, height, counts) = decode(path);
    (width, height, counts.len())
}

/// How many colours other than white each cover at least a tenth of a PNG's pixels.
fn large_regions(path: &Path) -> usize {
    let (width, height, counts) = decode(path);
    let total = (width * height) as usize;
    counts
        .iter()
        .filter(|(colour, count)| colour.iter().any(|&value| value != 255) && **count * 10 >= total)
        .count()
}

#[test]
fn a_two_dimensional_classifier_gets_curves_a_boundary_and_a_confusion_matrix() {
    let out = fresh_folder("plots-xor");
    let run = out.to_string_lossy().into_owned();
    mlpc_ok(&["run", "models/xor.mlp", "--epochs", "20", "--out", &run]);
    for name in ["curves.png", "decision_boundary.png", "confusion.png"] {
        let (width, height, colours) = picture(&out.join(name));
        assert_eq!((width, height), (800, 600), "{name}");
        assert!(colours > 2, "{name}: {colours} colours");
    }
    // The boundary shows two classes' regions: two colours other than white each fill a
    // large part of the picture (text and points alone fill little).
    let large = large_regions(&out.join("decision_boundary.png"));
    assert!(large >= 2, "{large} large coloured regions");
    // `mlpc plot` draws them again.
    for name in ["curves.png", "decision_boundary.png", "confusion.png"] {
        std::fs::remove_file(out.join(name)).expect("remove");
    }
    let output = mlpc_ok(&["plot", &run]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 3);
    assert!(out.join("decision_boundary.png").exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_regression_gets_curves_and_predicted_against_true() {
    let out = fresh_folder("plots-diabetes");
    let run = out.to_string_lossy().into_owned();
    mlpc_ok(&["run", "models/diabetes.mlp", "--epochs", "5", "--out", &run]);
    for name in ["curves.png", "predictions.png"] {
        let (width, height, colours) = picture(&out.join(name));
        assert_eq!((width, height), (800, 600), "{name}");
        assert!(colours > 2, "{name}: {colours} colours");
    }
    assert!(!out.join("decision_boundary.png").exists());
    assert!(!out.join("confusion.png").exists());
    let _ = std::fs::remove_dir_all(&out);
}
