//! Our depthwise kernels (src/runtime/depthwise) against tract's own ops: the same ONNX Conv or
//! ConvTranspose with one group per channel, planned once as tract plans it and once with our op
//! swapped in, on odd sizes, strides, dilations, asymmetric pads and batches.

use layercam::runtime::depthwise::{self, Axis, Plane};
use layercam::runtime::simd::Isa;
use tract_onnx::pb::AttributeProto;
use tract_onnx::prelude::*;

use crate::common::net::*;

/// One convolution: channels, input [h, w], kernel [kh, kw], and its ONNX attributes (with
/// `output_padding` added for the ConvTranspose: what the backward rule uses to restore the
/// rows and columns a strided convolution drops).
struct Case {
    batch: usize,
    channels: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    attributes: Vec<AttributeProto>,
    output_padding: Option<[i64; 2]>,
}

fn case(batch: usize, channels: usize, size: [usize; 2], kernel: [usize; 2], attributes: Vec<AttributeProto>) -> Case {
    Case { batch, channels, size, kernel, attributes, output_padding: None }
}

fn cases() -> Vec<Case> {
    vec![
        case(1, 5, [7, 9], [3, 3], vec![ints("pads", &[1, 1, 1, 1])]),
        case(3, 4, [7, 8], [3, 3], vec![ints("strides", &[2, 2]), ints("pads", &[0, 0, 1, 1])]),
        case(2, 3, [13, 11], [5, 5], vec![ints("strides", &[2, 2]), ints("pads", &[2, 2, 2, 2])]),
        case(1, 6, [10, 6], [3, 3], vec![ints("dilations", &[2, 2]), ints("pads", &[2, 2, 2, 2])]),
        case(1, 2, [5, 12], [1, 3], vec![ints("strides", &[1, 2]), ints("pads", &[0, 1, 0, 1])]),
        case(2, 3, [11, 10], [3, 3], vec![ints("strides", &[3, 3])]),
        Case { output_padding: Some([2, 1]), ..case(1, 3, [11, 10], [3, 3], vec![ints("strides", &[3, 3])]) },
        Case { output_padding: Some([1, 0]), ..case(2, 2, [8, 7], [3, 3], vec![ints("strides", &[2, 2]), ints("pads", &[1, 1, 0, 1])]) },
        case(1, 4, [9, 9], [4, 4], vec![ints("pads", &[1, 2, 2, 1])]),
        case(1, 3, [1, 1], [3, 3], vec![ints("pads", &[1, 1, 1, 1])]),
        case(1, 3, [6, 7], [3, 2], vec![ints("strides", &[2, 3]), ints("dilations", &[1, 2]), ints("pads", &[1, 0, 0, 2])]),
        case(1, 32, [56, 56], [5, 5], vec![ints("strides", &[2, 2]), ints("pads", &[1, 1, 2, 2])]),
        // Maps narrower than a vector, more channels than its lanes: a vector's lanes of channels
        // at a time (`Plane::across_on`), the channels left over one at a time.
        case(2, 19, [7, 7], [5, 5], vec![ints("pads", &[2, 2, 2, 2])]),
        case(1, 17, [14, 13], [3, 3], vec![ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])]),
        case(1, 16, [9, 11], [3, 3], vec![ints("dilations", &[2, 2]), ints("pads", &[2, 2, 2, 2])]),
        case(1, 33, [6, 5], [3, 3], vec![ints("pads", &[0, 1, 2, 0])]),
    ]
}

/// The graph x → `op` (group = channels) with a random kernel and bias; returns (proto, input shape).
fn graph(op: &str, case: &Case) -> (tract_onnx::pb::ModelProto, Vec<usize>) {
    let c = case.channels;
    let input = match op {
        "Conv" => vec![case.batch, c, case.size[0], case.size[1]],
        // The ConvTranspose reads what the Conv writes: its output size.
        _ => {
            let (conv, input) = graph("Conv", case);
            let model = onnx().model_for_proto_model(&conv).unwrap().with_input_fact(0, f32::fact(input).into()).unwrap();
            model.into_typed().unwrap().output_fact(0).unwrap().shape.as_concrete().unwrap().to_vec()
        }
    };
    let mut net = Net::new(&input);
    let y = conv_node(&mut net, op, case);
    (net.proto(&y), input)
}

fn conv_node(net: &mut Net, op: &str, case: &Case) -> String {
    let w = net.weight(&[case.channels, 1, case.kernel[0], case.kernel[1]]);
    let bias = net.weight(&[case.channels]);
    let mut attributes = case.attributes.clone();
    attributes.push(int("group", case.channels as i64));
    if let (Some(padding), "ConvTranspose") = (case.output_padding, op) {
        attributes.push(ints("output_padding", &padding));
    }
    net.node(op, &["x", &w, &bias], attributes)
}

