//! Ops that only move values: reshapes, transposes, concatenation and splits, slices, padding,
//! gathers with constant indices, tiling and broadcasting, and identities. A slice's gradient is
//! the gradient padded back with zeros; a constant padding's is a slice. Ops that copy values to
//! several places (gathers, reflect and edge padding, tiles) map each axis through a constant
//! matrix ([`along_axis`]): the copies' gradients add up at their source.

use super::Step;
use super::builder::{Attributes, Builder, ints};
use super::conv::with_first;
use crate::Result;

pub(super) fn shape(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    if step.node.op_type == "Split" {
        return split(b, step);
    }
    let g = step.output_grad()?.to_string();
    let node = step.node;
    let x = &node.input[0];
    let dx = match node.op_type.as_str() {
        // Only the element order matters: reshape back, keeping the seed axis in front.
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => {
            let xs = b.shape(x)?;
            b.reshape_like(&g, &xs)
        }
        "Identity" | "Dropout" => g,
        "Transpose" => {
            let rank = b.shape(x)?.len() as i64;
            let perm = node.attr_ints("perm").unwrap_or_else(|| (0..rank).rev().collect());
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p as usize] = i as i64;
            }
            b.op("Transpose", &[&g], vec![ints("perm", &inverse)])
        }
        "Concat" => return concat(b, step, &g),
        "Slice" => slice(b, step, &g)?,
        "Pad" => unpad(b, step, &g)?,
        "Gather" => scatter(b, step, &g)?,
        "Tile" => untile(b, step, &g)?,
        "Expand" => {
            let (xs, ys) = (b.shape(x)?, b.shape(step.output())?);
            b.unbroadcast(&g, &xs, &ys).ok_or_else(|| step.unsupported(format!("its input {xs:?} is expanded to a higher rank")))?
        }
        other => unreachable!("shape rule registered for {other}"),
    };
    Ok(with_first(dx, node.input.len()))
}

/// Each input gets its slice of the gradient along the concatenation axis.
fn concat(b: &mut Builder, step: &Step, g: &str) -> Result<Vec<Option<String>>> {
    let rank = b.shape(step.output())?.len() as i64;
    let axis = step.node.attr_int("axis").unwrap_or(0);
    let axis = if axis < 0 { axis + rank } else { axis };
    if b.seed_axis() == Some(axis as usize) {
        return Err(step.unsupported("concatenation along the batch axis"));
    }
    let axes = b.const_i64(&[axis]);
    let mut start = 0;
    let mut grads = vec![];
    for (input, &wanted) in step.node.input.iter().zip(&step.wanted) {
        let size = b.shape(input)?[axis as usize] as i64;
        grads.push(wanted.then(|| {
            let (starts, ends) = (b.const_i64(&[start]), b.const_i64(&[start + size]));
            b.op("Slice", &[g, &starts, &ends, &axes], vec![])
        }));
        start += size;
    }
    Ok(grads)
}

/// Each output's gradient padded back with zeros to its place along the split axis, summed; an
/// output that does not reach the logits contributes nothing. The outputs' sizes come from the
/// inferred shapes, whichever way the split was given (input, attribute, `num_outputs`, equal).
fn split(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let xs = b.shape(&step.node.input[0])?;
    let rank = xs.len();
    let axis = step.node.attr_int("axis").unwrap_or(0);
    let axis = if axis < 0 { axis + rank as i64 } else { axis } as usize;
    if axis >= rank || b.seed_axis() == Some(axis) {
        return Err(step.unsupported("a split along the batch axis"));
    }
    let mut start = 0;
    let mut parts = vec![];
    for (output, grad) in step.node.output.iter().zip(&step.grads) {
        let size = b.shape(output)?[axis];
        if let Some(grad) = grad {
            let mut pads = vec![0; 2 * rank];
            pads[axis] = start as i64;
            pads[rank + axis] = xs[axis] as i64 - (start + size) as i64;
            let pads = b.const_i64(&pads);
            parts.push(b.op("Pad", &[grad, &pads], vec![]));
        }
        start += size;
    }
    Ok(with_first(b.sum(&parts), step.node.input.len()))
}

