//! Average drop and increase in confidence (Chattopadhay et al., Grad-CAM++, WACV 2018, §5.1), as
//! torch-cam computes them (`torchcam/metrics.py`, `ClassificationMetric`): the input multiplied
//! by the explanation map, classified again. A map that keeps what the class needs keeps its
//! probability: the average drop, mean of max(0, p − p_E) / p, is low (better), and the increase
//! in confidence, the share of images where p_E > p, is high (better).

use ndarray::{Array2, Array4, ArrayView2, ArrayView4, Axis, Zip};

use crate::cam;
#[cfg(feature = "engine")]
use crate::{Result, explain::softmax, runtime::Explainer};

/// torch-cam's guard in the drop's denominator, against a class of probability 0.
const EPSILON: f32 = 1e-7;

/// A stage's explanation map as torch-cam makes it: min-max normalised at the layer's resolution
/// (torch-cam's `_normalize`, so a map's floor becomes 0 and the input is dimmed where the map is
/// weakest), then upsampled bilinearly to `size`. A flat map has nothing to show: all zero.
pub fn explanation_map(map: ArrayView2<f32>, (height, width): (usize, usize)) -> Array2<f32> {
    let min = map.iter().copied().fold(f32::INFINITY, f32::min);
    let floored = map.mapv(|m| m - min);
    cam::upsample_bilinear(cam::normalize_max(floored.view()).view(), height, width)
}

/// The input `[1, C, H, W]` multiplied by `explanation` `[H, W]` in every channel. In the
/// normalised input 0 is the preprocessing's mean colour, so where the map is 0 the photo fades
/// to the mean, as torch-cam's `cam * input_tensor` does.
pub fn explained_input(input: ArrayView4<f32>, explanation: ArrayView2<f32>) -> Array4<f32> {
    let mut explained = input.to_owned();
    for mut channel in explained.index_axis_mut(Axis(0), 0).outer_iter_mut() {
        Zip::from(&mut channel).and(explanation).for_each(|v, &e| *v *= e);
    }
    explained
}

/// max(0, p − p_E) / p: how much of the class's probability `p` the explained input loses.
pub fn drop(p: f32, explained: f32) -> f32 {
    (p - explained).max(0.0) / (p + EPSILON)
}

/// Whether the explained input is more confident than the photo.
pub fn increase(p: f32, explained: f32) -> bool {
    explained > p
}

/// The class's probability on the input multiplied by `explanation` (at the input's size).
#[cfg(feature = "engine")]
pub fn explained_probability(explainer: &Explainer, input: ArrayView4<f32>, explanation: ArrayView2<f32>, class: usize) -> Result<f32> {
    let logits = explainer.forward(explained_input(input, explanation).view())?.logits;
    Ok(softmax(&logits)[class])
}
