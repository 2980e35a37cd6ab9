//! Pointwise functions (activations, Gelu, and the maths of normalisations and attention: Exp,
//! Sqrt, Reciprocal, Pow by a constant, Erf, Neg): ∂x = g · slope, where the slope depends on the image only. The slope is
//! built in the precompute graph (once per forward), so a backward costs one Mul per activation
//! whatever the number of classes. Clamps with constant bounds (Relu, ReLU6, HardSigmoid) need no
//! slope: the backward reads their output in one pass of our operator ([`CLAMP_GRAD`]).
//!
//! Where we can we read the *output* y (y > 0 ⇔ x > 0 for Relu, lo < y < hi ⇔ lo < x < hi for
//! Clip): the output is an activation the forward computes anyway, while exposing the input would
//! stop tract from fusing the activation into the preceding Conv. Other masks are float expressions
//! (Sign of a non-negative distance to the kinks): exact, and tract runs float ops far faster than
//! comparisons and Where on booleans. As in PyTorch, the slope is zero exactly at a kink.

use tract_onnx::prelude::DatumType;

use super::builder::{Attributes, Builder, Graph, float};
use super::conv::with_first;
use super::{CLAMP_GRAD, Step};
use crate::Result;

pub(super) fn activation(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let y = step.output().to_string();
    let x = step.node.input[0].clone();
    let slope = match step.node.op_type.as_str() {
        // −g needs no slope from the forward.
        "Neg" => return Ok(with_first(b.op("Neg", &[step.output_grad()?], vec![]), step.node.input.len())),
        // exp' = y
        "Exp" => b.precompute.op("Identity", &[&y], vec![]),
        "Sqrt" => {
            // sqrt' = 1 / (2y): infinite at 0, as in PyTorch.
            let p = &mut b.precompute;
            let half = p.scalar(0.5);
            p.op("Div", &[&half, &y], vec![])
        }
        "Reciprocal" => {
            // (1/x)' = −1/x² = −y²
            let p = &mut b.precompute;
            let square = p.op("Mul", &[&y, &y], vec![]);
            p.op("Neg", &[&square], vec![])
        }
        "Pow" => {
            // (x^p)' = p · x^(p − 1), for an exponent that does not depend on the image.
            step.require_constant(1.., "exponent")?;
            let exponent = step.input(1).ok_or_else(|| step.unsupported("it has no exponent"))?.to_string();
            let p = &mut b.precompute;
            let one = p.scalar(1.0);
            let lower = p.op("Sub", &[&exponent, &one], vec![]);
            let power = p.op("Pow", &[&x, &lower], vec![]);
            p.op("Mul", &[&power, &exponent], vec![])
        }
        "Erf" => {
            // erf' = 2/√π · exp(−x²)
            let p = &mut b.precompute;
            let square = p.op("Mul", &[&x, &x], vec![]);
            let negative = p.op("Neg", &[&square], vec![]);
            let bell = p.op("Exp", &[&negative], vec![]);
            let scale = p.scalar(std::f32::consts::FRAC_2_SQRT_PI);
            p.op("Mul", &[&bell, &scale], vec![])
        }
        "Gelu" if step.node.attr_string("approximate").is_some_and(|a| a == "tanh") => gelu_tanh(&mut b.precompute, &x),
        "Gelu" => gelu(&mut b.precompute, &x),
        "Relu" => return clamp_grad(b, step, 0.0, f32::INFINITY, 1.0),
        "Clip" => match clip_bounds(b, step) {
            (None, None) => return Ok(with_first(step.output_grad()?.to_string(), step.node.input.len())),
            (lo, hi) => match constant_bounds(b, lo.as_deref(), hi.as_deref()) {
                Some((lo, hi)) => return clamp_grad(b, step, lo, hi, 1.0),
                None => inside(&mut b.precompute, &y, lo.as_deref(), hi.as_deref()),
            },
        },
        "PRelu" => {
            // 1 where x > 0, the (constant, broadcast) slope α elsewhere: α + (1 − α)·[x > 0].
            step.require_constant(1.., "slope")?;
            let alpha = step.node.input[1].clone();
            let p = &mut b.precompute;
            let positive = p.op("Relu", &[&x], vec![]);
            let positive = p.op("Sign", &[&positive], vec![]);
            let one = p.scalar(1.0);
            let rest = p.op("Sub", &[&one, &alpha], vec![]);
            let scaled = p.op("Mul", &[&positive, &rest], vec![]);
            p.op("Add", &[&scaled, &alpha], vec![])
        }
        "LeakyRelu" => {
            // 1 where y > 0 (⇔ x > 0 for a positive slope), α elsewhere: α + (1 − α)·[y > 0].
            let alpha = step.node.attr_float("alpha").unwrap_or(0.01);
            let p = &mut b.precompute;
            let positive = p.op("Relu", &[&y], vec![]);
            let positive = p.op("Sign", &[&positive], vec![]);
            let (rest, alpha) = (p.scalar(1.0 - alpha), p.scalar(alpha));
            let scaled = p.op("Mul", &[&positive, &rest], vec![]);
            p.op("Add", &[&scaled, &alpha], vec![])
        }
        "Sigmoid" => {
            // σ' = y (1 − y)
            let p = &mut b.precompute;
            let one = p.scalar(1.0);
            let rest = p.op("Sub", &[&one, &y], vec![]);
            p.op("Mul", &[&y, &rest], vec![])
        }
        "Tanh" => {
            // tanh' = 1 − y²
            let p = &mut b.precompute;
            let one = p.scalar(1.0);
            let square = p.op("Mul", &[&y, &y], vec![]);
            p.op("Sub", &[&one, &square], vec![])
        }
        "HardSigmoid" => {
            // y = clamp(αx + β, 0, 1): slope α strictly inside, 0 on the flats.
            return clamp_grad(b, step, 0.0, 1.0, step.node.attr_float("alpha").unwrap_or(0.2));
        }
        "HardSwish" => hard_swish(&mut b.precompute, &step.node.input[0]),
        other => unreachable!("activation rule registered for {other}"),
    };
    let shape = b.shape(&y)?;
    let slope = b.save(slope, DatumType::F32, shape);
    let dx = b.op("Mul", &[step.output_grad()?, &slope], vec![]);
    Ok(with_first(dx, step.node.input.len()))
}

