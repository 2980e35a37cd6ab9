//! The CAM maths on the CPU: pure functions over ndarray views, the reference every other backend
//! (the WGSL kernels) is tested against.
//!
//! Per layer, an activation A and its gradient g = ∂y^c/∂A (both [C, H, W]) give a raw map M [H, W]
//! ([`raw_map`], one file per [`Method`]). Then, as in the paper (Eq. 9 and §4.1): each fused
//! stage's map is [`scale_tanh`]-ed (the shallow ones, [`stages`]) or [`normalize_max`]-ed (the deep
//! ones) → [`upsample_bilinear`] to the image → [`fuse_max`] across stages → [`largest_box`] and
//! [`overlay`] for display.
//!
//! Every method is defined as pytorch-grad-cam 1.5.7 defines it (its raw map, before the library's
//! min-max scaling); the tests compare each with the library's own definition in float64.

mod bbox;
mod colormap;
mod eigencam;
mod fusion;
mod gradcam;
mod gradcam_elementwise;
mod gradcam_pp;
mod hirescam;
mod layercam;
pub mod scorecam;
pub mod smoothing;
pub mod stages;
mod xgradcam;

pub use bbox::{DEFAULT_BOX_THRESHOLD, largest_box};
pub use colormap::{Colormap, Overlay, draw_box, overlay};
pub use eigencam::{eigencam, eigengradcam, principal_projection};
pub use fusion::{fuse_max, normalize_max, scale_tanh, upsample_bilinear};
pub use gradcam::gradcam;
pub use gradcam_elementwise::gradcam_elementwise;
pub use gradcam_pp::gradcam_pp;
pub use hirescam::hirescam;
pub use layercam::layercam;
pub use scorecam::scorecam;
pub use smoothing::Smoothing;
pub use stages::{FuseChoice, Fusion, ScaleChoice};
pub use xgradcam::xgradcam;

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayView3, Zip};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, float};

/// How a layer's activation and gradient become a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Method {
    /// Eq. 6–8: one weight per location, relu(g).
    LayerCam,
    /// The paper's ablation: the raw gradient g as the per-location weight (the same map as HiResCAM).
    LayerCamNormal,
    /// Eq. 3: one weight per channel, the mean gradient.
    GradCam,
    /// Eq. 4–5, as pytorch-grad-cam 1.5.7 computes it.
    GradCamPlusPlus,
    /// Draelos & Carin 2020: relu(Σ_k g_k ⊙ A_k), the gradient times the activation at each location.
    HiResCam,
    /// pytorch-grad-cam's element-wise Grad-CAM: relu(Σ_k relu(g_k ⊙ A_k)).
    GradCamElementWise,
    /// Fu et al. 2020: one weight per channel, Σ g·A / Σ A.
    XGradCam,
    /// Muhammad & Yeasin 2020: the activations' first principal component; no gradient.
    EigenCam,
    /// EigenCAM of g ⊙ A: the principal component of the gradient-weighted activations.
    EigenGradCam,
    /// Wang et al. 2020: one weight per channel from forward passes of the input masked by that
    /// channel; no gradient.
    ScoreCam,
}

impl Method {
    /// Every method, the paper's four first (the order of the page's rows and of `--method every`).
    pub const ALL: [Method; 10] = [
        Method::LayerCam,
        Method::LayerCamNormal,
        Method::GradCam,
        Method::GradCamPlusPlus,
        Method::HiResCam,
        Method::GradCamElementWise,
        Method::XGradCam,
        Method::EigenCam,
        Method::EigenGradCam,
        Method::ScoreCam,
    ];

    /// The LayerCAM paper's four (`--method all`, the page's default rows).
    pub const PAPER: [Method; 4] = [Method::LayerCam, Method::LayerCamNormal, Method::GradCam, Method::GradCamPlusPlus];

    /// The name used on the command line, in JSON and in the page.
    pub fn name(&self) -> &'static str {
        match self {
            Method::LayerCam => "layercam",
            Method::LayerCamNormal => "layercam-normal",
            Method::GradCam => "gradcam",
            Method::GradCamPlusPlus => "gradcam++",
            Method::HiResCam => "hirescam",
            Method::GradCamElementWise => "gradcam-elementwise",
            Method::XGradCam => "xgradcam",
            Method::EigenCam => "eigencam",
            Method::EigenGradCam => "eigengradcam",
            Method::ScoreCam => "scorecam",
        }
    }

    /// Whether its map needs forward passes of its own (Score-CAM: one per channel), beyond the
    /// forward and backward every method shares.
    pub fn needs_forwards(&self) -> bool {
        *self == Method::ScoreCam
    }

    /// Whether shaders/raw_map.wgsl computes it (the others run on the CPU even with a GPU).
    pub fn has_kernel(&self) -> bool {
        !matches!(self, Method::EigenCam | Method::EigenGradCam | Method::ScoreCam)
    }
}

