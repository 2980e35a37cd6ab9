//! Our 1×1 convolution (src/runtime/pointwise) against tract's own product: the same ONNX Conv
//! with a 1×1 kernel, planned once as tract plans it and once with our op swapped
//! in, on channel counts and map sizes that leave partial panels and tiles, and batches; and the
//! kernel alone, cut into blocks as the threads share them, against the plain sum.

use layercam::runtime::pointwise::{self, Block, Out, Packed};
use tract_onnx::prelude::*;

use crate::common::net::*;

/// A 1×1 convolution: batch, input channels, output channels, map [h, w].
struct Case {
    batch: usize,
    inputs: usize,
    outputs: usize,
    size: [usize; 2],
}

const CASES: [Case; 5] = [
    Case { batch: 1, inputs: 7, outputs: 13, size: [9, 11] },
    Case { batch: 3, inputs: 16, outputs: 24, size: [5, 7] },
    Case { batch: 1, inputs: 40, outputs: 8, size: [12, 12] },
    Case { batch: 2, inputs: 3, outputs: 2, size: [6, 6] },
    Case { batch: 1, inputs: 96, outputs: 40, size: [14, 14] },
];

/// x → Conv (1×1 kernel, a bias) → `clamp` ("Clip" to [0, 0.5], "Relu", or none); the input shape.
fn graph(case: &Case, clamp: Option<&str>) -> (tract_onnx::pb::ModelProto, Vec<usize>) {
    let input = vec![case.batch, case.inputs, case.size[0], case.size[1]];
    let mut net = Net::new(&input);
    let (w, bias) = (net.weight(&[case.outputs, case.inputs, 1, 1]), net.weight(&[case.outputs]));
    let y = net.node("Conv", &["x", &w, &bias], vec![]);
    let y = match clamp {
        Some("Clip") => {
            let (lo, hi) = (net.constant(vec![0.0], &[]), net.constant(vec![0.5], &[]));
            net.node("Clip", &[&y, &lo, &hi], vec![])
        }
        Some(_) => net.node("Relu", &[&y], vec![]),
        None => y,
    };
    (net.proto(&y), input)
}

/// max |ours − tract's| / max |tract's| on random inputs; checks that ours ran, with the bias and
/// the clamp folded in.
fn error(case: &Case, clamp: Option<&str>) -> f32 {
    let (proto, input) = graph(case, clamp);
    let (theirs, _) = planned(&proto, &input, None);
    let (ours, our_ops) = planned(&proto, &input, Some(pointwise::swap_in));
    assert_eq!(our_ops.iter().filter(|o| *o == "LayercamPointwise").count(), 1, "ours not swapped in: {our_ops:?}");
    assert!(!our_ops.iter().any(|o| o.contains("Max") || o.contains("Min") || o.contains("Add")), "left in: {our_ops:?}");
    let error = error_on_random_input(&ours, &theirs, &input);
    println!("{clamp:?}: batch {} × {} → {} channels, {:?}: {error:.1e}", case.batch, case.inputs, case.outputs, case.size);
    error
}

#[test]
fn a_1x1_conv_equals_tracts() {
    let worst = CASES.iter().map(|case| error(case, None)).fold(0f32, f32::max);
    println!("worst {worst:.1e} of the output's max");
    assert!(worst < 1e-5);
}

#[test]
fn a_clamp_after_it_is_folded_in() {
    for clamp in ["Clip", "Relu"] {
        let worst = CASES.iter().map(|case| error(case, Some(clamp))).fold(0f32, f32::max);
        assert!(worst < 1e-5, "{clamp}: {worst}");
    }
}

/// A map of one position (a classifier's last product) stays tract's, and without a clamp a NaN
/// in the input stays NaN where it is read.
#[test]
fn a_single_position_stays_tracts_and_a_nan_stays_nan() {
    let (proto, input) = graph(&Case { batch: 1, inputs: 8, outputs: 4, size: [1, 1] }, None);
    assert!(!planned(&proto, &input, Some(pointwise::swap_in)).1.iter().any(|o| o == "LayercamPointwise"));
    let case = &CASES[0];
    let (proto, input) = graph(case, None);
    let (ours, _) = planned(&proto, &input, Some(pointwise::swap_in));
    let mut values = Lcg(3).values(input.iter().product());
    values[0] = f32::NAN;
    let out = ours.run(tvec![Tensor::from_shape(&input, &values).unwrap().into_tvalue()]).unwrap().remove(0);
    let out = out.to_plain_array_view::<f32>().unwrap();
    let positions = case.size[0] * case.size[1];
    assert!((0..case.outputs).all(|m| out.as_slice().unwrap()[m * positions].is_nan()), "position 0 of every channel is NaN");
    assert_eq!(out.iter().filter(|v| v.is_nan()).count(), case.outputs);
}

