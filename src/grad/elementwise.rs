//! Broadcasting arithmetic: Add, Sub, Mul, Div, Sum / Mean of n inputs, and Where. Each operand
//! that needs a gradient gets the output gradient times its partial derivative, summed back over
//! the axes it was broadcast on.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::prelude::DatumType;

use super::Step;
use super::builder::{Builder, int};
use crate::Result;

pub(super) fn arithmetic(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let g = step.output_grad()?.to_string();
    summed_back(b, step, |b, index| Some(partial(b, step, &g, index)))
}

/// Each wanted operand's term (None: no gradient, as Where's condition), at the output's shape,
/// summed back over the axes the operand was broadcast on.
fn summed_back(b: &mut Builder, step: &Step, mut term: impl FnMut(&mut Builder, usize) -> Option<String>) -> Result<Vec<Option<String>>> {
    let output = b.shape(step.output())?;
    let mut grads = vec![];
    for (index, &wanted) in step.wanted.iter().enumerate() {
        let Some(term) = wanted.then(|| term(b, index)).flatten() else {
            grads.push(None);
            continue;
        };
        let operand = b.shape(&step.node.input[index])?;
        let grad = b
            .unbroadcast(&term, &operand, &output)
            .ok_or_else(|| step.unsupported(format!("operand {index} of shape {operand:?} is broadcast to a higher rank")))?;
        grads.push(Some(grad));
    }
    Ok(grads)
}

/// g · ∂y/∂(operand `index`), still at the output's shape.
fn partial(b: &mut Builder, step: &Step, g: &str, index: usize) -> String {
    let other = |b: &mut Builder| b.forward(&step.node.input[1 - index]);
    match (step.node.op_type.as_str(), index) {
        ("Add" | "Sum", _) | ("Sub", 0) => g.to_string(),
        ("Mean", _) => {
            let share = b.scalar(1.0 / step.node.input.len() as f32);
            b.op("Mul", &[g, &share], vec![])
        }
        ("Sub", _) => b.op("Neg", &[g], vec![]),
        ("Mul", _) => {
            let other = other(b);
            b.op("Mul", &[g, &other], vec![])
        }
        ("Div", 0) => {
            let divisor = other(b);
            b.op("Div", &[g, &divisor], vec![])
        }
        ("Div", _) => {
            // ∂(a/d)/∂d = −(a/d)/d = −y/d
            let (y, divisor) = (b.forward(step.output()), b.forward(&step.node.input[1]));
            let ratio = b.op("Div", &[&y, &divisor], vec![]);
            let term = b.op("Mul", &[g, &ratio], vec![]);
            b.op("Neg", &[&term], vec![])
        }
        (other, _) => unreachable!("arithmetic rule registered for {other}"),
    }
}

/// Where(c, a, b): the gradient goes to `a` where the condition holds and to `b` elsewhere. The
/// condition (a constant mask, or one computed from the image) becomes a float mask once per
/// forward, in the precompute graph; it has no gradient of its own.
pub(super) fn select(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let g = step.output_grad()?.to_string();
    let condition = &step.node.input[0];
    let mask = b.precompute.op("Cast", &[condition], vec![int("to", DataType::Float as i64)]);
    let mask = b.save(mask, DatumType::F32, b.shape(condition)?);
    summed_back(b, step, |b, index| {
        let chosen = match index {
            0 => return None,
            1 => mask.clone(),
            _ => {
                let one = b.scalar(1.0);
                b.op("Sub", &[&one, &mask], vec![])
            }
        };
        Some(b.op("Mul", &[&g, &chosen], vec![]))
    })
}
