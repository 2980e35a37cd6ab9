//! Our depthwise convolution (one filter per channel), forward and transposed, swapped in for
//! tract's when a plan is built ([`swap_in`]). tract's own runs a generic scalar loop per output
//! pixel and per sample, and its transposed form goes through a matrix product per group; ours
//! runs vectorised row passes ([`kernel`]) with the planes of every sample and channel shared out
//! over the threads. Both forms appear in an explained network: the forward's depthwise layers,
//! and in the backward their input gradient (the rule in `grad/conv.rs` emits it as a
//! ConvTranspose with one group per channel). tests/integration/depthwise.rs checks them against
//! tract's ops on odd sizes, strides, dilations, pads and batches.
//!
//! The elementwise ops around them are folded in, each a pass over a whole tensor less: the
//! forward's ReLU6 after it, and in the backward the ReLU6 gradients before and after the
//! transposed form (tests/integration/grad_conv.rs checks those against the same backward
//! with them apart).

mod kernel;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, KernelFormat, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::clamp_grad::ClampGrad;
use super::fold::{clamps_after, fold, sole_consumer};
use super::simd::Isa;

pub use kernel::{Axis, Channels, Plane};

/// Which way the op runs the plane's taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `[N, C, H, W]` → `[N, C, H', W']`: a depthwise Conv.
    Forward,
    /// `[N, C, H', W']` → `[N, C, H, W]`: its transpose (ConvTranspose with group = C).
    Transposed,
}

/// A depthwise convolution over `[N, C, …]`, inputs `(x, kernel [C, 1, kh, kw], bias [C] or [])`
/// and one more per gate (the clamp output y it reads).
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv {
    pub plane: Plane,
    pub direction: Direction,
    /// The forward's output clamped to `[lo, hi]`: a ReLU6 folded in ([`fold_clamps`]).
    pub clamp: (f32, f32),
    /// The transpose's input and output gated by a clamp's gradient: the backward's
    /// [`ClampGrad`] before and after it folded in ([`fold_gates`]).
    pub gates: [Option<ClampGrad>; 2],
    /// The vectors its planes run over, chosen when the plan is built ([`Isa::detect`]).
    pub isa: Option<Isa>,
}

impl Eq for DepthwiseConv {}

impl DepthwiseConv {
    fn new(plane: Plane, direction: Direction) -> DepthwiseConv {
        DepthwiseConv { plane, direction, clamp: (f32::NEG_INFINITY, f32::INFINITY), gates: [None, None], isa: Isa::detect() }
    }

    /// (input, output) floats per plane in this op's direction.
    fn lens(&self) -> (usize, usize) {
        match self.direction {
            Direction::Forward => (self.plane.input_len(), self.plane.output_len()),
            Direction::Transposed => (self.plane.output_len(), self.plane.input_len()),
        }
    }

    fn output_shape(&self, input: &[usize]) -> TVec<usize> {
        let (rows, cols) = (&self.plane.rows, &self.plane.cols);
        let [h, w] = match self.direction {
            Direction::Forward => [rows.output, cols.output],
            Direction::Transposed => [rows.input, cols.input],
        };
        tvec![input[0], input[1], h, w]
    }

    /// The clamp, where one is folded in.
    fn clamped(&self) -> Option<(f32, f32)> {
        let (lo, hi) = self.clamp;
        (lo > f32::NEG_INFINITY || hi < f32::INFINITY).then_some(self.clamp)
    }