/// Slice with constant starts, ends, axes and step 1 (inputs from opset 10, attributes before):
/// the gradient padded back with zeros to the input's shape.
fn slice(b: &mut Builder, step: &Step, g: &str) -> Result<String> {
    let xs = b.shape(&step.node.input[0])?;
    let rank = xs.len() as i64;
    let constant = |index: usize, attribute: &str| match step.input(index) {
        Some(name) => b.model.constant_i64(name).ok_or_else(|| step.unsupported(format!("its input {index} is not a constant"))),
        None => step.node.attr_ints(attribute).ok_or_else(|| step.unsupported(format!("it has no {attribute}"))),
    };
    let (starts, ends) = (constant(1, "starts")?, constant(2, "ends")?);
    let axes = if step.input(3).is_some() || step.node.attr_ints("axes").is_some() {
        constant(3, "axes")?
    } else {
        (0..starts.len() as i64).collect()
    };
    let steps = if step.input(4).is_some() { constant(4, "steps")? } else { vec![1; starts.len()] };
    let mut pads = vec![0; 2 * xs.len()];
    for (((&start, &end), &axis), &stride) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
        let axis = if axis < 0 { axis + rank } else { axis } as usize;
        if stride != 1 || b.seed_axis() == Some(axis) {
            return Err(step.unsupported("a slice with a step other than 1, or along the batch axis"));
        }
        let size = xs[axis] as i64;
        let clamp = |v: i64| if v < 0 { v + size } else { v }.clamp(0, size);
        pads[axis] = clamp(start);
        pads[xs.len() + axis] = size - clamp(end).max(clamp(start));
    }
    let pads = b.const_i64(&pads);
    Ok(b.op("Pad", &[g, &pads], vec![]))
}

/// Pad (pads as input from opset 11, as attribute before). Constant padding: the gradient with the
/// padding sliced off. Reflect and edge padding copy input values into the border: each padded
/// axis maps back through a one-hot matrix, the copies adding up at their source. Negative pads
/// (cropping) are refused: tract cannot run them.
fn unpad(b: &mut Builder, step: &Step, g: &str) -> Result<String> {
    let mode = step.node.attr_string("mode").unwrap_or_else(|| "constant".into());
    if !matches!(mode.as_str(), "constant" | "reflect" | "edge") {
        return Err(step.unsupported(format!("mode `{mode}` (constant, reflect and edge padding are supported)")));
    }
    let pads = match step.input(1) {
        Some(name) => b.model.constant_i64(name).ok_or_else(|| step.unsupported("its pads are not a constant"))?,
        None => step.node.attr_ints("pads").ok_or_else(|| step.unsupported("it has no pads"))?,
    };
    if step.input(3).is_some() {
        return Err(step.unsupported("pads on chosen axes (opset 18's axes input)"));
    }
    let (xs, ys) = (b.shape(&step.node.input[0])?, b.shape(step.output())?);
    let rank = xs.len();
    if pads.len() != 2 * rank {
        return Err(step.unsupported(format!("{} pads for a rank-{rank} input", pads.len())));
    }
    let seed_padded = b.seed_axis().is_some_and(|axis| pads[axis] != 0 || pads[rank + axis] != 0);
    let empty_copied = mode != "constant" && (0..rank).any(|a| xs[a] == 0 && (pads[a] != 0 || pads[rank + a] != 0));
    if pads.iter().any(|&p| p < 0) || seed_padded || empty_copied {
        return Err(step.unsupported(format!(
            "pads {pads:?}: negative pads (cropping), padding of the batch axis and copies from an empty axis are not supported"
        )));
    }
    let first = b.first_free_axis();
    if mode == "constant" {
        let starts = b.const_i64(&pads[first..rank]);
        let ends: Vec<i64> = (first..rank).map(|i| ys[i] as i64 - pads[rank + i]).collect();
        let ends = b.const_i64(&ends);
        let axes = b.const_i64(&(first as i64..rank as i64).collect::<Vec<_>>());
        return Ok(b.op("Slice", &[g, &starts, &ends, &axes], vec![]));
    }
    let mut g = g.to_string();
    for axis in (first..rank).filter(|&a| pads[a] != 0 || pads[rank + a] != 0) {
        let n = xs[axis] as i64;
        let sources: Vec<usize> = (0..ys[axis] as i64).map(|j| padded_source(&mode, j - pads[axis], n)).collect();
        g = along_axis(b, &g, rank, axis, &one_hot(&sources, xs[axis]), xs[axis]);
    }
    Ok(g)
}

