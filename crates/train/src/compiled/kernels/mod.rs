//! The compiled step's own GPU kernels, where burn's tensor operations would launch many small
//! kernels for one rule.
//!
//! # Design
//! On a GPU a small network's step is a few dozen tiny kernels whose launches set the speed, and
//! a replayed step ([`super::replay`]) pays for each recorded kernel on every replay. burn-fusion
//! fuses chains of element-wise operations, but a rule that mixes reductions, gathers and
//! scatters (the softmax cross-entropy: a maximum, an exponential, a sum, a logarithm, a pick at
//! the class, a subtraction at the class) stays several kernels. Such a rule gets one kernel of
//! its own, written in cubecl's kernel language and registered with burn-fusion as a custom
//! operation: it runs in stream order with the fused kernels around it, inside or outside a
//! recording, and its outputs are allocated by cubecl's memory manager like any operation's.
//!
//! Each kernel computes what the composed tensor operations compute (same formula, same f32
//! arithmetic up to the order of a row's sums): the CPU backends keep the composed form, and the
//! tests compare the two on wgpu (`tests/compiled.rs`, against autodiff).
//!
//! Only cubecl devices (wgpu) run them ([`available`]); a kernel never reads from or writes to
//! the host, which a recording could not hold.
//!
//! The kernels: [`fetch`] (a replayed step's lines of its segment's tables),
//! [`loss()`] (any of mlpc's losses and its gradient; [`tallied_loss`] also adds the loss
//! into a replayed step's slot and advances its counter), [`update()`] (every
//! parameter's optimizer update, values and state in place, in one kernel, or a few where the
//! device binds fewer buffers to a kernel), [`batch_norm_forward`] and [`batch_norm_backward`]
//! (batch norm in training mode, its running statistics moved in place, where the device
//! binds their tensors: [`batch_norm_fits`]), [`layer_norm_forward`] and
//! [`layer_norm_backward`] (layer norm in training mode, `γ`'s and `β`'s gradients summed by
//! the update kernel, or by batch norm's backward kernel for a first layer); both norms' forward kernels take a [`Tail`] (the activation
//! and the dropout mask after the norm, which burn-fusion cannot fuse into a kernel of ours).
//! Each is registered through `register_all`, which hands burn-fusion the operation's inputs and output descriptions; a
//! kernel that writes in place takes its target through `writable` (its own buffer where no
//! one else holds it, else a copy).

mod batch_norm;
mod fetch;
mod layer_norm;
mod loss;
mod tail;
mod update;

pub use batch_norm::{
    Forward as BatchNormForward, Setting as BatchNormSetting, batch_norm_backward, batch_norm_fits,
    batch_norm_forward,
};
pub use fetch::fetch;
pub use layer_norm::{layer_norm_backward, layer_norm_fits, layer_norm_forward};
pub use loss::{Kind, Multipliers, Scale, Targets, loss, tallied_loss};
pub use tail::{Form as TailForm, Function, Lead, Tail, Tailed};
pub use update::{Constants, Form, Rule, Target, Updated, update};

use burn::backend::{Cube, DispatchDevice};
use burn::tensor::{DType, Device, Int, Shape, Tensor};
use burn_cubecl::fusion::FusionCubeRuntime;
use burn_fusion::FusionTensor;
use burn_fusion::custom::{CustomOpIr, Operation, OperationIr, StreamId, TensorIr};

/// Whether `device` runs cubecl kernels (wgpu without autodiff): there the step's own kernels
/// run; elsewhere the composed tensor operations do.
pub fn available(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Cube(_))
}

/// The buffers one kernel may bind on `device`, as cubecl counts them (its own metadata buffer
/// left out); none off cubecl's devices.
fn bindings(device: &Device) -> usize {
    if let DispatchDevice::Cube(device) = device.as_dispatch() {
        return device.client().properties().hardware.max_bindings as usize;
    }
    0
}

/// A tensor as the kernels' registration takes it: burn-fusion's primitive over cubecl.
type Primitive = FusionTensor<FusionCubeRuntime>;

/// Why a tensor handed to the kernels must be on a cubecl device.
const ON_CUBECL: &str = "the step's own kernels run on cubecl devices only (kernels::available)";

/// A float tensor's primitive, for a device where [`available`] holds.
fn primitive<const D: usize>(tensor: Tensor<D>) -> Primitive {
    tensor.try_into_primitive::<Cube>().expect(ON_CUBECL)
}

/// An integer tensor's primitive, for a device where [`available`] holds.
fn int_primitive<const D: usize>(tensor: Tensor<D, Int>) -> Primitive {
    tensor.try_into_primitive::<Cube>().expect(ON_CUBECL)
}

/// `tensor` to write into: itself where its buffer has no other owner (and it is contiguous,
/// as a parameter's is), else a copy (as burn's own in-place operations do).
fn writable(tensor: burn_cubecl::tensor::CubeTensor) -> burn_cubecl::tensor::CubeTensor {
    match tensor.can_mut() && tensor.is_contiguous() {
        true => tensor,
        false => burn_cubecl::kernel::into_contiguous(tensor.copy()),
    }
}

/// A new contiguous tensor of `dims` on `like`'s device, of its element type (a kernel's
/// output).
fn empty_like<const D: usize>(
    like: &burn_cubecl::tensor::CubeTensor,
    dims: [usize; D],
) -> burn_cubecl::tensor::CubeTensor {
    burn_cubecl::ops::numeric::empty_device_dtype(
        like.client.clone(),
        like.device.clone(),
        Shape::new(dims),
        like.dtype,
    )
}

