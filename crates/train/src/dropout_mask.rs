//! Dropout's masks (`Bernoulli(keep) / keep`), drawn quickly on the CPU and the same for both
//! steps.
//!
//! # Design
//! burn draws a dropout mask element by element through its generic Bernoulli sampler: for the
//! flagship (a `[64, 512]` mask a step) that was about a fifth of a CPU step's training thread,
//! as long as a product. On the CPU backends a mask here takes one draw of two numbers from the
//! device's seeded generator, which seed a SplitMix64 generator of our own
//! ([`mlpc_data::random::Random`]) that draws the mask's elements, 32 bits each, kept where
//! below `keep · 2³²`. The device's generator is seeded per epoch and advanced once per mask,
//! so a run repeats itself and a resumed run repeats an uninterrupted one; the compiled step
//! ([`crate::compiled::layer`]) and burn's autodiff (the network's dropout layers,
//! [`crate::network`]) draw their masks through this function, so both steps see the same masks
//! from the same seed. On a GPU a mask stays burn's draw on the device (the host's would be a
//! transfer a step), and a replayed step takes its masks from a pool drawn ahead
//! ([`crate::compiled::replay`]).

use burn::backend::DispatchDevice;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use mlpc_data::random::Random;

/// Dropout's mask for an input like `like`, on its device: each element `1 / keep` with
/// probability `keep`, else 0 (burn's `Bernoulli(keep) · (1 / keep)`, the scale multiplied in
/// as the mask is drawn on the CPU, so that `x · mask` is burn's `(x · bernoulli) · (1 / keep)`
/// to the bit).
pub fn scaled_mask(like: &Tensor<2>, keep: f64) -> Tensor<2> {
    let device = like.device();
    if !on_cpu(&device) {
        return like
            .random_like(Distribution::Bernoulli(keep))
            .mul_scalar(1.0 / keep);
    }
    let draws: Vec<f32> = Tensor::<1>::random([2], Distribution::Default, &device)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("two f32 values");
    let seed = (u64::from(draws[0].to_bits()) << 32) | u64::from(draws[1].to_bits());
    let shape = like.dims();
    // The scale as burn's `mul_scalar` takes it, in f32.
    let kept = (1.0 / keep) as f32;
    let values = mask_from_seed(seed, keep, kept, shape[0] * shape[1]);
    // In the input's own float type, as burn's draw is.
    Tensor::from_data(TensorData::new(values, shape), (&device, like.dtype()))
}

/// `count` mask values, each `kept` with probability `keep` (to 2⁻³²), else 0, drawn from
/// `seed`: each 64-bit draw gives two elements, its low 32 bits the first.
pub fn mask_from_seed(seed: u64, keep: f64, kept: f32, count: usize) -> Vec<f32> {
    let mut random = Random::new(seed);
    let threshold = (keep.clamp(0.0, 1.0) * 4_294_967_296.0) as u64;
    // `kept` or 0 by a mask of its bits rather than a branch, which a random mask would
    // mispredict at every few elements.
    let kept = kept.to_bits();
    let value = |bits: u64| f32::from_bits(kept & 0u32.wrapping_sub(u32::from(bits < threshold)));
    let mut values = vec![0.0f32; count];
    let mut pairs = values.chunks_exact_mut(2);
    for pair in &mut pairs {
        let word = random.next_u64();
        pair[0] = value(word & 0xFFFF_FFFF);
        pair[1] = value(word >> 32);
    }
    if let [last] = pairs.into_remainder() {
        *last = value(random.next_u64() & 0xFFFF_FFFF);
    }
    values
}

/// Whether `device` (or the device an autodiff device wraps) is a CPU backend's.
fn on_cpu(device: &Device) -> bool {
    matches!(
        device.as_dispatch().clone().inner(),
        DispatchDevice::Flex(_) | DispatchDevice::NdArray(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mask keeps about `keep` of its elements, 0s and 1s only; the same seed gives the
    /// same mask and another seed another. (From a seed, not through the device's generator,
    /// which is one per process and drawn from by tests running side by side.)
    #[test]
    fn masks_keep_their_share_and_repeat_from_a_seed() {
        for keep in [0.2, 0.5, 0.8] {
            let first = mask_from_seed(42, keep, 1.0, 64 * 513);
            assert_eq!(first, mask_from_seed(42, keep, 1.0, 64 * 513));
            assert!(first.iter().all(|&value| value == 0.0 || value == 1.0));
            let share = first.iter().sum::<f32>() as f64 / first.len() as f64;
            // 32,832 draws: a standard deviation of at most 0.0028.
            assert!((share - keep).abs() < 0.015, "keep {keep}: kept {share}");
            assert_ne!(first, mask_from_seed(43, keep, 1.0, 64 * 513));
        }
        assert!(
            mask_from_seed(7, 1.0, 1.0, 1000)
                .iter()
                .all(|&value| value == 1.0)
        );
        assert!(
            mask_from_seed(7, 0.0, 1.0, 1000)
                .iter()
                .all(|&value| value == 0.0)
        );
    }

    /// Each draw gives two elements, its low half first, and an odd count ends on a low half:
    /// the element-by-element definition, kept so that a seed gives the masks it gave.
    #[test]
    fn each_draw_gives_two_elements_low_half_first() {
        let (keep, kept, count) = (0.6, 1.5f32, 1001usize);
        let threshold = (keep * 4_294_967_296.0) as u64;
        let mut random = Random::new(11);
        let expected: Vec<f32> = (0..count.div_ceil(2))
            .flat_map(|_| {
                let word = random.next_u64();
                [word & 0xFFFF_FFFF, word >> 32]
            })
            .take(count)
            .map(|bits| if bits < threshold { kept } else { 0.0 })
            .collect();
        assert_eq!(mask_from_seed(11, keep, kept, count), expected);
    }

    /// On flex a mask has its input's shape and float type and holds 0s and `1 / keep`s.
    #[test]
    fn a_mask_is_shaped_and_typed_as_its_input() {
        let like = Tensor::<2>::zeros([9, 7], &Device::flex());
        let mask = scaled_mask(&like, 0.5);
        assert_eq!(mask.dims(), [9, 7]);
        assert_eq!(mask.dtype(), like.dtype());
        let values = mask.into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|&value| value == 0.0 || value == 2.0));
    }
}
