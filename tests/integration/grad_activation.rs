//! Activation backward rules against finite differences. Inputs keep clear of the kinks, where
//! the gradient is not defined; the kinks themselves follow PyTorch (zero gradient at the bound).

use crate::common::net::*;

const TOLERANCE: f32 = 2e-3;

/// x → op → logits, with inputs at least 0.05 from `kinks`.
fn activation_case(op: &str, extra_inputs: &[&str], attributes: Vec<tract_onnx::pb::AttributeProto>, kinks: &[f32], scale: f32) -> f32 {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let inputs: Vec<&str> = std::iter::once("x").chain(extra_inputs.iter().copied()).collect();
    let y = net.node(op, &inputs, attributes);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 2, 3, 3], kinks, 0.05, scale);
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("{op}: worst relative error {worst:.2e}");
    worst
}

#[test]
fn relu() {
    assert!(activation_case("Relu", &[], vec![], &[0.0], 1.0) < TOLERANCE);
}

#[test]
fn clip_with_bounds_as_inputs() {
    // ReLU6 as exported by PyTorch, on inputs spanning both bounds.
    let mut net = Net::new(&[1, 2, 3, 3]);
    let (min, max) = (net.constant(vec![0.0], &[]), net.constant(vec![6.0], &[]));
    let y = net.node("Clip", &["x", &min, &max], vec![]);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 2, 3, 3], &[0.0, 6.0], 0.05, 8.0);
    assert!(check_against_finite_differences(&net.build(&logits), &x, 1e-2) < TOLERANCE);
}

#[test]
fn clip_with_only_a_lower_bound() {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let min = net.constant(vec![0.25], &[]);
    let y = net.node("Clip", &["x", &min, ""], vec![]);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 2, 3, 3], &[0.25], 0.05, 1.0);
    assert!(check_against_finite_differences(&net.build(&logits), &x, 1e-2) < TOLERANCE);
}

#[test]
fn leaky_relu() {
    assert!(activation_case("LeakyRelu", &[], vec![float("alpha", 0.1)], &[0.0], 1.0) < TOLERANCE);
}

#[test]
fn sigmoid_and_tanh() {
    assert!(activation_case("Sigmoid", &[], vec![], &[], 2.0) < TOLERANCE);
    assert!(activation_case("Tanh", &[], vec![], &[], 2.0) < TOLERANCE);
}

#[test]
fn hard_sigmoid_and_hard_swish() {
    assert!(activation_case("HardSigmoid", &[], vec![float("alpha", 0.2), float("beta", 0.5)], &[-2.5, 2.5], 4.0) < TOLERANCE);
    assert!(activation_case("HardSwish", &[], vec![], &[-3.0, 3.0], 5.0) < TOLERANCE);
}

#[test]
fn relu_gradient_is_zero_exactly_at_zero_as_in_pytorch() {
    let mut net = Net::new(&[1, 1, 1, 2]);
    let y = net.node("Relu", &["x"], vec![]);
    let logits = net.logits_from(&y);
    let explainer = layercam::runtime::Explainer::new(&net.build(&logits), &["x".into()]).unwrap();
    let x = ndarray::Array4::from_shape_vec((1, 1, 1, 2), vec![0.0, 1.0]).unwrap();
    let forward = explainer.forward(x.view()).unwrap();
    let grad = explainer.backward(&forward, &[0]).unwrap().remove(0);
    assert_eq!(grad[(0, 0, 0, 0)], 0.0);
    assert_ne!(grad[(0, 0, 0, 1)], 0.0);
}

/// x + 3 (positive for |x| < 3) → op → logits: for the functions defined on positive numbers only.
fn positive_case(op: &str, extra: Option<f32>) -> f32 {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let three = net.constant(vec![3.0], &[]);
    let shifted = net.node("Add", &["x", &three], vec![]);
    let inputs: Vec<String> = std::iter::once(shifted).chain(extra.map(|e| net.constant(vec![e], &[]))).collect();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let y = net.node(op, &refs, vec![]);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 2, 3, 3], &[], 0.05, 1.0);
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("{op} {extra:?}: worst relative error {worst:.2e}");
    worst
}

#[test]
fn the_maths_of_normalisations_and_attention() {
    assert!(activation_case("Exp", &[], vec![], &[], 1.0) < TOLERANCE);
    assert!(activation_case("Neg", &[], vec![], &[], 1.0) < TOLERANCE);
    assert!(activation_case("Erf", &[], vec![], &[], 1.5) < TOLERANCE);
    assert!(positive_case("Sqrt", None) < TOLERANCE);
    assert!(positive_case("Reciprocal", None) < TOLERANCE);
    assert!(positive_case("Pow", Some(2.0)) < TOLERANCE, "LayerNorm's decomposed variance");
    assert!(positive_case("Pow", Some(-0.5)) < TOLERANCE);
}

#[test]
fn pow_by_an_exponent_from_the_image_is_refused() {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let y = net.node("Pow", &["x", "x"], vec![]);
    let logits = net.logits_from(&y);
    let Err(err) = layercam::grad::differentiate(&net.build(&logits), &["x".to_string()]) else { panic!("refused") };
    assert!(err.to_string().contains("its exponent depends on the image"), "{err}");
}

#[test]
fn prelu_with_a_slope_per_channel() {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let alpha = net.constant(vec![0.25, -0.5], &[2, 1, 1]);
    let y = net.node("PRelu", &["x", &alpha], vec![]);
    let logits = net.logits_from(&y);
    let x = input_avoiding(&[1, 2, 3, 3], &[0.0], 0.05, 1.0);
    assert!(check_against_finite_differences(&net.build(&logits), &x, 1e-2) < TOLERANCE);
}

#[test]
fn gelu_exact_and_with_tanh() {
    // Opset 20's Gelu, both forms, over inputs where its curve bends (|x| < 3).
    for approximate in ["none", "tanh"] {
        let mut net = Net::new(&[1, 2, 3, 3]).with_opset(20);
        let y = net.node("Gelu", &["x"], vec![string("approximate", approximate)]);
        let logits = net.logits_from(&y);
        let x = input_avoiding(&[1, 2, 3, 3], &[], 0.0, 3.0);
        let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
        println!("Gelu ({approximate}): worst relative error {worst:.2e}");
        assert!(worst < TOLERANCE);
    }
}
