//! The CAM maths on the CPU: pure functions over ndarray views, the reference every other backend
//! (the WGSL kernels) is tested against.
//!
//! Per layer, an activation A and its gradient g = ∂y^c/∂A (both [C, H, W]) give a raw map M [H, W]
//! ([`raw_map`], one file per [`Method`]). Then, as in the paper (Eq. 9 and §4.1): each fused
//! stage's map is [`scale_tanh`]-ed (the shallow ones, [`stages`]) or [`normalize_max`]-ed (the deep
//! ones) → [`upsample_bilinear`] to the image → [`fuse_max`] across stages → [`largest_box`] and
//! [`overlay`] for display.

mod bbox;
mod colormap;
mod fusion;
mod gradcam;
mod gradcam_pp;
mod layercam;
pub mod stages;

pub use bbox::{DEFAULT_BOX_THRESHOLD, largest_box};
pub use colormap::{Colormap, draw_box, overlay};
pub use fusion::{fuse_max, normalize_max, scale_tanh, upsample_bilinear};
pub use gradcam::gradcam;
pub use gradcam_pp::gradcam_pp;
pub use layercam::{layercam, layercam_normal};
pub use stages::{FuseChoice, Fusion, ScaleChoice};

use ndarray::{Array2, ArrayView2, ArrayView3, Zip};
use serde::{Deserialize, Serialize};

/// How a layer's activation and gradient become a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Method {
    /// Eq. 6–8: one weight per location, relu(g).
    LayerCam,
    /// The paper's ablation: the raw gradient g as the per-location weight.
    LayerCamNormal,
    /// Eq. 3: one weight per channel, the mean gradient.
    GradCam,
    /// Eq. 4–5, as pytorch-grad-cam 1.5.7 computes it.
    GradCamPlusPlus,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::LayerCam, Method::LayerCamNormal, Method::GradCam, Method::GradCamPlusPlus];

    /// The name used on the command line, in JSON and in the page.
    pub fn name(&self) -> &'static str {
        match self {
            Method::LayerCam => "layercam",
            Method::LayerCamNormal => "layercam-normal",
            Method::GradCam => "gradcam",
            Method::GradCamPlusPlus => "gradcam++",
        }
    }
}

crate::names::named!(Method, "method");

/// The raw (unnormalised, layer-resolution) map of `method` for one layer.
///
/// # Panics
/// If `activation` and `gradient` differ in shape: both come from our own engine, so a mismatch is a bug.
pub fn raw_map(method: Method, activation: ArrayView3<f32>, gradient: ArrayView3<f32>) -> Array2<f32> {
    match method {
        Method::LayerCam => layercam(activation, gradient),
        Method::LayerCamNormal => layercam_normal(activation, gradient),
        Method::GradCam => gradcam(activation, gradient),
        Method::GradCamPlusPlus => gradcam_pp(activation, gradient),
    }
}

/// The core every method shares (Eq. 2 and Eq. 8): M = ReLU(Σ_k w_k(g_kij) · A_kij), where
/// `weight(k, g_kij)` is the weight of channel k at a location whose gradient is g_kij.
/// Channel-wise methods ignore the gradient argument; LayerCAM ignores the channel.
fn relu_weighted_sum(activation: ArrayView3<f32>, gradient: ArrayView3<f32>, weight: impl Fn(usize, f32) -> f32) -> Array2<f32> {
    assert_eq!(activation.shape(), gradient.shape(), "the activation and its gradient must have the same [C, H, W] shape");
    let (_, height, width) = activation.dim();
    let mut map = Array2::<f32>::zeros((height, width));
    // One pass over the channels, each an [H, W] plane: cache-friendly, no [C, H, W] temporary.
    // Adding channel by channel in f32 is also the order of numpy's `sum(axis=1)`, so the maps
    // equal pytorch-grad-cam's bit for bit.
    for (k, (a_k, g_k)) in activation.outer_iter().zip(gradient.outer_iter()).enumerate() {
        Zip::from(&mut map).and(&a_k).and(&g_k).for_each(|m, &a, &g| *m += weight(k, g) * a);
    }
    map.mapv_inplace(|m| m.max(0.0));
    map
}

/// The largest value of a map, NaN ignored; −∞ for an empty map.
fn max_value(map: ArrayView2<f32>) -> f32 {
    map.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// Σ of one [H, W] plane, added up in f32 in the order numpy uses for a contiguous float32 array
/// (pairwise, 8 running sums below 128 values), so per-channel weights come out bit-equal to
/// pytorch-grad-cam's. This matters for Grad-CAM++: where Σ A_k < 0 its denominator
/// 2g² + (Σ A_k)·g³ nearly cancels, and summing in f64 instead moved the reference maps by up to
/// 4e-4 of their max.
fn plane_sum(plane: ArrayView2<f32>) -> f32 {
    let plane = plane.as_standard_layout();
    pairwise_sum(plane.as_slice().expect("a standard-layout array is contiguous"))
}

/// numpy's `pairwise_sum` for float32 (numpy/_core/src/umath/loops_utils.h.src).
fn pairwise_sum(values: &[f32]) -> f32 {
    const BLOCK: usize = 128;
    const UNROLL: usize = 8;
    let n = values.len();
    if n < UNROLL {
        values.iter().fold(0.0, |sum, &v| sum + v)
    } else if n <= BLOCK {
        let (lanes, rest) = values.split_at(n - n % UNROLL);
        let mut r = [0.0f32; UNROLL];
        for chunk in lanes.chunks_exact(UNROLL) {
            for (r, &v) in r.iter_mut().zip(chunk) {
                *r += v;
            }
        }
        let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        rest.iter().fold(sum, |sum, &v| sum + v)
    } else {
        // Split near the middle, at a multiple of the unroll width.
        let half = n / 2;
        let (left, right) = values.split_at(half - half % UNROLL);
        pairwise_sum(left) + pairwise_sum(right)
    }
}