/// Clip's bounds: inputs from opset 11, attributes before; either may be absent.
fn clip_bounds(b: &mut Builder, step: &Step) -> (Option<String>, Option<String>) {
    let mut bound = |index: usize, attribute: &str| match step.input(index) {
        Some(name) => Some(name.to_string()),
        None => step.node.attr_float(attribute).map(|v| b.precompute.scalar(v)),
    };
    (bound(1, "min"), bound(2, "max"))
}

/// Both of Clip's bounds as numbers, where they are constants (an absent one: no bound).
fn constant_bounds(b: &Builder, lo: Option<&str>, hi: Option<&str>) -> Option<(f32, f32)> {
    let constant = |bound: Option<&str>, absent: f32| match bound {
        Some(name) => b.model.constant_f32(name).filter(|v| v.len() == 1).map(|v| v[0]),
        None => Some(absent),
    };
    Some((constant(lo, f32::NEG_INFINITY)?, constant(hi, f32::INFINITY)?))
}

/// ∂x = scale · g where lo < y < hi, else 0, in one pass of the backward (our operator,
/// `runtime/clamp_grad.rs`), from the output y that the forward keeps.
fn clamp_grad(b: &mut Builder, step: &Step, lo: f32, hi: f32, scale: f32) -> Result<Vec<Option<String>>> {
    let y = step.output().to_string();
    let shape = b.shape(&y)?;
    // An Identity gives the kept tensor a name of its own: y may be kept already, as a layer.
    let kept = b.precompute.op("Identity", &[&y], vec![]);
    let kept = b.save(kept, DatumType::F32, shape);
    let bounds = [(lo, "lo"), (hi, "hi")].into_iter().filter(|(v, _)| v.is_finite()).map(|(v, name)| float(name, v));
    let attributes = bounds.chain((scale != 1.0).then(|| float("scale", scale))).collect();
    let dx = b.op(CLAMP_GRAD, &[step.output_grad()?, &kept], attributes);
    Ok(with_first(dx, step.node.input.len()))
}

/// 1 where lo < y < hi, else 0, for y already clamped to [lo, hi] and bounds that are not both
/// constants: Sign(min(y − lo, hi − y)).
fn inside(p: &mut Graph, y: &str, lo: Option<&str>, hi: Option<&str>) -> String {
    let above = lo.map(|lo| p.op("Sub", &[y, lo], vec![]));
    let below = hi.map(|hi| p.op("Sub", &[hi, y], vec![]));
    let distance = match (above, below) {
        (Some(a), Some(c)) => p.op("Min", &[&a, &c], vec![]),
        (Some(d), None) | (None, Some(d)) => d,
        (None, None) => unreachable!("callers pass at least one bound"),
    };
    p.op("Sign", &[&distance], vec![])
}

