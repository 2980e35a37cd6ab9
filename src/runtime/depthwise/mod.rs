//! Our depthwise convolution (one filter per channel), forward and transposed, swapped in for
//! tract's when a plan is built ([`swap_in`]). tract's own runs a generic scalar loop per output
//! pixel and per sample, and its transposed form goes through a matrix product per group; ours
//! runs vectorised row passes ([`kernel`]) with the planes of every sample and channel shared out
//! over the threads. Both forms appear in an explained network: the forward's depthwise layers,
//! and in the backward their input gradient (the rule in `grad/conv.rs` emits it as a
//! ConvTranspose with one group per channel). tests/integration/depthwise.rs checks them against
//! tract's ops on odd sizes, strides, dilations, pads and batches.

mod kernel;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, KernelFormat, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

pub use kernel::{Axis, Plane};

/// Which way the op runs the plane's taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `[N, C, H, W]` → `[N, C, H', W']`: a depthwise Conv.
    Forward,
    /// `[N, C, H', W']` → `[N, C, H, W]`: its transpose (ConvTranspose with group = C).
    Transposed,
}

/// A depthwise convolution over `[N, C, …]`, inputs `(x, kernel [C, 1, kh, kw], bias [C] or [])`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DepthwiseConv {
    pub plane: Plane,
    pub direction: Direction,
}

impl DepthwiseConv {
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

    fn run(&self, x: &Tensor, kernel: &Tensor, bias: &Tensor) -> TractResult<Tensor> {
        let (x_shape, channels) = (x.shape(), x.shape()[1]);
        let (in_len, out_len) = self.lens();
        let kernel = kernel.try_as_plain_ram()?.as_slice::<f32>()?;
        let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
        ensure!(x.len() == x_shape[0] * channels * in_len && kernel.len() == channels * self.plane.kernel_len());
        ensure!(bias.len() == 1 || bias.len() == channels);
        let x = x.try_as_plain_ram()?.as_slice::<f32>()?;
        let mut output = Tensor::zero::<f32>(&self.output_shape(x_shape))?;
        let mut view = output.try_as_plain_ram_mut()?;
        let out = view.as_slice_mut::<f32>()?;
        let work = out.len() * self.plane.kernel_len();
        tract_onnx::tract_core::tract_linalg::multithread::par_chunks_mut(out, out_len, work, |first, chunk| {
            let mut scratch = vec![0.0; self.plane.scratch_len()];
            for (i, out) in chunk.chunks_exact_mut(out_len).enumerate() {
                let plane = first + i;
                let c = plane % channels;
                let (x, k) = (&x[plane * in_len..][..in_len], &kernel[c * self.plane.kernel_len()..][..self.plane.kernel_len()]);
                let b = bias[if bias.len() == 1 { 0 } else { c }];
                match self.direction {
                    Direction::Forward => self.plane.forward(x, k, b, out, &mut scratch),
                    Direction::Transposed => {
                        self.plane.transposed(x, k, out, &mut scratch);
                        if b != 0.0 {
                            out.iter_mut().for_each(|v| *v += b);
                        }
                    }
                }
            }
            Ok(())
        })?;
        Ok(output)
    }
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
        let (x, kernel, bias) = args_3!(inputs);
        Ok(tvec![self.run(&x, &kernel, &bias)?.into_tvalue()])
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0].shape.as_concrete().context("a depthwise convolution needs a concrete input shape")?;
        Ok(tvec![f32::fact(self.output_shape(shape))])
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let planes = inputs[0].shape.iter().take(2).product::<TDim>();
        let taps = self.plane.output_len() * self.plane.kernel_len();
        Ok(tvec![(Cost::FMA(f32::datum_type()), planes * taps)])
    }

    as_op!();
}

/// Replaces every f32 depthwise Conv and ConvTranspose of a decluttered model (2-D, NCHW, one
/// filter per channel, concrete shapes) by [`DepthwiseConv`]; others keep tract's op.
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
    Ok(())
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
    Ok(plane.reads_input().then_some(DepthwiseConv { plane, direction }))
}
