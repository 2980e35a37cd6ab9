//! Reshape-like ops, Transpose and Concat backward against finite differences.

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
