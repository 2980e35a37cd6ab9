//! Deletion and insertion (Petsiuk et al., RISE, 2018; the metric pytorch-grad-cam and torch-cam
//! ship): take the pixels in the order of a map, most important first, and in 20 steps remove them
//! (set them to the preprocessing's mean colour) or reveal them (over a blurred copy). The class's
//! probability after each step draws a curve; a good map makes deletion's area small and
//! insertion's large.

use ndarray::{Array2, Array4, ArrayView2, ArrayView4, Axis};
use serde::{Deserialize, Serialize};

#[cfg(feature = "engine")]
use crate::{Result, explain::softmax, runtime::Explainer};

/// How many steps the pixels are taken in (the curve has one point more: nothing taken yet).
pub const STEPS: usize = 20;

/// σ in pixels of the blur insertion starts from (RISE's kernel: 11 pixels wide, σ = 5).
pub const BLUR_SIGMA: f32 = 5.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the image, the most important pixels set to the mean colour first.
    Deletion,
    /// From a blurred copy, the most important pixels of the image revealed first.
    Insertion,
}

/// Pixel indices (row-major) by decreasing value of `map`; equal values keep row-major order.
pub fn order(map: ArrayView2<f32>) -> Vec<usize> {
    let values: Vec<f32> = map.iter().copied().collect();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
}

/// The input after `step` of [`STEPS`]: the first `step / STEPS` of `order`'s pixels from `to`
/// (every channel), the others from `from`.
pub fn step_input(from: ArrayView4<f32>, to: ArrayView4<f32>, order: &[usize], step: usize) -> Array4<f32> {
    let width = from.dim().3;
    let taken = order.len() * step / STEPS;
    let mut input = from.to_owned();
    for &pixel in &order[..taken] {
        let (y, x) = (pixel / width, pixel % width);
        for c in 0..input.dim().1 {
            input[[0, c, y, x]] = to[[0, c, y, x]];
        }
    }
    input
}

/// Where a direction starts and what it moves to: deletion goes from `input` to the mean colour
/// (0 after normalisation), insertion from the blurred input to `input`.
pub fn endpoints(input: ArrayView4<f32>, direction: Direction) -> (Array4<f32>, Array4<f32>) {
    match direction {
        Direction::Deletion => (input.to_owned(), Array4::zeros(input.dim())),
        Direction::Insertion => (blur(input, BLUR_SIGMA), input.to_owned()),
    }
}

/// Area under a curve of [`STEPS`] + 1 points spread evenly over [0, 1], by trapezoids.
pub fn area(curve: &[f32]) -> f32 {
    let width = 1.0 / (curve.len() - 1) as f32;
    curve.windows(2).map(|pair| (pair[0] + pair[1]) / 2.0 * width).sum()
}

/// Each channel blurred by a Gaussian of `sigma` pixels (kernel ±3σ, edges repeated).
pub fn blur(input: ArrayView4<f32>, sigma: f32) -> Array4<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let weights: Vec<f32> = (-radius..=radius).map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = weights.iter().sum();
    let weights: Vec<f32> = weights.iter().map(|w| w / total).collect();
    let along = |plane: ArrayView2<f32>, axis: usize| {
        let len = plane.len_of(Axis(axis)) as isize;
        Array2::from_shape_fn(plane.dim(), |(y, x)| {
            let at = if axis == 0 { y } else { x } as isize;
            weights
                .iter()
                .enumerate()
                .map(|(k, w)| {
                    let source = (at + k as isize - radius).clamp(0, len - 1) as usize;
                    w * if axis == 0 { plane[[source, x]] } else { plane[[y, source]] }
                })
                .sum()
        })
    };
    let mut blurred = input.to_owned();
    for mut plane in blurred.index_axis_mut(Axis(0), 0).outer_iter_mut() {
        let rows = along(plane.view(), 1);
        plane.assign(&along(rows.view(), 0));
    }
    blurred
}

/// The class's probability after each step, `map` (at the input's size) giving the order.
#[cfg(feature = "engine")]
pub fn curve(explainer: &Explainer, input: ArrayView4<f32>, map: ArrayView2<f32>, class: usize, direction: Direction) -> Result<Vec<f32>> {
    let (from, to) = endpoints(input, direction);
    let order = order(map);
    (0..=STEPS)
        .map(|step| {
            let logits = explainer.forward(step_input(from.view(), to.view(), &order, step).view())?.logits;
            Ok(softmax(&logits)[class])
        })
        .collect()
}
