//! Weakly supervised localisation (paper Tables 1 and 2): the box of a map's largest region above
//! a fraction of its maximum (0.15 in the paper) against the ground-truth boxes. An image counts for
//! GT-known when the box overlaps any ground-truth box with IoU ≥ 0.5, for loc1 when besides the
//! model's top-1 class is the true one, for loc5 when the true class is among its top 5.

use ndarray::ArrayView2;
use serde::Serialize;

use crate::cam::{self, Fusion, ScaleChoice, stages::FuseChoice};

/// The overlap a box needs with a ground-truth box to count as found.
pub const IOU_FOUND: f32 = 0.5;

/// Intersection over union of two boxes `[x0, y0, x1, y1]`, ends exclusive (as
/// [`cam::largest_box`] gives them): a box covers (x1 − x0) · (y1 − y0) pixels.
pub fn box_iou(a: [usize; 4], b: [usize; 4]) -> f32 {
    let area = |[x0, y0, x1, y1]: [usize; 4]| x1.saturating_sub(x0) * y1.saturating_sub(y0);
    let overlap = area([a[0].max(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].min(b[3])]);
    let union = area(a) + area(b) - overlap;
    if union == 0 { 0.0 } else { overlap as f32 / union as f32 }
}

/// The tight box `[x0, y0, x1, y1]` (ends exclusive) of a mask's pixels; None for an empty mask.
pub fn mask_box(mask: ArrayView2<bool>) -> Option<[usize; 4]> {
    mask.indexed_iter().filter(|(_, inside)| **inside).fold(None, |found, ((y, x), _)| {
        let [x0, y0, x1, y1] = found.unwrap_or([x, y, x + 1, y + 1]);
        Some([x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)])
    })
}

/// How one map of one image localises its class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The best IoU of the map's box with a ground-truth box; 0 when the map has no box.
    pub iou: f32,
    /// The model's top-1 class is the true class.
    pub top1: bool,
    /// The true class is among the model's top 5.
    pub top5: bool,
}

impl Outcome {
    /// `map` (at the input's size) boxed at `threshold` of its maximum, against `truths`.
    pub fn new(map: ArrayView2<f32>, threshold: f32, truths: &[[usize; 4]], top1: bool, top5: bool) -> Outcome {
        let found = cam::largest_box(map, threshold);
        let iou = found.map_or(0.0, |found| truths.iter().map(|&truth| box_iou(found, truth)).fold(0.0, f32::max));
        Outcome { iou, top1, top5 }
    }

    pub fn gt_known(&self) -> bool {
        self.iou >= IOU_FOUND
    }

    pub fn loc1(&self) -> bool {
        self.top1 && self.gt_known()
    }

    pub fn loc5(&self) -> bool {
        self.top5 && self.gt_known()
    }
}

/// The paper's fused sets of Table 2: the deepest stage alone, then each shallower stage added in
/// turn ("fused S5", "fused S5+S4", … for five stages), each with the paper's Eq. 9 scaling of its
/// shallow stages.
pub fn deepest_sets(strides: &[f32]) -> Vec<(String, Fusion)> {
    let n = strides.len();
    (1..=n)
        .map(|k| {
            let fused: Vec<bool> = (0..n).map(|stage| stage >= n - k).collect();
            let name = format!("fused {}", (n - k..n).rev().map(stage_name).collect::<Vec<_>>().join("+"));
            (name, Fusion::new(strides, &FuseChoice::Stages(fused), &ScaleChoice::Auto))
        })
        .collect()
}

/// The paper's name of stage `index` (0 = the shallowest): S1, S2, …
pub fn stage_name(index: usize) -> String {
    format!("S{}", index + 1)
}
