//! Validation rows: a seeded random fraction of the training split, held out of training and
//! of the statistics its features and targets are standardised with (else the validation
//! figures would have seen their own rows' means).

use crate::error::DataError;
use crate::random::Random;

/// A fraction of the training split held out for validation, drawn with a seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldOut {
    /// The fraction held out, in (0, 1).
    pub fraction: f64,
    /// The seed of the draw (the run's seed).
    pub seed: u64,
}

impl HoldOut {
    /// A hold-out of `fraction` drawn with `seed`; `None` for no validation (0).
    pub fn of(fraction: f64, seed: u64) -> Option<HoldOut> {
        (fraction > 0.0).then_some(HoldOut { fraction, seed })
    }

    /// How many of `rows` training rows it holds out: `round(rows · fraction)`.
    pub fn count(self, rows: usize) -> usize {
        ((rows as f64) * self.fraction).round() as usize
    }

    /// How many of `rows` training rows `hold_out` (if any) holds out.
    pub fn count_in(hold_out: Option<HoldOut>, rows: usize) -> usize {
        hold_out.map_or(0, |hold_out| hold_out.count(rows))
    }

    /// An error where it would hold out none of `rows` training rows, or all of them.
    pub fn check(self, rows: usize) -> Result<(), DataError> {
        let held_out = self.count(rows);
        if held_out == 0 || held_out >= rows {
            return Err(DataError::EmptyValidation {
                fraction: self.fraction,
                examples: rows,
                held_out,
            });
        }
        Ok(())
    }

    /// The training rows' numbers split into those trained on and those held out.
    pub fn split(self, rows: usize) -> (Vec<usize>, Vec<usize>) {
        let order = Random::new(self.seed ^ 0x0A11_DA7E).permutation(rows);
        let held_out = self.count(rows).min(rows);
        (order[held_out..].to_vec(), order[..held_out].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two parts are disjoint, cover every row, and repeat from the seed.
    #[test]
    fn a_hold_out_splits_every_row_once_and_repeats() {
        let hold_out = HoldOut::of(0.2, 7).expect("a fraction");
        let (trained, held) = hold_out.split(101);
        assert_eq!(held.len(), 20);
        let mut all: Vec<usize> = trained.iter().chain(&held).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        assert_eq!(hold_out.split(101), (trained, held));
        assert_eq!(HoldOut::of(0.0, 7), None);
        assert_eq!(HoldOut::count_in(None, 101), 0);
        assert!(hold_out.check(101).is_ok());
        assert!(
            HoldOut::of(0.001, 7)
                .expect("a fraction")
                .check(101)
                .is_err()
        );
        assert!(
            HoldOut::of(0.999, 7)
                .expect("a fraction")
                .check(101)
                .is_err()
        );
    }
}
