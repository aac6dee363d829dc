//! A replayed step's bookkeeping in one kernel: its loss added into its own slot of the
//! segment's loss vector, and the step counter advanced (`losses[counter] += loss; counter +=
//! 1`). burn's operations take a kernel for each (two indexed additions); both write into the
//! buffers they are given (no other owner in a segment), so a recording holds them in place.
//! A cross-entropy step needs none: its loss kernel tallies as it sums
//! ([`super::tallied_softmax_cross_entropy`]); the other losses are summed by burn's
//! operations and tallied here.

use burn::tensor::{Int, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::CubeDim;
use cubecl::prelude::CubeCount;

/// The kernel, in a module of its own: cubecl's prelude has its own `Tensor` and `Int`.
mod kernel {
    use cubecl::prelude::*;

    /// `losses[counter[0]] += loss[0]` and `counter[0] += 1`, by one unit.
    #[cube(launch)]
    pub fn tally_kernel<F: Float, I: Int>(
        losses: &mut Tensor<F>,
        counter: &mut Tensor<I>,
        loss: &Tensor<F>,
        #[define(F, I)] _types: [ElemType; 2],
    ) {
        if ABSOLUTE_POS == 0 {
            let step = counter[0];
            let slot = usize::cast_from(step) * losses.stride(0);
            losses[slot] += loss[0];
            counter[0] = step + I::new(1);
        }
    }
}

/// The deferred operation burn-fusion runs in stream order.
#[derive(Debug)]
struct Tally {
    losses: TensorIr,
    counter: TensorIr,
    loss: TensorIr,
    new_losses: TensorIr,
    new_counter: TensorIr,
}

impl Operation<FusionCubeRuntime> for Tally {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let losses = super::writable(handles.get_float_tensor::<CubeBackend>(&self.losses));
        let counter = super::writable(handles.get_int_tensor::<CubeBackend>(&self.counter));
        let loss = into_contiguous(handles.get_float_tensor::<CubeBackend>(&self.loss));
        let client = losses.client.clone();
        let types = [
            burn::backend::cubecl::dtype_to_storage_type(losses.dtype),
            burn::backend::cubecl::dtype_to_storage_type(counter.dtype),
        ];
        kernel::tally_kernel::launch(
            &client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(1),
            losses.clone().into_tensor_arg(),
            counter.clone().into_tensor_arg(),
            loss.into_tensor_arg(),
            types,
        );
        handles.register_float_tensor::<CubeBackend>(&self.new_losses.id, losses);
        handles.register_int_tensor::<CubeBackend>(&self.new_counter.id, counter);
        Ok(())
    }
}

/// `losses` `[S]` with `loss` `[1]` added at `counter` `[1]`, and the counter plus one, in
/// one kernel, written into their own buffers where they have no other owner. The tensors must
/// be on a device where [`super::available`] holds.
pub fn tally(
    losses: Tensor<1>,
    counter: Tensor<1, Int>,
    loss: Tensor<1>,
) -> (Tensor<1>, Tensor<1, Int>) {
    let (losses, counter, loss) = (
        super::primitive(losses),
        super::int_primitive(counter),
        super::primitive(loss),
    );
    let outputs = [
        (losses.shape.clone(), None),
        (Shape::new([1]), Some(counter.dtype)),
    ];
    let [losses, counter] = super::register(
        "mlpc_tally",
        [losses, counter, loss],
        outputs,
        |[losses, counter, loss], [new_losses, new_counter]| Tally {
            losses,
            counter,
            loss,
            new_losses,
            new_counter,
        },
    );
    (
        Tensor::from_primitive::<burn::backend::Cube>(losses),
        Tensor::from_primitive::<burn::backend::Cube>(counter),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::wgpu_device;
    use super::*;

    /// Three tallies on wgpu: each loss lands in the slot the counter names, and the counter
    /// advances by one each time; a counter whose buffer is shared (a clone is kept) is
    /// advanced in a copy, the clone unchanged.
    #[test]
    fn a_tally_adds_the_loss_at_the_counter_and_advances_it() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let mut losses = Tensor::<1>::from_floats([10.0, 20.0, 30.0, 40.0], &device);
        let mut counter = Tensor::<1, Int>::from_ints([1], &device);
        for loss in [0.5, 0.25, 2.0] {
            let loss = Tensor::<1>::from_floats([loss], &device);
            (losses, counter) = tally(losses, counter, loss);
        }
        let values = losses.into_data().try_to_vec::<f32>().expect("f32");
        assert_eq!(values, [10.0, 20.5, 30.25, 42.0]);
        let kept = counter.clone();
        let (_, advanced) = tally(
            Tensor::<1>::zeros([5], &device),
            counter,
            Tensor::<1>::from_floats([1.0], &device),
        );
        let read = |tensor: Tensor<1, Int>| tensor.into_data().convert::<i64>().try_to_vec::<i64>();
        assert_eq!(read(advanced).expect("ints"), [5]);
        assert_eq!(read(kept).expect("ints"), [4]);
    }
}
