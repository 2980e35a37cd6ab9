//! From a forward and backward run to what a user sees: the top classes, every layer's raw map
//! per method, the fused map (Eq. 9) and its box.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::cam::{self, Colormap, Fusion, Method};
use crate::model::labels::Labels;
use crate::{Error, Result};

/// γ of Eq. 9, the paper's choice (Table 3).
pub const DEFAULT_GAMMA: f32 = 2.0;

/// The knobs of the CAM maths: none of them re-runs the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub methods: Vec<Method>,
    pub gamma: f32,
    /// Fraction of the fused map's maximum that bounds the box.
    pub box_threshold: f32,
    pub colormap: Colormap,
    pub opacity: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            methods: vec![Method::LayerCam],
            gamma: DEFAULT_GAMMA,
            box_threshold: cam::DEFAULT_BOX_THRESHOLD,
            colormap: Colormap::Jet,
            opacity: 0.5,
        }
    }
}

/// One of the top classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub class: usize,
    pub label: String,
    pub logit: f32,
    pub prob: f32,
}

/// The `k` classes with the largest logits, with softmax probabilities.
pub fn top_classes(logits: &[f32], labels: &Labels, k: usize) -> Vec<Prediction> {
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order
        .into_iter()
        .take(k)
        .map(|class| Prediction { class, label: labels.name(class), logit: logits[class], prob: probs[class] })
        .collect()
}

/// Every class's probability.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    logits.iter().map(|l| (l - max).exp() / total).collect()
}

/// Every map of one class.
#[derive(Clone, Debug)]
pub struct ClassMaps {
    pub class: usize,
    /// `raw[layer][method]`: unnormalised, at the layer's resolution.
    pub raw: Vec<Vec<Array2<f32>>>,
    /// `fused[method]`: each fused stage scaled (Eq. 9) or normalised, upsampled to the input size,
    /// max over the stages.
    pub fused: Vec<Array2<f32>>,
    /// `boxes[method]`: box of the fused map's largest region; None for an all-zero map.
    pub boxes: Vec<Option<[usize; 4]>>,
    /// Which stages the fused maps fuse, and which of them Eq. 9 scales.
    pub fusion: Fusion,
}

/// Computes the maps of one class from each layer's activation `[C, H, W]` and gradient `[C, H, W]`,
/// fused as `fusion` says.
pub fn class_maps(
    class: usize,
    layers: &[String],
    activations: &[Array3<f32>],
    gradients: &[ArrayView3<f32>],
    settings: &Settings,
    fusion: &Fusion,
    size: (usize, usize),
) -> Result<ClassMaps> {
    let raw = raw_maps(layers, activations, gradients, &settings.methods)?;
    Ok(fuse_stages(class, raw, settings, fusion, size))
}

/// `raw[layer][method]` (the methods of `settings`) with each method's fused map at `size` and its box.
pub fn fuse_stages(class: usize, raw: Vec<Vec<Array2<f32>>>, settings: &Settings, fusion: &Fusion, size: (usize, usize)) -> ClassMaps {
    let fused: Vec<Array2<f32>> = (0..settings.methods.len())
        .map(|m| fuse(fusion.members().map(|(layer, scaled)| (raw[layer][m].view(), scaled)), settings.gamma, size))
        .collect();
    let boxes = fused.iter().map(|f| cam::largest_box(f.view(), settings.box_threshold)).collect();
    ClassMaps { class, raw, fused, boxes, fusion: fusion.clone() }
}

/// `raw[layer][method]` for one class, after checking the tensors hold numbers.
pub fn raw_maps(
    layers: &[String],
    activations: &[Array3<f32>],
    gradients: &[ArrayView3<f32>],
    methods: &[Method],
) -> Result<Vec<Vec<Array2<f32>>>> {
    check_tensors(layers, activations, gradients)?;
    Ok(activations.iter().zip(gradients).map(|(a, g)| methods.iter().map(|&m| cam::raw_map(m, a.view(), g.view())).collect()).collect())
}

/// The fused map of §3.3: each stage's map scaled by Eq. 9 (`true`) or normalised (`false`),
/// upsampled to `size`, element-wise max. No stage: all zero.
pub fn fuse<'a>(maps: impl Iterator<Item = (ArrayView2<'a, f32>, bool)>, gamma: f32, (h, w): (usize, usize)) -> Array2<f32> {
    let prepared: Vec<Array2<f32>> = maps
        .map(|(map, scaled)| {
            let map = if scaled { cam::scale_tanh(map, gamma) } else { cam::normalize_max(map) };
            cam::upsample_bilinear(map.view(), h, w)
        })
        .collect();
    if prepared.is_empty() {
        return Array2::zeros((h, w));
    }
    let views: Vec<ArrayView2<f32>> = prepared.iter().map(|m| m.view()).collect();
    cam::fuse_max(&views)
}

/// Every activation and gradient holds numbers: a NaN would silently blank a map.
pub fn check_tensors(layers: &[String], activations: &[Array3<f32>], gradients: &[ArrayView3<f32>]) -> Result<()> {
    for ((name, activation), gradient) in layers.iter().zip(activations).zip(gradients) {
        check_finite(name, "activation", activation.iter())?;
        check_finite(name, "gradient", gradient.iter())?;
    }
    Ok(())
}

/// Says where a NaN came from.
fn check_finite<'a>(layer: &str, what: &str, mut values: impl Iterator<Item = &'a f32>) -> Result<()> {
    if values.any(|v| !v.is_finite()) {
        return Err(Error::Input(format!("the {what} of layer `{layer}` contains NaN or infinite values")));
    }
    Ok(())
}
