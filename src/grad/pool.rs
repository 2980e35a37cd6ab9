//! Pooling and reductions: GlobalAveragePool, ReduceMean / ReduceSum, MaxPool.

use tract_onnx::prelude::DatumType;

use super::Step;
use super::builder::{Attributes, Builder, int, string};
use super::conv::with_first;
use crate::Result;

/// Every input position receives g / (H·W) of its channel.
pub(super) fn global_average(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let xs = b.shape(&step.node.input[0])?;
    let count: usize = xs[2..].iter().product();
    spread(b, step, step.output_grad()?, &xs, 1.0 / count as f32)
}

/// Broadcasts a keep-dims gradient back over the input's shape, times `factor`.
fn spread(b: &mut Builder, step: &Step, g: &str, xs: &[usize], factor: f32) -> Result<Vec<Option<String>>> {
    let shape = b.const_i64(&xs.iter().map(|&d| d as i64).collect::<Vec<_>>());
    let expanded = b.op("Expand", &[g, &shape], vec![]);
    let dx = if factor == 1.0 {
        expanded
    } else {
        let factor = b.scalar(factor);
        b.op("Mul", &[&expanded, &factor], vec![])
    };
    Ok(with_first(dx, step.node.input.len()))
}

/// ReduceMean / ReduceSum over `axes` (attribute before opset 18, input from 18 on).
pub(super) fn reduce(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let node = step.node;
    let xs = b.shape(&node.input[0])?;
    let rank = xs.len() as i64;
    let axes = match step.input(1) {
        Some(name) => b.constant_ints(name).ok_or_else(|| step.unsupported("its axes are not a constant"))?,
        None => node.attr_ints("axes").unwrap_or_default(),
    };
    let mut axes: Vec<usize> = axes.iter().map(|&a| (if a < 0 { a + rank } else { a }) as usize).collect();
    if axes.is_empty() {
        if node.attr_int("noop_with_empty_axes").unwrap_or(0) != 0 {
            return Ok(with_first(step.output_grad()?.to_string(), node.input.len()));
        }
        axes = (0..xs.len()).collect();
    }
    let keepdims = node.attr_int("keepdims").unwrap_or(1) != 0;
    let mut g = step.output_grad()?.to_string();
    if !keepdims {
        if axes.contains(&0) {
            return Err(step.unsupported("reducing the batch axis without keepdims"));
        }
        let kept: Vec<usize> = (0..xs.len()).map(|i| if axes.contains(&i) { 1 } else { xs[i] }).collect();
        g = b.reshape_like(&g, &kept);
    }
    let factor = match node.op_type.as_str() {
        "ReduceMean" => 1.0 / axes.iter().map(|&a| xs[a]).product::<usize>() as f32,
        _ => 1.0,
    };
    spread(b, step, &g, &xs, factor)
}

/// MaxPool routes each output gradient to the position of its maximum. We run the pooling again
/// with its Indices output (flattened over C·H·W since the batch is 1; first maximum wins, as in
/// PyTorch) and scatter-add: overlapping windows accumulate.
pub(super) fn max_pool(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let node = step.node;
    let (xs, ys) = (b.shape(&node.input[0])?, b.shape(step.output())?);
    let (inputs, outputs): (usize, usize) = (xs[1..].iter().product(), ys[1..].iter().product());
    let mut attributes: Vec<_> = node.attribute.iter().filter(|a| a.name != "storage_order").cloned().collect();
    attributes.push(int("storage_order", 0));
    // The indices depend on the image only: computed once per forward, in the precompute graph.
    let indices = b.precompute.op_n("MaxPool", &[&node.input[0]], attributes, 2).remove(1);
    let indices = b.save(indices, DatumType::I64, ys.clone());

    let flat_grad_shape = b.const_i64(&[-1, outputs as i64]);
    let g = b.op("Reshape", &[step.output_grad()?, &flat_grad_shape], vec![]);
    let flat_index_shape = b.const_i64(&[1, outputs as i64]);
    let indices = b.op("Reshape", &[&indices, &flat_index_shape], vec![]);
    let g_shape = b.op("Shape", &[&g], vec![]);
    let indices = b.op("Expand", &[&indices, &g_shape], vec![]);
    let (zero, one) = (b.const_i64(&[0]), b.const_i64(&[1]));
    let seeds = b.op("Slice", &[&g_shape, &zero, &one], vec![]);
    let width = b.const_i64(&[inputs as i64]);
    let zeros_shape = b.op("Concat", &[&seeds, &width], vec![int("axis", 0)]);
    let zero = b.float_zero_attribute();
    let zeros = b.op("ConstantOfShape", &[&zeros_shape], vec![zero]);
    let scattered = b.op("ScatterElements", &[&zeros, &indices, &g], vec![int("axis", 1), string("reduction", "add")]);
    let dx = b.reshape_like(&scattered, &xs);
    Ok(with_first(dx, node.input.len()))
}
