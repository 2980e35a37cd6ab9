//! HiResCAM (Draelos & Carin 2020), which is also the LayerCAM paper's "LayerCAM-normal" ablation
//! (Tables 12–13): the same formula under two names.

use ndarray::{Array2, ArrayView3};

use super::{Reduce, relu_weighted_sum};
use crate::Result;

/// M = ReLU(Σ_k g_k ⊙ A_k): each location's activations weighted by their own raw gradients, so
/// negative gradients subtract. Summed over the channels this is exactly the gradient of the class
/// score with respect to a scaling of each location, which is HiResCAM's faithfulness argument.
pub fn hirescam(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, reduce: Reduce) -> Result<Array2<f32>> {
    relu_weighted_sum(activation, gradient, reduce, |_, a, g| g * a)
}
