//! Grad-CAM++ (Chattopadhyay et al. 2018; Eq. 4–5 of the LayerCAM paper), exactly as
//! pytorch-grad-cam 1.5.7 computes it, so our maps can be checked against its outputs.

use ndarray::{Array2, ArrayView2, ArrayView3};

use super::{Reduce, plane_sum, relu_weighted_sum};
use crate::{Result, float};

/// pytorch-grad-cam's guard against a zero denominator.
const EPS: f32 = 1e-6;

/// M = ReLU(Σ_k w_k A_k) with w_k = Σ_ij α_kij · ReLU(g_kij),
/// α_kij = g² / (2g² + (Σ_ab A_kab) · g³ + 1e-6), and α = 0 where g = 0.
pub fn gradcam_pp(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    let weights: Vec<f32> =
        activation.outer_iter().zip(gradient.outer_iter()).map(|(a_k, g_k)| channel_weight(plane_sum(a_k), g_k)).collect();
    relu_weighted_sum(activation, gradient, reduce, |k, a, _| weights[k] * a)
}

/// w_k for one channel whose activations sum to `activation_sum`.
fn channel_weight(activation_sum: f32, g_k: ArrayView2<f32>) -> f32 {
    let weight_at = |g: f32| {
        // At g = 0 the formula gives 0/1e-6 = 0 already, unless Σ A_k is not finite (∞·0 = NaN);
        // the library zeroes α there explicitly, and so do we.
        if g == 0.0 {
            return 0.0;
        }
        let g2 = g * g;
        let alpha = g2 / (2.0 * g2 + activation_sum * (g2 * g) + EPS);
        float::relu(g) * alpha
    };
    plane_sum(g_k.mapv(weight_at).view())
}
