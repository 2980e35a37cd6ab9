//! The paper's experiments: the engine gives maps, an experiment turns them into numbers. The page
//! and the command line call the same code.

pub mod deletion;
pub mod localize;
pub mod occlusion;
pub mod segment;

use ndarray::{Array2, ArrayView2};

use crate::cam;

/// A map as the experiments score it: normalised by its maximum and resized (bilinearly) to the
/// model's input, `(height, width)`; all zero for a map with no positive value.
pub fn at_input(map: ArrayView2<f32>, (height, width): (usize, usize)) -> Array2<f32> {
    cam::upsample_bilinear(cam::normalize_max(map).view(), height, width)
}
