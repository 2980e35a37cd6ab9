//! Ops that only move values: reshapes, transposes, concatenation, slices, constant padding,
//! gathers with constant indices, and identities. A slice's gradient is the gradient padded back
//! with zeros; a padding's is a slice.

use super::Step;
use super::builder::{Attributes, Builder, ints};
use super::conv::with_first;
use crate::Result;

pub(super) fn shape(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
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

/// Pad in constant mode (pads as input from opset 11, as attribute before): the gradient with the
/// padding sliced off. Negative pads (cropping) are refused: tract cannot run them.
fn unpad(b: &mut Builder, step: &Step, g: &str) -> Result<String> {
    let mode = step.node.attr_string("mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return Err(step.unsupported(format!("mode `{mode}` (only constant padding is supported)")));
    }
    let pads = match step.input(1) {
        Some(name) => b.model.constant_i64(name).ok_or_else(|| step.unsupported("its pads are not a constant"))?,
        None => step.node.attr_ints("pads").ok_or_else(|| step.unsupported("it has no pads"))?,
    };
    if step.input(3).is_some() {
        return Err(step.unsupported("pads on chosen axes (opset 18's axes input)"));
    }
    let rank = pads.len() / 2;
    let seed_padded = b.seed_axis().is_some_and(|axis| pads[axis] != 0 || pads[rank + axis] != 0);
    if pads.iter().any(|&p| p < 0) || seed_padded {
        return Err(step.unsupported(format!("pads {pads:?}: negative pads (cropping) and padding of the batch axis are not supported")));
    }
    let ys = b.shape(step.output())?;
    let first = b.first_free_axis();
    let starts = b.const_i64(&pads[first..rank]);
    let ends: Vec<i64> = (first..rank).map(|i| ys[i] as i64 - pads[rank + i]).collect();
    let ends = b.const_i64(&ends);
    let axes = b.const_i64(&(first as i64..rank as i64).collect::<Vec<_>>());
    Ok(b.op("Slice", &[g, &starts, &ends, &axes], vec![]))
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
    let mut one_hot = vec![0.0; indices.len() * size as usize];
    for (row, &index) in indices.iter().enumerate() {
        let index = if index < 0 { index + size } else { index };
        if !(0..size).contains(&index) {
            return Err(step.unsupported(format!("index {index} is outside the axis of size {size}")));
        }
        one_hot[row * size as usize + index as usize] += 1.0;
    }
    let one_hot = b.const_f32(&one_hot, &[indices.len(), size as usize]);
    // g: [K, xs[1..axis], indices…, xs[axis+1..]] → [K, xs[1..axis], m, xs[axis+1..]].
    let mut flat: Vec<usize> = xs.clone();
    flat[axis as usize] = indices.len();
    let g = b.reshape_like(g, &flat);
    let last: Vec<i64> = (0..rank).filter(|&i| i != axis).chain([axis]).collect();
    let mut back = vec![0; rank as usize];
    for (i, &p) in last.iter().enumerate() {
        back[p as usize] = i as i64;
    }
    let moved = b.op("Transpose", &[&g], vec![ints("perm", &last)]);
    let spread = b.op("MatMul", &[&moved, &one_hot], vec![]);
    Ok(b.op("Transpose", &[&spread], vec![ints("perm", &back)]))
}
