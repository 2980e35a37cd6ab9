//! Our 1×1 convolution (a matrix product of constant weights and a map's channels), swapped in
//! for tract's when a plan is built ([`swap_in`]). tract declutters a 1×1 Conv (and the backward
//! writes a 1×1 convolution's input gradient as one) into an EinSum, then packs both of
//! its operands on every run and splits the product over the threads by its own rules; ours packs
//! the weights once, reads the map where it lies ([`kernel`]), adds the bias and clamps as it
//! writes, and shares the rows of every sample out over the threads. A batch of K seed rows needs
//! no transposition either: each sample is one product. tests/integration/pointwise.rs checks it
//! against tract's own product.

mod kernel;

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::Add;

use super::fold::{clamps_after, fold, sole_consumer};

pub use super::Out;
pub use kernel::{Block, Packed, Tile};

/// `out[n, m, p] = clamp(bias[m] + Σ_k W[m, k] · x[n, k, p])`, the positions p of a map flattened,
/// on a single input x. The shapes are tract's, which may add or drop axes of size 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Pointwise {
    weights: Arc<Packed>,
    /// One per output channel.
    bias: Arc<Vec<f32>>,
    /// The output clamped to `[lo, hi]`: a ReLU6 folded in.
    clamp: Option<(f32, f32)>,
    /// Samples and positions per channel (the axes before and after it).
    samples: usize,
    positions: usize,
    output_shape: TVec<usize>,
    /// The output's channel axis.
    channel: usize,
}

impl Eq for Pointwise {}

impl Pointwise {
    /// The product of `weights` (with `bias`, then `clamp`) and each of `samples` inputs
    /// `[depth, positions]`, giving `output_shape`, whose channel axis is `channel`: what a dense
    /// convolution runs on its unfolded input ([`super::dense`]).
    pub(super) fn new(
        weights: Packed,
        bias: Vec<f32>,
        clamp: Option<(f32, f32)>,
        (samples, positions): (usize, usize),
        output_shape: TVec<usize>,
        channel: usize,
    ) -> Pointwise {
        Pointwise { weights: Arc::new(weights), bias: Arc::new(bias), clamp, samples, positions, output_shape, channel }
    }

    /// The same with another clamp.
    pub(super) fn clamped(self, clamp: Option<(f32, f32)>) -> Pointwise {
        Pointwise { clamp, ..self }
    }

    pub(super) fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    fn run(&self, x: &Tensor) -> TractResult<Tensor> {
        self.run_on(x.try_as_plain_ram()?.as_slice::<f32>()?)
    }

    /// The product on `x`, `[samples, depth, positions]`.
    pub(super) fn run_on(&self, x: &[f32]) -> TractResult<Tensor> {
        let (rows, depth, cols) = (self.weights.rows, self.weights.depth, self.positions);
        ensure!(
            x.len() == self.samples * depth * cols,
            "a product's input has {} floats, not {}",
            x.len(),
            self.samples * depth * cols
        );
        // Safety: the products write every float of it.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.output_shape)? };
        let mut view = output.try_as_plain_ram_mut()?;
        let outs: Vec<Out> = view.as_slice_mut::<f32>()?.chunks_exact_mut(rows * cols).map(|out| Out::new(out, cols)).collect();
        let split = Split::new(self.samples, self.weights.panel_count(), cols.div_ceil(self.weights.tile_cols()), rows * depth * cols);
        super::shared_out(split.len(), |b| {
            let (sample, block) = split.block(b);
            let x = &x[sample * depth * cols..][..depth * cols];
            // Safety: the split's blocks do not overlap.
            unsafe { self.weights.product(x, &self.bias, self.clamp, block, &outs[sample]) }
        });
        Ok(output)
    }
}

/// How a product's samples are cut into blocks for the threads: each sample into `row_blocks` ×
/// `col_blocks`. Columns are cut first, so that each thread reads its own part of x (where rows
/// are cut, every thread reads the whole of it), then rows, to about four blocks per thread.
struct Split {
    samples: usize,
    panels: usize,
    tiles: usize,
    row_blocks: usize,
    col_blocks: usize,
}

/// Multiply-adds per sample below which a product runs as one block: handing out blocks costs
/// more than it gains.
const ONE_BLOCK_BELOW: usize = 1 << 18;