/// Units of a cube where a kernel gives each item (a feature, an example) a unit of its own.
const UNITS_PER_CUBE: u32 = 256;

/// The cubes that give each of `items` a unit.
fn unit_each(items: usize) -> (cubecl::prelude::CubeCount, cubecl::CubeDim) {
    let cubes = (items as u32).div_ceil(UNITS_PER_CUBE);
    (
        cubecl::prelude::CubeCount::Static(cubes, 1, 1),
        cubecl::CubeDim::new_1d(UNITS_PER_CUBE),
    )
}

/// Registers one of the kernels with burn-fusion as a custom operation named `name`: it runs in
/// stream order after what wrote `inputs` (consumed here: where one has no other owner, the
/// kernel may write into its buffer), and returns its outputs, of `outputs`' shapes and the
/// first input's element type except where one names its own. `operation` makes the deferred
/// operation from the inputs' and the outputs' descriptions.
fn register_all<O: Operation<FusionCubeRuntime> + 'static>(
    name: &'static str,
    inputs: Vec<Primitive>,
    outputs: Vec<(Shape, Option<DType>)>,
    operation: impl FnOnce(Vec<TensorIr>, Vec<TensorIr>) -> O,
) -> Vec<Primitive> {
    let client = inputs[0].client.clone();
    let float_type = inputs[0].dtype;
    let outputs: Vec<TensorIr> = outputs
        .into_iter()
        .map(|(shape, dtype)| {
            TensorIr::uninit(
                client.create_empty_handle(),
                shape,
                dtype.unwrap_or(float_type),
            )
        })
        .collect();
    let inputs: Vec<TensorIr> = inputs.into_iter().map(Primitive::into_ir).collect();
    let description = CustomOpIr::new(name, &inputs, &outputs);
    client.register(
        StreamId::current(),
        OperationIr::Custom(description),
        operation(inputs, outputs),
    )
}

/// What the kernels' tests share: the wgpu device, seeded draws, and how far two tensors are
/// apart.
#[cfg(test)]
pub(crate) mod testing {
    use std::cell::RefCell;

    use burn::tensor::{Device, DeviceKind, Distribution, Tensor, TensorData};
    use mlpc_data::random::Random;

    /// Random tensors drawn on the host from a test's own seeded generator and uploaded. The
    /// device's generator is one for the process, shared by tests running side by side, so
    /// what a test drew from it after seeding it hung on which other tests drew in between;
    /// these draws are the same on every run.
    pub struct Draws {
        random: RefCell<Random>,
        device: Device,
    }

    impl Draws {
        /// Draws from `seed`, uploaded to `device`.
        pub fn new(seed: u64, device: &Device) -> Self {
            Draws {
                random: RefCell::new(Random::new(seed)),
                device: device.clone(),
            }
        }

        /// The device the draws are uploaded to.
        pub fn device(&self) -> &Device {
            &self.device
        }

        /// A `shape` tensor of values from `distribution`, drawn in row-major order.
        pub fn tensor<const D: usize>(
            &self,
            shape: [usize; D],
            distribution: Distribution,
        ) -> Tensor<D> {
            let mut random = self.random.borrow_mut();
            let values: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| {
                    let value = match distribution {
                        Distribution::Default => random.uniform(),
                        Distribution::Uniform(low, high) => low + (high - low) * random.uniform(),
                        Distribution::Normal(mean, deviation) => mean + deviation * random.normal(),
                        Distribution::Bernoulli(probability) => {
                            f64::from(u8::from(random.uniform() < probability))
                        }
                    };
                    value as f32
                })
                .collect();
            Tensor::from_data(TensorData::new(values, shape), &self.device)
        }
    }

    /// The wgpu device, or `None` (said loudly) where no adapter exists; with
    /// `MLPC_REQUIRE_WGPU=1` (set by CI) a missing adapter is a failure.
    pub fn wgpu_device() -> Option<Device> {
        if crate::backend::wgpu_adapters().is_empty() {
            assert!(
                !std::env::var("MLPC_REQUIRE_WGPU").is_ok_and(|value| value == "1"),
                "MLPC_REQUIRE_WGPU=1 requires a wgpu adapter (install mesa-vulkan-drivers)"
            );
            eprintln!("*** SKIPPED: no wgpu adapter ***");
            return None;
        }
        crate::backend::configure_wgpu_runtime();
        Some(Device::wgpu(DeviceKind::DefaultDevice))
    }

    /// The largest difference between two tensors, relative to the reference's largest value.
    pub fn relative_gap<const D: usize>(ours: Tensor<D>, reference: Tensor<D>) -> f32 {
        let (difference, scale) = largest_difference(ours, reference);
        difference / scale
    }

    /// The largest absolute difference between two tensors' values, and the reference's
    /// largest magnitude.
    pub fn largest_difference<const D: usize>(ours: Tensor<D>, reference: Tensor<D>) -> (f32, f32) {
        let ours = ours.into_data().try_to_vec::<f32>().expect("f32 values");
        let reference = reference
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 values");
        let scale = reference
            .iter()
            .fold(0f32, |top, value| top.max(value.abs()));
        let difference = ours
            .iter()
            .zip(&reference)
            .fold(0f32, |top, (a, b)| top.max((a - b).abs()));
        (difference, scale)
    }
}
