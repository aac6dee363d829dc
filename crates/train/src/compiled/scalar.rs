//! The numbers that change from one step to the next: the scheduled learning rate and Adam's
//! bias corrections.
//!
//! An eager step knows them on the host and multiplies by them as scalars. A replayed step
//! ([`super::replay`]) is one recording dispatched again and again, so what changes per step
//! cannot be baked into it: there they are read from a device table, one row per step, selected
//! by a step counter that lives on the device (the rate stored negated, as the replayed step's
//! in-place updates read it, so that no kernel negates it). Both come from [`StepRow::new`], computed on the
//! host in the same f32 arithmetic, so the two steps multiply by the same numbers.

use burn::tensor::{Device, Tensor, TensorData};
use mlpc_ir::Optimizer;

/// A factor of one step: a host number, or a `[1, 1]` tensor read from the device.
#[derive(Clone)]
pub enum Scalar {
    /// Known on the host.
    Host(f64),
    /// A `[1, 1]` tensor, which broadcasts over any 2-D tensor.
    Device(Tensor<2>),
}

impl Scalar {
    /// `tensor · self`.
    pub fn times(&self, tensor: Tensor<2>) -> Tensor<2> {
        match self {
            Scalar::Host(value) => tensor.mul_scalar(*value),
            Scalar::Device(value) => tensor * value.clone(),
        }
    }

    /// `tensor / self`.
    pub fn divides(&self, tensor: Tensor<2>) -> Tensor<2> {
        match self {
            Scalar::Host(value) => tensor.div_scalar(*value),
            Scalar::Device(value) => tensor / value.clone(),
        }
    }

    /// `tensor + self`.
    pub fn plus(&self, tensor: Tensor<2>) -> Tensor<2> {
        match self {
            Scalar::Host(value) => tensor.add_scalar(*value),
            Scalar::Device(value) => tensor + value.clone(),
        }
    }

    /// The factor as a `[1, 1]` tensor on `device` (a host number is sent there: never inside
    /// a recording, whose steps read device factors).
    pub fn tensor(&self, device: &Device) -> Tensor<2> {
        match self {
            Scalar::Host(value) => {
                Tensor::from_data(TensorData::new(vec![*value as f32], [1, 1]), device)
            }
            Scalar::Device(value) => value.clone(),
        }
    }

    /// `self · factor`, a host factor.
    pub fn scaled(&self, factor: f64) -> Scalar {
        match self {
            Scalar::Host(value) => Scalar::Host(value * factor),
            Scalar::Device(value) => Scalar::Device(value.clone().mul_scalar(factor)),
        }
    }
}

/// Columns of a step's row: the learning rate, then three optimizer factors.
pub const COLUMNS: usize = 4;

/// The numbers of one step, computed on the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRow(pub [f64; COLUMNS]);

impl StepRow {
    /// The row of a step at learning rate `rate` that is the optimizer's `time`-th update
    /// (1-based, as Adam counts): `[rate, a, b, c]` where for Adam `a` is the bias corrections
    /// folded into one factor and `b` is ε scaled by `sqrt(1 - β₂ᵗ)` (burn's Adam); for AdamW
    /// `a = 1 - β₁ᵗ`, `b = 1 - β₂ᵗ` and `c = 1 - rate·λ` (burn's AdamW); unused columns are 1.
    pub fn new(optimizer: &Optimizer, rate: f64, time: usize) -> StepRow {
        let power = time as i32;
        match *optimizer {
            Optimizer::Sgd { .. } => StepRow([rate, 1.0, 1.0, 1.0]),
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => {
                let (beta1, beta2, epsilon) = (beta1 as f32, beta2 as f32, epsilon as f32);
                let correction2 = (1.0 - beta2.powi(power)).sqrt();
                let combined = correction2 / (1.0 - beta1.powi(power));
                StepRow([
                    rate,
                    f64::from(combined),
                    f64::from(epsilon * correction2),
                    1.0,
                ])
            }
            Optimizer::AdamW {
                beta1,
                beta2,
                weight_decay,
                ..
            } => {
                let (beta1, beta2) = (beta1 as f32, beta2 as f32);
                // Decoupled decay, `w (1 - lr·λ)`, with λ in f32 as burn keeps it.
                let decay = rate * (weight_decay as f32 as f64);
                StepRow([
                    rate,
                    f64::from(1.0 - beta1.powi(power)),
                    f64::from(1.0 - beta2.powi(power)),
                    1.0 - decay,
                ])
            }
        }
    }
}

/// The factors a step's update multiplies by, as [`Scalar`]s.
#[derive(Clone)]
pub struct StepScalars {
    /// The learning rate (negated where [`rate_negated`](Self::rate_negated)).
    pub rate: Scalar,
    /// The optimizer's factors (see [`StepRow::new`]).
    pub factors: [Scalar; COLUMNS - 1],
    /// Whether `rate` holds the learning rate negated (a replayed step's table).
    pub rate_negated: bool,
}

impl StepScalars {
    /// Host scalars from a host row (an eager step).
    pub fn host(row: StepRow) -> StepScalars {
        let [rate, a, b, c] = row.0;
        StepScalars {
            rate: Scalar::Host(rate),
            factors: [Scalar::Host(a), Scalar::Host(b), Scalar::Host(c)],
            rate_negated: false,
        }
    }

    /// The same factors with the learning rate negated where `negated`, else as it is (exactly:
    /// a sign flip, made only where the rate has the other sign), for updates added in place.
    pub fn with_rate_sign(&self, negated: bool) -> StepScalars {
        let rate = match self.rate_negated == negated {
            true => self.rate.clone(),
            false => self.rate.scaled(-1.0),
        };
        StepScalars {
            rate,
            factors: self.factors.clone(),
            rate_negated: negated,
        }
    }
}

/// The rows of a run of steps on the device, one `[steps, 1]` tensor per column the
/// optimizer reads (f32, as every factor is applied in f32), the rate negated, as the updates a
/// replayed step adds in place read it.
pub struct Table {
    columns: Vec<Tensor<2>>,
}

impl Table {
    /// The table of `rows` for `optimizer`.
    pub fn new(optimizer: &Optimizer, rows: &[StepRow], device: &Device) -> Table {
        let used = match optimizer {
            Optimizer::Sgd { .. } => 1,
            Optimizer::Adam { .. } => 3,
            Optimizer::AdamW { weight_decay, .. } => {
                if *weight_decay == 0.0 {
                    3
                } else {
                    4
                }
            }
        };
        let columns = (0..used)
            .map(|index| {
                let sign = if index == 0 { -1.0 } else { 1.0 };
                let values: Vec<f32> = rows
                    .iter()
                    .map(|row| (sign * row.0[index]) as f32)
                    .collect();
                Tensor::from_data(TensorData::new(values, [rows.len(), 1]), device)
            })
            .collect();
        Table { columns }
    }

    /// The columns the optimizer reads, `[steps, 1]` each.
    pub fn columns(&self) -> &[Tensor<2>] {
        &self.columns
    }

    /// The scalars of one step from its line of each column (`[1, 1]` each, in
    /// [`columns`](Self::columns) order); the columns the optimizer does not read are 1.
    pub fn scalars(&self, lines: impl IntoIterator<Item = Tensor<2>>) -> StepScalars {
        let mut lines = lines.into_iter().map(Scalar::Device);
        let mut next = || lines.next().unwrap_or(Scalar::Host(1.0));
        StepScalars {
            rate: next(),
            factors: [next(), next(), next()],
            rate_negated: true,
        }
    }
}
