//! The experiments' metrics on cases worked out by hand (the CLI's tests in eval.rs run them end to
//! end on a tiny classifier).

use layercam::experiments::confidence;
use layercam::experiments::deletion::{self, STEPS};
use layercam::experiments::localize::{self, Outcome, box_iou, mask_box};
use layercam::experiments::segment::{self, Overlap};
use ndarray::{Array2, Array4, array};

#[test]
fn box_iou_counts_pixels_with_exclusive_ends() {
    assert_eq!(box_iou([0, 0, 10, 10], [0, 0, 10, 10]), 1.0);
    assert_eq!(box_iou([0, 0, 10, 10], [5, 0, 15, 10]), 50.0 / 150.0);
    assert_eq!(box_iou([4, 4, 8, 8], [3, 3, 9, 9]), 16.0 / 36.0);
    assert_eq!(box_iou([0, 0, 2, 2], [2, 2, 4, 4]), 0.0, "touching corners share no pixel");
}

#[test]
fn a_masks_box_is_tight() {
    let mut mask = Array2::from_elem((6, 8), false);
    mask[[1, 2]] = true;
    mask[[4, 6]] = true;
    assert_eq!(mask_box(mask.view()), Some([2, 1, 7, 5]));
    assert_eq!(mask_box(Array2::from_elem((3, 3), false).view()), None);
}

#[test]
fn an_outcome_needs_half_the_union_and_the_right_class() {
    let mut map = Array2::zeros((10, 10));
    map.slice_mut(ndarray::s![2..6, 2..6]).fill(1.0);
    let found = Outcome::new(map.view(), 0.15, &[[0, 0, 1, 1], [2, 2, 6, 7]], false, true);
    assert_eq!(found.iou, 16.0 / 20.0, "the best of the ground-truth boxes");
    assert!(found.gt_known() && !found.loc1() && found.loc5());
    let empty = Outcome::new(Array2::zeros((10, 10)).view(), 0.15, &[[2, 2, 6, 6]], true, true);
    assert_eq!(empty.iou, 0.0);
    assert!(!empty.gt_known());
}

#[test]
fn the_papers_fused_sets_add_shallower_stages() {
    let sets = localize::deepest_sets(&[2.0, 4.0, 8.0]);
    let names: Vec<&str> = sets.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["fused S3", "fused S3+S2", "fused S3+S2+S1"]);
    assert_eq!(sets[1].1.fused, [false, true, true]);
    assert_eq!(sets[2].1.scaled, [true, false, false], "Eq. 9 scales stages at ≤ ¼ of the deepest's stride");
}

#[test]
fn segment_overlaps_per_class() {
    let map = array![[0.0, 0.1, 0.3], [1.0, 0.2, 0.0]];
    let mask = array![[false, false, true], [true, true, true]];
    let [object, background] = segment::overlaps(map.view(), mask.view(), 0.2);
    assert_eq!(object, Overlap { intersection: 3, union: 4 }, "0.2 of the max is object");
    assert_eq!(background, Overlap { intersection: 2, union: 3 });
    assert_eq!(segment::mean_iou([object, background]), (0.75 + 2.0 / 3.0) / 2.0);
    let [nothing, _] = segment::overlaps(Array2::zeros((2, 3)).view(), mask.view(), 0.2);
    assert_eq!(nothing.intersection, 0, "an all-zero map marks no object");
}

#[test]
fn deletion_takes_pixels_in_map_order() {
    let map = array![[0.5, 2.0], [1.0, 2.0]];
    assert_eq!(deletion::order(map.view()), [1, 3, 2, 0], "ties keep row-major order");
    let from = Array4::from_elem((1, 2, 2, 10), 1.0);
    let to = Array4::zeros((1, 2, 2, 10));
    let order: Vec<usize> = (0..20).rev().collect();
    let half = deletion::step_input(from.view(), to.view(), &order, STEPS / 2);
    assert_eq!(half.sum(), 20.0, "half the pixels, both channels, taken");
    assert_eq!(half[[0, 1, 1, 9]], 0.0, "the first in the order goes first");
    assert_eq!(half[[0, 0, 0, 0]], 1.0);
    assert_eq!(deletion::area(&[1.0, 1.0, 0.0]), 0.75);
}

#[test]
fn the_insertion_blur_keeps_the_mean_of_a_flat_image_and_spreads_a_dot() {
    let flat = Array4::from_elem((1, 1, 9, 9), 2.0);
    assert!(deletion::blur(flat.view(), 2.0).iter().all(|v| (v - 2.0).abs() < 1e-5));
    let mut dot = Array4::zeros((1, 1, 31, 31));
    dot[[0, 0, 15, 15]] = 1.0;
    let blurred = deletion::blur(dot.view(), 2.0);
    assert!((blurred.sum() - 1.0).abs() < 1e-4, "nothing lost away from the edges");
    assert!(blurred[[0, 0, 15, 17]] > 0.0 && blurred[[0, 0, 15, 15]] < 0.1);
}

/// torch-cam's explanation map: min-max normalised (the floor goes to 0), then upsampled.
#[test]
fn the_explanation_map_is_min_max_normalised_then_upsampled() {
    let map = array![[1.0, 2.0], [3.0, 5.0]];
    assert_eq!(confidence::explanation_map(map.view(), (2, 2)), array![[0.0, 0.25], [0.5, 1.0]]);
    assert_eq!(confidence::explanation_map(Array2::from_elem((2, 2), 3.0).view(), (2, 2)), Array2::<f32>::zeros((2, 2)), "flat: nothing");
    assert_eq!(confidence::explanation_map(array![[0.0, 4.0]].view(), (1, 4)), array![[0.0, 0.25, 0.75, 1.0]], "half-pixel centres");
}

#[test]
fn drop_and_increase_as_torch_cam_computes_them() {
    let input = Array4::from_elem((1, 2, 1, 2), 2.0);
    let explained = confidence::explained_input(input.view(), array![[0.5, 0.0]].view());
    assert_eq!(explained, Array4::from_shape_vec((1, 2, 1, 2), vec![1.0, 0.0, 1.0, 0.0]).unwrap(), "every channel");
    assert!((confidence::drop(0.8, 0.6) - 0.25).abs() < 1e-6);
    assert_eq!(confidence::drop(0.8, 0.9), 0.0, "a gain is no drop");
    assert!(confidence::increase(0.8, 0.9) && !confidence::increase(0.8, 0.8));
    assert_eq!(confidence::drop(0.0, 0.0), 0.0, "a class of probability 0 loses nothing (torch-cam's ε)");
}
