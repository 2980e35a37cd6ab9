//! EigenCAM (Muhammad & Yeasin 2020) and EigenGradCAM: a layer's map as the first principal
//! component of its activations (or of the gradient-weighted activations), found by an SVD.

use nalgebra::{DMatrix, SVD};
use ndarray::{Array2, ArrayView3};

use super::{Reduce, hirescam};
use crate::{Error, Result, float};

/// Sweeps of the SVD's implicit-shift QR before it is given up on (it converges in a few per
/// singular value; the cap only guards against a hang).
const MAX_SVD_ITERATIONS: usize = 100_000;

/// M = ReLU(first principal component of A): the direction in channel space along which the
/// locations vary most, whatever the class (EigenCAM reads no gradient).
pub fn eigencam(activation: ArrayView3<f32>) -> Result<Array2<f32>> {
    Ok(principal_projection(activation)?.mapv_into(float::relu))
}

/// M = ReLU(first principal component of g ⊙ A): EigenCAM of the terms HiResCAM adds up, so the
/// class decides which variation counts.
pub fn eigengradcam(activation: ArrayView3<f32>, gradient: ArrayView3<f32>) -> Result<Array2<f32>> {
    hirescam(activation, gradient, Reduce::Principal)
}

/// pytorch-grad-cam's `get_2d_projection_with_sign_correction`: the `[C, H, W]` tensor as an
/// (H·W)×C matrix, each channel's column centred on its mean, projected on its first right singular
/// vector; the projection negated when |min| > |max|, since an SVD's signs are arbitrary (the
/// library's `get_2d_projection`, which EigenCAM calls, keeps whatever sign LAPACK returns). In f64.
pub fn principal_projection(tensor: ArrayView3<f32>) -> Result<Array2<f32>> {
    let (channels, height, width) = tensor.dim();
    let locations = height * width;
    // Column-major (H·W)×C: column k is channel k's plane, as the tensor stores it.
    let values: Vec<f64> = tensor.as_standard_layout().iter().map(|&v| f64::from(v)).collect();
    let mut matrix = DMatrix::from_column_slice(locations, channels, &values);
    for mut column in matrix.column_iter_mut() {
        let mean = column.mean();
        column.add_scalar_mut(-mean);
    }
    let svd = SVD::try_new(matrix.clone(), false, true, f64::EPSILON, MAX_SVD_ITERATIONS)
        .ok_or_else(|| Error::Runtime(format!("the SVD of a {locations}×{channels} matrix did not converge")))?;
    let v_t = svd.v_t.as_ref().expect("asked for V");
    let first = svd.singular_values.argmax().0;
    let projection = &matrix * v_t.row(first).transpose();
    let (min, max) = (projection.min(), projection.max());
    let sign = if min.abs() > max.abs() { -1.0 } else { 1.0 };
    Ok(Array2::from_shape_fn((height, width), |(y, x)| (sign * projection[y * width + x]) as f32))
}