/// The graph planned by tract, with or without our kernel; the names of its ops.
fn plan(proto: &tract_onnx::pb::ModelProto, input: &[usize], ours: bool) -> (std::sync::Arc<TypedSimplePlan>, Vec<String>) {
    planned(proto, input, ours.then_some(depthwise::swap_in))
}

/// max |ours − tract's| / max |tract's| on random inputs, for every case.
fn worst_error(op: &str, our_op: &str) -> f32 {
    let mut worst = 0f32;
    for case in cases() {
        let (proto, input) = graph(op, &case);
        let (theirs, their_ops) = plan(&proto, &input, false);
        let (ours, our_ops) = plan(&proto, &input, true);
        assert!(our_ops.iter().any(|o| o == our_op), "{op} {:?}: ours not swapped in: {our_ops:?}", case.size);
        assert!(!their_ops.iter().any(|o| o == our_op));
        let error = error_on_random_input(&ours, &theirs, &input);
        println!("{op} batch {} × {} channels, {:?} kernel {:?}: {error:.1e}", case.batch, case.channels, case.size, case.kernel);
        worst = worst.max(error);
    }
    worst
}

#[test]
fn the_forward_kernel_equals_tracts_depthwise_conv() {
    let worst = worst_error("Conv", "LayercamDepthwise");
    println!("worst {worst:.1e} of the output's max");
    assert!(worst < 1e-5);
}

#[test]
fn the_transposed_kernel_equals_tracts_conv_transpose() {
    let worst = worst_error("ConvTranspose", "LayercamDepthwiseTranspose");
    println!("worst {worst:.1e} of the output's max");
    assert!(worst < 1e-5);
}

/// A ReLU6 (Clip 0..6) after the forward kernel, and a Relu, folded into it: no Max or Min left in
/// the plan, and the same outputs as tract's.
#[test]
fn a_clamp_after_the_forward_kernel_is_folded_in() {
    let case = case(2, 5, [9, 8], [3, 3], vec![ints("pads", &[1, 1, 1, 1])]);
    for clamp in ["Clip", "Relu"] {
        let mut net = Net::new(&[case.batch, case.channels, case.size[0], case.size[1]]);
        let y = conv_node(&mut net, "Conv", &case);
        let y = match clamp {
            "Clip" => {
                let (lo, hi) = (net.constant(vec![0.0], &[]), net.constant(vec![0.5], &[]));
                net.node("Clip", &[&y, &lo, &hi], vec![])
            }
            _ => net.node("Relu", &[&y], vec![]),
        };
        let input = [case.batch, case.channels, case.size[0], case.size[1]];
        let proto = net.proto(&y);
        let (theirs, _) = plan(&proto, &input, false);
        let (ours, our_ops) = plan(&proto, &input, true);
        assert!(!our_ops.iter().any(|o| o.contains("Max") || o.contains("Min")), "{clamp} left in: {our_ops:?}");
        let x = Tensor::from_shape(&input, &Lcg(7).values(input.iter().product())).unwrap();
        let (got, expected) = outputs_of(&ours, &theirs, x);
        let clamped = expected.iter().filter(|&&v| v == 0.0 || v == 0.5).count();
        let error = got.iter().zip(&expected).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!("{clamp}: {clamped} of {} outputs on a bound, max error {error:.1e}", expected.len());
        assert!(clamped > 0 && error < 1e-5, "{clamp}: max error {error}");
    }
}