    /// Each gate with the y it reads (the inputs after the bias, in order).
    fn gated<'a>(&'a self, ys: &'a [&'a [f32]]) -> [Option<(&'a ClampGrad, &'a [f32])>; 2] {
        let mut ys = ys.iter();
        self.gates.each_ref().map(|gate| gate.as_ref().map(|g| (g, *ys.next().expect("one y per gate"))))
    }

    fn run(&self, x: &Tensor, kernel: &Tensor, bias: &Tensor, ys: &[&Tensor]) -> TractResult<Tensor> {
        let (x_shape, channels) = (x.shape(), x.shape()[1]);
        let (in_len, out_len) = self.lens();
        let kernel = kernel.try_as_plain_ram()?.as_slice::<f32>()?;
        let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
        ensure!(x.len() == x_shape[0] * channels * in_len && kernel.len() == channels * self.plane.kernel_len());
        ensure!(bias.len() == 1 || bias.len() == channels);
        let ys = ys.iter().map(|y| y.try_as_plain_ram()?.as_slice::<f32>()).collect::<TractResult<Vec<_>>>()?;
        let [before, after] = self.gated(&ys);
        let x = x.try_as_plain_ram()?.as_slice::<f32>()?;
        // Safety: each plane's pass writes every float of its plane.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.output_shape(x_shape))? };
        let mut view = output.try_as_plain_ram_mut()?;
        let out = super::Out::new(view.as_slice_mut::<f32>()?, out_len);
        let samples = x_shape[0];
        let klen = self.plane.kernel_len();
        let bias_of = |c: usize| bias[if bias.len() == 1 { 0 } else { c }];
        // Channel by channel (or a vector's lanes of channels at a time, see `run_across`), every
        // sample of a channel in turn: the K seed rows of a batched backward share the channel's
        // plane of each gate's y, read from memory once for all K.
        let lanes = self.plane.lanes_across(self.isa, self.direction == Direction::Transposed);
        let unit = lanes.unwrap_or(1);
        let groups = channels.div_ceil(unit);
        let blocks = super::blocks(out.rows * out.cols * klen, groups);
        let done = super::shared_out(blocks, |block| -> TractResult<()> {
            let mut scratch = vec![0.0; self.plane.scratch_len()];
            // The gate before's output: one plane's, or a vector's lanes of planes'.
            let mut gated = vec![0.0; if before.is_some() { in_len * unit } else { 0 }];
            let mut across = vec![]; // `Plane::across_on`'s padded map
            let ours = block * groups / blocks * unit..((block + 1) * groups / blocks * unit).min(channels);
            for first in ours.clone().step_by(unit) {
                let group = first..(first + unit).min(ours.end);
                if lanes == Some(group.len()) {
                    for sample in 0..samples {
                        let planes = group.clone().map(|c| sample * channels + c);
                        // Safety: each plane is in one block's channels only, and written by it alone.
                        let outs = planes.clone().map(|plane| unsafe { out.row(plane) }).collect();
                        let kernels = group.clone().map(|c| &kernel[c * klen..][..klen]).collect();
                        let biases = group.clone().map(bias_of).collect();
                        self.run_across(x, planes, (kernels, biases), [before, after], outs, (&mut across, &mut gated));
                    }
                    continue;
                }
                // A plane at a time: where lanes of channels do not pay, and the channels left over.
                for c in group {
                    let k = &kernel[c * klen..][..klen];
                    for plane in (0..samples).map(|s| s * channels + c) {
                        let gates = [(before, in_len), (after, out_len)].map(|(gate, len)| gate.map(|(gate, y)| (gate, plane_of(y, plane, len))));
                        // Safety: each plane is in one block's channel only, and written by it alone.
                        let out = unsafe { out.row(plane) };
                        self.run_plane(&x[plane * in_len..][..in_len], (k, bias_of(c)), gates, out, (&mut scratch, &mut gated));
                    }
                }
            }
            Ok(())
        });
        done.into_iter().collect::<TractResult<()>>()?;
        Ok(output)
    }

    /// One plane: `x` gated by the gate before (if any) into `gated`, the kernel `k` and bias `b`
    /// run in this op's direction into `out`, which the gate after (if any) gates.
    fn run_plane<'a>(
        &self,
        mut x: &'a [f32],
        (k, b): (&[f32], f32),
        [before, after]: [Option<(&ClampGrad, &[f32])>; 2],
        out: &mut [f32],
        (scratch, gated): (&mut [f32], &'a mut [f32]),
    ) {
        if let Some((gate, y)) = before {
            let gated = &mut gated[..x.len()];
            gate.gate_into(gated, x, y);
            x = gated;
        }
        match self.direction {
            Direction::Forward => self.plane.forward_on(self.isa, x, k, b, self.clamped(), out, scratch),
            Direction::Transposed => {
                self.plane.transposed_on(self.isa, x, k, out, scratch);
                if b != 0.0 {
                    out.iter_mut().for_each(|v| *v += b);
                }
            }
        }
        if let Some((gate, y)) = after {
            gate.gate(out, y);
        }
    }

    /// [`DepthwiseConv::run_plane`] for a vector's lanes of planes at once ([`Plane::across_on`]):
    /// the planes `planes` of `x` gated by the gate before (if any) into `gated`, run with their
    /// kernels and biases into `outs`, which the gate after (if any) gates.
    #[allow(clippy::too_many_arguments)]
    fn run_across<'a>(
        &self,
        x: &'a [f32],
        planes: impl Iterator<Item = usize> + Clone,
        (kernels, biases): (Vec<&[f32]>, Vec<f32>),
        [before, after]: [Option<(&ClampGrad, &[f32])>; 2],
        outs: Vec<&mut [f32]>,
        (scratch, gated): (&mut Vec<f32>, &'a mut [f32]),
    ) {
        let (in_len, out_len) = self.lens();
        let inputs: Vec<&[f32]> = match before {
            Some((gate, y)) => {
                let chunks = gated.chunks_exact_mut(in_len).zip(planes.clone());
                chunks.map(|(to, p)| &*{ gate.gate_into(to, &x[p * in_len..][..in_len], plane_of(y, p, in_len)); to }).collect()
            }
            None => planes.clone().map(|p| &x[p * in_len..][..in_len]).collect(),
        };
        let transposed = self.direction == Direction::Transposed;
        let (init, clamp) = if transposed { (vec![0.0; biases.len()], None) } else { (biases.clone(), self.clamped()) };
        let mut channels = Channels { planes: inputs, kernels, init, clamp, outputs: outs };
        self.plane.across_on(self.isa, transposed, &mut channels, scratch);
        for ((out, p), b) in channels.outputs.into_iter().zip(planes).zip(biases) {
            if transposed && b != 0.0 {
                out.iter_mut().for_each(|v| *v += b);
            }
            if let Some((gate, y)) = after {
                gate.gate(out, plane_of(y, p, out_len));
            }
        }
    }
}

