//! XGradCAM (Fu et al. 2020, "Axiom-based Grad-CAM"), as pytorch-grad-cam 1.5.7 computes it.

use ndarray::{Array2, ArrayView3, Zip};

use super::{Reduce, pairwise_sum, plane_sum, relu_weighted_sum};
use crate::Result;

/// pytorch-grad-cam's guard against a zero Σ A_k.
const EPS: f32 = 1e-7;

/// M = ReLU(Σ_k w_k A_k) with w_k = Σ_ij g_kij · A_kij / (Σ_ab A_kab + 1e-7): the gradient averaged
/// with the activation as its weight, which makes the map satisfy the paper's sensitivity and
/// conservation axioms.
pub fn xgradcam(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    let weights: Vec<f32> = activation
        .outer_iter()
        .zip(gradient.outer_iter())
        .map(|(a_k, g_k)| {
            // The library divides each product before it adds them up; so do we, in numpy's order.
            let total = plane_sum(a_k) + EPS;
            let mut terms = Vec::with_capacity(a_k.len());
            Zip::from(a_k).and(g_k).for_each(|&a, &g| terms.push(g * a / total));
            pairwise_sum(&terms)
        })
        .collect();
    relu_weighted_sum(activation, gradient, reduce, |k, a, _| weights[k] * a)
}
