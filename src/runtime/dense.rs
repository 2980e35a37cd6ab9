//! Our dense convolution (one group, a kernel larger than 1×1) of an input with few channels: a
//! network's stem, EfficientNet-Lite0's 3×3 stride-2 convolution of the RGB image. tract runs it
//! as its matrix product over a lazily unfolded input (LazyIm2col, then OptMatMul): 0.71 ms of
//! the forward's 7.5 on two threads here for 10.8 M multiply-adds, with a Pad pass before it and a
//! clamp pass after. Ours unfolds the input once (im2col: one row per input channel and tap, the
//! padding written as zeros) and runs our 1×1 kernel ([`super::pointwise`]) over that, with the
//! zero Pad before it, the bias and the clamp after it folded in. tests/integration/dense.rs
//! checks it against tract's op on odd sizes, strides, dilations, pads and batches.

use std::ops::Range;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode};
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_core::tract_linalg::multithread::par_chunks_mut;

use super::fold::{clamps_after, fold, sole_consumer};
use super::pointwise::{Packed, Pointwise};

/// The deepest unfolded input we run (input channels × taps): a column tile of it, 32 columns of
/// this many rows, stays in the nearest cache through the product (147 for a 7×7 RGB stem).
const MAX_DEPTH: usize = 160;

/// The most floats an unfolded sample may take: past it (a huge input) tract's lazy unfolding runs.
const MAX_UNFOLDED: usize = 1 << 24;

/// A dense 2-D convolution over `[N, C, H, W]`: the input unfolded, then a matrix product.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseConv {
    unfold: Unfold,
    /// `[M, C·kh·kw]` weights with the bias and clamp, over `[C·kh·kw, H'·W']` per sample.
    product: Pointwise,
}

impl Eq for DenseConv {}

/// Where each tap of a convolution reads its input: the geometry of im2col.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Unfold {
    channels: usize,
    input: [usize; 2],
    output: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// Zeros before the first row and column.
    pad: [usize; 2],
}

impl Unfold {
    fn depth(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    fn input_len(&self) -> usize {
        self.channels * self.input[0] * self.input[1]
    }

    /// The outputs along `axis` whose tap `t` falls inside the input, not in the padding.
    fn inside(&self, axis: usize, t: usize) -> Range<usize> {
        let (n, s, offset) = (self.input[axis], self.stride[axis], t * self.dilation[axis]);
        let (pad, outputs) = (self.pad[axis], self.output[axis]);
        let first = pad.saturating_sub(offset).div_ceil(s).min(outputs);
        let end = (n + pad).saturating_sub(offset).div_ceil(s).min(outputs);
        first..end.max(first)
    }

    /// Row `k` of a sample's unfolded input: what channel c's tap (i, j) reads at every output
    /// position, zero where it falls in the padding. `x` is the sample, `[C, H, W]`.
    fn row(&self, x: &[f32], k: usize, row: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let (c, i, j) = (k / (kh * kw), k / kw % kh, k % kw);
        let [h, w] = self.input;
        let plane = &x[c * h * w..][..h * w];
        let (rows, cols) = (self.inside(0, i), self.inside(1, j));
        // Where the first output inside reads (none where no output is: then it is not read).
        let first_col = (cols.start * self.stride[1] + j * self.dilation[1]).saturating_sub(self.pad[1]);
        for (oy, out) in row.chunks_exact_mut(self.output[1]).enumerate() {
            if !rows.contains(&oy) || cols.is_empty() {
                out.fill(0.0);
                continue;
            }
            let y = oy * self.stride[0] + i * self.dilation[0] - self.pad[0];
            let from = &plane[y * w + first_col..(y + 1) * w];
            out[..cols.start].fill(0.0);
            out[cols.end..].fill(0.0);
            let inside = &mut out[cols.clone()];
            if self.stride[1] == 1 {
                inside.copy_from_slice(&from[..inside.len()]);
            } else {
                inside.iter_mut().zip(from.iter().step_by(self.stride[1])).for_each(|(o, v)| *o = *v);
            }
        }
    }
}

impl DenseConv {
    fn run(&self, x: &Tensor) -> TractResult<Tensor> {
        let x = x.try_as_plain_ram()?.as_slice::<f32>()?;
        let (depth, positions, sample_len) = (self.unfold.depth(), self.unfold.positions(), self.unfold.input_len());
        ensure!(x.len() == self.product.output_shape()[0] * sample_len, "a dense convolution's input has {} floats", x.len());
        // Safety: every row is written below.
        let mut unfolded = unsafe { Tensor::uninitialized::<f32>(&[x.len() / sample_len * depth, positions])? };
        let mut view = unfolded.try_as_plain_ram_mut()?;
        let rows = view.as_slice_mut::<f32>()?;
        let work = rows.len();
        par_chunks_mut(rows, positions, work, |first, chunk| {
            for (r, row) in chunk.chunks_exact_mut(positions).enumerate() {
                let (sample, k) = ((first + r) / depth, (first + r) % depth);
                self.unfold.row(&x[sample * sample_len..][..sample_len], k, row);
            }
            Ok(())
        })?;
        self.product.run_on(view.as_slice::<f32>()?)
    }
}

impl Op for DenseConv {
    fn name(&self) -> StaticName {
        "LayercamConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DenseConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        Ok(tvec![self.run(&x)?.into_tvalue()])
    }
}

impl TypedOp for DenseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let x = inputs[0].shape.as_concrete().context("a dense convolution needs a concrete input shape")?;
        let unfold = &self.unfold;
        ensure!(x.len() == 4 && x[0] == self.product.output_shape()[0] && x[1..] == [unfold.channels, unfold.input[0], unfold.input[1]]);
        Ok(tvec![f32::fact(self.product.output_shape())])
    }

    fn cost(&self, _: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let shape = self.product.output_shape();
        Ok(tvec![(Cost::FMA(f32::datum_type()), (shape.iter().product::<usize>() * self.unfold.depth()).into())])
    }

    as_op!();
}

