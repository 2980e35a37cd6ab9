//! Folding the elementwise ops around one of our ops into it: each fold is one pass less over a
//! whole tensor. The depthwise and 1×1 convolutions share these.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::math::{Max, Min};

/// Puts `op`, reading `inputs`, in place of our op (the range's first node) and the nodes folded
/// into it: the readers of the last one's output read `op`'s. Nodes no longer read drop out when
/// the model is planned.
pub fn fold(
    model: &mut TypedModel,
    nodes: std::ops::RangeInclusive<usize>,
    op: impl TypedOp,
    inputs: &[OutletId],
    what: &str,
) -> TractResult<()> {
    let mut patch = TypedModelPatch::default();
    let taps = patch.taps(model, inputs)?;
    let output = patch.wire_node(format!("{}.{what}", model.nodes[*nodes.start()].name), op, &taps)?;
    patch.shunt_outside(model, OutletId::new(*nodes.end(), 0), output[0])?;
    patch.apply(model)
}

/// The Max and Min by constants that follow node `id`, each the sole consumer of the one before
/// (a ReLU6, as tract declutters it): the last of them (`id` where there are none) and the clamp
/// they make, if they make one (Max then Min, or Min then Max, with the bounds in order).
pub fn clamps_after(model: &TypedModel, id: usize) -> TractResult<Option<(usize, (f32, f32))>> {
    let (mut clamp, mut last) = ((f32::NEG_INFINITY, f32::INFINITY), id);
    while let Some((next, bound)) = clamp_after(model, last)? {
        match bound {
            Bound::Lo(lo) => clamp.0 = clamp.0.max(lo),
            Bound::Hi(hi) => clamp.1 = clamp.1.min(hi),
        }
        last = next;
    }
    Ok((last != id && clamp.0 <= clamp.1).then_some((last, clamp)))
}

/// A bound a Max (lower) or a Min (upper) by a constant sets.
enum Bound {
    Lo(f32),
    Hi(f32),
}

/// The one node that reads `outlet`, if that is its node's only output and not a model output.
pub fn sole_consumer(model: &TypedModel, outlet: OutletId) -> Option<&TypedNode> {
    let node = &model.nodes[outlet.node];
    let successors = &node.outputs.get(outlet.slot)?.successors;
    (node.outputs.len() == 1 && successors.len() == 1 && !model.outputs.contains(&outlet)).then(|| &model.nodes[successors[0].node])
}

/// The node after `id`, if it is `id`'s sole consumer and a Max or Min of its output by a uniform
/// constant that keeps its shape; and the bound it sets.
fn clamp_after(model: &TypedModel, id: usize) -> TractResult<Option<(usize, Bound)>> {
    let outlet = OutletId::new(id, 0);
    let Some(next) = sole_consumer(model, outlet) else { return Ok(None) };
    let Some(bin) = next.op_as::<TypedBinOp>() else { return Ok(None) };
    let other = next.inputs.iter().find(|i| **i != outlet);
    let constant = match other.map(|o| model.outlet_fact(*o)).transpose()? {
        Some(fact) if next.inputs.len() == 2 && fact.datum_type == f32::datum_type() => {
            fact.uniform.as_ref().map(|u| u.cast_to_scalar::<f32>()).transpose()?
        }
        _ => None,
    };
    let Some(constant) = constant.filter(|c| !c.is_nan()) else { return Ok(None) };
    if model.outlet_fact(OutletId::new(next.id, 0))?.shape != model.outlet_fact(outlet)?.shape {
        return Ok(None);
    }
    let bound = if bin.0.is::<Max>() {
        Bound::Lo(constant)
    } else if bin.0.is::<Min>() {
        Bound::Hi(constant)
    } else {
        return Ok(None);
    };
    Ok(Some((next.id, bound)))
}
