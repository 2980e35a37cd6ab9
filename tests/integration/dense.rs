//! Our dense convolution (src/runtime/dense) against tract's own: the same ONNX Conv (one group,
//! a kernel larger than 1×1), planned once as tract plans it and once with our op swapped in, on
//! odd sizes, strides, dilations, asymmetric pads and batches; with a zero Pad before it and a
//! clamp after it folded in, as in EfficientNet-Lite0's stem.

use layercam::runtime::dense;
use tract_onnx::pb::AttributeProto;

use crate::common::net::*;

/// One convolution: batch, input and output channels, input [h, w], kernel [kh, kw], attributes.
struct Case {
    batch: usize,
    inputs: usize,
    outputs: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    attributes: Vec<AttributeProto>,
}

fn case(batch: usize, (inputs, outputs): (usize, usize), size: [usize; 2], kernel: [usize; 2], attributes: Vec<AttributeProto>) -> Case {
    Case { batch, inputs, outputs, size, kernel, attributes }
}

fn cases() -> Vec<Case> {
    vec![
        case(1, (3, 32), [225, 225], [3, 3], vec![ints("strides", &[2, 2])]),
        case(2, (3, 13), [17, 15], [3, 3], vec![ints("strides", &[2, 2]), ints("pads", &[1, 0, 1, 2])]),
        case(1, (2, 9), [11, 12], [5, 5], vec![ints("pads", &[2, 2, 2, 2])]),
        case(3, (4, 8), [10, 9], [3, 3], vec![ints("dilations", &[2, 3]), ints("pads", &[2, 1, 0, 3])]),
        case(1, (3, 7), [19, 21], [7, 7], vec![ints("strides", &[2, 3]), ints("pads", &[3, 3, 3, 3])]),
        case(1, (5, 6), [6, 5], [1, 3], vec![ints("strides", &[1, 2]), ints("pads", &[0, 4, 0, 4])]),
        case(1, (1, 3), [2, 2], [3, 3], vec![ints("pads", &[1, 1, 1, 1])]),
        case(2, (3, 40), [8, 8], [4, 4], vec![ints("strides", &[3, 3]), ints("pads", &[5, 5, 5, 5])]),
    ]
}

/// x → (Pad of H and W with zeros, if `pad`) → Conv → (Clip to [0, 0.5], if `clip`).
fn graph(case: &Case, pad: Option<[i64; 4]>, clip: bool) -> (tract_onnx::pb::ModelProto, Vec<usize>) {
    let input = vec![case.batch, case.inputs, case.size[0], case.size[1]];
    let mut net = Net::new(&input);
    let x = match pad {
        Some([top, left, bottom, right]) => {
            let pads = net.int_constant(&[0, 0, top, left, 0, 0, bottom, right]);
            net.node("Pad", &["x", &pads], vec![])
        }
        None => "x".into(),
    };
    let w = net.weight(&[case.outputs, case.inputs, case.kernel[0], case.kernel[1]]);
    let bias = net.weight(&[case.outputs]);
    let y = net.node("Conv", &[&x, &w, &bias], case.attributes.clone());
    let y = if clip {
        let (lo, hi) = (net.constant(vec![0.0], &[]), net.constant(vec![0.5], &[]));
        net.node("Clip", &[&y, &lo, &hi], vec![])
    } else {
        y
    };
    (net.proto(&y), input)
}

/// max |ours − tract's| / max |tract's| on a random input; checks that ours ran, with the Pad and
/// the clamp folded in.
fn error(case: &Case, pad: Option<[i64; 4]>, clip: bool) -> f32 {
    let (proto, input) = graph(case, pad, clip);
    let (theirs, _) = planned(&proto, &input, None);
    let (ours, our_ops) = planned(&proto, &input, Some(dense::swap_in));
    assert_eq!(our_ops.iter().filter(|o| *o == "LayercamConv").count(), 1, "ours not swapped in: {our_ops:?}");
    assert!(!our_ops.iter().any(|o| o.contains("Pad") || o.contains("Max") || o.contains("Min")), "left in: {our_ops:?}");
    let error = error_on_random_input(&ours, &theirs, &input);
    println!(
        "batch {} × {} → {} channels, {:?} kernel {:?}, pad {pad:?}, clip {clip}: {error:.1e}",
        case.batch, case.inputs, case.outputs, case.size, case.kernel
    );
    error
}

#[test]
fn a_dense_conv_equals_tracts() {
    let worst = cases().iter().map(|case| error(case, None, false)).fold(0f32, f32::max);
    println!("worst {worst:.1e} of the output's max");
    assert!(worst < 1e-5);
}

/// EfficientNet-Lite0's stem reads a Pad (TensorFlow's "same" padding: one row and column after)
/// and feeds a ReLU6; other pads and clamps the same way.
#[test]
fn a_zero_pad_before_and_a_clamp_after_are_folded_in() {
    let stem = case(1, (3, 32), [224, 224], [3, 3], vec![ints("strides", &[2, 2])]);
    let worst = [error(&stem, Some([0, 0, 1, 1]), true), error(&cases()[1], Some([2, 0, 1, 3]), true), error(&cases()[3], Some([1, 2, 0, 0]), false)]
        .into_iter()
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "worst {worst}");
}

/// A conv too deep to unfold (64 channels × 3×3 taps) and a 1×1 one stay tract's, as does a Pad
/// that something else reads too.
#[test]
fn deep_and_1x1_convs_and_shared_pads_stay_tracts() {
    for (channels, kernel) in [(64, [3, 3]), (3, [1, 1])] {
        let (proto, input) = graph(&case(1, (channels, 4), [9, 9], kernel, vec![]), None, false);
        let ops = planned(&proto, &input, Some(dense::swap_in)).1;
        assert!(!ops.iter().any(|o| o == "LayercamConv"), "{channels} × {kernel:?}: {ops:?}");
    }
    let mut net = Net::new(&[1, 3, 8, 8]);
    let pads = net.int_constant(&[0, 0, 1, 1, 0, 0, 1, 1]);
    let padded = net.node("Pad", &["x", &pads], vec![]);
    let (w, bias) = (net.weight(&[4, 3, 3, 3]), net.weight(&[4]));
    let y = net.node("Conv", &[&padded, &w, &bias], vec![]);
    let sum = net.node("ReduceSum", &[&padded], vec![int("keepdims", 0)]);
    let out = net.node("Add", &[&y, &sum], vec![]);
    let ops = planned(&net.proto(&out), &[1, 3, 8, 8], Some(dense::swap_in)).1;
    assert!(ops.iter().any(|o| o == "LayercamConv") && ops.iter().any(|o| o.contains("Pad")), "{ops:?}");
}
