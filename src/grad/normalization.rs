//! LayerNormalization (opset 17; ConvNeXt's and the vision transformers' exports) over the axes
//! from `axis` on. With x̂ = (x − μ)·r, r = 1/√(σ² + ε), and g·γ the gradient through the scale:
//! ∂x = r · (gγ − mean(gγ) − x̂ · mean(gγ · x̂)), the means over the normalised axes. r and x̂
//! depend on the image only: computed once per forward, in the precompute graph.

use tract_onnx::prelude::DatumType;

use super::Step;
use super::builder::{Attributes, Builder, Graph, int, ints};
use super::conv::with_first;
use crate::Result;

pub(super) fn layer_norm(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    step.require_constant(1.., "scale or bias")?;
    let x = step.node.input[0].clone();
    let xs = b.shape(&x)?;
    let rank = xs.len() as i64;
    let axis = step.node.attr_int("axis").unwrap_or(-1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis < 0 || axis >= rank || b.seed_axis() == Some(axis as usize) {
        return Err(step.unsupported(format!("axis {axis} of a rank-{rank} tensor (the batch axis cannot be differentiated)")));
    }
    let axes: Vec<i64> = (axis..rank).collect();
    let epsilon = step.node.attr_float("epsilon").unwrap_or(1e-5);
    let opset = b.model_opset();

    let p = &mut b.precompute;
    let mean = reduce_mean(p, &x, &axes, opset);
    let centred = p.op("Sub", &[&x, &mean], vec![]);
    let square = p.op("Mul", &[&centred, &centred], vec![]);
    let variance = reduce_mean(p, &square, &axes, opset);
    let epsilon = p.scalar(epsilon);
    let variance = p.op("Add", &[&variance, &epsilon], vec![]);
    let deviation = p.op("Sqrt", &[&variance], vec![]);
    let inverse = p.op("Reciprocal", &[&deviation], vec![]);
    let normalised = p.op("Mul", &[&centred, &inverse], vec![]);
    let reduced: Vec<usize> = xs.iter().enumerate().map(|(i, &d)| if i as i64 >= axis { 1 } else { d }).collect();
    let inverse = b.save(inverse, DatumType::F32, reduced);
    let normalised = b.save(normalised, DatumType::F32, xs);

    let scale = b.forward(&step.node.input[1]);
    let scaled = b.op("Mul", &[step.output_grad()?, &scale], vec![]);
    let attributes = || vec![ints("axes", &axes), int("keepdims", 1)];
    let mean_scaled = b.op("ReduceMean", &[&scaled], attributes());
    let product = b.op("Mul", &[&scaled, &normalised], vec![]);
    let mean_product = b.op("ReduceMean", &[&product], attributes());
    let along = b.op("Mul", &[&normalised, &mean_product], vec![]);
    let centred = b.op("Sub", &[&scaled, &mean_scaled], vec![]);
    let centred = b.op("Sub", &[&centred, &along], vec![]);
    let dx = b.op("Mul", &[&centred, &inverse], vec![]);
    Ok(with_first(dx, step.node.input.len()))
}

/// ReduceMean keeping the axes, in the model's opset (axes an input from opset 18, before an attribute).
fn reduce_mean(p: &mut Graph, x: &str, axes: &[i64], opset: i64) -> String {
    if opset >= 18 {
        let axes = p.const_i64(axes);
        p.op("ReduceMean", &[x, &axes], vec![int("keepdims", 1)])
    } else {
        p.op("ReduceMean", &[x], vec![ints("axes", axes), int("keepdims", 1)])
    }
}
