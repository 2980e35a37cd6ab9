//! Whole-graph behaviour of the differentiation: which nodes it touches, what it refuses and how
//! it says so.

use crate::common::net::*;
use layercam::Error;
use layercam::runtime::Explainer;

#[test]
fn an_op_without_a_rule_on_the_path_is_named() {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let y = net.node("Sin", &["x"], vec![]);
    let logits = net.logits_from(&y);
    let err = Explainer::new(&net.build(&logits), &["x".into()]).err().expect("Sin has no rule");
    assert!(matches!(&err, Error::UnsupportedOp { op, node } if op == "Sin" && node == "Sin_0"), "{err:?}");
    assert_eq!(err.to_string(), "cannot differentiate node `Sin_0`: operator Sin has no backward rule");
}

#[test]
fn ops_below_the_shallowest_target_are_not_differentiated() {
    // Sin has no rule, but it lies before the target: only the path from the logits down to
    // the target is differentiated.
    let mut net = Net::new(&[1, 2, 3, 3]);
    let below = net.node("Sin", &["x"], vec![]);
    let target = net.node("Relu", &[&below], vec![]);
    let logits = net.logits_from(&target);
    assert!(Explainer::new(&net.build(&logits), &[target]).is_ok());
}

#[test]
fn a_final_softmax_is_skipped_and_logits_are_explained() {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let logits = net.logits_from("x");
    let probabilities = net.node("Softmax", &[&logits], vec![int("axis", 1)]);
    let model = net.build(&probabilities);
    assert_eq!(model.logits, logits);
    let x = input_avoiding(&[1, 2, 3, 3], &[], 0.0, 1.0);
    assert!(check_against_finite_differences(&model, &x, 1e-2) < 2e-3);
}

#[test]
fn shape_subgraphs_feeding_reshape_are_constants() {
    // Flatten written the way exporters do: Reshape(x, Concat(Gather(Shape(x), 0), [-1])).
    let mut net = Net::new(&[1, 2, 3, 3]);
    let shape = net.node("Shape", &["x"], vec![]);
    let zero = net.int_constant(&[0]);
    let batch = net.node("Gather", &[&shape, &zero], vec![int("axis", 0)]);
    let rest = net.int_constant(&[-1]);
    let target_shape = net.node("Concat", &[&batch, &rest], vec![int("axis", 0)]);
    let flat = net.node("Reshape", &["x", &target_shape], vec![]);
    let w = net.weight(&[3, 18]);
    let logits = net.node("Gemm", &[&flat, &w], vec![int("transB", 1)]);
    let model = net.build(&logits);
    assert!(!model.tensor(&target_shape).unwrap().variable);
    let x = input_avoiding(&[1, 2, 3, 3], &[], 0.0, 1.0);
    assert!(check_against_finite_differences(&model, &x, 1e-2) < 2e-3);
}

#[test]
fn several_targets_at_once() {
    let mut net = Net::new(&[1, 2, 4, 4]);
    let w = net.weight(&[3, 2, 3, 3]);
    let a = net.node("Conv", &["x", &w], vec![ints("pads", &[1, 1, 1, 1])]);
    let b = net.node("Relu", &[&a], vec![]);
    let logits = net.logits_from(&b);
    let explainer = Explainer::new(&net.build(&logits), &[a.clone(), b.clone(), "x".into()]).unwrap();
    let x = input_avoiding(&[1, 2, 4, 4], &[], 0.0, 1.0);
    let forward = explainer.forward(x.view()).unwrap();
    let grads = explainer.backward(&forward, &[1]).unwrap();
    assert_eq!(grads.iter().map(|g| g.shape().to_vec()).collect::<Vec<_>>(), [vec![1, 3, 4, 4], vec![1, 3, 4, 4], vec![1, 2, 4, 4]]);
    // Through the Relu: g_a = g_b where b > 0, zero elsewhere.
    for ((ga, gb), act) in grads[0].iter().zip(grads[1].iter()).zip(forward.activation(1).iter()) {
        assert_eq!(*ga, if *act > 0.0 { *gb } else { 0.0 });
    }
}

#[test]
fn a_layer_that_does_not_reach_the_logits_is_refused() {
    let mut net = Net::new(&[1, 2, 3, 3]);
    let dead_end = net.node("Relu", &["x"], vec![]);
    let logits = net.logits_from("x");
    let err = Explainer::new(&net.build(&logits), std::slice::from_ref(&dead_end)).err().unwrap();
    assert!(err.to_string().contains("does not influence the logits"), "{err}");
}
