//! shaders/raw_map.wgsl (LayerCAM, LayerCAM-normal, Grad-CAM and Grad-CAM++ weights, weighted sum)
//! against `cam::raw_map`, natively (wgpu on Vulkan).

use crate::common::gpu::*;
use pollster::block_on;

#[test]
fn raw_maps_equal_the_cpu_on_the_reference_tensors() {
    let gpu = native();
    for image in crate::common::IMAGES {
        let tensors = |kind: &str| crate::common::LAYERS.map(|l| crate::common::read(&format!("{image}_{kind}_{l}.npy"))).to_vec();
        let worst = block_on(raw_maps_match(&gpu, image, &tensors("act"), &tensors("grad")));
        println!("{} on {image}: worst raw map error {worst:e} of the max", gpu.adapter());
    }
}

#[test]
fn raw_maps_equal_the_cpu_on_awkward_sizes() {
    let gpu = native();
    let worst = block_on(raw_maps_of_awkward_sizes(&gpu));
    println!("{}: worst raw map error {worst:e} of the max", gpu.adapter());
}
