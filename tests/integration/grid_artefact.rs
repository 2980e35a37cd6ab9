//! The authors' fix for the grid artefact (`--gradient-from next`): a layer that feeds a stride-2
//! max pool gets the pool's gradient at one location per window, so its LayerCAM map is a grid at
//! the pool's stride; weighed by the pool output's gradient, upsampled bilinearly, it is not. Layers
//! that feed no strided op keep their own gradient.

use crate::common::net::*;
use layercam::cam::{self, LayerTensors, Method, Reduce};
use layercam::model::classifier::Classifier;
use layercam::model::layers::{GradientFrom, auto_layers, strided_consumer};
use layercam::runtime::Explainer;
use ndarray::{Array2, Array4, Axis};

/// VGG-style: conv 3×3 → ReLU (`t1`, 16×16) → max pool 2/2 → conv 3×3 → ReLU (`t4`, 8×8) → GAP → Gemm.
fn vgg_like() -> Classifier {
    let mut net = Net::new(&[1, 3, 16, 16]);
    let w1 = net.weight(&[6, 3, 3, 3]);
    let conv1 = net.node("Conv", &["x", &w1], vec![ints("pads", &[1, 1, 1, 1])]);
    let relu1 = net.node("Relu", &[&conv1], vec![]);
    let pool = net.node("MaxPool", &[&relu1], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]);
    let w2 = net.weight(&[6, 6, 3, 3]);
    let conv2 = net.node("Conv", &[&pool, &w2], vec![ints("pads", &[1, 1, 1, 1])]);
    let relu2 = net.node("Relu", &[&conv2], vec![]);
    let mean = net.node("GlobalAveragePool", &[&relu2], vec![]);
    let logits = net.logits_from(&mean);
    assert_eq!((relu1.as_str(), pool.as_str(), relu2.as_str()), ("t1", "t2", "t4"));
    net.build(&logits)
}

/// The fraction of a map's energy (its mean left out) above the pooled map's Nyquist frequency:
/// what varies faster than the pool's stride of 2 can carry, where a max pool's one-location-per-
/// window gradient puts its grid (a quarter of the sampling rate and up, along rows or columns).
fn energy_above_stride_2(map: &Array2<f32>) -> f64 {
    let (h, w) = map.dim();
    let mean = map.mean().unwrap_or(0.0);
    let power = |u: usize, v: usize| {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for ((y, x), &value) in map.indexed_iter() {
            let angle = -2.0 * std::f64::consts::PI * ((u * y) as f64 / h as f64 + (v * x) as f64 / w as f64);
            re += f64::from(value - mean) * angle.cos();
            im += f64::from(value - mean) * angle.sin();
        }
        re * re + im * im
    };
    let folded = |f: usize, n: usize| f.min(n - f);
    let bins: Vec<(usize, usize)> = (0..h).flat_map(|u| (0..w).map(move |v| (u, v))).collect();
    let total: f64 = bins.iter().map(|&(u, v)| power(u, v)).sum();
    let high: f64 = bins.iter().filter(|&&(u, v)| folded(u, h) >= h / 4 || folded(v, w) >= w / 4).map(|&(u, v)| power(u, v)).sum();
    high / total
}

/// LayerCAM's maps of `layers` for class 0 with the gradient `from`, on a smooth input.
fn maps(model: &Classifier, layers: &[&str], from: GradientFrom) -> Vec<Array2<f32>> {
    let names: Vec<String> = layers.iter().map(|l| l.to_string()).collect();
    let explainer = Explainer::with_gradient_from(model, &names, from).expect("differentiates");
    // A smooth input, as photos are: the only fast variation left is the gradient's.
    let input =
        Array4::from_shape_fn((1, 3, 16, 16), |(_, c, y, x)| (0.3 * y as f32 + c as f32).sin() + (0.25 * x as f32 - c as f32).cos());
    let forward = explainer.forward(input.view()).unwrap();
    let gradients = explainer.backward(&forward, &[0]).unwrap();
    forward
        .activations()
        .into_iter()
        .zip(&gradients)
        .map(|(a, g)| cam::raw_map(Method::LayerCam, LayerTensors::new(a, g.index_axis(Axis(0), 0)), Reduce::Sum).unwrap())
        .collect()
}

#[test]
fn the_pools_gradient_removes_the_grid_and_leaves_other_layers_alone() {
    let model = vgg_like();
    assert_eq!(strided_consumer(&model, "t1").as_deref(), Some("t2"));
    assert_eq!(strided_consumer(&model, "t4"), None, "GAP is not strided");
    let own = maps(&model, &["t1", "t4"], GradientFrom::Layer);
    let next = maps(&model, &["t1", "t4"], GradientFrom::Next);
    let (grid, smooth) = (energy_above_stride_2(&own[0]), energy_above_stride_2(&next[0]));
    println!("energy above the stride-2 band of t1's map: own gradient {grid:.3}, the pool's gradient {smooth:.3}");
    assert!(grid > 0.5, "the max pool leaves a grid: {grid}");
    assert!(smooth < grid / 4.0, "the fix removes most of it: {smooth} vs {grid}");
    assert_eq!(own[1], next[1], "a layer that feeds no strided op is unchanged");
    assert_eq!(own[0].dim(), next[0].dim(), "the map keeps the layer's resolution");
}

#[test]
fn with_the_fix_the_automatic_choice_takes_the_layer_before_each_pool() {
    let model = vgg_like();
    assert_eq!(auto_layers(&model, GradientFrom::Layer), ["t0", "t4"], "the rule passes over t1, which feeds the pool");
    assert_eq!(auto_layers(&model, GradientFrom::Next), ["t1", "t4"], "VGG's S1–S5 are these layers");
}

#[test]
fn a_strided_convolution_that_mixes_channels_has_no_next_gradient() {
    let mut net = Net::new(&[1, 3, 8, 8]);
    let w1 = net.weight(&[4, 3, 1, 1]);
    let conv1 = net.node("Conv", &["x", &w1], vec![]);
    let relu = net.node("Relu", &[&conv1], vec![]);
    let w2 = net.weight(&[4, 4, 2, 2]);
    let mixing = net.node("Conv", &[&relu, &w2], vec![ints("strides", &[2, 2])]);
    let mean = net.node("GlobalAveragePool", &[&mixing], vec![]);
    let logits = net.logits_from(&mean);
    let model = net.build(&logits);
    assert_eq!(strided_consumer(&model, &relu), None, "channel k of its output is not channel k of the layer");
}
