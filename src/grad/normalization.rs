//! Normalisations. LRN (AlexNet-era zoo models) is in [`lrn`].
//!
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

/// LRN across channels: y_c = x_c · d_c^−β, d_c = bias + α/n · Σ_{k ∈ N(c)} x_k², the window
/// N(c) = [c − ⌊(n−1)/2⌋, c + ⌈(n−1)/2⌉] as tract computes it. Then
/// ∂x_i = g_i · d_i^−β − (2αβ/n) · x_i · Σ_{c : i ∈ N(c)} g_c · x_c · d_c^(−β−1),
/// the last sum a window sum with the window mirrored. d^−β and x·d^(−β−1) depend on the image
/// only: computed once per forward.
pub(super) fn lrn(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let node = step.node;
    let (alpha, beta, bias) =
        (node.attr_float("alpha").unwrap_or(1e-4), node.attr_float("beta").unwrap_or(0.75), node.attr_float("bias").unwrap_or(1.0));
    let size = node.attr_int("size").ok_or_else(|| step.unsupported("it has no size"))?;
    let x = node.input[0].clone();
    let xs = b.shape(&x)?;
    if xs.len() < 3 || !(1..=4096).contains(&size) || b.seed_axis() == Some(1) {
        return Err(step.unsupported(format!("size {size} over a {xs:?} input ([N, C, …] and a window of 1 to 4096 channels)")));
    }
    let (below, above) = ((size - 1) / 2, size / 2);
    let p = &mut b.precompute;
    let square = p.op("Mul", &[&x, &x], vec![]);
    let window = channel_window(p, &square, &xs, below, above);
    let (scale, bias) = (p.scalar(alpha / size as f32), p.scalar(bias));
    let scaled = p.op("Mul", &[&window, &scale], vec![]);
    let d = p.op("Add", &[&scaled, &bias], vec![]);
    let exponent = p.scalar(-beta);
    let damping = p.op("Pow", &[&d, &exponent], vec![]);
    let ratio = p.op("Div", &[&damping, &d], vec![]);
    let ratio = p.op("Mul", &[&ratio, &x], vec![]);
    let damping = b.save(damping, DatumType::F32, xs.clone());
    let ratio = b.save(ratio, DatumType::F32, xs.clone());

    let g = step.output_grad()?.to_string();
    let direct = b.op("Mul", &[&g, &damping], vec![]);
    let through = b.op("Mul", &[&g, &ratio], vec![]);
    let mirrored = channel_window(&mut b.backward, &through, &xs, above, below);
    let x = b.forward(&x);
    let spread = b.op("Mul", &[&mirrored, &x], vec![]);
    let factor = b.scalar(2.0 * alpha * beta / size as f32);
    let spread = b.op("Mul", &[&spread, &factor], vec![]);
    let dx = b.op("Sub", &[&direct, &spread], vec![]);
    Ok(with_first(dx, node.input.len()))
}

/// Σ over channels c − `below` … c + `above` of `t` (`[rows, C, …]` with `shape`'s C and trailing
/// axes): a Conv of ones over `[rows, 1, C, rest]`, zero-padded at the channel ends.
fn channel_window(p: &mut Graph, t: &str, shape: &[usize], below: i64, above: i64) -> String {
    let (channels, rest) = (shape[1] as i64, shape[2..].iter().product::<usize>() as i64);
    let planes = p.const_i64(&[-1, 1, channels, rest]);
    let planes = p.op("Reshape", &[t, &planes], vec![]);
    let length = (below + above + 1) as usize;
    let ones = p.const_f32(&vec![1.0; length], &[1, 1, length, 1]);
    let summed = p.op("Conv", &[&planes, &ones], vec![ints("pads", &[below, 0, above, 0])]);
    let back: Vec<i64> = [-1].into_iter().chain(shape[1..].iter().map(|&d| d as i64)).collect();
    let back = p.const_i64(&back);
    p.op("Reshape", &[&summed, &back], vec![])
}