/// HardSwish y = x · clamp(x/6 + 1/2, 0, 1): slope 0 below −3, 1 above 3, (2x + 3)/6 between.
/// The output does not tell x apart on the flat part, so this one reads the input.
fn hard_swish(p: &mut Graph, x: &str) -> String {
    let (three, third, half) = (p.scalar(3.0), p.scalar(1.0 / 3.0), p.scalar(0.5));
    // inside: Sign(Relu(min(x + 3, 3 − x))); above: Sign(Relu(x − 3)).
    let from_low = p.op("Add", &[x, &three], vec![]);
    let to_high = p.op("Sub", &[&three, x], vec![]);
    let distance = p.op("Min", &[&from_low, &to_high], vec![]);
    let distance = p.op("Relu", &[&distance], vec![]);
    let inside = p.op("Sign", &[&distance], vec![]);
    let beyond = p.op("Sub", &[x, &three], vec![]);
    let beyond = p.op("Relu", &[&beyond], vec![]);
    let above = p.op("Sign", &[&beyond], vec![]);
    let ramp = p.op("Mul", &[x, &third], vec![]);
    let ramp = p.op("Add", &[&ramp, &half], vec![]);
    let ramp = p.op("Mul", &[&inside, &ramp], vec![]);
    p.op("Add", &[&ramp, &above], vec![])
}

/// Gelu y = x·Φ(x) (opset 20): slope Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π).
fn gelu(p: &mut Graph, x: &str) -> String {
    let (scale, half, one) = (p.scalar(std::f32::consts::FRAC_1_SQRT_2), p.scalar(0.5), p.scalar(1.0));
    let scaled = p.op("Mul", &[x, &scale], vec![]);
    let erf = p.op("Erf", &[&scaled], vec![]);
    let erf = p.op("Add", &[&erf, &one], vec![]);
    let cdf = p.op("Mul", &[&erf, &half], vec![]);
    let square = p.op("Mul", &[&scaled, &scaled], vec![]);
    let negative = p.op("Neg", &[&square], vec![]);
    let bell = p.op("Exp", &[&negative], vec![]);
    let density = p.scalar(1.0 / (2.0 * std::f32::consts::PI).sqrt());
    let pdf = p.op("Mul", &[&bell, &density], vec![]);
    let tail = p.op("Mul", &[x, &pdf], vec![]);
    p.op("Add", &[&cdf, &tail], vec![])
}

/// Gelu's tanh form, y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³):
/// slope ½(1 + tanh u) + ½x(1 − tanh² u)·√(2/π)(1 + 3·0.044715x²).
fn gelu_tanh(p: &mut Graph, x: &str) -> String {
    const CUBIC: f32 = 0.044715;
    let root = (2.0 / std::f32::consts::PI).sqrt();
    let (cubic, root, half, one) = (p.scalar(CUBIC), p.scalar(root), p.scalar(0.5), p.scalar(1.0));
    let square = p.op("Mul", &[x, x], vec![]);
    let cube = p.op("Mul", &[&square, x], vec![]);
    let cube = p.op("Mul", &[&cube, &cubic], vec![]);
    let inner = p.op("Add", &[x, &cube], vec![]);
    let u = p.op("Mul", &[&inner, &root], vec![]);
    let t = p.op("Tanh", &[&u], vec![]);
    let rise = p.op("Add", &[&t, &one], vec![]);
    let rise = p.op("Mul", &[&rise, &half], vec![]);
    let t2 = p.op("Mul", &[&t, &t], vec![]);
    let sech2 = p.op("Sub", &[&one, &t2], vec![]);
    let triple = p.scalar(3.0 * CUBIC);
    let du = p.op("Mul", &[&square, &triple], vec![]);
    let du = p.op("Add", &[&du, &one], vec![]);
    let du = p.op("Mul", &[&du, &root], vec![]);
    let tail = p.op("Mul", &[&sech2, &du], vec![]);
    let tail = p.op("Mul", &[&tail, x], vec![]);
    let tail = p.op("Mul", &[&tail, &half], vec![]);
    p.op("Add", &[&rise, &tail], vec![])
}
