//! Conv: the gradient with respect to the input is the transposed convolution with the same
//! weights, strides, dilations, groups and padding; `output_padding` restores the input size that
//! the forward's floor division lost.
//!
//! The transposed convolution is also a plain stride-1 convolution with the kernel flipped in space
//! and its input/output channels swapped within each group, over the gradient with s − 1 zeros
//! stuffed after each value, padded by (k−1)·d − p. We emit that form wherever the padding allows:
//! tract's Conv is far better optimised than its ConvTranspose. Depthwise convolutions are the
//! exception: their ConvTranspose runs as our own kernel (`runtime::depthwise`).

use super::Step;
use super::builder::{Attributes, Builder, int, ints};
use crate::Result;

pub(super) fn conv(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    step.require_constant(1.., "weight or bias")?;
    let node = step.node;
    let (x, w) = (&node.input[0], &node.input[1]);
    let (xs, ys, ws) = (b.shape(x)?, b.shape(step.output())?, b.shape(w)?);
    let spatial = xs.len() - 2;
    let ones = vec![1; spatial];
    let strides = node.attr_ints("strides").unwrap_or_else(|| ones.clone());
    let dilations = node.attr_ints("dilations").unwrap_or(ones);
    let kernel: Vec<i64> = ws.iter().skip(2).map(|&k| k as i64).collect();
    let extent = |i: usize| match (kernel.get(i), dilations.get(i)) {
        (Some(k), Some(d)) => (k - 1) * d + 1,
        _ => 0, // refused by explicit_pads
    };
    let (begin, end) = explicit_pads(step, &xs, &ys, &strides, &extent)?;
    let group = node.attr_int("group").unwrap_or(1);
    let g = step.output_grad()?.to_string();
    let w = b.forward(w);

    // What the floor division of the forward's output size dropped at the end of each axis.
    let mut output_padding = vec![];
    for i in 0..spatial {
        let reached = (ys[2 + i] as i64 - 1) * strides[i] + extent(i) - begin[i] - end[i];
        let missing = xs[2 + i] as i64 - reached;
        if missing < 0 || missing >= strides[i].max(dilations[i]) {
            return Err(step.unsupported(format!("cannot invert its output size on axis {}", 2 + i)));
        }
        output_padding.push(missing);
    }
    // The same gradient as a stride-1 convolution over g with s − 1 zeros after every value
    // (`stuff_zeros` leaves them after the last value too, hence the − (s − 1)). Negative padding
    // (the forward cropped more than the kernel reaches) only the transposed form can express.
    let full_pads: Vec<i64> = (0..spatial)
        .map(|i| extent(i) - 1 - begin[i])
        .chain((0..spatial).map(|i| extent(i) - 1 - end[i] + output_padding[i] - (strides[i] - 1)))
        .collect();
    // A depthwise convolution's transpose runs as our own kernel (runtime/depthwise.rs), which
    // reads the gradient as it is: no zeros stuffed in, no kernel flipped.
    let depthwise = spatial == 2 && group > 1 && ws[1] == 1 && ws[0] as i64 == group && xs[1] as i64 == group;
    let dx = if !depthwise && full_pads.iter().all(|&p| p >= 0) {
        let stuffed = stuff_zeros(b, &g, &ys, &strides);
        let flipped = flip_kernel(b, &w, &ws, group);
        let attributes = vec![int("group", group), ints("dilations", &dilations), ints("pads", &full_pads)];
        b.op("Conv", &[&stuffed, &flipped], attributes)
    } else {
        let attributes = vec![
            int("group", group),
            ints("strides", &strides),
            ints("dilations", &dilations),
            ints("kernel_shape", &kernel),
            ints("pads", &[begin, end].concat()),
            ints("output_padding", &output_padding),
        ];
        b.op("ConvTranspose", &[&g, &w], attributes)
    };
    Ok(with_first(dx, node.input.len()))
}

/// ConvTranspose in the forward graph (decoders, learned upsampling): its adjoint is the Conv with
/// the same weight, strides, dilations, pads and groups — `[C_in, C_out/G, k…]` is already that
/// Conv's weight layout. The forward's output size s·(n − 1) + output_padding + (k−1)·d + 1 − pads
/// brings the Conv back to n, as output_padding < s; checked against the shapes all the same.
pub(super) fn conv_transpose(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    step.require_constant(1.., "weight or bias")?;
    let node = step.node;
    let (xs, ys, ws) = (b.shape(&node.input[0])?, b.shape(step.output())?, b.shape(&node.input[1])?);
    let spatial = xs.len().saturating_sub(2);
    let auto_pad = node.attr_string("auto_pad").unwrap_or_default();
    if !matches!(auto_pad.as_str(), "" | "NOTSET") || node.attr("output_shape").is_some() {
        return Err(step.unsupported("auto_pad or output_shape (explicit pads are supported)"));
    }
    let ones = vec![1; spatial];
    let strides = node.attr_ints("strides").unwrap_or_else(|| ones.clone());
    let dilations = node.attr_ints("dilations").unwrap_or(ones);
    let pads = node.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * spatial]);
    let fits = |i: usize| {
        let extent = (ws[2 + i] as i64 - 1) * dilations[i] + 1;
        (ys[2 + i] as i64 + pads[i] + pads[spatial + i] - extent).div_euclid(strides[i]) + 1 == xs[2 + i] as i64
    };
    let shapes_agree = ws.len() == xs.len() && strides.len() == spatial && dilations.len() == spatial && pads.len() == 2 * spatial;
    if !shapes_agree || !(0..spatial).all(fits) {
        return Err(step.unsupported(format!("cannot invert its output size {ys:?} from {xs:?}")));
    }
    let group = node.attr_int("group").unwrap_or(1);
    let w = b.forward(&node.input[1]);
    let attributes = vec![int("group", group), ints("strides", &strides), ints("dilations", &dilations), ints("pads", &pads)];
    let dx = b.op("Conv", &[step.output_grad()?, &w], attributes);
    Ok(with_first(dx, node.input.len()))
}

