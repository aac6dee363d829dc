//! The compiled step's optimizer state in burn's own optimizer-record format, so that a
//! checkpoint written by either step resumes on the other.
//!
//! burn keys an optimizer record (a burnpack file) by parameter id: for a parameter with id
//! `ID`, the scalar `ID.__rank` (the parameter's rank), the metadata `ID` (its module path), and
//! its state: `ID.momentum.velocity` for SGD with momentum; `ID.momentum.moment_1`,
//! `ID.momentum.moment_2` and the scalar `ID.momentum.time` for Adam and AdamW. Plain SGD has
//! no state. Tensors carry their parameter's id and burn's shape (`[n]` for vectors).

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use burn_pack::{Reader, Scalar, Writer};

use super::update::{Moments, Parameter, State};

/// Writes the optimizer state of `parameters` to `path` (a `.bpk` file).
pub fn write(parameters: &[Parameter], path: &Path) -> Result<(), String> {
    let mut tensors = Vec::new();
    let mut writer_scalars: Vec<(String, Scalar)> = Vec::new();
    let mut metadata: Vec<(String, String)> = Vec::new();
    for parameter in parameters {
        let prefix = parameter.id.val().to_string();
        let rank: usize = if parameter.is_vector { 1 } else { 2 };
        writer_scalars.push((format!("{prefix}.__rank"), Scalar::from(rank)));
        metadata.push((prefix.clone(), parameter.path.clone()));
        let mut push = |name: &str, value: &Tensor<2>| {
            let data = burn_data(value, parameter.is_vector);
            let (bytes, shape, dtype) = data.into_parts();
            tensors.push(burn_pack::Tensor::new(
                format!("{prefix}.{name}"),
                dtype,
                shape,
                Some(parameter.id.val()),
                bytes,
            ));
        };
        match &parameter.state {
            State::None => {}
            State::Velocity(velocity) => push("momentum.velocity", velocity),
            State::Moments(Moments {
                first,
                second,
                time,
            }) => {
                push("momentum.moment_1", first);
                push("momentum.moment_2", second);
                writer_scalars.push((format!("{prefix}.momentum.time"), Scalar::from(*time)));
            }
        }
    }
    let mut writer = Writer::new(tensors);
    for (key, value) in &writer_scalars {
        writer = writer.with_scalar(key, *value);
    }
    for (key, value) in &metadata {
        writer = writer.with_metadata(key, value);
    }
    writer
        .write_to_file(path)
        .map_err(|error| error.to_string())
}

/// Reads the optimizer state of `parameters` from `path`, written by [`write()`] or by burn's
/// optimizer. A parameter the record has no state for starts afresh, as burn's would.
pub fn read(parameters: &mut [Parameter], path: &Path, device: &Device) -> Result<(), String> {
    let reader = Reader::from_file(path).map_err(|error| error.to_string())?;
    let scalars = reader.scalars().clone();
    let mut tensors = std::collections::HashMap::new();
    for tensor in reader.into_tensors().map_err(|error| error.to_string())? {
        let (name, dtype, shape, _, bytes) =
            tensor.into_parts().map_err(|error| error.to_string())?;
        tensors.insert(name, TensorData::from_bytes(bytes, shape, dtype));
    }
    for parameter in parameters.iter_mut() {
        let prefix = parameter.id.val().to_string();
        let [rows, columns] = parameter.value.dims();
        let mut load = |name: &str| -> Result<Option<Tensor<2>>, String> {
            let Some(data) = tensors.remove(&format!("{prefix}.{name}")) else {
                return Ok(None);
            };
            if data.num_elements() != rows * columns {
                return Err(format!(
                    "the state `{name}` of `{}` has {} values, the parameter {}",
                    parameter.path,
                    data.num_elements(),
                    rows * columns
                ));
            }
            // burn's shape (`[n]` for a vector) becomes the step's `[rows, columns]`.
            let (bytes, _, dtype) = data.convert::<f32>().into_parts();
            let data = TensorData::from_bytes(bytes, [rows, columns], dtype);
            Ok(Some(Tensor::from_data(data, device)))
        };
        match &mut parameter.state {
            State::None => {}
            State::Velocity(velocity) => {
                if let Some(saved) = load("momentum.velocity")? {
                    *velocity = saved;
                }
            }
            State::Moments(Moments {
                first,
                second,
                time,
            }) => {
                let saved_time = scalars.get(&format!("{prefix}.momentum.time"));
                match (
                    load("momentum.moment_1")?,
                    load("momentum.moment_2")?,
                    saved_time,
                ) {
                    (Some(saved_first), Some(saved_second), Some(saved_time)) => {
                        *first = saved_first;
                        *second = saved_second;
                        *time = usize::try_from(*saved_time).map_err(|_| {
                            format!("the step count of `{}` is not a count", parameter.path)
                        })?;
                    }
                    (None, None, None) => {}
                    _ => {
                        return Err(format!(
                            "the Adam state of `{}` is incomplete",
                            parameter.path
                        ));
                    }
                }
            }
        }
    }
    // One count for all: every step updates every parameter, and the step's Adam factors are
    // computed once for all of them.
    let mut times = parameters
        .iter()
        .filter_map(|parameter| match &parameter.state {
            State::Moments(moments) => Some((moments.time, &parameter.path)),
            State::None | State::Velocity(_) => None,
        });
    if let Some((first, first_path)) = times.next()
        && let Some((other, other_path)) = times.find(|(time, _)| *time != first)
    {
        return Err(format!(
            "the Adam step counts differ: {first} for `{first_path}`, {other} for `{other_path}`"
        ));
    }
    Ok(())
}

/// A state tensor's values in its parameter's burn shape (`[n]` for a vector).
fn burn_data(value: &Tensor<2>, is_vector: bool) -> TensorData {
    if is_vector {
        let [_, width] = value.dims();
        value.clone().reshape([width]).into_data()
    } else {
        value.clone().into_data()
    }
}