/// The input index that padding copies to position `i` (relative to the input's start) of an axis
/// of length `n`: the nearest edge, or the mirror image without repeating the edge (numpy's reflect).
fn padded_source(mode: &str, i: i64, n: i64) -> usize {
    let source = match mode {
        "edge" => i.clamp(0, n - 1),
        _ if n == 1 => 0,
        _ => {
            let folded = i.rem_euclid(2 * (n - 1));
            if folded < n { folded } else { 2 * (n - 1) - folded }
        }
    };
    source as usize
}

/// Tile with constant repeats: each repeated axis of the gradient maps back through a one-hot
/// matrix (output j reads input j mod n), the copies adding up.
fn untile(b: &mut Builder, step: &Step, g: &str) -> Result<String> {
    let repeats = b.model.constant_i64(&step.node.input[1]).ok_or_else(|| step.unsupported("its repeats are not a constant"))?;
    let (xs, ys) = (b.shape(&step.node.input[0])?, b.shape(step.output())?);
    let rank = xs.len();
    if repeats.len() != rank || b.seed_axis().is_some_and(|axis| repeats[axis] != 1) {
        return Err(step.unsupported(format!("repeats {repeats:?}: one per axis, the batch axis not repeated")));
    }
    let mut g = g.to_string();
    for axis in (0..rank).filter(|&a| xs[a] != ys[a]) {
        let sources: Vec<usize> = (0..ys[axis]).map(|j| j % xs[axis]).collect();
        g = along_axis(b, &g, rank, axis, &one_hot(&sources, xs[axis]), xs[axis]);
    }
    Ok(g)
}

/// Gather with constant indices (a transformer's class token, a channel pick): each gathered slice
/// of the gradient goes back to its index, repeated indices adding up. Built as a product with a
/// one-hot matrix O[m, n] (O[j, index_j] = 1) along the gathered axis, moved last for the MatMul.
fn scatter(b: &mut Builder, step: &Step, g: &str) -> Result<String> {
    let xs = b.shape(&step.node.input[0])?;
    let rank = xs.len() as i64;
    let axis = step.node.attr_int("axis").unwrap_or(0);
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis < 0 || axis >= rank || b.seed_axis() == Some(axis as usize) {
        return Err(step.unsupported("a gather along the batch axis"));
    }
    let indices_name = &step.node.input[1];
    let indices = b.model.constant_i64(indices_name).ok_or_else(|| step.unsupported("its indices are not a constant"))?;
    let size = xs[axis as usize] as i64;
    let mut sources = vec![];
    for &index in &indices {
        let index = if index < 0 { index + size } else { index };
        if !(0..size).contains(&index) {
            return Err(step.unsupported(format!("index {index} is outside the axis of size {size}")));
        }
        sources.push(index as usize);
    }
    // g: [K, xs[1..axis], indices…, xs[axis+1..]] → [K, xs[1..axis], m, xs[axis+1..]].
    let mut flat: Vec<usize> = xs.clone();
    flat[axis as usize] = indices.len();
    let g = b.reshape_like(g, &flat);
    Ok(along_axis(b, &g, rank as usize, axis as usize, &one_hot(&sources, size as usize), size as usize))
}

/// Row j of a `[sources.len(), columns]` matrix holds a 1 at column `sources[j]`.
fn one_hot(sources: &[usize], columns: usize) -> Vec<f32> {
    let mut matrix = vec![0.0; sources.len() * columns];
    for (row, &source) in sources.iter().enumerate() {
        matrix[row * columns + source] = 1.0;
    }
    matrix
}

/// g with its axis `axis` (length m) mapped through a constant matrix `[m, n]` of row-major
/// `values`: out[…, j, …] = Σ_i g[…, i, …] · matrix[i, j]. The axis moves last for the MatMul and
/// back. The gradient of every op that is a linear map along one axis (Gather, Pad, Tile, Resize).
pub(super) fn along_axis(b: &mut Builder, g: &str, rank: usize, axis: usize, values: &[f32], n: usize) -> String {
    let matrix = b.const_f32(values, &[values.len() / n, n]);
    if axis + 1 == rank {
        return b.op("MatMul", &[g, &matrix], vec![]);
    }
    let last: Vec<i64> = (0..rank as i64).filter(|&i| i != axis as i64).chain([axis as i64]).collect();
    let mut back = vec![0; rank];
    for (i, &p) in last.iter().enumerate() {
        back[p as usize] = i as i64;
    }
    let moved = b.op("Transpose", &[g], vec![ints("perm", &last)]);
    let mapped = b.op("MatMul", &[&moved, &matrix], vec![]);
    b.op("Transpose", &[&mapped], vec![ints("perm", &back)])
}
