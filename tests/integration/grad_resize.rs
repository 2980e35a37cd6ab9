//! Resize backward against finite differences: nearest (each rounding), linear and cubic, up and
//! down, by sizes and by scales, in every coordinate mode but tf_crop_and_resize.

use crate::common::net::*;

const TOLERANCE: f32 = 2e-3;

enum Target {
    Sizes([i64; 4]),
    Scales([f32; 4]),
}

fn resize_case(mode: &str, coordinates: &str, nearest: &str, target: Target) -> f32 {
    let mut net = Net::new(&[1, 2, 3, 4]);
    let (scales, sizes) = match target {
        Target::Sizes(sizes) => (String::new(), net.int_constant(&sizes)),
        Target::Scales(scales) => (net.constant(scales.to_vec(), &[4]), String::new()),
    };
    let attributes = vec![string("mode", mode), string("coordinate_transformation_mode", coordinates), string("nearest_mode", nearest)];
    // X, roi, scales[, sizes]: an empty name is an absent input.
    let inputs = if sizes.is_empty() { vec!["x", "", &scales] } else { vec!["x", "", "", &sizes] };
    let y = net.node("Resize", &inputs, attributes);
    let squared = net.node("Mul", &[&y, &y], vec![]);
    let logits = net.logits_from(&squared);
    let x = input_avoiding(&[1, 2, 3, 4], &[], 0.0, 1.0);
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("Resize {mode}, {coordinates}, {nearest}: worst relative error {worst:.2e}");
    worst
}

#[test]
fn nearest_with_each_rounding() {
    assert!(resize_case("nearest", "half_pixel", "round_prefer_floor", Target::Sizes([1, 2, 6, 8])) < TOLERANCE);
    assert!(resize_case("nearest", "asymmetric", "floor", Target::Scales([1.0, 1.0, 2.0, 1.5])) < TOLERANCE);
    assert!(resize_case("nearest", "align_corners", "round_prefer_ceil", Target::Sizes([1, 2, 5, 3])) < TOLERANCE);
    assert!(resize_case("nearest", "half_pixel", "ceil", Target::Sizes([1, 2, 2, 7])) < TOLERANCE);
}

#[test]
fn linear_up_and_down() {
    assert!(resize_case("linear", "half_pixel", "floor", Target::Sizes([1, 2, 5, 7])) < TOLERANCE);
    assert!(resize_case("linear", "align_corners", "floor", Target::Sizes([1, 2, 2, 3])) < TOLERANCE);
    assert!(resize_case("linear", "pytorch_half_pixel", "floor", Target::Scales([1.0, 1.0, 0.5, 0.75])) < TOLERANCE);
    assert!(resize_case("linear", "asymmetric", "floor", Target::Scales([1.0, 1.0, 2.0, 2.0])) < TOLERANCE);
}

#[test]
fn cubic() {
    assert!(resize_case("cubic", "half_pixel", "floor", Target::Sizes([1, 2, 5, 6])) < TOLERANCE);
}