/// The kernel cut into every way of blocks the threads may get (rows by panels, columns by
/// tiles), the partial last panel and tile included, against `Σ_k W[m, k] · x[k, p]` in f64.
#[test]
fn the_kernel_in_blocks_equals_the_plain_product() {
    for (rows, depth, cols) in [(13, 7, 99), (40, 96, 49), (8, 1, 33), (1, 5, 8)] {
        let (w, x) = (Lcg(1).values(rows * depth), Lcg(2).values(depth * cols));
        let bias = Lcg(3).values(rows);
        let packed = Packed::new(rows, depth, |m, k| w[m * depth + k]).expect("a kernel for this processor");
        let (panels, tiles) = (packed.panel_count(), cols.div_ceil(packed.tile_cols()));
        let splits = [(1, 1), (panels, 1), (1, tiles), (panels, tiles)];
        for ((row_blocks, col_blocks), clamp) in splits.into_iter().zip([None, Some((-0.3, 0.4))].into_iter().cycle()) {
            let mut out = vec![f32::NAN; rows * cols];
            let target = Out::new(&mut out, cols);
            for (r, c) in (0..row_blocks).flat_map(|r| (0..col_blocks).map(move |c| (r, c))) {
                let cut = |i: usize, blocks: usize, len: usize| i * len / blocks..(i + 1) * len / blocks;
                let block = Block { panels: cut(r, row_blocks, panels), tiles: cut(c, col_blocks, tiles) };
                // Safety: the blocks do not overlap; one thread writes them in turn.
                unsafe { packed.product(&x, &bias, clamp, block, &target) };
            }
            let worst = (0..rows * cols).fold(0f64, |worst, i| {
                let (m, p) = (i / cols, i % cols);
                let sum = bias[m] as f64 + (0..depth).map(|k| w[m * depth + k] as f64 * x[k * cols + p] as f64).sum::<f64>();
                let want = clamp.map_or(sum, |(lo, hi): (f32, f32)| sum.clamp(lo as f64, hi as f64));
                worst.max((out[i] as f64 - want).abs())
            });
            println!("{rows}×{depth}×{cols} in {row_blocks}×{col_blocks} blocks, clamp {clamp:?}: max error {worst:.1e}");
            assert!(worst < 1e-5, "{rows}×{depth}×{cols} in {row_blocks}×{col_blocks} blocks: {worst}");
        }
    }
}

/// A plan built while our kernels are held to 128-bit vectors (`layercam bench`'s row at
/// WebAssembly's width) gives the full-width plan's logits and gradients, and the plans built
/// after it are full width again.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_plan_held_to_128_bits_gives_the_full_width_values() {
    use layercam::runtime::Explainer;
    use layercam::runtime::simd::Isa;
    // A MobileNet block's first half: 1×1 expansion, ReLU6, 3×3 depthwise.
    let mut net = Net::new(&[1, 8, 9, 9]);
    let (w, bias) = (net.weight(&[16, 8, 1, 1]), net.weight(&[16]));
    let expanded = net.node("Conv", &["x", &w, &bias], vec![]);
    let (lo, hi) = (net.constant(vec![0.0], &[]), net.constant(vec![6.0], &[]));
    let layer = net.node("Clip", &[&expanded, &lo, &hi], vec![]);
    let (kernel, bias) = (net.weight(&[16, 1, 3, 3]), net.weight(&[16]));
    let depthwise = net.node("Conv", &[&layer, &kernel, &bias], vec![int("group", 16), ints("pads", &[1, 1, 1, 1])]);
    let logits = net.logits_from(&depthwise);
    let model = net.build(&logits);

    let widest = Isa::detect();
    Isa::hold_to(Some(Isa::Sse));
    assert_eq!(Isa::detect(), Some(Isa::Sse));
    let narrow = Explainer::new(&model, std::slice::from_ref(&layer));
    Isa::hold_to(None);
    assert_eq!(Isa::detect(), widest);
    let (narrow, wide) = (narrow.unwrap(), Explainer::new(&model, &[layer]).unwrap());

    let x = input_avoiding(&[1, 8, 9, 9], &[], 0.0, 1.0);
    let [narrow, wide] = [&narrow, &wide].map(|e| {
        let forward = e.forward(x.view()).unwrap();
        let gradient = e.backward(&forward, &[0]).unwrap().remove(0);
        (forward.logits, gradient)
    });
    let relative = |a: &[f32], b: &[f32]| {
        let max = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        a.iter().zip(b).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / max
    };
    let logits = relative(&narrow.0, &wide.0);
    let gradient = relative(narrow.1.as_slice().unwrap(), wide.1.as_slice().unwrap());
    println!("128 bits against {widest:?}: logits {logits:.1e}, gradient {gradient:.1e} of their max");
    assert!(logits < 1e-5 && gradient < 1e-5, "logits {logits}, gradient {gradient}");
}
