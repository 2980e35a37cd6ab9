//! LayerCAM (Jiang et al. 2021, Eq. 6–8). Its "normal" ablation, the raw gradient as the weight,
//! is HiResCAM's map ([`super::hirescam`]).

use ndarray::{Array2, ArrayView3};

use super::{Reduce, relu_weighted_sum};
use crate::{Result, float};

/// M = ReLU(Σ_k ReLU(g_k) ⊙ A_k): every location weighted by its own positive gradient (Eq. 6–8),
/// which keeps shallow layers from being drowned by background that one channel weight cannot tell apart.
pub fn layercam(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    relu_weighted_sum(activation, gradient, reduce, |_, a, g| float::relu(g) * a)
}
