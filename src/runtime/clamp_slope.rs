//! `LayercamClampSlope(y; lo, hi)`: 1 where lo < y < hi, else 0 — the slope of a clamp (ReLU6,
//! Clip, HardSigmoid) read from its output, in one pass. The autodiff (`grad/activation.rs`) emits
//! it for every clamp with constant bounds: written with ONNX's own ops it took four passes over
//! each activation (two Sub, Min, Sign), 11 ms of EfficientNet-Lite0's 29 ms forward.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::element_wise::{ElementWiseMiniOp, ElementWiseOp};
use tract_onnx::tract_hir::internal::{ElementWiseIntoHir, InferenceOp};

use crate::grad::CLAMP_SLOPE;

#[derive(Clone, Debug, PartialEq)]
pub struct ClampSlope {
    pub lo: f32,
    pub hi: f32,
}

impl Eq for ClampSlope {}

impl ElementWiseMiniOp for ClampSlope {
    fn name(&self) -> String {
        CLAMP_SLOPE.into()
    }

    fn eval_in_place(&self, t: &mut Tensor, _: Option<DatumType>) -> TractResult<()> {
        let mut view = t.try_as_plain_ram_mut()?;
        for v in view.as_slice_mut::<f32>()? {
            *v = if self.lo < *v && *v < self.hi { 1.0 } else { 0.0 };
        }
        Ok(())
    }

    fn cost_per_element(&self, dt: DatumType) -> TVec<(Cost, usize)> {
        tvec![(Cost::FMA(dt), 1)]
    }
}

/// tract-onnx's reader for the node (attributes `lo`, `hi`; absent: no bound on that side).
pub fn parse(_: &tract_onnx::model::ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let lo = node.get_attr_opt::<f32>("lo")?.unwrap_or(f32::NEG_INFINITY);
    let hi = node.get_attr_opt::<f32>("hi")?.unwrap_or(f32::INFINITY);
    Ok((ElementWiseOp(Box::new(ClampSlope { lo, hi }), None).into_hir(), vec![]))
}
