//! Conv backward (ConvTranspose) against finite differences: groups, depthwise, strides,
//! dilations, explicit and SAME padding, sizes the stride does not divide.

use crate::common::net::*;
use layercam::runtime::Explainer;
use ndarray::Array2;
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

/// A MobileNet/EfficientNet block, 1×1 conv → ReLU6 → strided depthwise 3×3 → ReLU6 → 1×1 conv:
/// the backward folds both ReLU6 gradients into the transposed depthwise kernel (which then reads
/// the ReLU6 outputs). Against the same backward with the gates apart (the gradients between them
/// asked for as layers), for two seed rows at once against one saved forward. (Finite differences
/// cannot check it: ReLU6 kinks lie within any useful step.) Unstrided with 18 expanded channels
/// on a 7×7 map, the transposed kernel runs 16 of them at once where vectors have 16 lanes
/// (`Plane::across_on`), the gates with them.
#[test]
fn an_inverted_residual_blocks_clamp_gradients_folded_into_the_depthwise_kernel() {
    for (c, stride) in [(3, 2), (9, 1)] {
        let error = folded_against_apart(c, stride);
        println!("{} expanded channels, stride {stride}: folded against apart, max error {error:.1e} of the gradient's max", 2 * c);
        assert!(error < 1e-6);
    }
}

/// The block's input gradient with the gates folded, against with them apart: max |difference|
/// over max |apart|.
fn folded_against_apart(c: usize, stride: i64) -> f32 {
    let hw = 7;
    let mut net = Net::new(&[1, c, hw, hw]);
    let (lo, hi) = (net.constant(vec![0.0], &[]), net.constant(vec![0.6], &[]));
    let w = net.weight(&[2 * c, c, 1, 1]);
    let expanded = net.node("Conv", &["x", &w], vec![]);
    let expanded = net.node("Clip", &[&expanded, &lo, &hi], vec![]);
    let w = net.weight(&[2 * c, 1, 3, 3]);
    let attributes = vec![int("group", 2 * c as i64), ints("strides", &[stride, stride]), ints("pads", &[1, 1, 1, 1])];
    let filtered = net.node("Conv", &[&expanded, &w], attributes);
    let clipped = net.node("Clip", &[&filtered, &lo, &hi], vec![]);
    let w = net.weight(&[c, 2 * c, 1, 1]);
    let projected = net.node("Conv", &[&clipped, &w], vec![]);
    let logits = net.logits_from(&projected);
    let (model, x) = (net.build(&logits), input_avoiding(&[1, c, hw, hw], &[], 0.0, 1.0));
    let seed = Array2::from_shape_vec((2, model.classes), Lcg(4).values(2 * model.classes)).unwrap();
    let gradient = |layers: &[&str], gates: usize| {
        let explainer = Explainer::new(&model, &layers.iter().map(|l| l.to_string()).collect::<Vec<_>>()).unwrap();
        let backward = explainer.profile(x.view(), 2, || std::time::Duration::ZERO).unwrap().backward;
        let apart = backward.iter().find(|o| o.op == "LayercamClampGrad").map_or(0, |o| o.nodes);
        assert_eq!(apart, gates, "ReLU6 gradients left apart from the kernel: {backward:?}");
        explainer.backward_seeded(&explainer.forward(x.view()).unwrap(), seed.view()).unwrap().remove(0)
    };
    let (folded, apart) = (gradient(&["x"], 0), gradient(&["x", &filtered, &expanded], 2));
    let scale = apart.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "a zero gradient checks nothing");
    folded.iter().zip(&apart).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}
