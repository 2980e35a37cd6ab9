//! Add / Sub / Mul / Div backward against finite differences, with broadcasting both ways and a
//! tensor used twice (gradients of several consumers add up).

use crate::common::net::*;

const TOLERANCE: f32 = 2e-3;

fn case(build: impl FnOnce(&mut Net) -> String) -> f32 {
    let mut net = Net::new(&[1, 3, 2, 2]);
    let y = build(&mut net);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 3, 2, 2], &[0.0], 0.3, 1.0); // away from 0: Div by x
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("worst relative error {worst:.2e}");
    worst
}

#[test]
fn add_and_sub_by_constants_with_broadcasting() {
    assert!(
        case(|n| {
            let c = n.weight(&[3, 1, 1]);
            n.node("Add", &["x", &c], vec![])
        }) < TOLERANCE
    );
    assert!(
        case(|n| {
            let c = n.weight(&[1, 2]);
            n.node("Sub", &[&c, "x"], vec![])
        }) < TOLERANCE
    );
}

#[test]
fn mul_and_div_by_constants() {
    assert!(
        case(|n| {
            let c = n.weight(&[3, 1, 1]);
            n.node("Mul", &["x", &c], vec![])
        }) < TOLERANCE
    );
    assert!(
        case(|n| {
            let c = n.constant(vec![2.0, -4.0, 0.5], &[3, 1, 1]);
            n.node("Div", &["x", &c], vec![])
        }) < TOLERANCE
    );
}

#[test]
fn products_and_quotients_of_two_activations() {
    // x·x, x/(x²+1) and a residual x + relu-free branch: the same tensor reaches the output twice.
    assert!(case(|n| n.node("Mul", &["x", "x"], vec![])) < TOLERANCE);
    assert!(
        case(|n| {
            let square = n.node("Mul", &["x", "x"], vec![]);
            let one = n.constant(vec![1.0], &[]);
            let denominator = n.node("Add", &[&square, &one], vec![]);
            n.node("Div", &["x", &denominator], vec![])
        }) < TOLERANCE
    );
}

#[test]
fn an_activation_broadcast_over_space() {
    // Squeeze-and-excitation: x · mean(x) per channel; the [1,C,1,1] operand's gradient is summed over H, W.
    assert!(
        case(|n| {
            let pooled = n.node("GlobalAveragePool", &["x"], vec![]);
            n.node("Mul", &["x", &pooled], vec![])
        }) < TOLERANCE
    );
}

#[test]
fn sum_and_mean_of_n_inputs_with_broadcasting() {
    for op in ["Sum", "Mean"] {
        let mut net = Net::new(&[1, 2, 3, 3]);
        let relu = net.node("Relu", &["x"], vec![]);
        let per_channel = net.weight(&[1, 2, 1, 1]);
        let y = net.node(op, &["x", &relu, &per_channel], vec![]);
        let logits = net.logits_from(&y);
        let x = input_avoiding(&[1, 2, 3, 3], &[0.0], 0.05, 1.0);
        let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
        println!("{op}: worst relative error {worst:.2e}");
        assert!(worst < 2e-3, "{op}: {worst}");
    }
}

#[test]
fn softmax_and_log_softmax_along_an_inner_axis_as_attention_does() {
    for (op, axis) in [("Softmax", -1), ("Softmax", 2), ("LogSoftmax", -1)] {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let y = net.node(op, &["x"], vec![int("axis", axis)]);
        // Weigh the probabilities by the input, as attention weighs its values.
        let mixed = net.node("Mul", &[&y, "x"], vec![]);
        let logits = net.logits_from(&mixed);
        let x = input_avoiding(&[1, 2, 3, 4], &[], 0.0, 2.0);
        let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
        println!("{op} axis {axis}: worst relative error {worst:.2e}");
        assert!(worst < 2e-3, "{op} axis {axis}: {worst}");
    }
}

#[test]
fn where_with_a_constant_condition_and_with_one_from_the_image() {
    // The first branch x², the second the channel mean broadcast back (its gradient summed over
    // the channels); the condition a constant mask, then x > 0 itself.
    for from_image in [false, true] {
        let mut net = Net::new(&[1, 2, 3, 4]);
        let zero = net.constant(vec![0.0], &[]);
        let condition = if from_image {
            net.node("Greater", &["x", &zero], vec![])
        } else {
            let w = net.weight(&[1, 1, 3, 4]);
            net.node("Greater", &[&w, &zero], vec![])
        };
        let square = net.node("Mul", &["x", "x"], vec![]);
        let mean = net.node("ReduceMean", &["x"], vec![ints("axes", &[1]), int("keepdims", 1)]);
        let y = net.node("Where", &[&condition, &square, &mean], vec![]);
        let logits = net.logits_from(&y);
        let x = input_avoiding(&[1, 2, 3, 4], &[0.0], 0.05, 1.0);
        let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
        println!("Where, condition from the image: {from_image}: worst relative error {worst:.2e}");
        assert!(worst < TOLERANCE);
    }
}