impl Split {
    fn new(samples: usize, panels: usize, tiles: usize, macs: usize) -> Split {
        let threads = super::threads();
        let per_sample = if threads > 1 && macs >= ONE_BLOCK_BELOW { (4 * threads).div_ceil(samples) } else { 1 };
        let col_blocks = per_sample.min(tiles);
        let row_blocks = per_sample.div_ceil(col_blocks).min(panels);
        Split { samples, panels, tiles, row_blocks, col_blocks }
    }

    fn len(&self) -> usize {
        self.samples * self.row_blocks * self.col_blocks
    }

    /// Block `b`: its sample, and its panels and tiles.
    fn block(&self, b: usize) -> (usize, Block) {
        let (sample, b) = (b / (self.row_blocks * self.col_blocks), b % (self.row_blocks * self.col_blocks));
        let (r, c) = (b / self.col_blocks, b % self.col_blocks);
        let cut = |i: usize, blocks: usize, len: usize| i * len / blocks..(i + 1) * len / blocks;
        (sample, Block { panels: cut(r, self.row_blocks, self.panels), tiles: cut(c, self.col_blocks, self.tiles) })
    }
}

impl Op for Pointwise {
    fn name(&self) -> StaticName {
        "LayercamPointwise".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Pointwise {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        Ok(tvec![self.run(&x)?.into_tvalue()])
    }
}

impl TypedOp for Pointwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let x = inputs[0].shape.as_concrete().context("a 1×1 convolution needs a concrete input shape")?;
        ensure!(x.iter().product::<usize>() == self.samples * self.weights.depth * self.positions, "a 1×1 convolution's input {x:?}");
        Ok(tvec![f32::fact(&self.output_shape)])
    }

    fn cost(&self, _: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let macs = self.samples * self.weights.rows * self.weights.depth * self.positions;
        Ok(tvec![(Cost::FMA(f32::datum_type()), macs.into())])
    }

    as_op!();
}

/// Replaces every f32 EinSum of a decluttered model that is a 1×1 convolution (constant
/// `[M, K]` weights, an input whose channel axis K they contract, the other axes kept in order;
/// in a backward, the input gradient of a 1×1 convolution is one too, its weights transposed)
/// by [`Pointwise`], with the per-channel bias and the clamps after it folded in.
pub fn swap_in(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let Some(einsum) = node.op_as::<EinSum>() else { continue };
        let facts: TVec<TypedFact> = node.inputs.iter().map(|i| model.outlet_fact(*i).cloned()).collect::<TractResult<_>>()?;
        let output = model.outlet_fact(OutletId::new(id, 0))?;
        let Some((op, x)) = pointwise(einsum, &facts, output)? else { continue };
        let inputs = [node.inputs[x]];
        let (op, last) = with_bias_after(model, id, op)?;
        let (op, last) = match clamps_after(model, last)? {
            Some((last, clamp)) => (Pointwise { clamp: Some(clamp), ..op }, last),
            None => (op, last),
        };
        fold(model, id..=last, op, &inputs, "pointwise")?;
    }
    Ok(())
}

/// Our op for an EinSum, if it is a 1×1 convolution we run, and which input is its x.
fn pointwise(einsum: &EinSum, inputs: &[TypedFact], output: &TypedFact) -> TractResult<Option<(Pointwise, usize)>> {
    let float = |f: &TypedFact| f.datum_type == f32::datum_type();
    if einsum.q_params.is_some() || inputs.len() != 2 || !inputs.iter().all(float) || !float(output) {
        return Ok(None);
    }
    let Some(w) = inputs.iter().position(|f| f.konst.is_some()) else { return Ok(None) };
    let x = 1 - w;
    let (Some(x_shape), Some(out_shape), Some(weights)) = (inputs[x].shape.as_concrete(), output.shape.as_concrete(), &inputs[w].konst)
    else {
        return Ok(None);
    };
    if inputs[x].konst.is_some() || weights.rank() != 2 {
        return Ok(None);
    }
    let Some(layout) = Layout::of(einsum, x, w, x_shape, out_shape) else { return Ok(None) };
    let weights = weights.cast_to::<f32>()?;
    let weights = weights.to_plain_array_view::<f32>()?;
    let (rows, depth) = (out_shape[layout.out_channel], x_shape[layout.in_channel]);
    let Some(packed) = Packed::new(rows, depth, |m, k| weights[[m, k]]) else { return Ok(None) };
    let positions: usize = x_shape[layout.in_channel + 1..].iter().product();
    // A map of fewer positions than a tile (a classifier's last product) leaves most of a tile
    // idle: tract's product runs there.
    if positions < packed.tile_cols() {
        return Ok(None);
    }
    let op = Pointwise {
        weights: Arc::new(packed),
        bias: Arc::new(vec![0.0; rows]),
        clamp: None,
        samples: x_shape[..layout.in_channel].iter().product(),
        positions,
        output_shape: out_shape.into(),
        channel: layout.out_channel,
    };
    Ok(Some((op, x)))
}

