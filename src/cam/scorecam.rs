//! Score-CAM (Wang et al. 2020), as pytorch-grad-cam 1.5.7 computes it: each channel's weight is
//! how much the class's logit rises when the input is seen through that channel's activation as a
//! mask. The weights need one forward pass per channel ([`crate::runtime::Explainer::masked_logits`]
//! runs them in batches); this module holds the maths on either side of those passes.

use std::ops::Range;

use ndarray::{Array2, Array3, Array4, ArrayView1, ArrayView2, ArrayView3, ArrayView4, Axis, Zip};

use super::{Reduce, relu_weighted_sum};
use crate::Result;

/// The library's guard against a constant channel in the min-max normalisation of a mask.
const EPS: f32 = 1e-8;

/// The masks m_k of `channels`: each activation plane upsampled to the input's `size`
/// (bilinear, align_corners=True, as torch's `UpsamplingBilinear2d`), then min-max normalised to
/// [0, 1]: (m − min) / (max − min + 1e-8). `[channels, H, W]`.
pub fn channel_masks(activation: ArrayView3<f32>, channels: Range<usize>, (height, width): (usize, usize)) -> Array3<f32> {
    let mut masks = Array3::zeros((channels.len(), height, width));
    for (mut mask, k) in masks.outer_iter_mut().zip(channels) {
        let upsampled = upsample_align_corners(activation.index_axis(Axis(0), k), height, width);
        let (min, max) = upsampled.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        Zip::from(&mut mask).and(&upsampled).for_each(|m, &v| *m = (v - min) / (max - min + EPS));
    }
    masks
}

/// The input `[1, C, H, W]` seen through each mask `[K, H, W]`: `[K, C, H, W]`, x ⊙ m_k in every
/// input channel.
pub fn masked_inputs(input: ArrayView4<f32>, masks: ArrayView3<f32>) -> Array4<f32> {
    let image = input.index_axis(Axis(0), 0);
    let (channels, height, width) = image.dim();
    Array4::from_shape_fn((masks.dim().0, channels, height, width), |(k, c, y, x)| image[[c, y, x]] * masks[[k, y, x]])
}

/// M = ReLU(Σ_k w_k A_k) with w = softmax_k(s): `scores` holds s_k, the class's logit on the input
/// masked by channel k ([`channel_masks`]).
pub fn scorecam(activation: ArrayView3<f32>, scores: ArrayView1<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    assert_eq!(scores.len(), activation.dim().0, "one score per channel");
    let weights = softmax(scores);
    // Score-CAM reads no gradient: the activation stands in for it, unread.
    relu_weighted_sum(activation, activation, reduce, |k, a, _| weights[k] * a)
}

/// softmax over the channels, in f64 (the scores are logits: a few units apart, over hundreds of channels).
fn softmax(scores: ArrayView1<f32>) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = scores.iter().map(|&s| f64::from(s - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / total) as f32).collect()
}

/// Bilinear resize with the corners aligned (torch's `align_corners=True`): output pixel `d`
/// samples the source at `d · (in − 1) / (out − 1)`.
fn upsample_align_corners(map: ArrayView2<f32>, out_h: usize, out_w: usize) -> Array2<f32> {
    let (in_h, in_w) = map.dim();
    let (rows, cols) = (corner_taps(in_h, out_h), corner_taps(in_w, out_w));
    Array2::from_shape_fn((out_h, out_w), |(y, x)| {
        let ((y0, y1, fy), (x0, x1, fx)) = (rows[y], cols[x]);
        let top = map[[y0, x0]] * (1.0 - fx) + map[[y0, x1]] * fx;
        let bottom = map[[y1, x0]] * (1.0 - fx) + map[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// Per output index: the two source pixels it blends and the weight of the second.
fn corner_taps(in_len: usize, out_len: usize) -> Vec<(usize, usize, f32)> {
    let scale = if out_len > 1 { (in_len - 1) as f32 / (out_len - 1) as f32 } else { 0.0 };
    (0..out_len)
        .map(|d| {
            let src = d as f32 * scale;
            let lo = (src.floor() as usize).min(in_len - 1);
            let hi = (lo + 1).min(in_len - 1);
            (lo, hi, src - lo as f32)
        })
        .collect()
}
