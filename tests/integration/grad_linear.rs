//! Gemm, MatMul, BatchNormalization, LayerNormalization and LRN backward against finite differences.

use crate::common::net::*;

const TOLERANCE: f32 = 2e-3;

fn check(net: Net, logits: &str, shape: &[usize]) -> f32 {
    let x = input_avoiding(shape, &[], 0.0, 1.0);
    let worst = check_against_finite_differences(&net.build(logits), &x, 1e-2);
    println!("worst relative error {worst:.2e}");
    worst
}

#[test]
fn gemm_with_each_transposition_of_b() {
    for trans_b in [0, 1] {
        let mut net = Net::new(&[1, 4, 1, 1]);
        let flat = net.node("Flatten", &["x"], vec![]);
        let w = net.weight(if trans_b == 1 { &[3, 4] } else { &[4, 3] });
        let c = net.weight(&[3]);
        let y = net.node("Gemm", &[&flat, &w, &c], vec![int("transB", trans_b), float("alpha", 0.7), float("beta", 2.0)]);
        assert!(check(net, &y, &[1, 4, 1, 1]) < TOLERANCE, "transB={trans_b}");
    }
}

#[test]
fn gemm_with_transposed_a() {
    // A = xᵀ [4, 1]: the batch is on A's second axis, and comes back through the Transpose rule.
    let mut net = Net::new(&[1, 4, 1, 1]);
    let flat = net.node("Flatten", &["x"], vec![]);
    let a = net.node("Transpose", &[&flat], vec![ints("perm", &[1, 0])]);
    let w = net.weight(&[4, 3]);
    let y = net.node("Gemm", &[&a, &w], vec![int("transA", 1)]);
    assert!(check(net, &y, &[1, 4, 1, 1]) < TOLERANCE);
}

#[test]
fn matmul_on_rank_2_and_rank_3() {
    let mut net = Net::new(&[1, 4, 1, 1]);
    let flat = net.node("Flatten", &["x"], vec![]);
    let w = net.weight(&[4, 3]);
    let y = net.node("MatMul", &[&flat, &w], vec![]);
    assert!(check(net, &y, &[1, 4, 1, 1]) < TOLERANCE);

    // Tokens: [1, 3, 4] @ [4, 2].
    let mut net = Net::new(&[1, 3, 2, 2]);
    let shape = net.int_constant(&[1, 3, 4]);
    let tokens = net.node("Reshape", &["x", &shape], vec![]);
    let w = net.weight(&[4, 2]);
    let y = net.node("MatMul", &[&tokens, &w], vec![]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits, &[1, 3, 2, 2]) < TOLERANCE);
}

#[test]
fn batch_normalization_in_inference_mode() {
    let mut net = Net::new(&[1, 3, 2, 2]);
    let scale = net.weight(&[3]);
    let bias = net.weight(&[3]);
    let mean = net.weight(&[3]);
    let variance = net.constant(vec![0.5, 2.0, 1.0], &[3]);
    let y = net.node("BatchNormalization", &["x", &scale, &bias, &mean, &variance], vec![float("epsilon", 1e-3)]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits, &[1, 3, 2, 2]) < TOLERANCE);
}

#[test]
fn layer_normalization_over_the_last_axis_and_over_all_but_the_batch() {
    for (axis, normalised) in [(-1, vec![4]), (1, vec![2, 3, 4])] {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let size = normalised.iter().product();
        let (scale, bias) = (net.constant(Lcg(3).values(size), &normalised), net.constant(Lcg(4).values(size), &normalised));
        let y = net.node("LayerNormalization", &["x", &scale, &bias], vec![int("axis", axis), float("epsilon", 1e-5)]);
        let logits = net.logits_from(&y);
        let x = input_avoiding(&[1, 2, 3, 4], &[], 0.0, 1.0);
        let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
        println!("LayerNormalization axis {axis}: worst relative error {worst:.2e}");
        assert!(worst < 5e-3, "axis {axis}: {worst}");
    }
}

/// The TorchScript exporter's LayerNorm before opset 17: ReduceMean, Sub, Pow, Add, Sqrt, Div.
#[test]
fn layer_normalization_in_its_decomposed_form() {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let mean = net.node("ReduceMean", &["x"], vec![ints("axes", &[-1]), int("keepdims", 1)]);
    let centred = net.node("Sub", &["x", &mean], vec![]);
    let two = net.constant(vec![2.0], &[]);
    let square = net.node("Pow", &[&centred, &two], vec![]);
    let variance = net.node("ReduceMean", &[&square], vec![ints("axes", &[-1]), int("keepdims", 1)]);
    let epsilon = net.constant(vec![1e-5], &[]);
    let variance = net.node("Add", &[&variance, &epsilon], vec![]);
    let deviation = net.node("Sqrt", &[&variance], vec![]);
    let y = net.node("Div", &[&centred, &deviation], vec![]);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 2, 3, 4], &[], 0.0, 1.0);
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("decomposed LayerNorm: worst relative error {worst:.2e}");
    assert!(worst < 5e-3, "{worst}");
}

#[test]
fn local_response_normalization_with_odd_and_even_windows() {
    // An even window is lopsided (one more channel above); five channels, so windows are cut at
    // both ends; α large enough that the cross-channel term matters.
    for size in [3, 4] {
        let mut net = Net::new(&[1, 5, 3, 2]);
        let attributes = vec![int("size", size), float("alpha", 0.8), float("beta", 0.75), float("bias", 1.5)];
        let y = net.node("LRN", &["x"], attributes);
        let logits = net.logits_from(&y);
        assert!(check(net, &logits, &[1, 5, 3, 2]) < TOLERANCE, "size {size}");
    }
}
