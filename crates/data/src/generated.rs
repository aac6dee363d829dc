//! Generated 2-D sets that no straight line separates: moons, circles, spiral, xor, blobs.
//!
//! Each set is drawn from its seed with [`Random`], shuffled, and its last `test_fraction`
//! held out for testing. Shapes follow scikit-learn's `make_moons`, `make_circles` and
//! `make_blobs`, and CS231n's spiral; xor is four Gaussian clusters at the corners of a
//! square, opposite corners sharing a class (so a linear model tops out at 75%).

use crate::dataset::{Dataset, Splits, Targets};
use crate::random::Random;
use crate::source::{GeneratedKind, Schema, Source, TargetKind};

/// Two inputs; the classes each kind has.
pub fn schema(kind: GeneratedKind, classes: usize) -> Schema {
    let count = match kind {
        GeneratedKind::Spiral | GeneratedKind::Blobs => classes,
        GeneratedKind::Moons | GeneratedKind::Circles | GeneratedKind::Xor => 2,
    };
    Schema {
        features: 2,
        feature_names: None,
        target: TargetKind::Classes { count, names: None },
    }
}

/// Draws the set and splits it. `source` must be a [`Source::Generated`].
pub fn load(source: &Source) -> Splits {
    let Source::Generated {
        kind,
        samples,
        noise,
        classes,
        factor,
        seed,
        test_fraction,
    } = source
    else {
        unreachable!("generated::load takes a generated source")
    };
    let classes = match kind {
        GeneratedKind::Spiral | GeneratedKind::Blobs => (*classes).max(1),
        _ => 2,
    };
    let mut random = Random::new(*seed);
    let mut points: Vec<([f64; 2], u32)> = Vec::with_capacity(*samples);
    for index in 0..*samples {
        let class = (index * classes / samples.max(&1)) as u32;
        // Position of this point along its class's curve, in [0, 1].
        let per_class = samples.div_ceil(classes).max(2);
        let along = (index % per_class) as f64 / (per_class - 1) as f64;
        let point = match kind {
            GeneratedKind::Moons => {
                let angle = std::f64::consts::PI * along;
                if class == 0 {
                    [angle.cos(), angle.sin()]
                } else {
                    [1.0 - angle.cos(), 0.5 - angle.sin()]
                }
            }
            GeneratedKind::Circles => {
                let angle = 2.0 * std::f64::consts::PI * along;
                let radius = if class == 0 { 1.0 } else { *factor };
                [radius * angle.cos(), radius * angle.sin()]
            }
            GeneratedKind::Spiral => {
                let radius = along;
                let angle = class as f64 * 4.0 + along * 4.0;
                [radius * angle.sin(), radius * angle.cos()]
            }
            GeneratedKind::Xor => {
                let corner = random.below(2) as f64 * 2.0 - 1.0;
                let other = if class == 0 { corner } else { -corner };
                [corner, other]
            }
            GeneratedKind::Blobs => {
                let mut centres = Random::new(seed.wrapping_add(class as u64 * 7919));
                [
                    centres.uniform() * 10.0 - 5.0,
                    centres.uniform() * 10.0 - 5.0,
                ]
            }
        };
        let jitter = [random.normal() * noise, random.normal() * noise];
        points.push(([point[0] + jitter[0], point[1] + jitter[1]], class));
    }
    random.shuffle(&mut points);
    let test_count = ((*samples as f64) * test_fraction).round() as usize;
    let train_count = samples - test_count.min(*samples);
    let dataset = |rows: &[([f64; 2], u32)]| Dataset {
        features: rows
            .iter()
            .flat_map(|(point, _)| [point[0] as f32, point[1] as f32])
            .collect(),
        feature_count: 2,
        targets: Targets::Classes(rows.iter().map(|(_, class)| *class).collect()),
    };
    Splits {
        train: dataset(&points[..train_count]),
        test: dataset(&points[train_count..]),
        class_names: None,
        target_standardization: None,
        feature_standardization: None,
        feature_names: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: GeneratedKind, classes: usize) -> Source {
        Source::Generated {
            kind,
            samples: 400,
            noise: 0.1,
            classes,
            factor: 0.5,
            seed: 3,
            test_fraction: 0.25,
        }
    }

    #[test]
    fn sizes_classes_and_determinism() {
        for kind in GeneratedKind::ALL {
            let splits = load(&source(kind, 3));
            assert_eq!(splits.train.len(), 300);
            assert_eq!(splits.test.len(), 100);
            let Targets::Classes(classes) = &splits.train.targets else {
                panic!()
            };
            let expected = schema(kind, 3).target;
            let TargetKind::Classes { count, .. } = expected else {
                panic!()
            };
            assert_eq!(
                *classes.iter().max().unwrap() as usize + 1,
                count,
                "{kind:?}"
            );
            assert_eq!(
                load(&source(kind, 3)),
                splits,
                "{kind:?} must repeat from its seed"
            );
        }
    }

    #[test]
    fn xor_corners_are_opposite_classes() {
        let splits = load(&source(GeneratedKind::Xor, 2));
        let Targets::Classes(classes) = &splits.train.targets else {
            panic!()
        };
        for (row, class) in splits.train.features.chunks(2).zip(classes) {
            let same_sign = (row[0] > 0.0) == (row[1] > 0.0);
            assert_eq!(same_sign, *class == 0);
        }
    }
}