/// Plane `plane` of a gate's y: y has one sample where the gradient has K (seed rows).
fn plane_of(y: &[f32], plane: usize, len: usize) -> &[f32] {
    &y[plane % (y.len() / len) * len..][..len]
}

impl Op for DepthwiseConv {
    fn name(&self) -> StaticName {
        match self.direction {
            Direction::Forward => "LayercamDepthwise".into(),
            Direction::Transposed => "LayercamDepthwiseTranspose".into(),
        }
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(inputs.len() >= 3, "a depthwise convolution takes x, a kernel and a bias");
        let ys: Vec<&Tensor> = inputs[3..].iter().map(|y| &**y).collect();
        Ok(tvec![self.run(&inputs[0], &inputs[1], &inputs[2], &ys)?.into_tvalue()])
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0].shape.as_concrete().context("a depthwise convolution needs a concrete input shape")?;
        let output = self.output_shape(shape);
        let mut ys = inputs.iter().skip(3);
        for (gate, gated) in self.gates.iter().zip([shape, &output[..]]) {
            if gate.is_some() {
                let y = ys.next().context("a gate without its y")?.shape.as_concrete().context("a gate needs a concrete y")?;
                ensure!(ClampGrad::fits(gated, y), "a gate's y {y:?} for a gradient {gated:?}");
            }
        }
        ensure!(ys.next().is_none(), "more inputs than the gates read");
        Ok(tvec![f32::fact(output)])
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let planes = inputs[0].shape.iter().take(2).product::<TDim>();
        let taps = self.plane.output_len() * self.plane.kernel_len();
        Ok(tvec![(Cost::FMA(f32::datum_type()), planes * taps)])
    }

    as_op!();
}

/// Replaces every f32 depthwise Conv and ConvTranspose of a decluttered model (2-D, NCHW, one
/// filter per channel, concrete shapes) by [`DepthwiseConv`], with the clamps after the forward ones
/// and the clamps' gradients around the transposed ones folded in; others keep tract's op.
pub fn swap_in(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let facts: TVec<TypedFact> = node.inputs.iter().map(|i| model.outlet_fact(*i).cloned()).collect::<TractResult<_>>()?;
        let facts: TVec<&TypedFact> = facts.iter().collect();
        let op = if let Some(conv) = node.op_as::<Conv>() {
            depthwise(conv.group, &conv.pool_spec, conv.kernel_fmt, conv.q_params.is_none(), &facts, Direction::Forward, |hw| {
                Ok(conv.pool_spec.computed_padding(hw).into_iter().map(|d| (d.convoluted, d.pad_before)).collect())
            })?
        } else if let Some(deconv) = node.op_as::<Deconv>() {
            let spec = &deconv.pool_spec;
            depthwise(deconv.group, spec, deconv.kernel_format, true, &facts, Direction::Transposed, |hw| {
                let sizes =
                    spec.padding.compute_for_deconv(hw, &spec.kernel_shape, &spec.dilations(), &spec.strides(), &deconv.adjustments)?;
                Ok(sizes.into_iter().map(|d| (d.deconvoluted, d.pad_before)).collect())
            })?
        } else {
            None
        };
        let Some(op) = op else { continue };
        let output = op.output_facts(&facts)?;
        ensure!(output[0] == *model.outlet_fact(OutletId::new(id, 0))?, "the depthwise kernel's output shape differs from tract's");
        model.nodes[id].op = Box::new(op);
    }
    fold_clamps(model)?;
    fold_gates(model)
}