/// Replaces every f32 dense Conv of a decluttered model that [`dense`] takes by [`DenseConv`],
/// with the zero Pad before it and the clamps after it folded in; others keep tract's op.
pub fn swap_in(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let Some((op, input)) = dense(model, &model.nodes[id])? else { continue };
        ensure!(
            op.output_facts(&[model.outlet_fact(input)?])?[0] == *model.outlet_fact(OutletId::new(id, 0))?,
            "the dense convolution's output shape differs from tract's"
        );
        let (op, last) = match clamps_after(model, id)? {
            Some((last, clamp)) => (DenseConv { product: op.product.clamped(Some(clamp)), ..op }, last),
            None => (op, id),
        };
        fold(model, id..=last, op, &[input], "dense")?;
    }
    Ok(())
}

/// Our op for a tract Conv, and the outlet it reads (a zero Pad's input, where it folds one in),
/// if it is one we run: f32, 2-D, NCHW, one group, constant weights and bias, a kernel larger
/// than 1×1 (tract makes a 1×1 one a product, which [`super::pointwise`] takes), few input
/// channels × taps.
fn dense(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(DenseConv, OutletId)>> {
    let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
    let spec = &conv.pool_spec;
    let facts: TVec<&TypedFact> = node.inputs.iter().map(|i| model.outlet_fact(*i)).collect::<TractResult<_>>()?;
    if facts.len() != 3 {
        return Ok(None);
    }
    let fits = conv.q_params.is_none()
        && conv.group == 1
        && facts.iter().all(|f| f.datum_type == f32::datum_type())
        && spec.data_format == DataFormat::NCHW
        && conv.kernel_fmt == KernelFormat::OIHW
        && spec.rank() == 2
        && spec.kernel_shape.iter().product::<usize>() > 1;
    let (Some(x), Some(kernel), Some(bias)) = (facts[0].shape.as_concrete(), &facts[1].konst, &facts[2].konst) else {
        return Ok(None);
    };
    let (m, c) = (spec.output_channels, spec.input_channels);
    if !fits || x.len() != 4 || x[1] != c || kernel.shape() != [m, c, spec.kernel_shape[0], spec.kernel_shape[1]] {
        return Ok(None);
    }
    let padded = spec.computed_padding(&x[2..]);
    let mut unfold = Unfold {
        channels: c,
        input: [x[2], x[3]],
        output: [padded[0].convoluted, padded[1].convoluted],
        kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
        stride: [spec.strides()[0], spec.strides()[1]],
        dilation: [spec.dilations()[0], spec.dilations()[1]],
        pad: [padded[0].pad_before, padded[1].pad_before],
    };
    if unfold.depth() > MAX_DEPTH || unfold.depth() * unfold.positions() > MAX_UNFOLDED || (bias.len() != 1 && bias.len() != m) {
        return Ok(None);
    }
    let mut input = node.inputs[0];
    if let Some((before, padded_input)) = zero_pad_before(model, node)? {
        let unpadded = model.outlet_fact(padded_input)?.shape.as_concrete().context("a Pad of a concrete shape")?.to_vec();
        unfold.input = [unpadded[2], unpadded[3]];
        unfold.pad = [unfold.pad[0] + before[0], unfold.pad[1] + before[1]];
        input = padded_input;
    }
    let kernel = kernel.cast_to::<f32>()?;
    let kernel = kernel.try_as_plain_ram()?.as_slice::<f32>()?;
    let depth = unfold.depth();
    let Some(weights) = Packed::new(m, depth, |row, k| kernel[row * depth + k]) else { return Ok(None) };
    let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
    let bias = (0..m).map(|row| bias[if bias.len() == 1 { 0 } else { row }]).collect();
    let output = tvec![x[0], m, unfold.output[0], unfold.output[1]];
    let product = Pointwise::new(weights, bias, None, (x[0], unfold.positions()), output, 1);
    Ok(Some((DenseConv { unfold, product }, input)))
}

/// The zeros a Pad before the conv adds before each spatial axis, and the Pad's input, where the
/// Pad fills with zeros, pads only H and W, and the conv alone reads it.
fn zero_pad_before(model: &TypedModel, node: &TypedNode) -> TractResult<Option<([usize; 2], OutletId)>> {
    let outlet = node.inputs[0];
    let producer = &model.nodes[outlet.node];
    let Some(pad) = producer.op_as::<Pad>() else { return Ok(None) };
    let zero = match &pad.mode {
        PadMode::Constant(value) => value.datum_type() == f32::datum_type() && value.is_all_zero()?,
        _ => false,
    };
    let spatial = pad.pads.len() == 4 && pad.pads[..2] == [(0, 0), (0, 0)];
    if !zero || !spatial || sole_consumer(model, outlet).is_none_or(|n| n.id != node.id) {
        return Ok(None);
    }
    Ok(Some(([pad.pads[2].0, pad.pads[3].0], producer.inputs[0])))
}
