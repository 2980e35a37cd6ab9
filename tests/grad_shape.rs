//! Reshape-like ops, Transpose, Concat, Slice, Pad and Gather backward against finite differences.

mod common;

use common::net::*;

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

/// Reflect and edge padding, and negative pads (which tract cannot run), are refused by name
/// before anything is planned.
#[test]
fn other_paddings_are_refused_by_name() {
    for (pads, mode, message) in
        [([0, 0, 1, 1, 0, 0, 1, 1], "reflect", "mode `reflect`"), ([0, 0, -1, 1, 0, 0, 1, 0], "constant", "negative pads")]
    {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let p = net.int_constant(&pads);
        let y = net.node("Pad", &["x", &p], vec![string("mode", mode)]);
        let logits = net.logits_from(&y);
        let Err(err) = layercam::grad::differentiate(&net.build(&logits), &["x".to_string()]) else { panic!("refused") };
        assert!(err.to_string().contains(message), "{err}");
    }
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
