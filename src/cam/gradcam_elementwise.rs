//! pytorch-grad-cam's `GradCAMElementWise`: Grad-CAM's product taken per location, its negative
//! parts dropped before the channels are added.

use ndarray::{Array2, ArrayView3};

use super::{Reduce, relu_weighted_sum};
use crate::{Result, float};

/// M = ReLU(Σ_k ReLU(g_k ⊙ A_k)): a location counts a channel only where gradient and activation
/// agree in sign, so no channel can cancel another (the outer ReLU matters only to the projection
/// of `--eigen-smooth`).
pub fn gradcam_elementwise(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    relu_weighted_sum(activation, gradient, reduce, |_, a, g| float::relu(g * a))
}
