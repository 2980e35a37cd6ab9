//! The occlusion test's pieces on hand-made maps: which pixels are hidden and how.

use layercam::experiments::occlusion::{THRESHOLD, mask, occlude};
use ndarray::{Array4, array};

#[test]
fn the_mask_is_the_region_at_or_above_the_threshold_of_the_max() {
    let map = array![[0.0, 0.69, 0.7], [1.0, 7.0, 10.0]];
    // Normalised by 10: 0, 0.069, 0.07, 0.1, 0.7, 1.
    assert_eq!(mask(map.view(), (2, 3), THRESHOLD), array![[false, false, false], [false, true, true]]);
    assert_eq!(THRESHOLD, 0.7, "the paper's threshold");
}

#[test]
fn the_mask_is_taken_on_the_map_upsampled_to_the_input() {
    // A 1×2 map [1, 0] upsampled to 1×4 is [1, 0.75, 0.25, 0]: the first two reach 0.7.
    assert_eq!(mask(array![[3.0, 0.0]].view(), (1, 4), THRESHOLD), array![[true, true, false, false]]);
}

#[test]
fn a_map_without_evidence_hides_nothing() {
    assert!(mask(array![[0.0, 0.0], [0.0, 0.0]].view(), (4, 4), THRESHOLD).iter().all(|h| !h));
}

#[test]
fn occlusion_sets_every_channel_of_the_hidden_pixels_to_the_mean_colour() {
    let input = Array4::from_shape_fn((1, 3, 2, 2), |(_, c, y, x)| 1.0 + (c * 4 + y * 2 + x) as f32);
    let hidden = array![[true, false], [false, true]];
    let occluded = occlude(input.view(), hidden.view());
    for c in 0..3 {
        assert_eq!(occluded[[0, c, 0, 0]], 0.0);
        assert_eq!(occluded[[0, c, 1, 1]], 0.0);
        assert_eq!(occluded[[0, c, 0, 1]], input[[0, c, 0, 1]]);
        assert_eq!(occluded[[0, c, 1, 0]], input[[0, c, 1, 0]]);
    }
}
