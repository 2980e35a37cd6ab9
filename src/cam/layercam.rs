//! LayerCAM (Jiang et al. 2021, Eq. 6–8) and its "normal" ablation.

use ndarray::{Array2, ArrayView3};

use super::relu_weighted_sum;

/// M = ReLU(Σ_k ReLU(g_k) ⊙ A_k): every location weighted by its own positive gradient (Eq. 6–8),
/// which keeps shallow layers from being drowned by background that one channel weight cannot tell apart.
pub fn layercam(activation: ArrayView3<f32>, gradient: ArrayView3<f32>) -> Array2<f32> {
    relu_weighted_sum(activation, gradient, |_, g| g.max(0.0))
}

/// M = ReLU(Σ_k g_k ⊙ A_k): the raw gradient as the weight (the paper's LayerCAM-normal ablation,
/// Tables 12–13), where negative gradients subtract from the map.
pub fn layercam_normal(activation: ArrayView3<f32>, gradient: ArrayView3<f32>) -> Array2<f32> {
    relu_weighted_sum(activation, gradient, |_, g| g)
}