crate::names::named!(Method, "method");

/// One layer's tensors for one class: everything a method reads.
#[derive(Clone, Copy, Debug)]
pub struct LayerTensors<'a> {
    /// A, `[C, H, W]`.
    pub activation: ArrayView3<'a, f32>,
    /// g = ∂y^c/∂A, `[C, H, W]`.
    pub gradient: ArrayView3<'a, f32>,
    /// Score-CAM's s_k, one per channel ([`scorecam`]); None where its forward passes were not run.
    pub scores: Option<ArrayView1<'a, f32>>,
}

impl<'a> LayerTensors<'a> {
    pub fn new(activation: ArrayView3<'a, f32>, gradient: ArrayView3<'a, f32>) -> Self {
        LayerTensors { activation, gradient, scores: None }
    }
}

/// How a location's per-channel terms become one value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reduce {
    /// Their sum: each method's own definition.
    #[default]
    Sum,
    /// Their projection on the first principal component of all locations' terms
    /// ([`principal_projection`]): pytorch-grad-cam's `eigen_smooth`.
    Principal,
}

/// The raw (unnormalised, layer-resolution) map of `method` for one layer.
///
/// # Errors
/// Score-CAM without its scores; an SVD that does not converge ([`principal_projection`]).
///
/// # Panics
/// If the activation and gradient differ in shape: both come from our own engine, so a mismatch is a bug.
pub fn raw_map(method: Method, layer: LayerTensors, reduce: Reduce) -> Result<Array2<f32>> {
    let LayerTensors { activation: a, gradient: g, scores } = layer;
    match method {
        Method::LayerCam => layercam(a, g, reduce),
        Method::LayerCamNormal | Method::HiResCam => hirescam(a, g, reduce),
        Method::GradCam => gradcam(a, g, reduce),
        Method::GradCamPlusPlus => gradcam_pp(a, g, reduce),
        Method::GradCamElementWise => gradcam_elementwise(a, g, reduce),
        Method::XGradCam => xgradcam(a, g, reduce),
        Method::EigenCam => eigencam(a),
        Method::EigenGradCam => eigengradcam(a, g),
        Method::ScoreCam => {
            let scores = scores.ok_or_else(|| Error::Input("Score-CAM's map needs its masked forward passes (the scores)".into()))?;
            scorecam(a, scores, reduce)
        }
    }
}

/// The core every method shares (Eq. 2 and Eq. 8): M = ReLU(Σ_k term(k, A_kij, g_kij)), the
/// channels' terms at each location summed ([`Reduce::Sum`]) or projected on their first principal
/// component ([`Reduce::Principal`]). A channel-wise method's term is w_k · A_kij; LayerCAM's
/// relu(g_kij) · A_kij.
fn relu_weighted_sum(
    activation: ArrayView3<f32>,
    gradient: ArrayView3<f32>,
    reduce: Reduce,
    term: impl Fn(usize, f32, f32) -> f32,
) -> Result<Array2<f32>> {
    assert_eq!(activation.shape(), gradient.shape(), "the activation and its gradient must have the same [C, H, W] shape");
    let (_, height, width) = activation.dim();
    let mut map = match reduce {
        Reduce::Sum => {
            let mut map = Array2::<f32>::zeros((height, width));
            // One pass over the channels, each an [H, W] plane: cache-friendly, no [C, H, W]
            // temporary. Adding channel by channel in f32 is also the order of numpy's
            // `sum(axis=1)`, so the maps equal pytorch-grad-cam's bit for bit.
            for (k, (a_k, g_k)) in activation.outer_iter().zip(gradient.outer_iter()).enumerate() {
                Zip::from(&mut map).and(&a_k).and(&g_k).for_each(|m, &a, &g| *m += term(k, a, g));
            }
            map
        }
        Reduce::Principal => {
            let mut terms = activation.to_owned();
            for (k, (mut t_k, g_k)) in terms.outer_iter_mut().zip(gradient.outer_iter()).enumerate() {
                Zip::from(&mut t_k).and(&g_k).for_each(|t, &g| *t = term(k, *t, g));
            }
            principal_projection(terms.view())?
        }
    };
    map.mapv_inplace(float::relu);
    Ok(map)
}

/// The largest value of a map, NaN ignored; −∞ for an empty map.
fn max_value(map: ArrayView2<f32>) -> f32 {
    map.iter().copied().fold(f32::NEG_INFINITY, float::larger)
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