/// Where a 1×1 convolution's channels lie in its EinSum.
struct Layout {
    in_channel: usize,
    out_channel: usize,
}

impl Layout {
    /// The layout if the EinSum contracts one axis of x with the second of w (`[M, K]` weights,
    /// as a Conv's), w's first axis is the output's channel, and the axes of x but its channel
    /// (those of size 1 aside) are the output's in the same order, as many of them before the
    /// channel.
    fn of(einsum: &EinSum, x: usize, w: usize, x_shape: &[usize], out_shape: &[usize]) -> Option<Layout> {
        let (mut in_channel, mut out_channel) = (None, None);
        let mut kept = vec![];
        for axis in einsum.axes.iter_all_axes() {
            let (in_x, in_w, out) = (&axis.inputs[x], &axis.inputs[w], &axis.outputs[0]);
            if in_x.len() > 1 || in_w.len() > 1 || out.len() > 1 {
                return None;
            }
            match (in_x.first(), in_w.first(), out.first()) {
                (Some(&c), Some(1), None) => in_channel = Some(c),
                (None, Some(0), Some(&m)) => out_channel = Some(m),
                (Some(&a), None, Some(&b)) => kept.push((a, b)),
                (Some(&a), None, None) if x_shape[a] == 1 => {}
                (None, None, Some(&b)) if out_shape[b] == 1 => {}
                _ => return None,
            }
        }
        let (in_channel, out_channel) = (in_channel?, out_channel?);
        kept.retain(|&(a, _)| x_shape[a] > 1);
        kept.sort();
        let in_order = kept.windows(2).all(|p| p[0].1 < p[1].1);
        let sides_agree = kept.iter().all(|&(a, b)| (a < in_channel) == (b < out_channel));
        (in_order && sides_agree).then_some(Layout { in_channel, out_channel })
    }
}

/// Folds into `op` (node `id`) the Add of a per-channel constant after it, if that is its sole
/// consumer: the op and the last node folded.
fn with_bias_after(model: &TypedModel, id: usize, op: Pointwise) -> TractResult<(Pointwise, usize)> {
    let outlet = OutletId::new(id, 0);
    let Some(next) = sole_consumer(model, outlet).filter(|n| n.op_as::<TypedBinOp>().is_some_and(|b| b.0.is::<Add>())) else {
        return Ok((op, id));
    };
    let Some(other) = next.inputs.iter().find(|i| **i != outlet).filter(|_| next.inputs.len() == 2) else { return Ok((op, id)) };
    let (fact, out) = (model.outlet_fact(*other)?, model.outlet_fact(outlet)?);
    let Some(bias) = fact.konst.as_ref().filter(|_| fact.datum_type == f32::datum_type()) else { return Ok((op, id)) };
    if model.outlet_fact(OutletId::new(next.id, 0))?.shape != out.shape || bias.rank() > out.rank() {
        return Ok((op, id));
    }
    // The bias lines up with the output's last axes; only the channel axis may be more than 1.
    let skip = out.rank() - bias.rank();
    if !bias.shape().iter().enumerate().all(|(i, &d)| d == 1 || (skip + i == op.channel && d == op.weights.rows)) {
        return Ok((op, id));
    }
    let values = bias.try_as_plain_ram()?.as_slice::<f32>()?;
    let bias: Vec<f32> = (0..op.weights.rows).map(|m| values[if values.len() == 1 { 0 } else { m }]).collect();
    Ok((Pointwise { bias: Arc::new(bias), ..op }, next.id))
}
