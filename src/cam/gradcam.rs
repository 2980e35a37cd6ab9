//! Grad-CAM (Selvaraju et al. 2017; Eq. 3 of the LayerCAM paper).

use ndarray::{Array2, ArrayView2, ArrayView3};

use super::{Reduce, plane_sum, relu_weighted_sum};
use crate::Result;

/// M = ReLU(Σ_k w_k A_k) with w_k = mean_ij g_k: one weight per channel.
pub fn gradcam(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    let weights: Vec<f32> = gradient.outer_iter().map(mean).collect();
    relu_weighted_sum(activation, gradient, reduce, |k, a, _| weights[k] * a)
}

fn mean(plane: ArrayView2<f32>) -> f32 {
    plane_sum(plane) / plane.len() as f32
}
