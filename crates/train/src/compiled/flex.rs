//! The CPU step's own loops' view of flex tensors: which tensors they may read and write
//! ([`flex_f32`], [`row_after_row`]) and the flex tensor under a burn tensor ([`primitive`]).
//! [`super::product`], [`super::descent`] and [`super::rows`] read and write flex's storage
//! directly; anything these checks turn down goes to burn's own operations.

use burn::backend::{DispatchDevice, Flex};
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;

/// Whether `tensor` is an f32 tensor on flex (not autodiff): one whose storage the CPU step's
/// own loops may read ([`FlexTensor::storage`]).
pub fn flex_f32(tensor: &Tensor<2>) -> bool {
    matches!(tensor.device().as_dispatch(), DispatchDevice::Flex(_)) && tensor.dtype() == DType::F32
}

/// The flex tensor of a tensor that [`flex_f32`] accepted.
pub fn primitive(tensor: Tensor<2>) -> FlexTensor {
    match tensor.try_into_primitive::<Flex>() {
        Ok(primitive) => primitive,
        Err(_) => unreachable!("flex tensors without autodiff (checked) are flex primitives"),
    }
}

/// Whether a flex tensor's values are its whole storage, one row after another.
pub fn row_after_row(tensor: &FlexTensor) -> bool {
    let layout = tensor.layout();
    layout.is_contiguous()
        && layout.start_offset() == 0
        && tensor.storage::<f32>().len() == layout.shape().num_elements()
}