/// Our op for a tract convolution, if it is one we run. `sizes(hw)` gives, from the spatial shape
/// of the op's input, each axis's size on the other side (the output of a Conv, the output of a
/// ConvTranspose, i.e. its forward's input) and its padding before the first element.
fn depthwise(
    group: usize,
    spec: &PoolSpec,
    kernel_format: KernelFormat,
    float: bool,
    inputs: &[&TypedFact],
    direction: Direction,
    sizes: impl Fn(&[usize]) -> TractResult<TVec<(usize, usize)>>,
) -> TractResult<Option<DepthwiseConv>> {
    let (Some(x), Some(kernel)) = (inputs[0].shape.as_concrete(), inputs.get(1).and_then(|k| k.shape.as_concrete())) else {
        return Ok(None);
    };
    let fits = float
        && inputs.len() == 3
        && inputs.iter().all(|f| f.datum_type == f32::datum_type())
        && spec.data_format == DataFormat::NCHW
        && kernel_format == KernelFormat::OIHW
        && x.len() == 4
        && spec.rank() == 2
        && group == x[1]
        && group > 1
        && kernel == [group, 1, spec.kernel_shape[0], spec.kernel_shape[1]]
        && spec.input_channels == group
        && spec.output_channels == group;
    if !fits {
        return Ok(None);
    }
    let sizes = sizes(&x[2..])?;
    let (strides, dilations) = (spec.strides(), spec.dilations());
    let axis = |a: usize| {
        let (other, pad) = sizes[a];
        let (input, output) = match direction {
            Direction::Forward => (x[2 + a], other),
            Direction::Transposed => (other, x[2 + a]),
        };
        Axis { input, output, kernel: spec.kernel_shape[a], stride: strides[a], dilation: dilations[a], pad }
    };
    let plane = Plane::new(axis(0), axis(1));
    Ok(plane.reads_input().then(|| DepthwiseConv::new(plane, direction)))
}

/// Folds into each forward [`DepthwiseConv`] the Max and Min by constants that follow it (a
/// ReLU6, as tract declutters it), where each is the only consumer of the one before: one pass
/// less over the output, 0.7-1.0 ms of EfficientNet-Lite0's forward natively.
fn fold_clamps(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let Some(conv) = model.nodes[id].op_as::<DepthwiseConv>().filter(|c| c.direction == Direction::Forward) else { continue };
        let Some((last, clamp)) = clamps_after(model, id)? else { continue };
        let (folded, inputs) = (DepthwiseConv { clamp, ..conv.clone() }, model.nodes[id].inputs.clone());
        fold(model, id..=last, folded, &inputs, "clamped")?;
    }
    Ok(())
}

/// Folds into each transposed [`DepthwiseConv`] the [`ClampGrad`] that feeds it and the one that
/// reads it, where each is the other's sole consumer: in a backward through MobileNet's and
/// EfficientNet's blocks (1×1 conv, ReLU6, depthwise, ReLU6, 1×1 conv) that is every gate but
/// the ones after a 1×1 conv, each a pass over a whole gradient less.
fn fold_gates(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let Some(conv) = node.op_as::<DepthwiseConv>().filter(|c| c.direction == Direction::Transposed && c.gates == [None, None]) else {
            continue;
        };
        let (mut folded, mut inputs, mut last) = (conv.clone(), node.inputs.clone(), id);
        let producer = &model.nodes[inputs[0].node];
        if let Some(gate) = producer.op_as::<ClampGrad>().filter(|_| sole_consumer(model, inputs[0]).is_some_and(|n| n.id == id)) {
            folded.gates[0] = Some(gate.clone());
            inputs[0] = producer.inputs[0];
            inputs.push(producer.inputs[1]);
        }
        let next = sole_consumer(model, OutletId::new(id, 0)).filter(|n| n.inputs[0] == OutletId::new(id, 0));
        if let Some((next, gate)) = next.and_then(|n| Some((n, n.op_as::<ClampGrad>()?))) {
            folded.gates[1] = Some(gate.clone());
            inputs.push(next.inputs[1]);
            last = next.id;
        }
        if folded.gates == [None, None] {
            continue;
        }
        fold(model, id..=last, folded, &inputs, "gated")?;
    }
    Ok(())
}
