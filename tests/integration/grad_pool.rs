//! Pooling and reduction backward rules against finite differences, and MaxPool's tie rule.

use crate::common::net::*;
use layercam::runtime::Explainer;
use ndarray::Array4;

const TOLERANCE: f32 = 2e-3;

fn check(net: Net, logits: &str, x: &Array4<f32>) -> f32 {
    let worst = check_against_finite_differences(&net.build(logits), x, 1e-2);
    println!("worst relative error {worst:.2e}");
    worst
}

/// Distinct values 0.05 apart, shuffled: no window has a near-tie a finite difference could flip.
fn distinct_input(shape: &[usize]) -> Array4<f32> {
    let n: usize = shape.iter().product();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Lcg(5);
    for i in (1..n).rev() {
        let j = ((rng.next() + 1.0) / 2.0 * (i + 1) as f32) as usize % (i + 1);
        order.swap(i, j);
    }
    let values = order.iter().map(|&k| k as f32 * 0.05 - 1.0).collect();
    Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), values).unwrap()
}

#[test]
fn global_average_pool() {
    let mut net = Net::new(&[1, 3, 4, 5]);
    let y = net.node("GlobalAveragePool", &["x"], vec![]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits, &input_avoiding(&[1, 3, 4, 5], &[], 0.0, 1.0)) < TOLERANCE);
}

#[test]
fn reduce_mean_and_sum_with_axes_as_attribute_and_as_input() {
    for (op, opset_18_axes) in [("ReduceMean", false), ("ReduceSum", true)] {
        let mut net = Net::new(&[1, 3, 4, 5]);
        let y = if opset_18_axes {
            let axes = net.int_constant(&[-1]);
            net.node(op, &["x", &axes], vec![int("keepdims", 0)])
        } else {
            net.node(op, &["x"], vec![ints("axes", &[2, 3]), int("keepdims", 1)])
        };
        let logits = net.logits_from(&y);
        assert!(check(net, &logits, &input_avoiding(&[1, 3, 4, 5], &[], 0.0, 1.0)) < TOLERANCE, "{op}");
    }
}

#[test]
fn max_pool_with_overlapping_windows_padding_and_ceil_mode() {
    let cases = [
        vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
        vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2]), int("ceil_mode", 1)],
        vec![ints("kernel_shape", &[3, 3]), ints("strides", &[1, 1])],
    ];
    for attributes in cases {
        let mut net = Net::new(&[1, 2, 5, 5]);
        let y = net.node("MaxPool", &["x"], attributes);
        let logits = net.logits_from(&y);
        assert!(check(net, &logits, &distinct_input(&[1, 2, 5, 5])) < TOLERANCE);
    }
}

#[test]
fn max_pool_ties_go_to_the_first_maximum_as_in_pytorch() {
    let mut net = Net::new(&[1, 1, 2, 2]);
    let y = net.node("MaxPool", &["x"], vec![ints("kernel_shape", &[2, 2])]);
    let logits = net.logits_from(&y);
    let explainer = Explainer::new(&net.build(&logits), &["x".into()]).unwrap();
    let x = Array4::from_elem((1, 1, 2, 2), 1.0);
    let forward = explainer.forward(x.view()).unwrap();
    let grad = explainer.backward(&forward, &[0]).unwrap().remove(0);
    let routed: Vec<f32> = grad.iter().copied().collect();
    assert_ne!(routed[0], 0.0, "the first maximum takes the gradient");
    assert_eq!(&routed[1..], &[0.0, 0.0, 0.0]);
}

#[test]
fn average_pool_with_and_without_padding_in_the_count_and_ceil_mode() {
    // DenseNet's transition (2/2), GoogLeNet's 3×3/1 padded, and a padded 3×3/2 whose last window
    // runs past the input in ceil mode, on an odd-sized input.
    let cases = [(vec![2, 2], vec![2, 2], vec![0, 0, 0, 0], 0, 0), (vec![3, 3], vec![1, 1], vec![1, 1, 1, 1], 0, 0)];
    let padded = [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(include, ceil)| (vec![3, 3], vec![2, 2], vec![1, 1, 1, 1], include, ceil));
    for (kernel, strides, pads, include, ceil) in cases.into_iter().chain(padded) {
        let mut net = Net::new(&[1, 2, 7, 6]);
        let attributes = vec![
            ints("kernel_shape", &kernel),
            ints("strides", &strides),
            ints("pads", &pads),
            int("count_include_pad", include),
            int("ceil_mode", ceil),
        ];
        let y = net.node("AveragePool", &["x"], attributes);
        println!(
            "kernel {kernel:?} strides {strides:?} pads {pads:?} count_include_pad {include} ceil_mode {ceil}: {:?}",
            net.shape_of(&y)
        );
        let logits = net.logits_from(&y);
        assert!(check(net, &logits, &input_avoiding(&[1, 2, 7, 6], &[], 0.0, 1.0)) < TOLERANCE);
    }
}

#[test]
fn global_max_pool() {
    let mut net = Net::new(&[1, 3, 4, 5]);
    let y = net.node("GlobalMaxPool", &["x"], vec![]);
    let logits = net.logits_from(&y);
    assert!(check(net, &logits, &distinct_input(&[1, 3, 4, 5])) < TOLERANCE);
}
