//! Softmax and LogSoftmax along one axis, inside the graph (attention; a classifier's own final
//! Softmax is not differentiated: we explain the logits before it). With y the output:
//! Softmax: ∂x = y ⊙ (g − Σ_axis g ⊙ y); LogSoftmax: ∂x = g − exp(y) ⊙ Σ_axis g.

use super::Step;
use super::builder::{Attributes, Builder, int};
use super::conv::with_first;
use crate::Result;

pub(super) fn softmax(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let rank = b.shape(step.output())?.len() as i64;
    let axis = axis(b, step, rank)?;
    let g = step.output_grad()?.to_string();
    let y = b.forward(step.output());
    let axes = b.const_i64(&[axis]);
    let dx = if step.node.op_type == "Softmax" {
        let weighted = b.op("Mul", &[&g, &y], vec![]);
        let total = b.op("ReduceSum", &[&weighted, &axes], vec![int("keepdims", 1)]);
        let centred = b.op("Sub", &[&g, &total], vec![]);
        b.op("Mul", &[&y, &centred], vec![])
    } else {
        let total = b.op("ReduceSum", &[&g, &axes], vec![int("keepdims", 1)]);
        let probabilities = b.op("Exp", &[&y], vec![]);
        let share = b.op("Mul", &[&probabilities, &total], vec![]);
        b.op("Sub", &[&g, &share], vec![])
    };
    Ok(with_first(dx, step.node.input.len()))
}

/// The axis, non-negative. Before opset 13 the op flattened every axis from `axis` (default 1) on;
/// that equals one axis only when it is the last.
fn axis(b: &Builder, step: &Step, rank: i64) -> Result<i64> {
    let opset = b.model_opset();
    let axis = step.node.attr_int("axis").unwrap_or(if opset < 13 { 1 } else { -1 });
    let axis = if axis < 0 { axis + rank } else { axis };
    if opset < 13 && axis != rank - 1 {
        return Err(
            step.unsupported(format!("before opset 13 it flattens axes {axis}…{}; only the last axis alone is supported", rank - 1))
        );
    }
    if axis < 0 || axis >= rank || b.seed_axis() == Some(axis as usize) {
        return Err(step.unsupported(format!("axis {axis} of a rank-{rank} tensor (the batch axis cannot be differentiated)")));
    }
    Ok(axis)
}
