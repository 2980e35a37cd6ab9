//! Pointwise activations. The piecewise-linear ones pass the gradient through a mask; we build
//! the mask from the *output* where we can (y > 0 ⇔ x > 0 for Relu, min < y < max ⇔ min < x < max
//! for Clip), because the output is an activation the forward keeps anyway, while saving the input
//! would stop tract from fusing the activation into the preceding Conv.
//! Masks follow PyTorch: the gradient is zero exactly at the kinks.

use super::Step;
use super::builder::{Attributes, Builder};
use crate::Result;

pub(super) fn activation(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let g = step.output_grad()?.to_string();
    let y = b.forward(step.output());
    let dx = match step.node.op_type.as_str() {
        "Relu" => {
            let zero = b.scalar(0.0);
            let mask = b.op("Greater", &[&y, &zero], vec![]);
            b.op("Where", &[&mask, &g, &zero], vec![])
        }
        "Clip" => clip(b, step, &g, &y)?,
        "LeakyRelu" => {
            // y > 0 ⇔ x > 0 for any positive slope; the slope is the gradient elsewhere.
            let alpha = step.node.attr_float("alpha").unwrap_or(0.01);
            let (zero, alpha) = (b.scalar(0.0), b.scalar(alpha));
            let mask = b.op("Greater", &[&y, &zero], vec![]);
            let leak = b.op("Mul", &[&g, &alpha], vec![]);
            b.op("Where", &[&mask, &g, &leak], vec![])
        }
        "Sigmoid" => {
            // σ' = y (1 − y)
            let one = b.scalar(1.0);
            let rest = b.op("Sub", &[&one, &y], vec![]);
            let slope = b.op("Mul", &[&y, &rest], vec![]);
            b.op("Mul", &[&g, &slope], vec![])
        }
        "Tanh" => {
            // tanh' = 1 − y²
            let one = b.scalar(1.0);
            let square = b.op("Mul", &[&y, &y], vec![]);
            let slope = b.op("Sub", &[&one, &square], vec![]);
            b.op("Mul", &[&g, &slope], vec![])
        }
        "HardSigmoid" => {
            // y = clamp(αx + β, 0, 1): slope α strictly inside, 0 on the flats.
            let alpha = step.node.attr_float("alpha").unwrap_or(0.2);
            let inside = strictly_between(b, &y, 0.0, 1.0);
            let alpha = b.scalar(alpha);
            let scaled = b.op("Mul", &[&g, &alpha], vec![]);
            let zero = b.scalar(0.0);
            b.op("Where", &[&inside, &scaled, &zero], vec![])
        }
        "HardSwish" => hard_swish(b, step, &g)?,
        other => unreachable!("activation rule registered for {other}"),
    };
    Ok(super::conv::with_first(dx, step.node.input.len()))
}

fn clip(b: &mut Builder, step: &Step, g: &str, y: &str) -> Result<String> {
    // Opset 11+ gives the bounds as inputs, older opsets as attributes; either may be absent.
    let bound = |b: &mut Builder, index: usize, attribute: &str| match step.input(index) {
        Some(name) => Some(b.forward(name)),
        None => step.node.attr_float(attribute).map(|v| b.scalar(v)),
    };
    let (min, max) = (bound(b, 1, "min"), bound(b, 2, "max"));
    let zero = b.scalar(0.0);
    let above = min.map(|min| b.op("Greater", &[y, &min], vec![]));
    let below = max.map(|max| b.op("Less", &[y, &max], vec![]));
    let mask = match (above, below) {
        (Some(a), Some(c)) => b.op("And", &[&a, &c], vec![]),
        (Some(m), None) | (None, Some(m)) => m,
        (None, None) => return Ok(g.to_string()),
    };
    Ok(b.op("Where", &[&mask, g, &zero], vec![]))
}

/// Mask of `lo < y < hi` for constant bounds.
fn strictly_between(b: &mut Builder, y: &str, lo: f32, hi: f32) -> String {
    let (lo, hi) = (b.scalar(lo), b.scalar(hi));
    let above = b.op("Greater", &[y, &lo], vec![]);
    let below = b.op("Less", &[y, &hi], vec![]);
    b.op("And", &[&above, &below], vec![])
}

/// HardSwish y = x · clamp(x/6 + 1/2, 0, 1): slope 0 below −3, 1 above 3, (2x + 3)/6 between.
/// The output does not tell x apart on the flat part, so this one reads the input.
fn hard_swish(b: &mut Builder, step: &Step, g: &str) -> Result<String> {
    let x = b.forward(&step.node.input[0]);
    let (three, third, half, one, zero) = (b.scalar(3.0), b.scalar(1.0 / 3.0), b.scalar(0.5), b.scalar(1.0), b.scalar(0.0));
    let ramp = b.op("Mul", &[&x, &third], vec![]);
    let ramp = b.op("Add", &[&ramp, &half], vec![]);
    let inside = strictly_between(b, &x, -3.0, 3.0);
    let high = b.op("Greater", &[&x, &three], vec![]);
    let flat = b.op("Where", &[&high, &one, &zero], vec![]);
    let slope = b.op("Where", &[&inside, &ramp, &flat], vec![]);
    Ok(b.op("Mul", &[g, &slope], vec![]))
}
