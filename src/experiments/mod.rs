//! The paper's experiments: the engine gives maps, an experiment turns them into numbers. The page
//! and the command line call the same code.

pub mod confidence;
pub mod deletion;
pub mod localize;
pub mod occlusion;
// Its sparse solver (faer) is a native dependency: the page does not run ROAD.
#[cfg(not(target_arch = "wasm32"))]
pub mod road;
pub mod segment;

use ndarray::{Array2, ArrayView2};

use crate::cam;

/// A map as the experiments score it: normalised by its maximum and resized (bilinearly) to the
/// model's input, `(height, width)`; all zero for a map with no positive value.
pub fn at_input(map: ArrayView2<f32>, (height, width): (usize, usize)) -> Array2<f32> {
    cam::upsample_bilinear(cam::normalize_max(map).view(), height, width)
}
