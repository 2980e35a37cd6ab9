//! Linear maps whose weights are constants: Gemm, MatMul, and BatchNormalization in inference
//! mode (a per-channel scale).

use super::Step;
use super::builder::{Attributes, Builder, float, int, ints};
use super::conv::with_first;
use crate::Result;

/// Y = α·A′·B′ + β·C with A′ = Aᵀ if transA, B′ = Bᵀ if transB. ∂A′ = α·g·B′ᵀ.
pub(super) fn gemm(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    step.require_constant(1.., "weight or bias")?;
    let node = step.node;
    let trans_b = node.attr_int("transB").unwrap_or(0);
    let weight = b.forward(&node.input[1]);
    let attributes = vec![float("alpha", node.attr_float("alpha").unwrap_or(1.0)), int("transB", 1 - trans_b)];
    let d_a = b.op("Gemm", &[step.output_grad()?, &weight], attributes);
    // With transA the batch sits on axis 1 of A; the seed axis follows it there.
    let d_a = match node.attr_int("transA").unwrap_or(0) {
        0 => d_a,
        _ => b.op("Transpose", &[&d_a], vec![ints("perm", &[1, 0])]),
    };
    Ok(with_first(d_a, node.input.len()))
}

/// Y = A·B: ∂A = g·Bᵀ and ∂B = Aᵀ·g (ᵀ swaps the last two axes), each summed back over the
/// leading axes it was broadcast on. Both may depend on the image (attention's Q·Kᵀ and A·V).
pub(super) fn matmul(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let (a, right) = (&step.node.input[0], &step.node.input[1]);
    let (a_shape, right_shape, output) = (b.shape(a)?, b.shape(right)?, b.shape(step.output())?);
    if a_shape.len() < 2 || right_shape.len() < 2 {
        return Err(step.unsupported("vector operands (rank 1) are not supported"));
    }
    let g = step.output_grad()?.to_string();
    let mut grads = vec![];
    for (index, (operand, shape)) in [(a, &a_shape), (right, &right_shape)].into_iter().enumerate() {
        if !step.wanted[index] {
            grads.push(None);
            continue;
        }
        let other = transposed(b, &step.node.input[1 - index]);
        let term = if index == 0 { b.op("MatMul", &[&g, &other], vec![]) } else { b.op("MatMul", &[&other, &g], vec![]) };
        // The product's shape before summing back: the output's leading axes, the operand's last two.
        let full: Vec<usize> = output[..output.len() - 2].iter().chain(&shape[shape.len() - 2..]).copied().collect();
        let grad = b
            .unbroadcast(&term, shape, &full)
            .ok_or_else(|| step.unsupported(format!("operand `{operand}` of shape {shape:?} is broadcast to a higher rank")))?;
        grads.push(Some(grad));
    }
    Ok(grads)
}

/// A forward tensor with its last two axes swapped.
fn transposed(b: &mut Builder, tensor: &str) -> String {
    let rank = b.model.tensor(tensor).map_or(2, |t| t.shape.len());
    let mut perm: Vec<i64> = (0..rank as i64).collect();
    perm.swap(rank - 2, rank - 1);
    let tensor = b.forward(tensor);
    b.op("Transpose", &[&tensor], vec![ints("perm", &perm)])
}

/// Inference BatchNormalization is y = x·s + t per channel, s = scale / √(var + ε): ∂x = g·s.
pub(super) fn batch_norm(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    step.require_constant(1.., "statistics")?;
    let node = step.node;
    if node.attr_int("training_mode").unwrap_or(0) != 0 {
        return Err(step.unsupported("training mode is not supported"));
    }
    let rank = b.shape(&node.input[0])?.len();
    let (scale, variance) = (b.forward(&node.input[1]), b.forward(&node.input[4]));
    let epsilon = b.scalar(node.attr_float("epsilon").unwrap_or(1e-5));
    let shifted = b.op("Add", &[&variance, &epsilon], vec![]);
    let deviation = b.op("Sqrt", &[&shifted], vec![]);
    let factor = b.op("Div", &[&scale, &deviation], vec![]);
    // [C] → [C, 1, …] so it broadcasts over the spatial axes.
    let per_channel: Vec<i64> = std::iter::once(-1).chain(std::iter::repeat_n(1, rank - 2)).collect();
    let per_channel = b.const_i64(&per_channel);
    let factor = b.op("Reshape", &[&factor, &per_channel], vec![]);
    let dx = b.op("Mul", &[step.output_grad()?, &factor], vec![]);
    Ok(with_first(dx, node.input.len()))
}