/// An axis of `input` positions under a kernel, its output as ONNX's Conv sizes it (pads alike at
/// both ends).
fn axis(input: usize, kernel: usize, stride: usize, dilation: usize, pad: usize) -> Axis {
    let output = (input + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    Axis { input, output, kernel, stride, dilation, pad }
}

/// Every vector width the processor has sums the taps to the same floats as one float at a time,
/// forward (clamped) and transposed: the maps must not depend on the machine, nor differ from the
/// browser's. Planes with a partial last block, strides 1–3, a dilation, uneven pads and inputs
/// that no output reads; the
/// scratch and the outputs hold NaN before each run, so a pad or a value the kernels leave
/// unwritten shows.
#[test]
fn every_vector_width_gives_the_same_floats() {
    let planes = [
        (axis(112, 3, 1, 1, 1), axis(112, 3, 1, 1, 1)),
        (axis(57, 5, 2, 1, 2), axis(31, 5, 2, 1, 1)),
        (axis(7, 5, 1, 1, 2), axis(7, 5, 1, 1, 2)),
        (axis(20, 3, 3, 2, 0), axis(13, 3, 1, 2, 2)),
        // Columns between a stride of 3's taps that no output reads; rows and columns past the
        // last output's reach (an output shorter than the pads allow, as an end pad cut short).
        (axis(20, 3, 2, 1, 0), axis(20, 1, 3, 1, 0)),
        (Axis { output: 5, ..axis(20, 3, 2, 1, 1) }, Axis { output: 4, ..axis(15, 3, 2, 1, 1) }),
    ];
    let forms: Vec<Isa> = Isa::ALL.iter().copied().filter(|isa| isa.runs_here()).collect();
    for (rows, cols) in planes {
        let plane = Plane::new(rows, cols);
        let (input, kernel) = (Lcg(3).values(plane.input_len()), Lcg(5).values(plane.kernel_len()));
        let grad = Lcg(9).values(plane.output_len());
        let mut scratch = vec![0.0; plane.scratch_len()];
        let run = |isa: Option<Isa>, scratch: &mut Vec<f32>| {
            scratch.fill(f32::NAN);
            let (mut output, mut input_grad) = (vec![f32::NAN; plane.output_len()], vec![f32::NAN; plane.input_len()]);
            plane.forward_on(isa, &input, &kernel, 0.25, Some((0.0, 0.5)), &mut output, scratch);
            plane.transposed_on(isa, &grad, &kernel, &mut input_grad, scratch);
            assert!(output.iter().chain(&input_grad).all(|v| v.is_finite()), "{isa:?} left a value unwritten on {rows:?} × {cols:?}");
            [output, input_grad].map(|floats| floats.iter().map(|v| v.to_bits()).collect::<Vec<u32>>())
        };
        let one_at_a_time = run(None, &mut scratch);
        for &isa in &forms {
            assert!(run(Some(isa), &mut scratch) == one_at_a_time, "{isa:?} differs on {rows:?} × {cols:?}");
        }
    }
    println!("the same floats from {forms:?} as one float at a time");
    assert!(!forms.is_empty() || cfg!(not(any(target_arch = "x86_64", target_arch = "wasm32"))));
}

/// A vector's lanes of planes at once, one channel per lane (`Plane::across_on`), gives each
/// plane the floats that the plane-at-a-time form gives it, forward (with a bias and clamp) and
/// transposed, wherever the processor has such vectors: the same taps, summed in the same order.
#[test]
fn planes_run_across_the_lanes_give_the_same_floats() {
    let planes = [
        (axis(7, 5, 1, 1, 2), axis(7, 5, 1, 1, 2)),
        (axis(14, 3, 1, 1, 1), axis(13, 3, 1, 1, 1)),
        (axis(14, 5, 2, 1, 2), axis(14, 5, 2, 1, 1)),
        (axis(9, 3, 1, 2, 2), axis(11, 3, 1, 2, 1)),
        (Axis { output: 5, ..axis(20, 3, 2, 1, 1) }, Axis { output: 4, ..axis(15, 3, 2, 1, 1) }),
    ];
    let mut checked = 0;
    for (rows, cols) in planes {
        let plane = Plane::new(rows, cols);
        for &isa in Isa::ALL.iter().filter(|isa| isa.runs_here()) {
            for transposed in [false, true] {
                let Some(lanes) = plane.lanes_across(Some(isa), transposed) else { continue };
                let (from, to) = if transposed { (plane.output_len(), plane.input_len()) } else { (plane.input_len(), plane.output_len()) };
                let inputs: Vec<Vec<f32>> = (0..lanes).map(|l| Lcg(3 + l as u64).values(from)).collect();
                let kernels: Vec<Vec<f32>> = (0..lanes).map(|l| Lcg(50 + l as u64).values(plane.kernel_len())).collect();
                let biases: Vec<f32> = if transposed { vec![0.0; lanes] } else { Lcg(99).values(lanes) };
                let clamp = (!transposed).then_some((-0.2, 0.5));
                let mut outputs = vec![vec![f32::NAN; to]; lanes];
                let mut channels = depthwise::Channels {
                    planes: inputs.iter().map(Vec::as_slice).collect(),
                    kernels: kernels.iter().map(Vec::as_slice).collect(),
                    init: biases.clone(),
                    clamp,
                    outputs: outputs.iter_mut().map(Vec::as_mut_slice).collect(),
                };
                plane.across_on(Some(isa), transposed, &mut channels, &mut vec![f32::NAN; 7]);
                let mut scratch = vec![0.0; plane.scratch_len()];
                for l in 0..lanes {
                    let mut expected = vec![f32::NAN; to];
                    if transposed {
                        plane.transposed_on(Some(isa), &inputs[l], &kernels[l], &mut expected, &mut scratch);
                    } else {
                        plane.forward_on(Some(isa), &inputs[l], &kernels[l], biases[l], clamp, &mut expected, &mut scratch);
                    }
                    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
                    assert!(bits(&outputs[l]) == bits(&expected), "{isa:?}, transposed {transposed}, lane {l}: {rows:?} × {cols:?}");
                }
                checked += 1;
            }
        }
    }
    println!("{checked} geometries and widths run across the lanes, each lane's floats as one plane's");
    assert!(checked > 0 || !Isa::ALL.iter().any(|isa| isa.runs_here() && isa.lanes() > 4));
}
