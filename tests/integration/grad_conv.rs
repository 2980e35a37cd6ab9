//! Conv backward (ConvTranspose) against finite differences: groups, depthwise, strides,
//! dilations, explicit and SAME padding, sizes the stride does not divide.

use crate::common::net::*;
use tract_onnx::pb::AttributeProto;

/// x [1, c_in, hw, hw] → Conv → logits; returns the worst finite-difference error.
fn conv_case(c_in: usize, hw: usize, c_out: usize, group: usize, kernel: usize, mut attributes: Vec<AttributeProto>) -> f32 {
    let mut net = Net::new(&[1, c_in, hw, hw]);
    let w = net.weight(&[c_out, c_in / group, kernel, kernel]);
    let bias = net.weight(&[c_out]);
    attributes.push(int("group", group as i64));
    let y = net.node("Conv", &["x", &w, &bias], attributes);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, c_in, hw, hw], &[], 0.0, 1.0);
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("worst relative error {worst:.2e}");
    worst
}

const TOLERANCE: f32 = 2e-3;

#[test]
fn plain_3x3() {
    assert!(conv_case(2, 5, 3, 1, 3, vec![ints("pads", &[1, 1, 1, 1])]) < TOLERANCE);
}

#[test]
fn strided_with_asymmetric_pads_on_an_odd_size() {
    // TF "SAME" as exported: pad only at the end; 7 is not divisible by the stride.
    assert!(conv_case(2, 7, 2, 1, 3, vec![ints("strides", &[2, 2]), ints("pads", &[0, 0, 1, 1])]) < TOLERANCE);
}

#[test]
fn strided_without_padding_drops_the_last_column() {
    // (6 − 3) / 2 floors: the last input row and column reach no output; output_padding restores them.
    assert!(conv_case(1, 6, 2, 1, 3, vec![ints("strides", &[2, 2])]) < TOLERANCE);
}

#[test]
fn depthwise() {
    assert!(conv_case(4, 5, 4, 4, 3, vec![ints("pads", &[1, 1, 1, 1])]) < TOLERANCE);
}

#[test]
fn grouped_with_channel_multiplier() {
    assert!(conv_case(4, 4, 6, 2, 3, vec![ints("pads", &[0, 1, 1, 0])]) < TOLERANCE);
}

#[test]
fn dilated() {
    assert!(conv_case(2, 7, 2, 1, 3, vec![ints("dilations", &[2, 2]), ints("pads", &[2, 2, 2, 2])]) < TOLERANCE);
}

#[test]
fn auto_pad_same_upper_and_lower() {
    for mode in ["SAME_UPPER", "SAME_LOWER"] {
        assert!(conv_case(2, 6, 2, 1, 4, vec![ints("strides", &[2, 2]), string("auto_pad", mode)]) < TOLERANCE, "{mode}");
    }
}

#[test]
fn auto_pad_valid_1x1() {
    assert!(conv_case(3, 4, 5, 1, 1, vec![string("auto_pad", "VALID")]) < TOLERANCE);
}

#[test]
fn padding_wider_than_the_kernel_uses_the_transposed_form() {
    // A 1×1 kernel with padding 1: the stride-1 form would need negative padding.
    assert!(conv_case(2, 5, 3, 1, 1, vec![ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])]) < TOLERANCE);
}

/// ConvTranspose in the forward graph (a decoder's learned upsampling): its gradient is a Conv.
#[test]
fn conv_transpose_in_the_forward_graph() {
    // Strided with padding and output_padding; dilated and grouped.
    let cases: [(usize, usize, Vec<AttributeProto>); 2] = [
        (1, 3, vec![ints("strides", &[2, 2]), ints("pads", &[1, 0, 1, 1]), ints("output_padding", &[1, 0])]),
        (2, 2, vec![ints("dilations", &[2, 1]), ints("pads", &[0, 1, 1, 0])]),
    ];
    for (group, per_group, mut attributes) in cases {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let w = net.weight(&[2, per_group, 3, 3]);
        let bias = net.weight(&[group * per_group]);
        attributes.push(int("group", group as i64));
        let y = net.node("ConvTranspose", &["x", &w, &bias], attributes);
        let squared = net.node("Mul", &[&y, &y], vec![]);
        let logits = net.logits_from(&squared);
        let x = input_avoiding(&[1, 2, 3, 4], &[], 0.0, 1.0);
        let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
        println!("ConvTranspose, group {group}: worst relative error {worst:.2e}");
        assert!(worst < TOLERANCE);
    }
}
