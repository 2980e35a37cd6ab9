//! Maps as segmentations (paper Table 13): the pixels at or above 0.2 of a map's maximum against a
//! binary object mask. Like VOC's mIoU, intersections and unions are summed over the whole folder,
//! per class (object and background), and the mean of the two IoUs is reported.

use ndarray::{ArrayView2, Zip};
use serde::Serialize;

/// The paper's threshold: a pixel is "object" where the map reaches 0.2 of its maximum.
pub const THRESHOLD: f32 = 0.2;

/// Intersection and union pixel counts of one class, summed over images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Overlap {
    pub intersection: u64,
    pub union: u64,
}

impl Overlap {
    /// IoU; a class absent from both prediction and truth everywhere counts as perfectly found.
    pub fn iou(&self) -> f32 {
        if self.union == 0 { 1.0 } else { self.intersection as f32 / self.union as f32 }
    }
}

/// `[object, background]` overlaps of `map` (at the mask's size, any scale) thresholded at
/// `threshold` of its maximum, with `mask` (true = object). A map with no positive value marks
/// nothing as object.
pub fn overlaps(map: ArrayView2<f32>, mask: ArrayView2<bool>, threshold: f32) -> [Overlap; 2] {
    assert_eq!(map.dim(), mask.dim(), "segment: the map must have the mask's size");
    let max = map.iter().copied().fold(0.0, f32::max);
    let mut counts = [Overlap::default(); 2];
    Zip::from(map).and(mask).for_each(|&value, &truth| {
        let object = max > 0.0 && value >= threshold * max;
        for (class, counted) in counts.iter_mut().enumerate() {
            let (predicted, actual) = if class == 0 { (object, truth) } else { (!object, !truth) };
            counted.intersection += u64::from(predicted && actual);
            counted.union += u64::from(predicted || actual);
        }
    });
    counts
}

/// The mean of the object's and the background's IoU.
pub fn mean_iou([object, background]: [Overlap; 2]) -> f32 {
    (object.iou() + background.iou()) / 2.0
}
