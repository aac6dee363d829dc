//! The valid values of a number parameter: a [`Range`] between two [`Limit`]s, and the
//! [`Nearest`] valid value to one outside it, for hints.

use std::fmt;

/// One end of a [`Range`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// No limit on this side.
    Unbounded,
    /// The limit itself is valid.
    Inclusive(f64),
    /// Values up to the limit, but not the limit itself, are valid.
    Exclusive(f64),
}

/// The valid values of a number: from `low` to `high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The lower end.
    pub low: Limit,
    /// The upper end.
    pub high: Limit,
}

impl Range {
    /// Every real number.
    pub const ANY: Range = Range {
        low: Limit::Unbounded,
        high: Limit::Unbounded,
    };
    /// Numbers > 0.
    pub const POSITIVE: Range = Range::above(Limit::Exclusive(0.0));
    /// Numbers ≥ 0.
    pub const NON_NEGATIVE: Range = Range::above(Limit::Inclusive(0.0));
    /// Numbers in [0, 1): rates, decays, held-out fractions that may be zero.
    pub const UNIT_FROM_ZERO: Range = Range {
        low: Limit::Inclusive(0.0),
        high: Limit::Exclusive(1.0),
    };
    /// Numbers in (0, 1): fractions that must hold something on both sides.
    pub const UNIT_OPEN: Range = Range {
        low: Limit::Exclusive(0.0),
        high: Limit::Exclusive(1.0),
    };
    /// Numbers in (0, 1]: factors of a decay, where 1 is no decay.
    pub const UNIT_TO_ONE: Range = Range {
        low: Limit::Exclusive(0.0),
        high: Limit::Inclusive(1.0),
    };

    /// Numbers from `low` up, with no upper limit.
    pub const fn above(low: Limit) -> Range {
        Range {
            low,
            high: Limit::Unbounded,
        }
    }

    /// Whole numbers (or any numbers) of at least `min`.
    pub const fn at_least(min: i64) -> Range {
        Range::above(Limit::Inclusive(min as f64))
    }

    /// Whether `value` is in the range.
    pub fn contains(&self, value: f64) -> bool {
        let above = match self.low {
            Limit::Unbounded => true,
            Limit::Inclusive(low) => value >= low,
            Limit::Exclusive(low) => value > low,
        };
        let below = match self.high {
            Limit::Unbounded => true,
            Limit::Inclusive(high) => value <= high,
            Limit::Exclusive(high) => value < high,
        };
        above && below && value.is_finite()
    }

    /// The valid value nearest to `value`, which is outside the range; where the nearest
    /// limit is excluded, an example just inside it with `decimals` decimals (one at least).
    /// `None` past an end with no limit (an infinite value).
    pub fn nearest(&self, value: f64, decimals: u32) -> Option<Nearest> {
        let below_low = match self.low {
            Limit::Inclusive(low) => value < low,
            Limit::Exclusive(low) => value <= low,
            Limit::Unbounded => false,
        };
        let (limit, inward) = if below_low {
            (self.low, 1.0)
        } else {
            (self.high, -1.0)
        };
        let scale = 10f64.powi(decimals.clamp(1, 12) as i32);
        match limit {
            Limit::Inclusive(limit) => Some(Nearest::Limit(limit)),
            Limit::Exclusive(limit) => Some(Nearest::Inside {
                limit,
                example: ((limit * scale).round() + inward) / scale,
            }),
            Limit::Unbounded => None,
        }
    }
}

impl fmt::Display for Range {
    /// `in [0, 1)`, `> 0`, `≥ 1`, `≤ 1` or `any number`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let low = match self.low {
            Limit::Unbounded => None,
            Limit::Inclusive(value) => Some(('[', "≥", value)),
            Limit::Exclusive(value) => Some(('(', ">", value)),
        };
        let high = match self.high {
            Limit::Unbounded => None,
            Limit::Inclusive(value) => Some((']', "≤", value)),
            Limit::Exclusive(value) => Some((')', "<", value)),
        };
        match (low, high) {
            (None, None) => write!(formatter, "any number"),
            (Some((_, sign, value)), None) | (None, Some((_, sign, value))) => {
                write!(formatter, "{sign} {}", number(value))
            }
            (Some((open, _, low)), Some((close, _, high))) => {
                write!(
                    formatter,
                    "in {open}{}, {}{close}",
                    number(low),
                    number(high)
                )
            }
        }
    }
}

/// The valid value nearest to one out of range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nearest {
    /// The limit itself.
    Limit(f64),
    /// Values just inside an excluded limit, such as `example`.
    Inside {
        /// The excluded limit.
        limit: f64,
        /// A valid value near it, at the precision the value was written with.
        example: f64,
    },
}

impl fmt::Display for Nearest {
    /// `the nearest valid value is 1`, or `the nearest valid values are just below 1, such
    /// as 0.9 (1 itself is excluded)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Nearest::Limit(limit) => {
                write!(formatter, "the nearest valid value is {}", number(limit))
            }
            Nearest::Inside { limit, example } => write!(
                formatter,
                "the nearest valid values are just {} {}, such as {} ({} itself is excluded)",
                if example < limit { "below" } else { "above" },
                number(limit),
                number(example),
                number(limit)
            ),
        }
    }
}

/// A number as hints write it: `0.01`, `1e-8`, `1000`.
pub fn number(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_written_and_contain_what_they_say() {
        assert_eq!(Range::UNIT_FROM_ZERO.to_string(), "in [0, 1)");
        assert_eq!(Range::UNIT_TO_ONE.to_string(), "in (0, 1]");
        assert_eq!(Range::POSITIVE.to_string(), "> 0");
        assert_eq!(Range::at_least(1).to_string(), "≥ 1");
        assert_eq!(Range::ANY.to_string(), "any number");
        assert!(Range::UNIT_FROM_ZERO.contains(0.0));
        assert!(!Range::UNIT_FROM_ZERO.contains(1.0));
        assert!(!Range::POSITIVE.contains(0.0));
        assert!(!Range::ANY.contains(f64::INFINITY));
    }

    #[test]
    fn the_nearest_valid_value_is_the_limit_or_just_inside_it() {
        assert_eq!(
            Range::UNIT_TO_ONE.nearest(1.5, 1),
            Some(Nearest::Limit(1.0))
        );
        assert_eq!(
            Range::at_least(1).nearest(0.0, 0),
            Some(Nearest::Limit(1.0))
        );
        assert_eq!(
            Range::UNIT_FROM_ZERO.nearest(1.5, 1),
            Some(Nearest::Inside {
                limit: 1.0,
                example: 0.9
            })
        );
        assert_eq!(
            Range::POSITIVE.nearest(-0.001, 3),
            Some(Nearest::Inside {
                limit: 0.0,
                example: 0.001
            })
        );
        assert_eq!(Range::POSITIVE.nearest(f64::INFINITY, 1), None);
        let text = |nearest: Option<Nearest>| nearest.map(|nearest| nearest.to_string());
        assert_eq!(
            text(Range::UNIT_FROM_ZERO.nearest(1.5, 1)).as_deref(),
            Some("the nearest valid values are just below 1, such as 0.9 (1 itself is excluded)")
        );
        assert_eq!(
            text(Range::at_least(1).nearest(0.0, 0)).as_deref(),
            Some("the nearest valid value is 1")
        );
    }
}
