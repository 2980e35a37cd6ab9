//! `LayercamClampGrad(g, y; lo, hi, scale)`: `scale · g` where lo < y < hi, else 0 — the gradient
//! through a clamp (Relu, ReLU6, Clip, HardSigmoid) read from its output y, in one pass of the
//! backward. The autodiff (`grad/activation.rs`) emits it for every clamp with constant bounds.
//! Written with ONNX's own ops the slope took four passes over each activation (two Sub, Min,
//! Sign), 11 ms of EfficientNet-Lite0's 29 ms forward; built in the forward as a 0/1 mask it
//! still took one pass there (plus a copy of y) and a Mul here. Now the forward keeps y, which it
//! computes anyway, and the mask costs nothing until a backward reads it.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_hir::infer::{InferenceResult, Solver, TensorProxy, check_input_arity, check_output_arity};
use tract_onnx::tract_hir::internal::{Expansion, InferenceOp, expand};

use crate::grad::CLAMP_GRAD;

#[derive(Clone, Debug, PartialEq)]
pub struct ClampGrad {
    pub lo: f32,
    pub hi: f32,
    pub scale: f32,
}

impl Eq for ClampGrad {}

impl ClampGrad {
    /// g's shape is y's, or y's with more seed rows on the first axis (a K-class backward).
    pub fn fits(g: &[usize], y: &[usize]) -> bool {
        g == y || (!g.is_empty() && g.len() == y.len() && y[0] == 1 && g[1..] == y[1..])
    }

    /// The op on one stretch of g, in place, and the same stretch of y.
    pub fn gate(&self, g: &mut [f32], y: &[f32]) {
        g.iter_mut().zip(y).for_each(|(g, &y)| *g = self.passed(*g, y));
    }

    /// [`ClampGrad::gate`] of `g` into `to`, in one pass.
    pub fn gate_into(&self, to: &mut [f32], g: &[f32], y: &[f32]) {
        to.iter_mut().zip(g).zip(y).for_each(|((to, &g), &y)| *to = self.passed(g, y));
    }

    /// The gradient g that passes where the clamp's output y does not touch its bounds.
    #[inline(always)]
    fn passed(&self, g: f32, y: f32) -> f32 {
        if self.lo < y && y < self.hi { g * self.scale } else { 0.0 }
    }

    fn run(&self, g: TValue, y: &Tensor) -> TractResult<Tensor> {
        ensure!(ClampGrad::fits(g.shape(), y.shape()), "{CLAMP_GRAD}: gradient {:?} for an output {:?}", g.shape(), y.shape());
        let mut g = g.into_tensor();
        let y = y.try_as_plain_ram()?;
        let y = y.as_slice::<f32>()?;
        let mut view = g.try_as_plain_ram_mut()?;
        for row in view.as_slice_mut::<f32>()?.chunks_exact_mut(y.len().max(1)) {
            self.gate(row, y);
        }
        Ok(g)
    }
}

impl Op for ClampGrad {
    fn name(&self) -> StaticName {
        CLAMP_GRAD.into()
    }

    op_as_typed_op!();
}

impl EvalOp for ClampGrad {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (g, y) = args_2!(inputs);
        Ok(tvec![self.run(g, &y)?.into_tvalue()])
    }
}

impl TypedOp for ClampGrad {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (g, y) = (inputs[0], inputs[1]);
        ensure!(g.datum_type == f32::datum_type() && y.datum_type == f32::datum_type(), "{CLAMP_GRAD} runs on f32");
        if let (Some(gs), Some(ys)) = (g.shape.as_concrete(), y.shape.as_concrete()) {
            ensure!(ClampGrad::fits(gs, ys), "{CLAMP_GRAD}: gradient {gs:?} for an output {ys:?}");
        }
        Ok(tvec![g.without_value()])
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec![(Cost::FMA(f32::datum_type()), inputs[0].shape.volume())])
    }

    as_op!();
}

impl Expansion for ClampGrad {
    fn name(&self) -> StaticName {
        CLAMP_GRAD.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(&'s self, s: &mut Solver<'r>, inputs: &'p [TensorProxy], outputs: &'p [TensorProxy]) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

/// tract-onnx's reader for the node (attributes `lo`, `hi`: absent, no bound on that side;
/// `scale`: absent, 1).
pub fn parse(_: &tract_onnx::model::ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let lo = node.get_attr_opt::<f32>("lo")?.unwrap_or(f32::NEG_INFINITY);
    let hi = node.get_attr_opt::<f32>("hi")?.unwrap_or(f32::INFINITY);
    let scale = node.get_attr_opt::<f32>("scale")?.unwrap_or(1.0);
    Ok((expand(ClampGrad { lo, hi, scale }), vec![]))
}
