//! The occlusion test (paper Table 6): hide the region a map is most sure of, classify again, and see
//! how far the class's confidence falls. The lower it falls to, the more the map found what the
//! classifier relies on. The paper hides the region above 0.7 of the final layer's map; we also hide
//! that of the fused map.

use ndarray::{Array2, Array4, ArrayView2, ArrayView4, Axis};
use serde::{Deserialize, Serialize};

use crate::cam::Method;
use crate::explain::Prediction;
#[cfg(feature = "engine")]
use crate::{
    Result,
    explain::{ClassMaps, softmax, top_classes},
    model::labels::Labels,
    runtime::Explainer,
};

/// The paper's threshold: the region above 0.7 of the map's maximum is hidden.
pub const THRESHOLD: f32 = 0.7;

/// How many classes a re-classification lists.
#[cfg(feature = "engine")]
const TOP: usize = 5;

/// Which map of a method decides what is hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Region {
    /// The deepest stage's map (the paper's choice).
    Deepest,
    /// The fused map.
    Fused,
}

/// The pixels, at `size`, where `map` (normalised by its max and upsampled) reaches `threshold`.
/// A map with no positive value hides nothing.
pub fn mask(map: ArrayView2<f32>, size: (usize, usize), threshold: f32) -> Array2<bool> {
    super::at_input(map, size).mapv(|v| v > 0.0 && v >= threshold)
}

/// The input `[1, C, H, W]` with the masked pixels set to 0 in every channel: the preprocessing's
/// mean colour (torchvision's (x − mean) / std and EfficientNet-Lite's (x − 127) / 128 both send it
/// to 0), so the hidden region carries no evidence either way.
pub fn occlude(input: ArrayView4<f32>, mask: ArrayView2<bool>) -> Array4<f32> {
    let mut occluded = input.to_owned();
    for mut channel in occluded.index_axis_mut(Axis(0), 0).outer_iter_mut() {
        ndarray::Zip::from(&mut channel).and(mask).for_each(|v, &hidden| {
            if hidden {
                *v = 0.0;
            }
        });
    }
    occluded
}

/// One map's occlusion: what was hidden and what the classifier says then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub method: Method,
    pub region: Region,
    /// Fraction of the pixels hidden.
    pub hidden: f32,
    /// The explained class's probability on the occluded input.
    pub prob: f32,
    /// The top classes on the occluded input.
    pub top: Vec<Prediction>,
}

/// Occludes `input` by each method's deepest-stage map and fused map (`maps` holds the `methods`'
/// maps of one class, `deepest` indexes its deepest stage) and classifies each occluded input again.
/// Returns each trial with the input it classified.
#[cfg(feature = "engine")]
pub fn run(
    explainer: &Explainer,
    labels: &Labels,
    input: ArrayView4<f32>,
    maps: &ClassMaps,
    methods: &[Method],
    deepest: usize,
) -> Result<Vec<(Trial, Array4<f32>)>> {
    let size = (input.dim().2, input.dim().3);
    let mut trials = vec![];
    for (m, &method) in methods.iter().enumerate() {
        for (region, map) in [(Region::Deepest, maps.raw[deepest][m].view()), (Region::Fused, maps.fused[m].view())] {
            let mask = mask(map, size, THRESHOLD);
            let occluded = occlude(input, mask.view());
            let logits = explainer.forward(occluded.view())?.logits;
            let hidden = mask.iter().filter(|&&h| h).count() as f32 / mask.len() as f32;
            let top = top_classes(&logits, labels, TOP);
            trials.push((Trial { method, region, hidden, prob: softmax(&logits)[maps.class], top }, occluded));
        }
    }
    Ok(trials)
}
