//! shaders/fusion.wgsl (map maxima, normalise / Eq. 9 tanh scaling, bilinear upsampling, max
//! fusion) against the CPU, natively (wgpu on Vulkan); and the CLI's whole GPU path.

use crate::common::gpu::*;
use pollster::block_on;

#[test]
fn pictures_equal_the_cpu_for_awkward_map_and_image_sizes() {
    let gpu = native();
    let (map, colour) = block_on(pictures_match(&gpu));
    println!("{}: fused maps within {map:e} of the max, colours within {colour} step", gpu.adapter());
}

#[test]
fn tensors_to_pictures_in_one_submission_equal_the_cpu() {
    let gpu = native();
    let (activations, gradients) = chelsea();
    let seen = image::open(crate::common::reference("chelsea.png")).expect("chelsea.png").to_rgb8();
    let seen = image::imageops::resize(&seen, 224, 224, image::imageops::FilterType::Triangle);
    let (map, colour) = block_on(explain_matches(&gpu, &activations, &gradients, &seen));
    println!("{}: maps within {map:e} of the max, colours within {colour} step", gpu.adapter());
}
