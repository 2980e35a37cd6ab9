//! Pooling and reductions: GlobalAveragePool, ReduceMean / ReduceSum, MaxPool and GlobalMaxPool,
//! AveragePool.

use tract_onnx::prelude::DatumType;

use super::Step;
use super::builder::{Attributes, Builder, int, ints, string};
use super::conv::{explicit_pads, with_first};
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
        if b.seed_axis().is_some_and(|axis| axes.contains(&axis)) {
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

/// MaxPool (and GlobalMaxPool: one window over the plane) routes each output gradient to the
/// position of its maximum. We run the pooling again with its Indices output (flattened over C·H·W
/// since the batch is 1; first maximum wins, as in PyTorch) and scatter-add: overlapping windows
/// accumulate.
pub(super) fn max_pool(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let node = step.node;
    let (xs, ys) = (b.shape(&node.input[0])?, b.shape(step.output())?);
    let (inputs, outputs): (usize, usize) = (xs[1..].iter().product(), ys[1..].iter().product());
    let mut attributes: Vec<_> = node.attribute.iter().filter(|a| a.name != "storage_order").cloned().collect();
    attributes.push(int("storage_order", 0));
    if node.op_type == "GlobalMaxPool" {
        // The same as one window over the whole plane.
        let plane: Vec<i64> = xs[2..].iter().map(|&d| d as i64).collect();
        attributes.push(ints("kernel_shape", &plane));
    }
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

/// AveragePool spreads each output gradient evenly over its window: g / count, summed back by a
/// transposed depthwise convolution with a kernel of ones. `count` is the window's size, or with
/// `count_include_pad = 0` the input pixels it covers; a `ceil_mode` window that runs past the
/// padding counts only what it covers (PyTorch's rule). Both depend on the shapes only.
pub(super) fn average_pool(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let node = step.node;
    let (xs, ys) = (b.shape(&node.input[0])?, b.shape(step.output())?);
    let spatial = xs.len() - 2;
    let kernel = node.attr_ints("kernel_shape").ok_or_else(|| step.unsupported("it has no kernel_shape"))?;
    let strides = node.attr_ints("strides").unwrap_or_else(|| vec![1; spatial]);
    if node.attr_ints("dilations").is_some_and(|d| d.iter().any(|&d| d != 1)) {
        return Err(step.unsupported("dilated average pooling"));
    }
    let (begin, end) = explicit_pads(step, &xs, &ys, &strides, &|i| kernel.get(i).copied().unwrap_or(0))?;
    let include_pad = node.attr_int("count_include_pad").unwrap_or(0) == 1;
    // Per axis, how many values each output's window averages.
    let counts: Vec<Vec<f32>> = (0..spatial)
        .map(|i| {
            let size = xs[2 + i] as i64;
            (0..ys[2 + i] as i64)
                .map(|o| {
                    let start = o * strides[i] - begin[i];
                    let stop = (start + kernel[i]).min(size + end[i]);
                    let covered = if include_pad { stop - start } else { stop.min(size) - start.max(0) };
                    covered as f32
                })
                .collect()
        })
        .collect();
    let divisors: Vec<f32> = cartesian(&counts).into_iter().map(|c| 1.0 / c).collect();
    let dims: Vec<usize> = [1, 1].into_iter().chain(ys[2..].iter().copied()).collect();
    let divisors = b.const_f32(&divisors, &dims);
    let scaled = b.op("Mul", &[step.output_grad()?, &divisors], vec![]);

    let channels = xs[1];
    let kernel_dims: Vec<usize> = [channels, 1].into_iter().chain(kernel.iter().map(|&k| k as usize)).collect();
    let ones = b.const_f32(&vec![1.0; kernel_dims.iter().product()], &kernel_dims);
    // The transposed convolution's end padding crops what the windows reached past the input
    // (ceil_mode); output_padding adds what the floor division dropped.
    let (mut end_pads, mut output_padding) = (vec![], vec![]);
    for i in 0..spatial {
        let reached = (ys[2 + i] as i64 - 1) * strides[i] + kernel[i] - begin[i];
        let past = reached - xs[2 + i] as i64;
        end_pads.push(past.max(0));
        output_padding.push((-past).max(0));
    }
    let attributes = vec![
        int("group", channels as i64),
        ints("strides", &strides),
        ints("kernel_shape", &kernel),
        ints("pads", &[begin, end_pads].concat()),
        ints("output_padding", &output_padding),
    ];
    let dx = b.op("ConvTranspose", &[&scaled, &ones], attributes);
    Ok(with_first(dx, node.input.len()))
}

/// Products of one value per axis, the last axis fastest: the row-major grid of `per_axis`.
fn cartesian(per_axis: &[Vec<f32>]) -> Vec<f32> {
    per_axis.iter().fold(vec![1.0], |grid, axis| grid.iter().flat_map(|g| axis.iter().map(move |a| g * a)).collect())
}