/// g `[K, C, d1, d2, …]` → `[K, C, d1·s1, d2·s2, …]`, each value followed by s − 1 zeros per axis:
/// a reshape to `[K, C, d1, 1, d2, 1, …]`, zero padding of the unit axes, a reshape back.
fn stuff_zeros(b: &mut Builder, g: &str, ys: &[usize], strides: &[i64]) -> String {
    if strides.iter().all(|&s| s == 1) {
        return g.to_string();
    }
    let channels = ys[1] as i64;
    let dims: Vec<i64> = ys[2..].iter().map(|&d| d as i64).collect();
    let split: Vec<i64> = [-1, channels].into_iter().chain(dims.iter().flat_map(|&d| [d, 1])).collect();
    let split = b.const_i64(&split);
    let spread = b.op("Reshape", &[g, &split], vec![]);
    let rank = 2 + 2 * dims.len();
    let mut pads = vec![0; 2 * rank];
    for (i, &s) in strides.iter().enumerate() {
        pads[rank + 3 + 2 * i] = s - 1; // the end of unit axis i
    }
    let pads = b.const_i64(&pads);
    let padded = b.op("Pad", &[&spread, &pads], vec![]);
    let merged: Vec<i64> = [-1, channels].into_iter().chain(dims.iter().zip(strides).map(|(&d, &s)| d * s)).collect();
    let merged = b.const_i64(&merged);
    b.op("Reshape", &[&padded, &merged], vec![])
}

/// W `[C_out, C_in/G, k…]` → `[C_in, C_out/G, k…]` flipped along every spatial axis. Built from
/// constant nodes, which tract folds when it optimises the plan.
fn flip_kernel(b: &mut Builder, w: &str, ws: &[usize], group: i64) -> String {
    let spatial: Vec<i64> = ws[2..].iter().map(|&k| k as i64).collect();
    let (group_out, group_in) = (ws[0] as i64 / group, ws[1] as i64);
    let with_spatial = |head: &[i64]| -> Vec<i64> { head.iter().chain(&spatial).copied().collect() };
    let split = b.const_i64(&with_spatial(&[group, group_out, group_in]));
    let grouped = b.op("Reshape", &[w, &split], vec![]);
    let mut perm: Vec<i64> = (0..3 + spatial.len() as i64).collect();
    perm.swap(1, 2);
    let swapped = b.op("Transpose", &[&grouped], vec![ints("perm", &perm)]);
    let merged = b.const_i64(&with_spatial(&[group * group_in, group_out]));
    let merged = b.op("Reshape", &[&swapped, &merged], vec![]);
    // Step −1 from the last element to past the first reverses an axis.
    let n = spatial.len();
    let (starts, ends) = (b.const_i64(&vec![-1; n]), b.const_i64(&vec![i64::MIN; n]));
    let axes = b.const_i64(&(2..2 + n as i64).collect::<Vec<_>>());
    let steps = b.const_i64(&vec![-1; n]);
    b.op("Slice", &[&merged, &starts, &ends, &axes, &steps], vec![])
}

/// Gradient for the first input only (the rest are weights).
pub(super) fn with_first(grad: String, inputs: usize) -> Vec<Option<String>> {
    std::iter::once(Some(grad)).chain(std::iter::repeat_n(None, inputs - 1)).collect()
}

/// Padding at the start and end of each spatial axis, resolving `auto_pad` from the shapes.
/// Shared with MaxPool's attributes, which follow the same rules.
pub(super) fn explicit_pads(
    step: &Step,
    xs: &[usize],
    ys: &[usize],
    strides: &[i64],
    extent: &dyn Fn(usize) -> i64,
) -> Result<(Vec<i64>, Vec<i64>)> {
    let spatial = xs.len().checked_sub(2).filter(|&s| ys.len() == s + 2).ok_or_else(|| step.unsupported("its input is not [N, C, …]"))?;
    if strides.len() != spatial || (0..spatial).any(|i| extent(i) < 1) {
        return Err(step.unsupported(format!("its strides or kernel do not match its {spatial} spatial axes")));
    }
    let auto_pad = step.node.attr_string("auto_pad").unwrap_or_default();
    match auto_pad.as_str() {
        "" | "NOTSET" => {
            let pads = step.node.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * spatial]);
            if pads.len() != 2 * spatial {
                return Err(step.unsupported(format!("its {} pads do not match its {spatial} spatial axes", pads.len())));
            }
            Ok((pads[..spatial].to_vec(), pads[spatial..].to_vec()))
        }
        "VALID" => Ok((vec![0; spatial], vec![0; spatial])),
        "SAME_UPPER" | "SAME_LOWER" => {
            let (mut begin, mut end) = (vec![], vec![]);
            for i in 0..spatial {
                let needed = (ys[2 + i] as i64 - 1) * strides[i] + extent(i) - xs[2 + i] as i64;
                let total = needed.max(0);
                let small = total / 2;
                let (b, e) = if auto_pad == "SAME_UPPER" { (small, total - small) } else { (total - small, small) };
                begin.push(b);
                end.push(e);
            }
            Ok((begin, end))
        }
        other => Err(step.unsupported(format!("unknown auto_pad `{other}`"))),
    }
}
