//! shaders/colormap.wgsl (jet, turbo, grey, alpha blend) against `cam::overlay`, natively.

use crate::common::gpu::*;

#[test]
fn colours_equal_the_cpu_within_one_step() {
    let gpu = native();
    let worst = pollster::block_on(colours_match(&gpu));
    println!("{}: colours within {worst} step of 255", gpu.adapter());
}
