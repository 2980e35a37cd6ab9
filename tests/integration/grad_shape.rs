//! Reshape-like ops, Transpose, Concat, Split, Slice, Pad, Gather, Tile and Expand backward against
//! finite differences.

use crate::common::net::*;

const TOLERANCE: f32 = 2e-3;

fn check(net: Net, logits: &str) -> f32 {
    let x = input_avoiding(&[1, 2, 3, 4], &[], 0.0, 1.0);
    check_against_finite_differences(&net.build(logits), &x, 1e-2)
}

#[test]
fn reshape_squeeze_unsqueeze_identity_dropout() {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let shape = net.int_constant(&[1, 6, 4]);
    let a = net.node("Reshape", &["x", &shape], vec![]);
    let axes = net.int_constant(&[1]);
    let b = net.node("Unsqueeze", &[&a, &axes], vec![]);
    let c = net.node("Squeeze", &[&b, &axes], vec![]);
    let d = net.node("Identity", &[&c], vec![]);
    let e = net.node("Dropout", &[&d], vec![]);
    let logits = net.logits_from(&e);
    assert!(check(net, &logits) < TOLERANCE);
}

#[test]
fn transpose_of_spatial_axes() {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let y = net.node("Transpose", &["x"], vec![ints("perm", &[0, 3, 1, 2])]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits) < TOLERANCE);
}

#[test]
fn concat_of_the_input_with_a_transform_of_itself() {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let doubled = net.node("Add", &["x", "x"], vec![]);
    let y = net.node("Concat", &["x", &doubled, "x"], vec![int("axis", 1)]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits) < TOLERANCE);
}

#[test]
fn slices_from_both_ends_past_the_edge_and_on_chosen_axes() {
    // The class token of a ViT ([:, :1]) and a crop with negative and out-of-range bounds.
    for (starts, ends, axes) in
        [(vec![0], vec![1], vec![2]), (vec![1, -3], vec![i64::MAX, -1], vec![1, 3]), (vec![-2], vec![100], vec![-2])]
    {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let (s, e, a) = (net.int_constant(&starts), net.int_constant(&ends), net.int_constant(&axes));
        let y = net.node("Slice", &["x", &s, &e, &a], vec![]);
        let logits = net.logits_from(&y);
        let worst = check(net, &logits);
        println!("Slice {starts:?}..{ends:?} on {axes:?}: worst relative error {worst:.2e}");
        assert!(worst < TOLERANCE);
    }
}

#[test]
fn constant_padding() {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let p = net.int_constant(&[0, 0, 1, 2, 0, 0, 2, 1]);
    let y = net.node("Pad", &["x", &p], vec![]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits) < TOLERANCE);
}

#[test]
fn reflect_and_edge_padding() {
    // Both ends of both spatial axes; reflect mirrors without repeating the edge, edge repeats it.
    for mode in ["reflect", "edge"] {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let p = net.int_constant(&[0, 0, 2, 1, 0, 0, 1, 3]);
        let y = net.node("Pad", &["x", &p], vec![string("mode", mode)]);
        let squared = net.node("Mul", &[&y, &y], vec![]);
        let logits = net.logits_from(&squared);
        let worst = check(net, &logits);
        println!("Pad {mode}: worst relative error {worst:.2e}");
        assert!(worst < TOLERANCE);
    }
}

/// Negative pads (cropping), which tract cannot run, are refused by name before anything is planned.
#[test]
fn negative_pads_are_refused_by_name() {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let p = net.int_constant(&[0, 0, -1, 1, 0, 0, 1, 0]);
    let y = net.node("Pad", &["x", &p], vec![]);
    let logits = net.logits_from(&y);
    let Err(err) = layercam::grad::differentiate(&net.build(&logits), &["x".to_string()]) else { panic!("refused") };
    assert!(err.to_string().contains("negative pads"), "{err}");
}

#[test]
fn split_with_an_output_that_does_not_reach_the_logits() {
    // Sizes 1, 2, 1 along the width with the middle part unused, then equal halves of the channels.
    let mut net = Net::new(&[1, 2, 3, 4]);
    let sizes = net.int_constant(&[1, 2, 1]);
    let parts = net.node_outputs("Split", &["x", &sizes], vec![int("axis", 3)], 3);
    let ends = net.node("Concat", &[&parts[2], &parts[0]], vec![int("axis", -1)]);
    let halves = net.node_outputs("Split", &[&ends], vec![int("axis", 1)], 2);
    let product = net.node("Mul", &[&halves[0], &halves[1]], vec![]);
    let logits = net.logits_from(&product);
    assert!(check(net, &logits) < TOLERANCE);
}

#[test]
fn tile_and_expand() {
    // Tile copies the whole tensor (channels twice, width three times); Expand broadcasts a mean
    // over the height back up, as a gate multiplying the input.
    let mut net = Net::new(&[1, 2, 3, 4]);
    let repeats = net.int_constant(&[1, 2, 1, 3]);
    let tiled = net.node("Tile", &["x", &repeats], vec![]);
    let squared = net.node("Mul", &[&tiled, &tiled], vec![]);
    let logits = net.logits_from(&squared);
    assert!(check(net, &logits) < TOLERANCE);

    let mut net = Net::new(&[1, 2, 3, 4]);
    let mean = net.node("ReduceMean", &["x"], vec![ints("axes", &[2]), int("keepdims", 1)]);
    let shape = net.int_constant(&[1, 2, 3, 4]);
    let expanded = net.node("Expand", &[&mean, &shape], vec![]);
    let product = net.node("Mul", &[&expanded, "x"], vec![]);
    let logits = net.logits_from(&product);
    assert!(check(net, &logits) < TOLERANCE);
}

#[test]
fn gather_with_constant_indices_repeated_and_scalar() {
    // Rows 2, 0 and 2 again (their gradients add up), and a scalar index that drops the axis, as a
    // vision transformer takes its class token.
    for (indices, scalar, axis) in [(vec![2, 0, -1], false, 2), (vec![1], true, 1)] {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let picked = if scalar { net.int_tensor(&indices, &[]) } else { net.int_constant(&indices) };
        let y = net.node("Gather", &["x", &picked], vec![int("axis", axis)]);
        let logits = net.logits_from(&y);
        let worst = check(net, &logits);
        println!("Gather {indices:?} on axis {axis}: worst relative error {worst:.2e}");
        assert!(worst < TOLERANCE);
    }
}
