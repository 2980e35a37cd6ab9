//! From a forward and backward run to what a user sees: the top classes, every layer's raw map
//! per method, the fused map (Eq. 9) and its box.

use ndarray::{Array2, ArrayView2, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::cam::{self, Colormap, Fusion, LayerTensors, Method, Reduce};
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
    /// The methods, in the order of `raw`'s, `fused`'s and `boxes`' entries.
    pub methods: Vec<Method>,
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
/// fused as `fusion` says: the methods of `settings` that read nothing else (not Score-CAM), without smoothing.
pub fn class_maps(
    class: usize,
    layers: &[String],
    activations: &[ArrayView3<f32>],
    gradients: &[ArrayView3<f32>],
    settings: &Settings,
    fusion: &Fusion,
    size: (usize, usize),
) -> Result<ClassMaps> {
    let tensors: Vec<LayerTensors> = activations.iter().zip(gradients).map(|(a, g)| LayerTensors::new(*a, *g)).collect();
    let raw = raw_maps(layers, &tensors, &settings.methods, Reduce::Sum)?;
    Ok(fuse_stages(class, raw, settings, fusion, size))
}

/// `raw[layer][method]` (the methods of `settings`) with each method's fused map at `size` and its box.
pub fn fuse_stages(class: usize, raw: Vec<Vec<Array2<f32>>>, settings: &Settings, fusion: &Fusion, size: (usize, usize)) -> ClassMaps {
    let fused: Vec<Array2<f32>> = (0..settings.methods.len())
        .map(|m| fuse(fusion.members().map(|(layer, scaled)| (raw[layer][m].view(), scaled)), settings.gamma, size))
        .collect();
    let boxes = fused.iter().map(|f| cam::largest_box(f.view(), settings.box_threshold)).collect();
    ClassMaps { class, methods: settings.methods.clone(), raw, fused, boxes, fusion: fusion.clone() }
}

/// `raw[layer][method]` for one class, after checking the tensors hold numbers.
pub fn raw_maps(layers: &[String], tensors: &[LayerTensors], methods: &[Method], reduce: Reduce) -> Result<Vec<Vec<Array2<f32>>>> {
    // Every (layer, method) pair on its own, on every thread the engine has: a click's 20 maps took
    // 18 ms on one thread in the browser. A layer's first pair checks its tensors, just before it
    // reads them: checked apart, all layers first, they came from memory twice (natively the
    // check took 0.46 ms of LayerCAM's 0.93 for an image's five layers).
    let map = |pair: usize| -> Result<Array2<f32>> {
        let (layer, method) = (pair / methods.len(), pair % methods.len());
        if method == 0 {
            check_tensors(&layers[layer..=layer], &tensors[layer..=layer])?;
        }
        cam::raw_map(methods[method], tensors[layer], reduce)
    };
    #[cfg(feature = "engine")]
    let maps = crate::runtime::shared_out(tensors.len() * methods.len(), map);
    #[cfg(not(feature = "engine"))]
    let maps: Vec<_> = (0..tensors.len() * methods.len()).map(map).collect();
    let mut maps = maps.into_iter().collect::<Result<Vec<_>>>()?.into_iter();
    Ok(tensors.iter().map(|_| maps.by_ref().take(methods.len()).collect()).collect())
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
pub fn check_tensors(layers: &[String], tensors: &[LayerTensors]) -> Result<()> {
    for (name, layer) in layers.iter().zip(tensors) {
        check_finite(name, "activation", &layer.activation)?;
        check_finite(name, "gradient", &layer.gradient)?;
    }
    Ok(())
}

/// Says where a NaN came from. Each block of values is checked whole, a loop the compiler
/// vectorises, where stopping at the first took 2 % of a folder run.
fn check_finite(layer: &str, what: &str, values: &ndarray::ArrayView3<f32>) -> Result<()> {
    let finite = |block: &[f32]| block.iter().fold(true, |finite, v| finite & v.is_finite());
    let all_finite = match values.as_slice_memory_order() {
        Some(values) => values.chunks(4096).all(finite),
        None => values.iter().all(|v| v.is_finite()),
    };
    if !all_finite {
        return Err(Error::Input(format!("the {what} of layer `{layer}` contains NaN or infinite values")));
    }
    Ok(())
}

/// One input the methods are run on, the image or one of its augmentations (`--aug-smooth`): its
/// forward run, the gradients of the classes explained and, once run, Score-CAM's masked passes.
#[cfg(feature = "engine")]
pub struct Run {
    pub augmentation: cam::smoothing::Augmentation,
    pub input: ndarray::Array4<f32>,
    pub forward: Forward,
    /// Per layer `[K, C, H, W]`: the gradients of the classes explained, in their order.
    pub gradients: Vec<ndarray::Array4<f32>>,
    /// Per layer, Score-CAM's logits of the input masked by each channel, `[C, classes]`; None
    /// until its passes have run.
    pub scores: Vec<Option<Array2<f32>>>,
}

#[cfg(feature = "engine")]
use crate::runtime::{Explainer, Forward};

/// The runs `smoothing` asks for: the image's own (whose `forward` has run already) and each
/// augmentation's, with the gradients of `classes` on each.
#[cfg(feature = "engine")]
pub fn runs(
    explainer: &Explainer,
    input: ndarray::Array4<f32>,
    forward: Forward,
    classes: &[usize],
    smoothing: cam::Smoothing,
) -> Result<Vec<Run>> {
    let (own, others) = smoothing.augmentations().split_first().expect("the image itself is always run");
    let mut runs = vec![Run::new(explainer, *own, input.clone(), forward, classes)?];
    for &augmentation in others {
        let augmented = augmentation.apply(input.view());
        let forward = explainer.forward(augmented.view())?;
        runs.push(Run::new(explainer, augmentation, augmented, forward, classes)?);
    }
    Ok(runs)
}

#[cfg(feature = "engine")]
impl Run {
    fn new(
        explainer: &Explainer,
        augmentation: cam::smoothing::Augmentation,
        input: ndarray::Array4<f32>,
        forward: Forward,
        classes: &[usize],
    ) -> Result<Run> {
        let gradients = explainer.backward(&forward, classes)?;
        let scores = vec![None; forward.activations().len()];
        Ok(Run { augmentation, input, forward, gradients, scores })
    }

    /// The gradients of other classes (the backward only; the masked passes do not depend on the class).
    pub fn retarget(&mut self, explainer: &Explainer, classes: &[usize]) -> Result<()> {
        self.gradients = explainer.backward(&self.forward, classes)?;
        Ok(())
    }

    /// Runs Score-CAM's masked passes of every layer that has none yet.
    pub fn score_every_layer(&mut self, explainer: &Explainer) -> Result<()> {
        for (layer, scores) in self.scores.iter_mut().enumerate() {
            if scores.is_none() {
                let activation = self.forward.activation(layer);
                *scores = Some(explainer.masked_logits(self.input.view(), activation, 0..activation.dim().0)?);
            }
        }
        Ok(())
    }

    /// Layer `layer`'s tensors for the `k`-th class explained, `class`.
    fn tensors(&self, layer: usize, k: usize, class: usize) -> LayerTensors<'_> {
        LayerTensors {
            activation: self.forward.activation(layer),
            gradient: self.gradients[layer].index_axis(ndarray::Axis(0), k),
            scores: self.scores[layer].as_ref().map(|s| s.column(class)),
        }
    }
}

/// `raw[layer][method]` for the `k`-th class of the runs (`class`): each run's maps, and with
/// several runs (aug_smooth) their average ([`cam::smoothing::average`]).
#[cfg(feature = "engine")]
pub fn runs_raw_maps(
    layers: &[String],
    runs: &[Run],
    (k, class): (usize, usize),
    methods: &[Method],
    smoothing: cam::Smoothing,
) -> Result<Vec<Vec<Array2<f32>>>> {
    (0..layers.len()).map(|layer| layer_raw_maps(layers, runs, layer, (k, class), methods, smoothing)).collect()
}

/// One layer's raw map of each method, as [`runs_raw_maps`].
#[cfg(feature = "engine")]
pub fn layer_raw_maps(
    layers: &[String],
    runs: &[Run],
    layer: usize,
    (k, class): (usize, usize),
    methods: &[Method],
    smoothing: cam::Smoothing,
) -> Result<Vec<Array2<f32>>> {
    let per_run = runs
        .iter()
        .map(|run| Ok(raw_maps(&layers[layer..=layer], &[run.tensors(layer, k, class)], methods, smoothing.reduce())?.remove(0)))
        .collect::<Result<Vec<Vec<Array2<f32>>>>>()?;
    if per_run.len() == 1 {
        return Ok(per_run.into_iter().next().expect("one run"));
    }
    let augmentations: Vec<_> = runs.iter().map(|r| r.augmentation).collect();
    Ok((0..methods.len())
        .map(|m| {
            let maps: Vec<ArrayView2<f32>> = per_run.iter().map(|maps| maps[m].view()).collect();
            cam::smoothing::average(&maps, &augmentations)
        })
        .collect())
}
